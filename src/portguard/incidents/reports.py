"""NIS2 reports (early warning, notification, intermediate, progress, final) from an incident.

Pure: ``build_report`` takes an ``IncidentSnapshot`` (plain data, built by the service from the
stored incident) and the incident's ``Nis2Clock``, and returns a ``Report`` that renders to
Markdown, a standalone HTML document, or a JSON-ready dict.

Every stage lists the fields it requires (``REQUIRED_FIELDS``). A report is always generated, even
when the incident lacks some of them: the gap is listed in ``Report.missing`` and marked in the text
with "To be completed: ...", because a late report is worse than an incomplete one that says so.

Incident text is untrusted input (alert titles come from e-mail subjects, AIS names, log lines):
it is escaped so it can never change the Markdown structure (``escape_markdown``), Markdown is
rendered with raw HTML disabled, and the HTML document carries a restrictive Content Security
Policy.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from markdown_it import MarkdownIt

from portguard.core.errors import ValidationError
from portguard.incidents.nis2 import (
    SIGNIFICANCE_CHECKLIST,
    STAGE_SPECS,
    Deadline,
    DeadlineStatus,
    Nis2Clock,
    Stage,
    get_zone,
)

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_ORGANISATION",
    "FIELD_DESCRIPTIONS",
    "IOC_KINDS",
    "REQUIRED_FIELDS",
    "AlertSummary",
    "IncidentSnapshot",
    "Report",
    "TimelineEntry",
    "build_report",
    "escape_markdown",
    "missing_fields",
]

DEFAULT_ORGANISATION = "Port of Antwerp-Bruges"
DEFAULT_AUTHORITY = "CCB (Centre for Cybersecurity Belgium)"
#: Indicator kinds listed in reports, in this order; any other kind is listed under "other".
IOC_KINDS: tuple[str, ...] = ("domain", "url", "ip", "file_hash", "email")


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class AlertSummary:
    id: str
    rule_id: str
    title: str
    severity: str
    domain: str
    observed_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    actor: str
    text: str


def _aware(value: datetime | None, where: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationError("must be timezone-aware (UTC)", location=where)


@dataclass(frozen=True, kw_only=True)
class IncidentSnapshot:
    """Everything a NIS2 report says about an incident. Free text is untrusted."""

    id: str
    title: str
    created_at: datetime
    aware_at: datetime
    significant: bool
    summary: str = ""
    category: str = ""
    severity: str = ""
    status: str = ""
    significance_criteria: Sequence[str] = ()
    malicious_suspected: bool | None = None
    cross_border: bool | None = None
    cross_border_details: str = ""
    affected_assets: Sequence[str] = ()
    affected_services: str = ""
    #: ``kind:value`` strings, e.g. ``mmsi:244123456``.
    entities: Sequence[str] = ()
    #: Indicators of compromise as ``kind:value``: domain, url, ip, file_hash, email.
    indicators: Sequence[str] = ()
    alerts: Sequence[AlertSummary] = ()
    timeline: Sequence[TimelineEntry] = ()
    impact: str = ""
    financial_loss_eur: float | None = None
    root_cause: str = ""
    threat_type: str = ""
    mitigation_applied: str = ""
    mitigation_ongoing: str = ""
    resolved_at: datetime | None = None
    organisation: str = DEFAULT_ORGANISATION
    authority: str = DEFAULT_AUTHORITY

    def __post_init__(self) -> None:
        for name in ("created_at", "aware_at", "resolved_at"):
            _aware(getattr(self, name), name)
        for name in (
            "significance_criteria",
            "affected_assets",
            "entities",
            "indicators",
            "alerts",
            "timeline",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValidationError("must be a list, not a string", location=name)
            object.__setattr__(self, name, tuple(value))


# --------------------------------------------------------------------------- what each stage needs

REQUIRED_FIELDS: Mapping[Stage, tuple[str, ...]] = MappingProxyType(
    {
        Stage.EARLY_WARNING: ("summary", "malicious_suspected", "cross_border"),
        Stage.NOTIFICATION: (
            "summary",
            "malicious_suspected",
            "cross_border",
            "severity",
            "impact",
        ),
        Stage.INTERMEDIATE: ("summary", "status", "severity", "impact"),
        Stage.PROGRESS: (
            "summary",
            "status",
            "severity",
            "impact",
            "mitigation_applied",
            "mitigation_ongoing",
        ),
        # Plus cross_border_details when cross_border is True (see missing_fields).
        Stage.FINAL: (
            "summary",
            "severity",
            "impact",
            "threat_type",
            "root_cause",
            "mitigation_applied",
            "cross_border",
            "resolved_at",
        ),
    }
)

#: What to write in place of a missing field ("To be completed: <description>").
FIELD_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "summary": "a description of the incident",
        "status": "the current status of the incident",
        "severity": "the severity of the incident",
        "impact": "an assessment of the impact of the incident",
        "malicious_suspected": "whether the incident is suspected of being caused by unlawful or "
        "malicious acts",
        "cross_border": "whether the incident has or could have a cross-border impact",
        "cross_border_details": "the cross-border impact (which Member States and services)",
        "threat_type": "the type of threat that is likely to have triggered the incident",
        "root_cause": "the root cause that is likely to have triggered the incident",
        "mitigation_applied": "the mitigation measures applied",
        "mitigation_ongoing": "the mitigation measures still ongoing",
        "resolved_at": "when the incident was resolved (while it is ongoing, a progress report is "
        "due instead of the final report)",
    }
)

#: Fields each report carries in its JSON form (required ones and the optional ones it shows).
_REPORTED_FIELDS: Mapping[Stage, tuple[str, ...]] = MappingProxyType(
    {
        Stage.EARLY_WARNING: (
            "summary",
            "category",
            "malicious_suspected",
            "cross_border",
            "cross_border_details",
        ),
        Stage.NOTIFICATION: (
            "summary",
            "category",
            "malicious_suspected",
            "cross_border",
            "cross_border_details",
            "severity",
            "significance_criteria",
            "impact",
            "affected_services",
            "affected_assets",
            "financial_loss_eur",
            "indicators",
        ),
        Stage.INTERMEDIATE: (
            "status",
            "summary",
            "severity",
            "impact",
            "mitigation_applied",
            "mitigation_ongoing",
            "timeline",
        ),
        Stage.PROGRESS: (
            "status",
            "summary",
            "severity",
            "significance_criteria",
            "impact",
            "financial_loss_eur",
            "threat_type",
            "root_cause",
            "mitigation_applied",
            "mitigation_ongoing",
            "cross_border",
            "cross_border_details",
        ),
        Stage.FINAL: (
            "summary",
            "category",
            "severity",
            "significance_criteria",
            "impact",
            "affected_services",
            "affected_assets",
            "financial_loss_eur",
            "threat_type",
            "root_cause",
            "mitigation_applied",
            "mitigation_ongoing",
            "cross_border",
            "cross_border_details",
            "resolved_at",
            "timeline",
            "indicators",
            "alerts",
            "entities",
        ),
    }
)


def _absent(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return False


def missing_fields(snapshot: IncidentSnapshot, stage: Stage) -> list[str]:
    """The fields ``stage`` requires that the incident does not have yet, in report order."""
    missing = [f for f in REQUIRED_FIELDS[stage] if _absent(getattr(snapshot, f))]
    if stage is Stage.FINAL and snapshot.cross_border and _absent(snapshot.cross_border_details):
        missing.append("cross_border_details")
    return missing


# --------------------------------------------------------------------------- Markdown safety

_ALWAYS_ESCAPE = frozenset("\\`*_[]<>&|~#")
_LINE_START_ESCAPE = frozenset("+-=:")
#: An ordered-list marker needs a space (or the end of the line) after the delimiter.
_ORDERED_MARKER = re.compile(r"^(\d{1,9})([.)])(?= |$)")


def escape_markdown(text: str) -> str:
    """``text`` as one line of literal Markdown text: whitespace (newlines included) collapsed to
    single spaces, every character that could start markup backslash-escaped. The result can go
    anywhere inline (paragraph, list item, heading, table cell) without changing the structure."""
    flat = " ".join(text.split())
    out = "".join("\\" + ch if ch in _ALWAYS_ESCAPE else ch for ch in flat)
    if out[:1] in _LINE_START_ESCAPE:
        out = "\\" + out
    return _ORDERED_MARKER.sub(r"\1\\\2", out, count=1)


def _md_block(text: str) -> str:
    """Multi-line untrusted text as escaped paragraphs; single line breaks become hard breaks."""
    paragraphs = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    out = []
    for para in paragraphs:
        lines = [escape_markdown(line) for line in para.split("\n") if line.strip()]
        if lines:
            out.append("\\\n".join(lines))
    return "\n\n".join(out)


def _todo(field: str) -> str:
    return f"**To be completed:** {escape_markdown(FIELD_DESCRIPTIONS.get(field, field))}."


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Report:
    """A generated report: plain-text title, Markdown sections, and the missing required fields."""

    stage: Stage
    title: str
    incident_id: str
    generated_at: datetime
    #: (heading, Markdown body); headings are plain text, bodies are already-escaped Markdown.
    sections: list[tuple[str, str]]
    missing: list[str]
    required: list[str]
    #: Field name -> JSON-ready value, for every field this stage reports.
    fields: dict[str, Any]
    organisation: str
    authority: str
    deadline: Deadline
    deadlines: list[Deadline]

    def to_markdown(self) -> str:
        parts = [f"# {escape_markdown(self.title)}"]
        for heading, body in self.sections:
            parts.append(f"## {escape_markdown(heading)}")
            if body.strip():
                parts.append(body.strip())
        return "\n\n".join(parts) + "\n"

    def to_html(self) -> str:
        """A complete standalone HTML document (inline CSS, no scripts, no external resources)."""
        body = _MARKDOWN.render(self.to_markdown())
        return _HTML_TEMPLATE.format(title=html.escape(self.title), body=body)

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "stage_title": STAGE_SPECS[self.stage].title,
            "legal_basis": STAGE_SPECS[self.stage].legal_basis,
            "incident_id": self.incident_id,
            "title": self.title,
            "organisation": self.organisation,
            "authority": self.authority,
            "generated_at": self.generated_at.isoformat(),
            "deadline": self.deadline.to_dict(),
            "deadlines": [d.to_dict() for d in self.deadlines],
            "required": list(self.required),
            "fields": dict(self.fields),
            "missing": list(self.missing),
        }


_MARKDOWN = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False}
).enable("table")

_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; color: #1b1f24; margin: 2rem auto; max-width: 60rem;
  padding: 0 1rem; }}
h1 {{ font-size: 1.5rem; border-bottom: 2px solid #0b3d62; padding-bottom: .3rem; }}
h2 {{ font-size: 1.15rem; color: #0b3d62; margin-top: 1.8rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ border: 1px solid #c9d1d9; padding: .3rem .5rem; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }}
th {{ background: #eef2f6; }}
strong {{ color: #0b3d62; }}
</style>
</head>
<body>
<main>
{body}</main>
</body>
</html>
"""


# --------------------------------------------------------------------------- rendering helpers

_CRITERIA = {c.code.value: c for c in SIGNIFICANCE_CHECKLIST}

_IOC_HEADINGS: Mapping[str, str] = MappingProxyType(
    {
        "domain": "Domains",
        "url": "URLs",
        "ip": "IP addresses",
        "file_hash": "File hashes",
        "email": "E-mail addresses",
        "other": "Other",
    }
)


def _utc_text(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    """``2026-10-25 08:00 UTC (2026-10-25 09:00 CET Europe/Brussels)``."""
    if value is None:
        return "unknown"
    local = value.astimezone(zone)
    return f"{_utc_text(value)} ({local:%Y-%m-%d %H:%M} {local.tzname()} {zone.key})"


def _duration(seconds: float) -> str:
    minutes_total = int(abs(seconds)) // 60
    days, rest = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _describe_deadline(deadline: Deadline, zone: ZoneInfo) -> str:
    due = _when(deadline.due_at, zone)
    left = deadline.time_left.total_seconds() if deadline.time_left is not None else 0.0
    match deadline.status:
        case DeadlineStatus.NOT_REQUIRED:
            return "not required"
        case DeadlineStatus.SUBMITTED:
            text = f"submitted {_when(deadline.submitted_at, zone)}"
            if deadline.due_at is not None:
                text += f"; was due {due}"
            return text + (" (late)" if deadline.submitted_late else "")
        case DeadlineStatus.OVERDUE:
            return f"OVERDUE: was due {due}, {_duration(left)} ago"
    if deadline.due_at is None:
        if deadline.stage is Stage.FINAL:
            return "one calendar month after the incident is resolved"
        return "not yet known"
    return f"due {due} ({_duration(left)} left)"


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {escape_markdown(item)}" for item in items if item.strip())


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(escape_markdown(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        lines.append("| " + " | ".join(escape_markdown(cell) or " " for cell in row) + " |")
    return "\n".join(lines)


def _criteria_md(codes: Sequence[str]) -> str:
    lines = []
    for code in codes:
        crit = _CRITERIA.get(code)
        if crit is None:
            lines.append(f"- {escape_markdown(code)} (unknown criterion)")
        else:
            lines.append(f"- {escape_markdown(crit.label)} ({escape_markdown(crit.source)})")
    return "\n".join(lines) or "None recorded."


def _indicators_md(indicators: Sequence[str]) -> str:
    groups: dict[str, list[str]] = {}
    for item in indicators:
        kind, sep, value = item.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in IOC_KINDS:
            kind, value = "other", item
        if value.strip():
            groups.setdefault(kind, []).append(value.strip())
    if not groups:
        return "None available at this time."
    return "\n\n".join(
        f"**{_IOC_HEADINGS[kind]}**\n\n{_bullets(groups[kind])}"
        for kind in (*IOC_KINDS, "other")
        if kind in groups
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, TimelineEntry):
        return {
            "at": value.at.isoformat(),
            "kind": value.kind,
            "actor": value.actor,
            "text": value.text,
        }
    if isinstance(value, AlertSummary):
        return {
            "id": value.id,
            "rule_id": value.rule_id,
            "title": value.title,
            "severity": value.severity,
            "domain": value.domain,
            "observed_at": value.observed_at.isoformat(),
        }
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


# --------------------------------------------------------------------------- report builders


class _Builder:
    """Collects the sections of one report; knows which absent fields are required."""

    def __init__(
        self, snapshot: IncidentSnapshot, stage: Stage, clock: Nis2Clock, generated_at: datetime
    ) -> None:
        self.s = snapshot
        self.stage = stage
        self.clock = clock
        self.zone = get_zone(clock.tz)
        self.generated_at = generated_at
        self.missing = missing_fields(snapshot, stage)
        self.sections: list[tuple[str, str]] = []

    def add(self, heading: str, *parts: str) -> None:
        self.sections.append((heading, "\n\n".join(p for p in parts if p)))

    def text(self, field: str, absent: str = "Not yet determined.") -> str:
        """A free-text field as escaped paragraphs, the to-do marker, or ``absent``."""
        value = getattr(self.s, field)
        if _absent(value):
            return _todo(field) if field in self.missing else absent
        return _md_block(str(value))

    def inline(self, field: str, absent: str = "not yet determined") -> str:
        value = getattr(self.s, field)
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if _absent(value):
            return _todo(field) if field in self.missing else absent
        return escape_markdown(str(value))

    def labelled(self, label: str, field: str, absent: str = "Not yet determined.") -> str:
        return f"**{label}**\n\n{self.text(field, absent)}"

    def header(self, *extra: str) -> None:
        s, spec = self.s, STAGE_SPECS[self.stage]
        lines = [
            f"- **Reporting entity:** {escape_markdown(s.organisation)}",
            f"- **Authority:** {escape_markdown(s.authority)}",
            f"- **Incident reference:** {escape_markdown(s.id)}",
            f"- **Incident:** {escape_markdown(s.title)}",
        ]
        if s.category.strip():
            lines.append(f"- **Category:** {escape_markdown(s.category)}")
        lines += [
            f"- **Report:** {spec.title} ({spec.legal_basis})",
            f"- **Became aware of the incident:** {_when(s.aware_at, self.zone)}",
            "- **Deadline for this report:** "
            + _describe_deadline(self.clock.deadline(self.stage), self.zone),
            *extra,
            f"- **Generated:** {_when(self.generated_at, self.zone)}",
        ]
        if not s.significant:
            lines.append(
                "- **Classification:** not classified as a significant incident; this is a "
                "voluntary notification (NIS2 Art. 30)"
            )
        self.add("Incident", "\n".join(lines))

    def malicious(self) -> str:
        return self.inline("malicious_suspected")

    def cross_border(self) -> str:
        """Yes/No, with the details when there is a cross-border impact."""
        answer = self.inline("cross_border")
        if self.s.cross_border:
            details = self.text("cross_border_details", "")
            return f"{answer}\n\n{details}" if details else answer
        return answer

    def severity_and_impact(self, heading: str) -> None:
        loss = self.s.financial_loss_eur
        self.add(
            heading,
            f"**Severity:** {self.inline('severity')}",
            f"**Significance criteria met**\n\n{_criteria_md(self.s.significance_criteria)}",
            self.labelled("Impact", "impact"),
            f"**Financial loss:** EUR {loss:,.2f}" if loss is not None else "",
        )

    def threat_and_cause(self, heading: str) -> None:
        self.add(
            heading,
            self.labelled("Type of threat", "threat_type"),
            self.labelled("Root cause", "root_cause"),
        )

    def mitigation(self, heading: str) -> None:
        self.add(
            heading,
            self.labelled("Applied", "mitigation_applied", "None reported."),
            self.labelled("Ongoing", "mitigation_ongoing", "None reported."),
        )

    def cross_border_section(self) -> None:
        self.add("Cross-border impact", self.cross_border())

    def timeline(self) -> None:
        entries = sorted(self.s.timeline, key=lambda e: e.at)
        body = (
            _table(
                ("Time", "Kind", "Actor", "What happened"),
                [(_utc_text(e.at), e.kind, e.actor, e.text) for e in entries],
            )
            if entries
            else "No timeline entries recorded."
        )
        self.add("Timeline", body)


def _early_warning(b: _Builder) -> None:
    b.header()
    b.add("Description", b.text("summary"))
    b.add("Suspected unlawful or malicious act", b.malicious())
    b.add("Possible cross-border impact", b.cross_border())


def _notification(b: _Builder) -> None:
    b.header()
    early = _describe_deadline(b.clock.early_warning, b.zone)
    b.add(
        "Update of the early warning",
        f"**Early warning:** {early}",
        b.labelled("Description", "summary"),
        f"**Suspected unlawful or malicious act:** {b.malicious()}",
        f"**Possible cross-border impact:** {b.cross_border()}",
    )
    b.severity_and_impact("Initial assessment: severity and impact")
    b.add(
        "Affected services and assets",
        b.labelled("Services", "affected_services", "None recorded."),
        "**Assets**\n\n" + (_bullets(b.s.affected_assets) or "None recorded."),
    )
    b.add("Indicators of compromise", _indicators_md(b.s.indicators))


def _intermediate(b: _Builder) -> None:
    requests = [
        f"- **Request {escape_markdown(d.reference or str(i))}:** {_describe_deadline(d, b.zone)}"
        for i, d in enumerate(b.clock.intermediate, start=1)
    ]
    b.header(*requests)
    b.add("Status update", f"**Status:** {b.inline('status')}", b.labelled("Summary", "summary"))
    b.add(
        "Current assessment",
        f"**Severity:** {b.inline('severity')}",
        b.labelled("Impact", "impact"),
    )
    b.mitigation("Mitigation")
    b.timeline()


def _progress(b: _Builder) -> None:
    b.header()
    b.add(
        "Current status",
        f"**Status:** {b.inline('status')}",
        "The incident is still ongoing. The final report follows within one calendar month of "
        "its resolution (NIS2 Art. 23(4)(e)).",
        b.labelled("Summary", "summary"),
    )
    b.severity_and_impact("Severity and impact")
    b.threat_and_cause("Type of threat and root cause (as known so far)")
    b.mitigation("Mitigation measures")
    b.cross_border_section()


def _final(b: _Builder) -> None:
    resolved = b.s.resolved_at
    b.header(
        "- **Resolved:** "
        + (_when(resolved, b.zone) if resolved is not None else _todo("resolved_at"))
    )
    b.add(
        "Detailed description",
        b.labelled("Description", "summary"),
        b.labelled("Affected services", "affected_services", "None recorded."),
        "**Affected assets**\n\n" + (_bullets(b.s.affected_assets) or "None recorded."),
    )
    b.severity_and_impact("Severity and impact")
    b.threat_and_cause("Type of threat and root cause")
    b.mitigation("Mitigation measures")
    b.cross_border_section()
    b.timeline()
    b.add("Indicators of compromise", _indicators_md(b.s.indicators))
    alerts = sorted(b.s.alerts, key=lambda a: a.observed_at)
    b.add(
        "Related alerts",
        _table(
            ("Observed", "Severity", "Domain", "Rule", "Title", "Alert"),
            [
                (_utc_text(a.observed_at), a.severity, a.domain, a.rule_id, a.title, a.id)
                for a in alerts
            ],
        )
        if alerts
        else "No alerts attached.",
    )
    b.add("Entities involved", _bullets(b.s.entities) or "None recorded.")


_BUILDERS: Mapping[Stage, Callable[[_Builder], None]] = MappingProxyType(
    {
        Stage.EARLY_WARNING: _early_warning,
        Stage.NOTIFICATION: _notification,
        Stage.INTERMEDIATE: _intermediate,
        Stage.PROGRESS: _progress,
        Stage.FINAL: _final,
    }
)


def build_report(
    snapshot: IncidentSnapshot, stage: Stage, *, clock: Nis2Clock, generated_at: datetime
) -> Report:
    """The ``stage`` report of an incident, always generated; gaps are listed in ``missing``."""
    try:
        stage = Stage(stage)
    except ValueError:
        raise ValidationError(f"unknown stage {stage!r}", location="stage") from None
    _aware(generated_at, "generated_at")
    generated_at = generated_at.astimezone(UTC)
    builder = _Builder(snapshot, stage, clock, generated_at)
    _BUILDERS[stage](builder)
    return Report(
        stage=stage,
        title=f"{STAGE_SPECS[stage].title}: {' '.join(snapshot.title.split())}",
        incident_id=snapshot.id,
        generated_at=generated_at,
        sections=builder.sections,
        missing=builder.missing,
        required=[
            *REQUIRED_FIELDS[stage],
            *(["cross_border_details"] if stage is Stage.FINAL and snapshot.cross_border else []),
        ],
        fields={name: _json_value(getattr(snapshot, name)) for name in _REPORTED_FIELDS[stage]},
        organisation=snapshot.organisation,
        authority=snapshot.authority,
        deadline=clock.deadline(stage),
        deadlines=clock.deadlines,
    )
