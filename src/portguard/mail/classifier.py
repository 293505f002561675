"""The content classifier: hashed word and structure features → ham / spam / phishing.

Features are words of the subject and visible body (unigrams and bigrams, digits dropped), the
link hosts' top-level domains, the MIME structure and attachment types. They never include dates,
``Received``/``Message-ID``/``X-Mailer`` or any other era-specific header, ``List-*``/Mailman
headers, charsets, or upstream filters' verdicts (``X-Spam-*``): the model must learn phishing
and spam, not the year or the mailing-list software.

Training uses scikit-learn's logistic regression; the model is stored as JSON (the strongest
``MAX_FEATURES`` hashed weights, float16, base64), and scoring needs only numpy.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from portguard.mail.analysers.base import registered_domain
from portguard.mail.parse import ParsedMessage, html_text
from portguard.mail.schemas import Reason

__all__ = ["CLASSES", "DEFAULT_MODEL", "Classifier", "features", "train"]

CLASSES = ("ham", "spam", "phishing")
#: Points of verdict score per unit of classifier evidence (log-odds against ham).
EVIDENCE_SCALE = 2.5
#: Most points clear ham-like text may take off the rules' score (newsletters' link tricks).
HAM_CREDIT = 3.0
DIM = 1 << 20
MAX_FEATURES = 120_000
DEFAULT_MODEL = Path(__file__).parent / "model" / "default.json"
_WORD = re.compile(r"[^\W\d_]{2,24}", re.U)
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


def features(msg: ParsedMessage, rules: Sequence[str] = ()) -> list[str]:
    """The tokens the model sees (see the module docstring for what is left out).

    Words only, minus the function words of the languages in the corpora (so the model does not
    learn "not English, so phishing"), plus a few specific HTML tricks and attachment types.
    Generic structure (HTML or not, how many links, MIME layout) is left out on purpose: it tells
    2002 from 2024 better than ham from phishing."""
    toks: list[str] = []
    subj = [w for w in _WORD.findall(msg.subject.lower())[:40] if w not in STOPWORDS]
    toks += ["s:" + w for w in subj]
    body = msg.text if msg.text.strip() else html_text(msg.html)
    words = [w for w in _WORD.findall(body[:30_000].lower())[:5000] if w not in STOPWORDS][:4000]
    toks += words
    toks += [f"{a}_{b}" for a, b in itertools.pairwise(words)]
    if msg.html:
        low = msg.html[:100_000].lower()
        for probe in ("display:none", "font-size:0", "visibility:hidden", "<form", "password"):
            if probe in low:
                toks.append("h:" + probe)
    hosts = set()
    for link in msg.links[:200]:
        u = link.url.lower()
        h = u.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0]
        if h:
            hosts.add(h)
    for h in hosts:
        toks.append("lh:" + registered_domain(h))
    for att in msg.attachments[:20]:
        ext = att.filename.rsplit(".", 1)[-1].lower() if "." in att.filename else "none"
        toks.append("att:" + ext[:6])
    toks += ["fn:" + w for w in _WORD.findall(msg.from_name.lower())[:5] if w not in STOPWORDS]
    # The rule analysers' findings, by name: the model learns how much each one means here
    # (a link-text mismatch in a newsletter vs. in a password reset).
    toks += ["r:" + name for name in rules]
    return toks


def hash_tokens(tokens: Iterable[str]) -> np.ndarray:
    idx = {zlib.crc32(t.encode("utf-8", "replace")) & (DIM - 1) for t in tokens}
    return np.fromiter(idx, dtype=np.int64, count=len(idx))


@dataclass
class Classifier:
    """A trained model; ``predict`` gives class probabilities, ``reasons`` the verdict input."""

    weights: dict[int, np.ndarray]
    intercept: np.ndarray
    classes: tuple[str, ...] = CLASSES
    meta: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        keys = sorted(self.weights)
        self._keys = np.asarray(keys, dtype=np.int64)
        n = len(self.classes)
        self._matrix = (
            np.stack([self.weights[k] for k in keys]).astype(np.float64)
            if keys
            else np.zeros((0, n))
        )

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> Classifier:
        data = json.loads(path.read_text(encoding="utf-8"))
        idx = np.frombuffer(base64.b64decode(data["index"]), dtype=np.int32)
        w = np.frombuffer(base64.b64decode(data["weights"]), dtype=np.float16).astype(np.float32)
        w = w.reshape(len(idx), len(data["classes"]))
        return cls(
            weights={int(i): w[n] for n, i in enumerate(idx)},
            intercept=np.asarray(data["intercept"], dtype=np.float32),
            classes=tuple(data["classes"]),
            meta=data.get("meta"),
        )

    def save(self, path: Path) -> None:
        keys = sorted(self.weights)
        w = np.stack([self.weights[k] for k in keys]).astype(np.float16)
        doc = {
            "format": "portguard-mail-model/1",
            "classes": list(self.classes),
            "dim": DIM,
            "intercept": [float(x) for x in self.intercept],
            "index": base64.b64encode(np.asarray(keys, dtype=np.int32).tobytes()).decode(),
            "weights": base64.b64encode(w.tobytes()).decode(),
            "meta": self.meta or {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc), encoding="utf-8")

    def predict(self, msg: ParsedMessage, rules: Sequence[str] = ()) -> dict[str, float]:
        """Evidence per class; ``rules`` are the names of the other analysers' reasons."""
        return self.predict_tokens(features(msg, rules))

    def predict_tokens(self, tokens: list[str]) -> dict[str, float]:
        """Evidence for each class against ham: the difference of their linear scores.

        There is no intercept: a message whose words the model does not know has no evidence
        either way (0), instead of inheriting the class balance of the training corpora."""
        idx = hash_tokens(tokens)
        z = self.intercept.astype(np.float64).copy()
        if len(idx) and len(self._keys):
            pos = np.searchsorted(self._keys, idx)
            pos[pos >= len(self._keys)] = 0
            hit = self._keys[pos] == idx
            if hit.any():
                z += self._matrix[pos[hit]].sum(axis=0) / np.sqrt(len(idx))
        ham = z[self.classes.index("ham")]
        return {c: float(v - ham) for c, v in zip(self.classes, z, strict=True) if c != "ham"}

    def reasons(self, evidence: dict[str, float]) -> list[Reason]:
        out = []
        for cls in ("phishing", "spam"):
            e = evidence.get(cls, 0.0)
            if e > 0.5:
                score = min(EVIDENCE_SCALE * e, 12.0)
                out.append(
                    Reason(
                        f"content.{cls}",
                        score,
                        f"the text reads like {cls} (evidence {e:.1f})",
                        kind=cls,
                    )
                )
        top = max(evidence.values(), default=0.0)
        if top < -0.5:
            out.append(
                Reason(
                    "content.ham",
                    max(top, -HAM_CREDIT),
                    f"the text reads like legitimate mail (evidence {-top:.1f})",
                )
            )
        return out


def _matrix(token_lists: Sequence[list[str]]) -> Any:
    from scipy.sparse import csr_matrix

    rows: list[np.ndarray] = []
    indptr = [0]
    data: list[np.ndarray] = []
    for toks in token_lists:
        idx = np.sort(hash_tokens(toks))
        rows.append(idx)
        data.append(np.full(len(idx), 1.0 / np.sqrt(max(len(idx), 1))))
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (np.concatenate(data) if data else [], np.concatenate(rows) if rows else [], indptr),
        shape=(len(token_lists), DIM),
    )


def train(
    token_lists: Sequence[list[str]],
    labels: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    c: float = 20.0,
    max_features: int = MAX_FEATURES,
    meta: dict[str, Any] | None = None,
) -> Classifier:
    """Fit a model on feature token lists (``features(msg)``) and labels in ``CLASSES``."""
    from sklearn.linear_model import LogisticRegression

    x = _matrix(token_lists)
    y = np.asarray([CLASSES.index(lbl) for lbl in labels])
    model = LogisticRegression(C=c, max_iter=300, class_weight="balanced", fit_intercept=False)
    model.fit(x, y, sample_weight=None if weights is None else np.asarray(weights))
    raw = model.coef_
    if raw.shape[0] == 1:  # two classes: one vector for the second against the first
        raw = np.vstack([-raw[0] / 2, raw[0] / 2])
    coef = raw.T.astype(np.float32)  # DIM x classes
    present = np.unique(x.indices)
    strength = np.abs(coef[present]).max(axis=1)
    keep = present[np.argsort(-strength)[:max_features]]
    classes = tuple(CLASSES[int(k)] for k in model.classes_)
    return Classifier(
        weights={int(i): coef[i] for i in keep},
        intercept=np.zeros(len(model.classes_), dtype=np.float32),
        classes=classes,
        meta=meta,
    )
