"""Shapes of the mail domain: reasons, verdicts (pure dataclasses) and the API's pydantic models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Category",
    "FeedbackCreate",
    "QuarantineRead",
    "Reason",
    "StatsRead",
    "Verdict",
]


class Category(StrEnum):
    CLEAN = "clean"
    BULK = "bulk"
    SPAM = "spam"
    PHISHING = "phishing"
    MALWARE = "malware"


@dataclass(frozen=True, slots=True)
class Reason:
    """One scored finding an analyser explains: ``name`` is stable (``links.ip_url``)."""

    name: str
    score: float
    detail: str = ""
    #: What the reason points at, for the verdict's category: phishing, spam, malware, bulk.
    kind: str = "phishing"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": round(self.score, 2), "detail": self.detail}


@dataclass
class Verdict:
    category: Category
    score: float
    reasons: list[Reason] = field(default_factory=list)
    elapsed_ms: float = 0.0

    def to_state(self) -> dict[str, Any]:
        """The spool's form (keeps each reason's kind)."""
        return {
            "category": self.category.value,
            "score": self.score,
            "reasons": [{**r.as_dict(), "kind": r.kind} for r in self.reasons],
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Verdict:
        reasons = [
            Reason(r["name"], r["score"], r.get("detail", ""), r.get("kind", "phishing"))
            for r in d.get("reasons", [])
        ]
        return cls(Category(d["category"]), float(d["score"]), reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "score": round(self.score, 2),
            "reasons": [r.as_dict() for r in self.reasons],
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


class QuarantineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    received_at: datetime
    sender: str
    recipients: list[str]
    subject: str
    category: str
    score: float
    reasons: list[dict[str, Any]]
    status: str
    size: int
    client: str


class CorrespondentRead(BaseModel):
    """A sender's history at this gateway (``portguard.mail.correspondents``)."""

    model_config = ConfigDict(from_attributes=True)

    address: str
    first_seen: datetime
    last_seen: datetime
    delivered: int
    reported: int


class FeedbackCreate(BaseModel):
    """A user's report on a message: ``phishing``, ``spam`` or ``ham`` (not phishing)."""

    label: str = Field(pattern="^(phishing|spam|ham)$")
    comment: str = Field(default="", max_length=2000)


class StatsRead(BaseModel):
    period: str
    scanned: int
    clean: int
    bulk: int
    spam: int
    phishing: int
    malware: int
    rejected: int
