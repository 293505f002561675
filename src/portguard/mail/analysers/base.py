"""What every analyser shares: its context (configuration, resolver, indicator lookups), the
envelope of the message, helpers for domains (registered domain, look-alike tests) and for
forms in markup."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

if TYPE_CHECKING:
    from portguard.intel.index import IndicatorIndex
    from portguard.mail.classifier import Classifier
    from portguard.mail.correspondents import CorrespondentBook

__all__ = [
    "FORM_RE",
    "Analyser",
    "AnalysisContext",
    "Envelope",
    "Resolver",
    "edit_distance",
    "has_password_input",
    "lookalike_of",
    "registered_domain",
    "skeleton",
]


#: A form in markup (where it posts is read by the parser, with the links).
FORM_RE = re.compile(r"<form\b", re.I)
_INPUT_RE = re.compile(r"<input\b", re.I)
_TYPE_PASSWORD_RE = re.compile(r"""type\s*=\s*["']?password""", re.I)


def has_password_input(markup: str) -> bool:
    """Whether an ``<input>`` tag of ``markup`` says ``type=password`` before its ``>``.

    Linear: the pattern ``<input\b[^>]*type...`` tried every ``<input`` against the rest of
    the text, and a 200 KB body of ``<input `` took 12 s (a 900 KB attached page 150 s). Each
    tag is searched up to its end; a tag that starts inside one already searched ends at the
    same ``>``, so its part was searched too."""
    searched_to = -1
    for m in _INPUT_RE.finditer(markup):
        if m.start() < searched_to:
            continue
        end = markup.find(">", m.end())
        end = len(markup) if end < 0 else end
        if _TYPE_PASSWORD_RE.search(markup, m.end(), end):
            return True
        searched_to = end
    return False


class Resolver(Protocol):
    """DNS as the analysers need it. ``NullResolver`` (offline) answers nothing."""

    def txt(self, name: str) -> list[str]: ...

    def a(self, name: str) -> list[str]: ...

    def mx(self, name: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the SMTP session knew about the message (empty when scanning files)."""

    client_ip: str = ""
    helo: str = ""
    mail_from: str = ""
    rcpt_to: tuple[str, ...] = ()


@dataclass
class AnalysisContext:
    protected_domains: frozenset[str] = frozenset()
    #: Display names of people worth impersonating, lower-case ("jan de smet").
    vips: frozenset[str] = frozenset()
    #: authserv-ids whose Authentication-Results headers are believed.
    trusted_authserv_ids: frozenset[str] = frozenset()
    resolver: Resolver | None = None
    indicator_index: IndicatorIndex | None = None
    #: Local blocklist (domains, URLs, IPs, e-mail addresses), lower-case.
    blocklist: frozenset[str] = frozenset()
    classifier: Classifier | None = None
    #: Senders whose authenticated mail was delivered before (the gateway's; None when scanning
    #: files): the scanner credits their mail against the content model's points.
    correspondents: CorrespondentBook | None = None
    #: Protected domains' registered labels ("portofantwerpbruges"), computed once.
    protected_labels: dict[str, str] = field(default_factory=dict)
    #: (label, its skeleton, domain), longest first; and look-alike answers already given.
    _protected: list[tuple[str, str, str]] = field(default_factory=list, repr=False)
    _lookalikes: dict[str, tuple[str, str] | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.protected_domains = frozenset(d.lower().strip(".") for d in self.protected_domains)
        self.protected_labels = {
            registered_domain(d).split(".")[0]: d for d in self.protected_domains
        }
        self._protected = sorted(
            ((lbl, skeleton(lbl), dom) for lbl, dom in self.protected_labels.items()),
            key=lambda t: -len(t[0]),
        )

    def is_protected(self, domain: str) -> bool:
        d = domain.lower().rstrip(".")
        return any(d == p or d.endswith("." + p) for p in self.protected_domains)


Analyser = Callable[[ParsedMessage, Envelope, AnalysisContext], list[Reason]]

# Public suffixes with two labels that matter in practice (a full PSL is not needed to judge
# alignment and look-alikes well enough; an unknown suffix errs on the side of "same org").
_TWO_LEVEL = frozenset(
    [
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "com.au",
        "net.au",
        "org.au",
        "co.nz",
        "co.jp",
        "co.in",
        "co.za",
        "com.br",
        "com.cn",
        "com.tr",
        "com.mx",
        "com.sg",
        "com.hk",
        "com.tw",
        "co.kr",
        "com.ar",
        "com.my",
        "com.ph",
        "com.ng",
        "com.pk",
        "co.id",
    ]
)


def registered_domain(domain: str) -> str:
    """The organisational domain: ``mail.portofantwerpbruges.com`` → ``portofantwerpbruges.com``."""
    labels = [x for x in domain.lower().rstrip(".").split(".") if x]
    if len(labels) <= 2:
        return ".".join(labels)
    if ".".join(labels[-2:]) in _TWO_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


_CONFUSABLE = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "3": "e",
        "5": "s",
        "4": "a",
        "7": "t",
        "9": "g",
        "|": "l",
        "i": "l",
        "\u0430": "a",  # Cyrillic
        "\u0435": "e",
        "\u043e": "o",
        "\u0440": "p",
        "\u0441": "c",
        "\u0445": "x",
        "\u0443": "y",
        "\u0456": "l",
        "\u04cf": "l",
        "\u0455": "s",
        "\u0501": "d",
        "\u03bf": "o",  # Greek
        "\u03b1": "a",
        "\u03bd": "v",
    }
)


def _idna_decode(domain: str) -> str:
    if "xn--" not in domain:
        return domain
    out = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):
                label = label[4:].encode("ascii").decode("punycode")
        out.append(label)
    return ".".join(out)


def skeleton(text: str) -> str:
    """A form in which homoglyphs compare equal: ``p0rtofantwerp`` ≈ ``portofantwerp``."""
    t = unicodedata.normalize("NFKD", _idna_decode(text.lower()))
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = t.translate(_CONFUSABLE)
    return t.replace("rn", "m").replace("vv", "w").replace("cl", "d")


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment), stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def lookalike_of(domain: str, ctx: AnalysisContext) -> tuple[str, str] | None:
    """The protected domain ``domain`` imitates and how, or None (also None for the real one)."""
    d = domain.lower().rstrip(".")
    if d in ctx._lookalikes:
        return ctx._lookalikes[d]
    hit = _lookalike(d, ctx)
    if len(ctx._lookalikes) > 100_000:
        ctx._lookalikes.clear()
    ctx._lookalikes[d] = hit
    return hit


def _lookalike(d: str, ctx: AnalysisContext) -> tuple[str, str] | None:
    if not d or ctx.is_protected(d) or not ctx._protected:
        return None
    reg = registered_domain(d)
    label = reg.split(".")[0]
    sk = skeleton(label)
    whole = skeleton(d.replace(".", "").replace("-", ""))
    for plabel, psk, pdomain in ctx._protected:
        if len(plabel) < 5:
            continue
        if "xn--" in d and psk in skeleton(d):
            return pdomain, "punycode homoglyphs"
        if label == plabel:
            return pdomain, f"same name under another suffix ({reg})"
        if sk == psk:
            return pdomain, "homoglyphs"
        if len(plabel) >= 6 and edit_distance(sk, psk, 2) <= (1 if len(plabel) < 9 else 2):
            return pdomain, "a few characters changed"
        if psk in skeleton(label.replace("-", "")) or psk in whole:
            return pdomain, "the name with words added"
    return None
