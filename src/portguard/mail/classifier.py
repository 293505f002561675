"""The content classifier: hashed word, character and shape features → ham / spam / phishing.

Features are words of the subject and visible body (unigrams and bigrams, digits dropped),
character 4-grams of the subject and of the body's first 1,500 characters (they survive
misspellings, obfuscation and languages the word list handles badly), the shapes of tokens with
digits (``$9,999``, ``A9A-9``) and of a sender's mailbox name with digits (``a9a9``), the link
hosts' registered domains, attachment types (not business documents: PDF, Office), and the
names of the rule analysers' findings that training saw often enough to weigh. They never
include dates, ``Received``/``Message-ID``/``X-Mailer`` or any other era-specific header,
``List-*``/Mailman headers or the bulk markers, charsets, e-mail addresses (the corpora's
anonymisation placeholders), or upstream filters' verdicts (``X-Spam-*``): the model must learn
phishing and spam, not the year, the mailing-list software or the corpus.

The model's evidence is explained exactly: the findings it learned get the part of the evidence
their weights carry (``links.text_mismatch`` scores what it means in mail like this one), the
words the rest (``content.phishing``); findings it never learned keep their hand-set scores.

Training uses scikit-learn's linear support vector machine (one class against the rest): at the
low false-positive rates a mail filter must run at, its margin ranks spam above marketing mail
better than logistic regression (cross-validated on the same features: 95.4% of spam against
92.9% at two false positives in 250 hard-ham messages; docs/benchmarks.md). The model is stored
as JSON (the strongest ``MAX_FEATURES`` hashed weights, float16, base64), and scoring needs
only numpy.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from portguard.mail.analysers.base import registered_domain
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

__all__ = [
    "CLASSES",
    "DEFAULT_MODEL",
    "Classifier",
    "Evidence",
    "Features",
    "features",
    "learnable",
    "train",
    "vector",
]

CLASSES = ("ham", "spam", "phishing")
#: Points of verdict score per unit of classifier evidence (the margin of the likelier bad class
#: over ham), chosen by cross-validation so that the blocking score of 6 keeps hard ham under 1%
#: false positives with room: over eight splits, 9.5 flags 0.70% of it and 95.03% of spam (9.75:
#: 0.95% and 95.19%, 10: 1.20% and 95.27%; docs/benchmarks.md, eleventh round).
EVIDENCE_SCALE = 9.5
#: Most points clear ham-like text may take off the rules' score (newsletters' link tricks).
HAM_CREDIT = 3.0
DIM = 1 << 20
MAX_FEATURES = 300_000
#: A finding is weighed by the model when training saw it on at least this many messages.
MIN_RULE_SUPPORT = 10
#: Most points the model's evidence (words and learned findings together) may add.
MAX_CONTENT = 12.0
#: Characters of the body that give character 4-grams.
CHAR_SPAN = 1500
#: Weights of the feature blocks (tokens with findings, words and pairs, the body's and the
#: subject's character 4-grams), and the regularisation: chosen by cross-validation on the
#: shared corpora (bench/mail_eval.py).
BLOCK_WEIGHTS = (1.0, 1.5, 1.4, 0.5)
C_DEFAULT = 1.0
DEFAULT_MODEL = Path(__file__).parent / "model" / "default.json"
_WORD = re.compile(r"[^\W\d_]{2,24}", re.U)
#: E-mail addresses are cut out of the text before words are taken: in real mail they are the
#: recipient's own (personal, not evidence), and in the public corpora they are the
#: anonymisers' placeholders (``phishing@pot``, ``yyyy@netnoteinc.com``), which would teach the
#: model which corpus a message came from. An address is ``[\w.+-]+@[\w-]+(\.[\w-]+)*``; the
#: search starts from each "@" and walks back over the local part (``_clean``): a regular
#: expression trying every position of a 30,000-character body cost ten times as much.
_AT_DOMAIN = re.compile(r"@[\w-]+(?:\.[\w-]+)*")
#: Function words of English, Dutch, French, German, Spanish, Portuguese and Italian.
_STOPWORDS_TEXT = """
a an the and or but if of to in on at by for with from as is are was were be been it its
this that these those i you he she we they me my your our their his her them us do does did
not no so than then there here what which who when where how all any some can will would
shall should may might must have has had am also just about into over under up down out de
het een en of in op te van voor met aan bij naar om uit als dat die dit deze is zijn was
waren wordt worden ik je jij u hij zij wij we ze mijn uw ons onze hun niet geen ook nog wel
maar dan er hier daar wat wie waar hoe al kan kunt zal zou moet heeft hebben heb le la les
un une des du au aux et ou mais si de en dans sur par pour avec sans ce cet cette ces il
elle nous vous ils elles je tu mon ma mes ton ta tes son sa ses notre votre leur leurs est
sont était être avoir ai as avons avez ont pas ne que qui quoi dont où se der die das ein
eine und oder aber wenn mit auf für von zu im ist sind war ich du er sie wir ihr nicht kein
auch noch el los las una unos y o pero si en con por para sin es son era lo le les yo tu él
ella nosotros ustedes su sus mi mis del al que não uma um os as com por para sem é são eu
ele ela nós seu sua il lo gli di da che non per con
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


_DIGIT = re.compile(r"\d")
_HASH_BUSTER = re.compile(r"(?:[!?.|]\s*|\s{2,})([a-z]{3,7}|[A-Z]{3,4})\s*$")
#: Business documents: their attachment type is no evidence. The public ham corpora (mailing
#: lists) hold almost none (1 PDF in 4,689 messages, against 64 in phishing_pot), so the model
#: learnt "has a PDF, so phishing" and held 0.17% of generated port mail, every fifth short
#: "customs declaration attached" note, as phishing (scores up to 7.8). Without them that mail
#: scores at most 5.4 and the cross-validated figures do not move (docs/benchmarks.md).
_DOCUMENTS = frozenset({"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "csv"})
_HTML_TRICKS = ("display:none", "font-size:0", "visibility:hidden", "<form", "password")


def _clean(text: str) -> str:
    """``text`` with every e-mail address replaced by a blank."""
    if "@" not in text:
        return text
    out: list[str] = []
    last = 0
    for m in _AT_DOMAIN.finditer(text):
        start = at = m.start()
        while start > last and (text[start - 1].isalnum() or text[start - 1] in "_.+-"):
            start -= 1  # \w is a letter, a digit or "_"
        if start == at:
            continue  # no local part: not an address
        out += (text[last:start], " ")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def features(msg: ParsedMessage) -> list[str]:
    """The message's tokens other than word pairs and character grams (which ``vector`` hashes
    directly); see the module docstring for what is left out."""
    return _tokens(msg, _clean(msg.subject[:1000]), _clean(msg.body[:30_000]))[0]


def _tokens(msg: ParsedMessage, subject: str, body: str) -> tuple[list[str], list[str]]:
    """Words minus the function words of the languages in the corpora (so the model does not
    learn "not English, so phishing"), a few specific HTML tricks and attachment types.
    Generic structure (HTML or not, how many links, MIME layout) is left out on purpose: it tells
    2002 from 2024 better than ham from phishing."""
    toks: list[str] = []
    toks += ["s:" + w for w in _WORD.findall(subject.lower())[:40] if w not in STOPWORDS]
    body_low = body.lower()
    words = [w for w in _WORD.findall(body_low)[:5000] if w not in STOPWORDS][:4000]
    # Shapes of tokens with digits: amounts, codes, phone numbers ("$9,999", "A9A-9").
    # (Words that are all letters are skipped before the search: most are.)
    with_digits = [t for t in body[:10_000].split() if not t.isalpha() and _DIGIT.search(t)]
    toks += ["sh:" + t for t in _shapes(with_digits[:500])]
    if subject:
        letters = sum(c.isalpha() for c in subject)
        upper = sum(c.isupper() for c in subject) / max(letters, 1)
        # Shouting, exclamation marks, a dollar: tokens only when present (see below).
        toks += [f"su:{int(upper * 4)}"] if upper >= 0.25 else []
        toks += [f"sx:{min(subject.count('!'), 3)}"] if "!" in subject else []
        toks += ["s$"] if "$" in subject else []
        # A hash-buster: a random token tacked on after the subject ("Grow Up!  abm") so that
        # every copy differs; the word is nowhere in the text.
        tail = _HASH_BUSTER.search(subject.replace("\xa0", " "))
        if tail and tail.group(1).lower() not in body_low:
            toks.append("s:buster")
    # Runs of exclamation marks in the text ("FREE!!", "Act now!!!"): a scam's typography in
    # any era and language, in a quarter of the corpus spam and 1-3% of its ham (a token only
    # when present, see below). Over eight cross-validation splits, spam recall at two hard-ham
    # false positives rose from 94.2% to 94.9% (docs/benchmarks.md, tenth round).
    if "!!" in body[:10_000]:
        toks.append("bx")
    if msg.html:
        low = msg.html[:100_000].lower()
        toks += ["h:" + probe for probe in _HTML_TRICKS if probe in low]
    # Not ``links_util.link_hosts``: that one names web hosts for alerts and skips mailto:, but
    # here a mailto: domain is evidence ("mail remove@..." in spam); with link_hosts, spam
    # recall at two hard-ham false positives fell from 95.3% to 94.8% (cross-validated).
    # The message's own links only: the few PDF lures in the corpora are too few to weigh their
    # hosts, and the rule findings on them (shortener, hosting) are features already.
    hosts = set()
    for link in [lk for lk in msg.links if not lk.where][:200]:
        u = link.url.lower()
        h = u.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0]
        if h:
            hosts.add(h)
    link_domains = {registered_domain(h) for h in hosts if "." in h}
    toks += ["lh:" + d for d in link_domains]
    # The common case is never a token ("no links", a plain display name such as "Sarah
    # Willems", a subject without capitals, "!" or "$"): such a token acts as an intercept, and
    # these learnt the corpora, not mail. The public ham is mailing-list mail, which nearly
    # always has the list's links and a display name, so those had come to mean "not a list,
    # so phishing": trained on generated port mail of other companies, the model held 41 of
    # 5,000 such messages (a short customs note without a link); without them, none
    # (docs/benchmarks.md).
    toks += _own_links(msg, link_domains)
    toks += _display_name_shape(msg)
    toks += _mailbox_shape(msg)
    for att in msg.attachments[:20]:
        ext = att.filename.rsplit(".", 1)[-1].lower() if "." in att.filename else "none"
        if ext not in _DOCUMENTS:
            toks.append("att:" + ext[:6])
    name = _clean(msg.from_name.lower())
    toks += ["fn:" + w for w in _WORD.findall(name)[:5] if w not in STOPWORDS]
    return toks, words


_SHAPES = ((re.compile(r"\d+"), "9"), (re.compile(r"[A-Z]+"), "A"), (re.compile(r"[a-z]+"), "a"))


def _shapes(tokens: list[str]) -> list[str]:
    """``$12,500`` → ``$9,9``, ``BE71-0961`` → ``A9-9``: one pass over all tokens at once."""
    text = "\n".join(tokens)
    for pattern, repl in _SHAPES:
        text = pattern.sub(repl, text)
    return [t[:12] for t in text.split("\n")] if tokens else []


def char_grams(text: str, salt: int, limit: int) -> np.ndarray:
    """Hashed character 4-grams of the first ``limit`` characters of ``text`` (lower-cased,
    blanks folded; addresses already cut out), computed in numpy:
    a Python loop over 1,500 slices would cost more than the rest of the scan."""
    t = " " + " ".join(text.lower().split()) + " "
    a = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32)[: limit + 3].astype(np.uint64)
    n = len(a) - 3
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.full(n, salt, dtype=np.uint64)
    for k in range(4):
        h = (h * np.uint64(1_000_003)) ^ a[k : k + n]
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return (h & np.uint64(DIM - 1)).astype(np.int64)


@dataclass(frozen=True)
class Features:
    """A message's hashed features in four blocks, each normalised on its own (so 8,000 word
    pairs do not drown 30 tokens): tokens (words, shapes, link domains...; the learned findings
    join them), words and word pairs, the body's character 4-grams, the subject's."""

    tokens: np.ndarray
    words: np.ndarray
    chars: np.ndarray
    subject_chars: np.ndarray

    def weighted(self, rules: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, values)``: each block scaled to ``BLOCK_WEIGHTS`` / sqrt(size). An index
        in two blocks (a hash collision) appears twice; every consumer sums."""
        tokens = (
            self.tokens if rules is None or not len(rules) else np.concatenate([self.tokens, rules])
        )
        parts = [tokens, self.words, self.chars, self.subject_chars]
        vals = [
            np.full(len(b), w / np.sqrt(len(b)) if len(b) else 0.0)
            for b, w in zip(parts, BLOCK_WEIGHTS, strict=True)
        ]
        return np.concatenate(parts), np.concatenate(vals)


def vector(msg: ParsedMessage) -> Features:
    """The message's hashed features, findings not included."""
    subject = _clean(msg.subject[:1000])
    body = _clean(msg.body[:30_000])
    toks, words = _tokens(msg, subject, body)
    return Features(
        _distinct(hash_tokens(toks)),
        _distinct(_word_grams(words)),
        _distinct(char_grams(body[: CHAR_SPAN * 2], 0xB4, CHAR_SPAN)),
        _distinct(char_grams(subject[:300], 0x55, 300)),
    )


def _distinct(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)``: sorted, each value once. For a few thousand hashes numpy's own takes
    ~80 µs (its hash table, then a sort) and this ~6 µs, and it runs four times a message."""
    s = np.sort(a)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def _word_grams(words: list[str]) -> np.ndarray:
    """Hashed words and word pairs: each distinct word hashed once, pairs combined in numpy."""
    if not words:
        return np.zeros(0, dtype=np.int64)
    table = {w: zlib.crc32(w.encode("utf-8", "replace")) for w in set(words)}
    seq = np.fromiter((table[w] for w in words), dtype=np.uint64, count=len(words))
    pairs = (seq[:-1] * np.uint64(0x9E3779B1)) ^ (seq[1:] + np.uint64(0x7F4A7C15))
    pairs ^= pairs >> np.uint64(31)
    return (np.concatenate([seq, pairs]) & np.uint64(DIM - 1)).astype(np.int64)


def _own_links(msg: ParsedMessage, link_domains: set[str]) -> list[str]:
    """Whether the links go to the sender's own domain: a newsletter links home, a phish
    elsewhere (nothing when there are no links)."""
    if not link_domains:
        return []
    if not msg.from_domain:
        return ["own:nofrom"]
    own = registered_domain(msg.from_domain)
    k = sum(d == own for d in link_domains)
    return ["own:all" if k == len(link_domains) else "own:some" if k else "own:none"]


def _display_name_shape(msg: ParsedMessage) -> list[str]:
    """The display name's shape when it stands out: missing, the address's local part again,
    digits, capitals (nothing for a plain name)."""
    name = msg.from_name
    if not name:
        return ["dn:empty"]
    out = []
    if name.lower().replace(" ", "") == msg.from_addr.split("@")[0]:
        out.append("dn:=local")
    if any(ch.isdigit() for ch in name):
        out.append("dn:digit")
    if name.isupper():
        out.append("dn:caps")
    return out


_DIGITS3 = re.compile(r"\d{3}")


def _mailbox_shape(msg: ParsedMessage) -> list[str]:
    """The shape of the sender's mailbox name when it has digits (nothing for ``jan.peeters``):
    a machine made it. Spammers' throwaway accounts (``health104580m43``, shape ``a9a9``),
    phishing kits' senders (``join_now_65103``, ``a_a_9``) and newsletters' bounce addresses
    (``r-1-270241-5399979-2-...``) each have their shape, which the model tells apart; in the
    corpora 25% of spam, 19% of phishing_pot and 41% of hard ham (bounce addresses) have
    digits there, 2% of the easy and modern ham. Over eight cross-validation splits, spam
    recall at two hard-ham false positives rose from 94.85% to 95.02% (docs/benchmarks.md,
    eleventh round)."""
    local = msg.from_addr.rpartition("@")[0]  # "" without an "@"
    if not _DIGIT.search(local):
        return []
    return ["fl:" + _shapes([local])[0]] + (["fl:digits"] if _DIGITS3.search(local) else [])


def learnable(reasons: Iterable[Reason]) -> list[str]:
    """Names of the findings the model may weigh: phishing and spam rules, not the bulk markers
    (they tell mailing lists from marketing, which is not what the model must learn), malware
    or information."""
    return [
        r.name
        for r in reasons
        if r.kind in ("phishing", "spam") and not r.name.startswith(("bulk.", "content."))
    ]


def rule_index(names: Iterable[str]) -> dict[str, int]:
    return {n: zlib.crc32(("r:" + n).encode()) & (DIM - 1) for n in names}


def hash_tokens(tokens: Iterable[str]) -> np.ndarray:
    idx = {zlib.crc32(t.encode("utf-8", "replace")) & (DIM - 1) for t in tokens}
    return np.fromiter(idx, dtype=np.int64, count=len(idx))


@dataclass
class Evidence:
    """What the model says of one message: the likelier bad class and its margin over ham
    (``value``), and the part of ``value`` each learned finding carries."""

    kind: str
    value: float
    per_class: dict[str, float] = field(default_factory=dict)
    rule_parts: dict[str, float] = field(default_factory=dict)


@dataclass
class Classifier:
    """A trained model: ``evidence`` weighs a message, ``weigh`` turns that into reasons."""

    weights: dict[int, np.ndarray]
    intercept: np.ndarray
    classes: tuple[str, ...] = CLASSES
    meta: dict[str, Any] | None = None
    #: Hash buckets the model was trained with. A model of fewer buckets (trained by an older
    #: release) still scores: the message's hashes are folded onto its buckets, which is how
    #: it hashed them, up to the blocks' normalisation; retraining restores the exact match.
    dim: int = DIM

    def __post_init__(self) -> None:
        if self.dim > DIM or self.dim & (self.dim - 1):
            raise ValueError(
                f"the model has {self.dim} hash buckets; this release hashes into {DIM}: retrain it"
            )
        keys = sorted(self.weights)
        if keys and not 0 <= keys[0] <= keys[-1] < self.dim:
            raise ValueError(f"the model's weights lie outside its {self.dim} hash buckets")
        self._keys = np.asarray(keys, dtype=np.int64)
        n = len(self.classes)
        self._matrix = (
            np.stack([self.weights[k] for k in keys]).astype(np.float64)
            if keys
            else np.zeros((0, n))
        )
        self.learned = frozenset((self.meta or {}).get("learned_rules", []))
        # hash → row of the weight matrix (-1: no weight): one gather per message instead of a
        # binary search per feature (4 MB).
        self._rows = np.full(self.dim, -1, dtype=np.int32)
        self._rows[self._keys] = np.arange(len(self._keys), dtype=np.int32)

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> Classifier:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != "portguard-mail-model/2":
            raise ValueError(f"{path}: not a PortGuard mail model (format 2); retrain it")
        idx = np.frombuffer(base64.b64decode(data["index"]), dtype=np.int32)
        w = np.frombuffer(base64.b64decode(data["weights"]), dtype=np.float16).astype(np.float32)
        w = w.reshape(len(idx), len(data["classes"]))
        try:
            return cls(
                weights={int(i): w[n] for n, i in enumerate(idx)},
                intercept=np.asarray(data["intercept"], dtype=np.float32),
                classes=tuple(data["classes"]),
                meta=data.get("meta"),
                dim=int(data.get("dim", 1 << 20)),
            )
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def save(self, path: Path) -> None:
        keys = sorted(self.weights)
        w = np.stack([self.weights[k] for k in keys]).astype(np.float16)
        doc = {
            "format": "portguard-mail-model/2",
            "classes": list(self.classes),
            "dim": self.dim,
            "intercept": [float(x) for x in self.intercept],
            "index": base64.b64encode(np.asarray(keys, dtype=np.int32).tobytes()).decode(),
            "weights": base64.b64encode(w.tobytes()).decode(),
            "meta": self.meta or {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc), encoding="utf-8")

    def evidence(self, msg: ParsedMessage, rules: Sequence[Reason] = ()) -> Evidence:
        """The model's evidence on ``msg``; ``rules`` are the other analysers' findings."""
        return self.evidence_of(vector(msg), learnable(rules))

    def evidence_of(self, base: Features, rule_names: Sequence[str]) -> Evidence:
        """Evidence from a message's ``vector`` and the names of its findings.

        There is no intercept: a message whose words the model does not know has no evidence
        either way (0), instead of inheriting the class balance of the training corpora."""
        rules = rule_index(n for n in rule_names if n in self.learned)
        idx, vals = base.weighted(np.fromiter(rules.values(), dtype=np.int64, count=len(rules)))
        n = len(self.classes)
        z = self.intercept.astype(np.float64).copy()
        pos = self._rows[idx & (self.dim - 1)]
        hit = pos >= 0
        if hit.any():
            z += vals[hit] @ self._matrix[pos[hit]]
        ham = self.classes.index("ham")
        per_class = {c: float(z[i] - z[ham]) for i, c in enumerate(self.classes) if i != ham}
        kind = max(per_class, key=lambda c: per_class[c]) if per_class else "spam"
        k = self.classes.index(kind) if kind in self.classes else min(1, n - 1)
        # The findings sit right after the tokens in ``weighted``'s output.
        parts = {}
        for j, name in enumerate(rules, start=len(base.tokens)):
            if pos[j] >= 0:
                w = self._matrix[pos[j]]
                parts[name] = float(w[k] - w[ham]) * float(vals[j])
        return Evidence(kind, per_class.get(kind, 0.0), per_class, parts)

    def weigh(self, ev: Evidence, rules: Sequence[Reason]) -> list[Reason]:
        """``rules`` with the learned ones rescored by the model, plus the words' reason.

        The model's evidence (scaled to points, between -HAM_CREDIT and MAX_CONTENT) is split
        exactly between the learned findings and the words; unlearned findings keep their
        hand-set scores."""
        total = float(np.clip(EVIDENCE_SCALE * ev.value, -HAM_CREDIT, MAX_CONTENT))
        ratio = total / (EVIDENCE_SCALE * ev.value) if ev.value else 0.0
        out: list[Reason] = []
        learned_points = 0.0
        for r in rules:
            if r.name in ev.rule_parts:
                points = float(EVIDENCE_SCALE * ev.rule_parts[r.name] * ratio)
                learned_points += points
                out.append(Reason(r.name, points, r.detail, kind=ev.kind))
            else:
                out.append(r)
        words = total - learned_points
        if words < 0 and any(r.name.startswith("bec.") for r in rules):
            # Business e-mail compromise is written to read like business mail: the model's
            # "this reads like legitimate mail" is no credit against a payment, bank-detail or
            # release-PIN request.
            words = 0.0
        if words > 0.05:
            out.append(
                Reason(
                    f"content.{ev.kind}",
                    words,
                    f"the text reads like {ev.kind} (model evidence {ev.value:.1f})",
                    kind=ev.kind,
                )
            )
        elif words < -0.05:
            out.append(
                Reason(
                    "content.ham",
                    words,
                    f"the text reads like legitimate mail (model evidence {ev.value:.1f})",
                    kind=ev.kind,
                )
            )
        return out


def _matrix(rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = np.cumsum([0] + [len(i) for i, _ in rows])
    data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
    indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
    return csr_matrix((data, indices, indptr), shape=(len(rows), DIM))


def train(
    vectors: Sequence[Features],
    rule_names: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    c: float = C_DEFAULT,
    max_features: int = MAX_FEATURES,
    meta: dict[str, Any] | None = None,
) -> Classifier:
    """Fit a model on messages' ``vector``s, their findings' names and labels in ``CLASSES``.

    Findings seen on fewer than ``MIN_RULE_SUPPORT`` messages are not learned: their weights
    would be noise, and they keep their hand-set scores."""
    from sklearn.svm import LinearSVC

    support = Counter(n for names in rule_names for n in set(names))
    learned = sorted(n for n, k in support.items() if k >= MIN_RULE_SUPPORT)
    index = rule_index(learned)
    # Each finding once, however often it fired: as ``evidence_of`` sees it at scan time.
    rows = [
        v.weighted(np.asarray(sorted({index[n] for n in names if n in index}), dtype=np.int64))
        for v, names in zip(vectors, rule_names, strict=True)
    ]
    x = _matrix(rows)
    y = np.asarray([CLASSES.index(lbl) for lbl in labels])
    model = LinearSVC(C=c, class_weight="balanced", fit_intercept=False, max_iter=10_000)
    model.fit(x, y, sample_weight=None if weights is None else np.asarray(weights))
    raw = model.coef_
    if raw.shape[0] == 1:  # two classes: one vector for the second against the first
        raw = np.vstack([-raw[0] / 2, raw[0] / 2])
    coef = raw.T.astype(np.float32)  # DIM x classes
    present = np.unique(x.indices)
    strength = np.abs(coef[present]).max(axis=1)
    keep = set(present[np.argsort(-strength)[:max_features]].tolist())
    keep |= set(index.values())  # every learned finding keeps its weight, however small
    classes = tuple(CLASSES[int(k)] for k in model.classes_)
    return Classifier(
        weights={int(i): coef[i] for i in sorted(keep)},
        intercept=np.zeros(len(model.classes_), dtype=np.float32),
        classes=classes,
        meta={**(meta or {}), "learned_rules": learned},
    )
