"""The shared mail corpora as labelled file lists (``../shared/data/mail``)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mail"

#: class name -> (folders under DATA, training label)
CLASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "easy_ham": (("spamassassin/easy-ham-1", "spamassassin/easy-ham-2"), "ham"),
    "hard_ham": (("spamassassin/hard-ham-1",), "ham"),
    "spam": (("spamassassin/spam-1", "spamassassin/spam-2"), "spam"),
    "nazario": (("nazario",), "phishing"),
    "phishing_pot": (("phishing_pot",), "phishing"),
    "modern_ham": (("modern-ham",), "ham"),
}


def files(cls: str, data: Path = DATA) -> list[Path]:
    out: list[Path] = []
    for folder in CLASSES[cls][0]:
        out += sorted(p for p in (data / folder).rglob("*") if p.is_file() and p.name != "cmds")
    return out


def sample(paths: list[Path], n: int | None) -> list[Path]:
    """Every k-th file: deterministic, spread over the whole folder."""
    if n is None or len(paths) <= n:
        return paths
    step = len(paths) / n
    return [paths[int(i * step)] for i in range(n)]
