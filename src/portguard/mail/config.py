"""``MailSettings``: the gateway's configuration as data (from TOML/YAML via ``from_dict``), and
``build_scanner`` which turns it into a ready ``Scanner``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portguard.core.errors import ConfigError
from portguard.mail.analysers.base import AnalysisContext
from portguard.mail.classifier import DEFAULT_MODEL, Classifier
from portguard.mail.resolver import DnsResolver
from portguard.mail.scanner import Policy, Scanner

if TYPE_CHECKING:
    from portguard.intel.index import IndicatorIndex

__all__ = ["DEFAULT_PROTECTED", "MailSettings", "build_scanner", "load_blocklist"]

#: The port community's domains that impersonation checks protect by default.
DEFAULT_PROTECTED = (
    "portofantwerpbruges.com",
    "portofantwerp.com",
    "portofzeebrugge.be",
    "nxtport.com",
    "c-point.be",
)


#: Numeric settings checked by ``from_dict``: (name, least value, what 0 means).
_COUNTS = (
    ("known_sender_credit", 0, " (0: no credit)"),
    ("known_sender_messages", 1, ""),
    ("known_sender_days", 0, ""),
    ("quarantine_days", 0, " (days; 0: keep)"),
    ("message_days", 0, " (days; 0: keep)"),
)


@dataclass
class MailSettings:
    """Everything the mail domain can be told. Hosts are ``host:port``."""

    listen: str = "127.0.0.1:2525"
    next_hop: str = "127.0.0.1:10026"
    #: Recipient domains accepted (others are refused: not an open relay); also protected.
    accept_domains: list[str] = field(default_factory=lambda: list(DEFAULT_PROTECTED))
    protected_domains: list[str] = field(default_factory=lambda: list(DEFAULT_PROTECTED))
    vips: list[str] = field(default_factory=list)
    trusted_authserv_ids: list[str] = field(default_factory=list)
    #: "offline" (no DNS: authentication only from trusted Authentication-Results) or "system".
    dns: str = "offline"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_starttls: bool = False
    max_message_bytes: int = 64 * 1024 * 1024
    #: Messages per client IP per minute.
    rate_limit_per_minute: int = 600
    #: Hard wall-clock limit of one scan; past it the message gets a "malformed" verdict.
    scan_timeout_s: float = 10.0
    retry_initial_s: float = 30.0
    retry_max_s: float = 3600.0
    blocklist_file: Path | None = None
    model: Path | None = None
    block_score: float = 6.0
    reject_phishing_score: float | None = 15.0
    spam_action: str = "quarantine"
    #: At most this many of the content model's points are cancelled for a known correspondent's
    #: authenticated mail (``portguard.mail.correspondents``; 12 is all of them); 0 turns the
    #: history off.
    known_sender_credit: float = 12.0
    #: Authenticated deliveries, the first at least ``known_sender_days`` ago, that make a
    #: sender a known correspondent.
    known_sender_messages: int = 5
    known_sender_days: float = 7.0
    #: Quarantined (and undeliverable) messages are deleted this many days after they arrived,
    #: audited as ``system:retention``; their verdict rows stay, as ``expired``, until
    #: ``message_days``. 0 keeps them until someone deletes them.
    quarantine_days: float = 30.0
    #: Verdict rows (sender, recipients, subject, reasons: personal data) are deleted this many
    #: days after the message came, with the reports on them; the daily counters stay. Held
    #: messages expire first. 0 keeps them.
    message_days: float = 365.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MailSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown mail settings: {', '.join(unknown)}")
        s = cls(**data)
        for name in ("tls_cert", "tls_key", "blocklist_file", "model"):
            v = getattr(s, name)
            if v is not None and not isinstance(v, Path):
                setattr(s, name, Path(v))
        if s.spam_action not in ("quarantine", "tag"):
            raise ConfigError("spam_action must be 'quarantine' or 'tag'")
        if s.dns not in ("offline", "system"):
            raise ConfigError("dns must be 'offline' or 'system'")
        for name, least, note in _COUNTS:
            value = getattr(s, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
                raise ConfigError(f"{name} must be a number >= {least}{note}")
        return s

    @property
    def policy(self) -> Policy:
        return Policy(
            block=self.block_score,
            reject_phishing=self.reject_phishing_score,
            spam_action=self.spam_action,
            budget_s=self.scan_timeout_s / 2,
        )


def load_blocklist(path: Path | None) -> frozenset[str]:
    """One domain, URL, IP, e-mail address or SHA-256 a line; ``#`` starts a comment."""
    if path is None:
        return frozenset()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the mail blocklist {path}: {exc}") from None
    return frozenset(
        x.split("#", 1)[0].strip().lower() for x in lines if x.split("#", 1)[0].strip()
    )


_MODELS: dict[Path, Classifier] = {}


def build_scanner(
    settings: MailSettings | None = None,
    *,
    indicator_index: IndicatorIndex | None = None,
    classifier: Classifier | None = None,
) -> Scanner:
    s = settings or MailSettings()
    if classifier is None:
        path = s.model or DEFAULT_MODEL
        if path not in _MODELS:
            try:
                _MODELS[path] = Classifier.load(path)
            except (OSError, ValueError, KeyError) as exc:
                raise ConfigError(f"cannot load the mail model {path}: {exc}") from None
        classifier = _MODELS[path]
    ctx = AnalysisContext(
        protected_domains=frozenset(s.protected_domains),
        vips=frozenset(v.lower() for v in s.vips),
        trusted_authserv_ids=frozenset(a.lower() for a in s.trusted_authserv_ids),
        resolver=DnsResolver() if s.dns == "system" else None,
        indicator_index=indicator_index,
        blocklist=load_blocklist(s.blocklist_file),
        classifier=classifier,
    )
    return Scanner(ctx, s.policy)
