"""The content classifier: what it may see, how its evidence is split into reasons, and its file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from portguard.mail.classifier import (
    DIM,
    EVIDENCE_SCALE,
    MAX_CONTENT,
    Classifier,
    Features,
    features,
    learnable,
    train,
    vector,
)
from portguard.mail.parse import parse_message
from portguard.mail.schemas import Reason
from portguard.mail.testing import message

HAM = [
    "Berth planning for the {n} arrivals at Deurganckdok next week, see the attached schedule",
    "Minutes of the terminal operations meeting {n}, actions for the crane maintenance team",
    "Customs declaration {n} for container MSCU is complete, release expected tomorrow",
]
PHISH = [
    "Your mailbox {n} is full, verify your password now or your account will be suspended",
    "Unusual sign-in {n} detected, confirm your account details within 24 hours to avoid closure",
]
MISMATCH = Reason("links.text_mismatch", 3.0, "shows one site, links to another")
SHORTENER = Reason("links.shortener", 1.0, "shortened link")


def _corpus() -> tuple[list[Features], list[list[str]], list[str]]:
    vectors: list[Features] = []
    rules: list[list[str]] = []
    labels: list[str] = []
    for n in range(30):
        for text in HAM:
            vectors.append(vector(parse_message(message(text=text.format(n=n)))))
            rules.append([])
            labels.append("ham")
        for text in PHISH:
            vectors.append(vector(parse_message(message(text=text.format(n=n)))))
            # The mismatch finding is on every phish (learned); the shortener on 3 (not).
            rules.append(["links.text_mismatch"] + (["links.shortener"] if n < 3 else []))
            labels.append("phishing")
    return vectors, rules, labels


@pytest.fixture(scope="module")
def model() -> Classifier:
    return train(*_corpus())


def test_subject_hash_buster_is_a_feature() -> None:
    """A random token tacked on after the subject (found nowhere in the text) is noted; a
    subject ending in an ordinary word of the message is not."""
    busted = parse_message(message(subject="Grow Up And Be A Man!   abmx", text="Order today."))
    assert "s:buster" in features(busted)
    plain = parse_message(message(subject="Meeting moved!  today", text="See you today."))
    assert "s:buster" not in features(plain)
    assert "s:buster" not in features(parse_message(message(subject="Re: whoa")))


def test_a_machine_made_mailbox_name_is_a_feature_by_its_shape() -> None:
    """Digits in the sender's mailbox name give its shape (never the name itself): a
    throwaway account and a newsletter's bounce address look different; a person's name and
    a role address give nothing."""

    def shape(sender: str) -> list[str]:
        return [t for t in features(parse_message(message(sender=sender))) if t.startswith("fl:")]

    assert shape("Health <health104580m43@mail.com>") == ["fl:a9a9", "fl:digits"]
    assert shape("<join_now_65103@anaadmin.dyana.shop>") == ["fl:a_a_9", "fl:digits"]
    assert shape("News <r-1-270241-53@xmr3.com>") == ["fl:a-9-9-9", "fl:digits"]
    assert shape("Jan <jan2@katoennatie.com>") == ["fl:a9"]
    assert shape("Jan Peeters <jan.peeters@katoennatie.com>") == []
    assert shape("<ops@portofantwerpbruges.com>") == []


def test_business_documents_are_no_evidence_but_risky_types_are() -> None:
    """The ham corpora hold almost no PDFs, so "has a PDF" would read as phishing; an HTML
    attachment (a credential form to open locally) stays a feature."""
    pdf = parse_message(
        message(attachments=[("MRN410081.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")])
    )
    bare = parse_message(message())
    assert not any(t.startswith("att:") for t in features(pdf))
    for a, b in zip(vector(pdf).weighted(), vector(bare).weighted(), strict=True):
        assert np.array_equal(a, b)
    page = parse_message(message(attachments=[("invoice.html", b"<form>", "text/html")]))
    assert "att:html" in features(page)


def test_addresses_never_become_features() -> None:
    """The corpora's anonymised addresses (phishing@pot) must not tell the model the corpus."""
    plain = parse_message(message(text="Dear customer, your parcel is waiting"))
    with_addr = parse_message(
        message(text="Dear phishing@pot customer, your parcel is waiting yyyy@netnoteinc.com")
    )
    for a, b in zip(vector(plain).weighted(), vector(with_addr).weighted(), strict=True):
        assert np.array_equal(a, b)
    assert not any("pot" in t or "netnoteinc" in t for t in features(with_addr))

    # Whole addresses go, whatever their shape; a mention without a local part is words.
    def body_vector(text: str) -> tuple[np.ndarray, np.ndarray]:
        return vector(parse_message(message(text=text))).weighted()

    one = body_vector("Mail mina.ostrova+ops@mail.katoen-natie.be or x_y@b.c@d.e, see @porthandle")
    other = body_vector("Mail someone@other.example or q@r.s@d.e, see @porthandle")
    mention = body_vector("Mail someone@other.example or q@r.s@d.e, see @quayhandle")
    assert all(np.array_equal(a, b) for a, b in zip(one, other, strict=True))
    assert not np.array_equal(other[0], mention[0])


def test_learnable_findings_exclude_bulk_malware_and_info() -> None:
    reasons = [
        MISMATCH,
        Reason("bulk.list_headers", 3.0, "", kind="bulk"),
        Reason("attachments.executable", 9.0, "", kind="malware"),
        Reason("auth.dkim_none", 0.0, "", kind="info"),
    ]
    assert learnable(reasons) == ["links.text_mismatch"]


def test_only_findings_seen_often_enough_are_learned(model: Classifier) -> None:
    assert "links.text_mismatch" in model.learned
    assert "links.shortener" not in model.learned  # on 3 messages only


def test_model_separates_and_explains_itself(model: Classifier) -> None:
    phish = parse_message(message(text=PHISH[0].format(n=99)))
    ham = parse_message(message(text=HAM[0].format(n=99)))
    ev = model.evidence(phish, [MISMATCH, SHORTENER])
    assert ev.kind == "phishing" and ev.value > 0
    assert model.evidence(ham).value < 0

    reasons = model.weigh(ev, [MISMATCH, SHORTENER])
    by_name = {r.name: r for r in reasons}
    # The learned finding is rescored by the model, the unlearned one keeps its hand score...
    assert by_name["links.text_mismatch"].score != MISMATCH.score
    assert by_name["links.shortener"].score == SHORTENER.score
    # ...and the model's part (learned findings + words) is exactly its scaled evidence.
    model_part = by_name["links.text_mismatch"].score + by_name["content.phishing"].score
    assert model_part == pytest.approx(min(EVIDENCE_SCALE * ev.value, MAX_CONTENT))
    assert all(isinstance(r.score, float) for r in reasons)


def test_ham_credit_is_bounded(model: Classifier) -> None:
    ham = parse_message(message(text=" ".join(t.format(n=1) for t in HAM)))
    reasons = model.weigh(model.evidence(ham), [])
    assert reasons[-1].name == "content.ham"
    assert -3.0 <= reasons[-1].score < 0


def test_save_and_load_round_trip(model: Classifier, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    model.save(path)
    again = Classifier.load(path)
    msg = parse_message(message(text=PHISH[1].format(n=5)))
    a, b = model.evidence(msg, [MISMATCH]), again.evidence(msg, [MISMATCH])
    assert a.kind == b.kind
    assert a.value == pytest.approx(b.value, abs=0.02)  # weights are stored as float16
    assert again.learned == model.learned


def test_an_old_model_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "portguard-mail-model/1"}))
    with pytest.raises(ValueError, match="retrain"):
        Classifier.load(path)


def test_a_model_of_fewer_hash_buckets_still_scores(model: Classifier, tmp_path: Path) -> None:
    """An operator's model trained by an older release (fewer buckets) keeps working after an
    upgrade: messages are folded onto its buckets. One from a larger space, or a broken file,
    is refused with a message that says what to do."""
    small = DIM >> 2
    folded: dict[int, np.ndarray] = {}
    for k, w in model.weights.items():
        folded[k & (small - 1)] = folded.get(k & (small - 1), 0) + w
    old = Classifier(folded, model.intercept, model.classes, model.meta, dim=small)
    path = tmp_path / "old-dim.json"
    old.save(path)
    again = Classifier.load(path)
    assert again.dim == small
    for text in (PHISH[0].format(n=7), HAM[1].format(n=7)):
        msg = parse_message(message(text=text))
        a, b = model.evidence(msg, [MISMATCH]), again.evidence(msg, [MISMATCH])
        assert a.kind == b.kind and b.value == pytest.approx(a.value, rel=0.1, abs=0.02)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "dim": DIM * 2}))
    with pytest.raises(ValueError, match="retrain"):
        Classifier.load(path)
    path.write_text(json.dumps({**doc, "dim": 1024}))
    with pytest.raises(ValueError, match="outside"):
        Classifier.load(path)


def test_no_ham_credit_against_bec_wording(model: Classifier) -> None:
    """BEC reads like business mail by design: the model's ham opinion must not cancel it."""
    ham = parse_message(message(text=" ".join(t.format(n=1) for t in HAM)))
    bec = Reason("bec.release_pin", 6.75, "says 'release PIN'")
    reasons = model.weigh(model.evidence(ham, [bec]), [bec])
    assert "content.ham" not in {r.name for r in reasons}
    assert sum(r.score for r in reasons) >= bec.score
