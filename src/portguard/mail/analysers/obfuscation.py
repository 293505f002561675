"""Obfuscated text: the tricks that hide words from filters but not from readers.

Words that mix scripts (``Nutrisyst\\u0435m`` with a Cyrillic ``e``) and invisible characters
inside words (``E\\u034fV\\u034fR\\u034fi``). Legitimate mail has no reason to write a word so
that it reads the same to a person and differently to a machine. The checks look inside words
only, so the invisible padding newsletters put after their preheader does not count.

Letters spaced out (``L o s e  W e i g h t``) were tried and dropped: as common in the ham
corpora's headings as in spam.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from portguard.mail.analysers.base import AnalysisContext, Envelope
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

__all__ = ["analyse", "mixed_script_words"]

_SCAN = 20_000
#: Characters that render as nothing (or as a blank) when placed between letters.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d"
    "\u2060\u2061\u2062\u2063\u2064\u2800\u3164\ufeff\uffa0"
)
_ANY_INVISIBLE = re.compile(f"[{_INVISIBLE}]")
_CYRILLIC_GREEK = re.compile("[\u0370-\u03ff\u0400-\u052f]")
_INVISIBLE_IN_WORD = re.compile(rf"(?<=[^\W\d_])[{_INVISIBLE}]+(?=[^\W\d_])")
#: Words of three letters or more with at least one letter outside ASCII.
_WORD = re.compile(r"(?=[^\W\d_]{3})[^\W\d_]*[^\x00-\x7f\W\d_][^\W\d_]*")


@lru_cache(maxsize=65_536)
def _script(ch: str) -> str:
    """Latin, Cyrillic, Greek or other, from the character's Unicode name (cached)."""
    name = unicodedata.name(ch, "")
    for script in ("LATIN", "CYRILLIC", "GREEK"):
        if name.startswith(script):
            return script
    return "OTHER"


def mixed_script_words(text: str) -> list[str]:
    """Words of three letters or more written in more than one of Latin, Cyrillic and Greek."""
    out: list[str] = []
    if text.isascii() or not _CYRILLIC_GREEK.search(text):
        return out
    for m in _WORD.finditer(text):
        word = m.group(0)
        if len(word) < 3:
            continue
        scripts = {_script(c) for c in word} - {"OTHER"}
        if len(scripts) > 1:
            out.append(word)
    return out


def analyse(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    body = msg.body[:_SCAN]
    head = f"{msg.subject}\n{msg.from_name}"
    out: list[Reason] = []
    if head.isascii() and body.isascii():  # neither trick can be written in ASCII
        return out
    mixed_head = mixed_script_words(head)
    mixed_body = mixed_script_words(body)
    if mixed_head or len(mixed_body) >= 2:
        words = list(dict.fromkeys(mixed_head + mixed_body))
        out.append(
            Reason(
                "obfuscation.mixed_scripts",
                3.0 if mixed_head else 2.0,
                f"words written in mixed alphabets: {', '.join(words[:5])}",
                kind="spam",
            )
        )
    # Invisible characters in the subject or sender name count three times: there is no
    # layout reason for them there.
    hidden = 0
    if _ANY_INVISIBLE.search(head) or _ANY_INVISIBLE.search(body):
        hidden = len(_INVISIBLE_IN_WORD.findall(head)) * 3 + len(_INVISIBLE_IN_WORD.findall(body))
    if hidden >= 3:
        out.append(
            Reason(
                "obfuscation.invisible_chars",
                2.5,
                f"{hidden} invisible characters inside words",
                kind="spam",
            )
        )
    return out
