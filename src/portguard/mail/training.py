"""Training and evaluation of the content classifier on labelled folders of messages.

``load_labelled`` reads folders (``label=path``: ham, spam or phishing; files, .eml or mbox),
``fit`` trains a model (``portguard mail train``), ``cross_validate`` scores every message with a
model that never saw it (``portguard mail eval`` and ``bench/mail_eval.py``).
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from portguard.core.errors import ValidationError
from portguard.mail.analysers import AnalysisContext, Envelope, rule_reasons
from portguard.mail.classifier import (
    CLASSES,
    Classifier,
    Evidence,
    Features,
    learnable,
    train,
    vector,
)
from portguard.mail.parse import ParsedMessage, parse_message
from portguard.mail.schemas import Reason

__all__ = ["Sample", "cross_validate", "fit", "iter_messages", "load_labelled", "message_files"]

MAX_FILE = 50_000_000


def message_files(path: Path) -> list[Path]:
    """The files ``iter_messages`` reads for ``path``: itself, or every file under a folder
    (sorted; hidden files and the SpamAssassin corpus's ``cmds`` index left out)."""
    if not path.is_dir():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name != "cmds"
    )


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, raw)`` for a file (.eml or mbox) or every file under a folder (sorted), read
    one at a time."""
    if path.is_dir():
        for p in message_files(path):
            yield from iter_messages(p)
        return
    with path.open("rb") as f:
        head = f.read(5)
    if head == b"From ":
        box = mailbox.mbox(str(path), create=False)
        try:
            for n, key in enumerate(box.iterkeys()):
                yield f"{path}#{n + 1}", box.get_bytes(key)
        finally:
            box.close()
        return
    if path.stat().st_size > MAX_FILE:
        yield str(path), path.read_bytes()[:MAX_FILE]
    else:
        yield str(path), path.read_bytes()


@dataclass
class Sample:
    """One labelled message: its feature vector and the rule findings it raised."""

    name: str
    label: str
    group: str
    vector: Features
    rules: list[Reason] = field(default_factory=list)
    parsed: ParsedMessage | None = None


def load_labelled(
    specs: Sequence[tuple[str, str, Path]],
    *,
    keep_parsed: bool = False,
    ctx: AnalysisContext | None = None,
) -> list[Sample]:
    """``specs`` are ``(group, label, path)``; ``label`` in ham/spam/phishing. The rule
    analysers run with ``ctx`` (default: the default settings' protected domains, offline) and
    their findings join the features, as at scan time."""
    if ctx is None:
        from portguard.mail.config import DEFAULT_PROTECTED

        ctx = AnalysisContext(protected_domains=frozenset(DEFAULT_PROTECTED))
    out: list[Sample] = []
    for group, label, path in specs:
        if label not in CLASSES:
            raise ValidationError(f"label must be one of {', '.join(CLASSES)}", location=label)
        if not path.exists():
            raise ValidationError("no such file or folder", location=str(path))
        for name, raw in iter_messages(path):
            msg = parse_message(raw)
            s = Sample(name, label, group, vector(msg), rule_reasons(msg, Envelope(), ctx))
            s.parsed = msg if keep_parsed else None
            out.append(s)
    return out


def _weights(samples: Sequence[Sample]) -> list[float]:
    """Each group weighs as much as its label's mean group (small modern sets are not drowned)."""
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.group] = counts.get(s.group, 0) + 1
    per_label: dict[str, list[int]] = {}
    for s in samples:
        per_label.setdefault(s.label, [])
    for g, n in counts.items():
        lbl = next(s.label for s in samples if s.group == g)
        per_label[lbl].append(n)
    mean = {lbl: float(np.mean(ns)) for lbl, ns in per_label.items()}
    return [min(mean[s.label] / counts[s.group], 5.0) ** 0.5 for s in samples]


def _check_labels(samples: Sequence[Sample], least: int) -> None:
    """Training needs ham and at least one bad class, each with ``least`` messages."""
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.label] = counts.get(s.label, 0) + 1
    if "ham" not in counts or len(counts) < 2:
        have = ", ".join(f"{n} {lbl}" for lbl, n in sorted(counts.items())) or "no messages"
        raise ValidationError(
            f"training needs ham and spam or phishing messages; got {have}", location="folders"
        )
    few = {lbl: n for lbl, n in counts.items() if n < least}
    if few:
        raise ValidationError(
            "too few messages to cross-validate with these folds: "
            + ", ".join(f"{n} {lbl}" for lbl, n in sorted(few.items()))
            + f" (need at least {least} of each label)",
            location="folders",
        )


def fit(samples: Sequence[Sample], *, meta: dict[str, Any] | None = None) -> Classifier:
    """A model trained on ``samples``; ValidationError when they lack ham or a bad class."""
    _check_labels(samples, 1)
    return train(
        [s.vector for s in samples],
        [learnable(s.rules) for s in samples],
        [s.label for s in samples],
        weights=_weights(samples),
        meta=meta,
    )


def cross_validate(
    samples: Sequence[Sample],
    *,
    folds: int = 5,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Evidence]:
    """The evidence on every sample from a model trained on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    _check_labels(samples, folds)
    out: list[Evidence] = [Evidence("spam", 0.0) for _ in samples]
    groups = [s.group for s in samples]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for n, (tr, te) in enumerate(skf.split(np.zeros(len(samples)), groups)):
        model = fit([samples[i] for i in tr])
        for i in te:
            out[i] = model.evidence_of(samples[i].vector, learnable(samples[i].rules))
        if progress:
            progress(n + 1)
    return out
