"""NIS2 reports: content per stage, missing fields, Markdown/HTML safety, JSON shape."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from portguard.core.errors import ValidationError
from portguard.incidents.nis2 import (
    IntermediateRequest,
    Nis2Clock,
    Nis2State,
    Stage,
    Submission,
    compute_clock,
)
from portguard.incidents.reports import (
    REQUIRED_FIELDS,
    AlertSummary,
    IncidentSnapshot,
    Report,
    TimelineEntry,
    build_report,
    escape_markdown,
    missing_fields,
)

AWARE = datetime(2026, 10, 24, 8, tzinfo=UTC)  # 10:00 CEST
NOW = AWARE + timedelta(hours=6)
MD = MarkdownIt("commonmark", {"html": False}).enable("table")


def snapshot(**changes: Any) -> IncidentSnapshot:
    """A complete incident: every stage's required fields are present."""
    base = IncidentSnapshot(
        id="INC-2026-0042",
        title="Phishing of a lock operator followed by an out-of-schedule OT command",
        summary="A lock operator received a credential-phishing mail.\nHours later the lock PLC "
        "received a gate command outside the operating schedule.",
        category="intrusion",
        severity="high",
        status="contained",
        created_at=AWARE - timedelta(minutes=20),
        aware_at=AWARE,
        significant=True,
        significance_criteria=["severe_disruption_or_loss", "malicious_access"],
        malicious_suspected=True,
        cross_border=False,
        affected_assets=["asset:lock-berendrecht", "asset:plc-ber-01"],
        affected_services="Lock operations Berendrecht (vessel passage)",
        entities=["email:operator@example.org", "asset:lock-berendrecht", "mmsi:244123456"],
        indicators=[
            "domain:portal-login.example",
            "url:https://portal-login.example/owa",
            "ip:203.0.113.7",
            "file_hash:" + "a" * 64,
            "email:it-support@portal-login.example",
        ],
        alerts=[
            AlertSummary("01JALERT1", "mail.phish", "Credential phishing", "high", "mail", AWARE),
            AlertSummary(
                "01JALERT2",
                "infra.ot_schedule",
                "Gate command outside schedule",
                "critical",
                "infra",
                AWARE + timedelta(hours=3),
            ),
        ],
        timeline=[
            TimelineEntry(AWARE + timedelta(hours=1), "action", "analyst", "Mailbox quarantined"),
            TimelineEntry(AWARE, "created", "system", "Incident created from 2 alerts"),
        ],
        impact="Lock unavailable for 3 hours; 14 vessels delayed.",
        financial_loss_eur=120_000.0,
        root_cause="Credentials phished; no MFA on the OT jump host.",
        threat_type="Phishing leading to unauthorised OT access",
        mitigation_applied="Accounts reset, jump host isolated, MFA enforced.",
        mitigation_ongoing="Monitoring of OT commands at all locks.",
        resolved_at=AWARE + timedelta(days=2),
    )
    return dataclasses.replace(base, **changes)


def clock_for(
    snap: IncidentSnapshot,
    now: datetime = NOW,
    submissions: tuple[Submission, ...] = (),
    requests: tuple[IntermediateRequest, ...] = (),
) -> Nis2Clock:
    state = Nis2State(snap.aware_at, snap.significant, snap.resolved_at, submissions, requests)
    return compute_clock(state, now)


def report(snap: IncidentSnapshot, stage: Stage, now: datetime = NOW, **kw: Any) -> Report:
    return build_report(snap, stage, clock=clock_for(snap, now, **kw), generated_at=now)


def headings(markdown: str) -> list[str]:
    tokens = MD.parse(markdown)
    return [
        "".join(child.content for child in tokens[i + 1].children or [])
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    ]


def all_tokens(markdown: str) -> list[Token]:
    out: list[Token] = []
    for tok in MD.parse(markdown):
        out.append(tok)
        out.extend(tok.children or [])
    return out


# --------------------------------------------------------------------------- content per stage


def test_complete_incident_misses_nothing_at_any_stage() -> None:
    snap = snapshot()
    for stage in Stage:
        assert missing_fields(snap, stage) == []
        assert "To be completed" not in report(snap, stage).to_markdown()


def test_early_warning_is_short() -> None:
    r = report(snapshot(), Stage.EARLY_WARNING)
    md = r.to_markdown()
    assert r.title == (
        "Early warning: Phishing of a lock operator followed by an out-of-schedule OT command"
    )
    assert [h for h, _ in r.sections] == [
        "Incident",
        "Description",
        "Suspected unlawful or malicious act",
        "Possible cross-border impact",
    ]
    assert headings(md) == [r.title, *(h for h, _ in r.sections)]
    body = dict(r.sections)
    assert body["Suspected unlawful or malicious act"] == "Yes"
    assert body["Possible cross-border impact"] == "No"
    assert "2026-10-25 08:00 UTC (2026-10-25 09:00 CET Europe/Brussels)" in md  # its deadline
    assert "Port of Antwerp-Bruges" in md and "CCB (Centre for Cybersecurity Belgium)" in md
    for detail in ("portal-login", "Timeline", "Root cause", "Mitigation"):
        assert detail not in md


def test_early_warning_lists_what_it_lacks() -> None:
    r = report(snapshot(malicious_suspected=None, cross_border=None), Stage.EARLY_WARNING)
    assert r.missing == ["malicious_suspected", "cross_border"]
    body = dict(r.sections)
    assert body["Suspected unlawful or malicious act"].startswith("**To be completed:** whether")
    assert "**To be completed:**" in body["Possible cross-border impact"]


def test_cross_border_details_are_shown() -> None:
    snap = snapshot(cross_border=True, cross_border_details="Dutch pilots' systems affected")
    body = dict(report(snap, Stage.EARLY_WARNING).sections)
    assert body["Possible cross-border impact"] == "Yes\n\nDutch pilots' systems affected"


def test_notification_updates_early_warning_with_assessment_and_iocs() -> None:
    subs = (Submission(Stage.EARLY_WARNING, AWARE + timedelta(hours=2), "CCB", "CCB-1"),)
    r = report(snapshot(), Stage.NOTIFICATION, submissions=subs)
    assert [h for h, _ in r.sections] == [
        "Incident",
        "Update of the early warning",
        "Initial assessment: severity and impact",
        "Affected services and assets",
        "Indicators of compromise",
    ]
    body = dict(r.sections)
    assert body["Update of the early warning"].startswith("**Early warning:** submitted 2026-10-24")
    assessment = body["Initial assessment: severity and impact"]
    assert "**Severity:** high" in assessment
    assert "Successful, suspected-malicious unauthorised access" in assessment
    assert "14 vessels delayed" in assessment
    assert "EUR 120,000.00" in assessment
    iocs = body["Indicators of compromise"]
    for group in ("**Domains**", "**URLs**", "**IP addresses**", "**File hashes**", "**E-mail"):
        assert group in iocs
    assert "203\\.0.113.7" not in iocs and "203.0.113.7" in iocs


def test_notification_without_iocs_is_complete() -> None:
    r = report(snapshot(indicators=[]), Stage.NOTIFICATION)
    assert r.missing == []
    assert dict(r.sections)["Indicators of compromise"] == "None available at this time."


def test_notification_requires_an_impact_assessment() -> None:
    r = report(snapshot(impact="  ", severity=""), Stage.NOTIFICATION)
    assert r.missing == ["severity", "impact"]
    assert "**To be completed:** an assessment of the impact" in r.to_markdown()


def test_intermediate_report_names_the_request() -> None:
    req = IntermediateRequest(AWARE + timedelta(hours=4), AWARE + timedelta(hours=28), "REQ-7")
    r = report(snapshot(), Stage.INTERMEDIATE, requests=(req,))
    md = r.to_markdown()
    assert "**Request REQ-7:** due 2026-10-25 12:00 UTC" in md
    assert [h for h, _ in r.sections] == [
        "Incident",
        "Status update",
        "Current assessment",
        "Mitigation",
        "Timeline",
    ]
    assert "**Status:** contained" in dict(r.sections)["Status update"]


def test_progress_report_for_an_ongoing_incident() -> None:
    snap = snapshot(resolved_at=None, status="in_progress", root_cause="", threat_type="")
    now = AWARE + timedelta(days=40)
    r = report(snap, Stage.PROGRESS, now=now)
    assert r.missing == []  # the root cause may not be known yet
    body = dict(r.sections)
    assert "Not yet determined." in body["Type of threat and root cause (as known so far)"]
    assert "still ongoing" in body["Current status"]
    assert r.deadline.stage is Stage.PROGRESS and r.deadline.status.value == "overdue"
    assert "OVERDUE: was due 2026-11-27 08:00 UTC" in body["Incident"]


def test_final_report_is_detailed() -> None:
    r = report(snapshot(), Stage.FINAL, now=AWARE + timedelta(days=3))
    assert r.missing == []
    assert [h for h, _ in r.sections] == [
        "Incident",
        "Detailed description",
        "Severity and impact",
        "Type of threat and root cause",
        "Mitigation measures",
        "Cross-border impact",
        "Timeline",
        "Indicators of compromise",
        "Related alerts",
        "Entities involved",
    ]
    md = r.to_markdown()
    assert "no MFA on the OT jump host" in md
    assert "Accounts reset, jump host isolated, MFA enforced" in md
    assert "Monitoring of OT commands at all locks" in md
    timeline = dict(r.sections)["Timeline"]
    assert timeline.index("Incident created") < timeline.index("Mailbox quarantined")  # sorted
    assert "- portal-login.example" in md
    assert "infra.ot\\_schedule" in dict(r.sections)["Related alerts"]
    assert "mmsi:244123456" in dict(r.sections)["Entities involved"]
    assert "**Resolved:** 2026-10-26 08:00 UTC" in md


def test_final_report_without_root_cause_is_generated_with_markers() -> None:
    snap = snapshot(root_cause="", cross_border=True, cross_border_details="", resolved_at=None)
    r = report(snap, Stage.FINAL, now=AWARE + timedelta(days=3))
    assert r.missing == ["root_cause", "resolved_at", "cross_border_details"]
    md = r.to_markdown()
    assert "**To be completed:** the root cause that is likely to have triggered" in md
    assert "**To be completed:** the cross-border impact" in md
    assert "**To be completed:** when the incident was resolved" in md
    assert "<strong>To be completed:</strong> the root cause" in r.to_html()
    assert r.required == [*REQUIRED_FIELDS[Stage.FINAL], "cross_border_details"]


def test_not_significant_incident_is_a_voluntary_notification() -> None:
    r = report(snapshot(significant=False), Stage.EARLY_WARNING)
    md = r.to_markdown()
    assert "voluntary notification (NIS2 Art. 30)" in md
    assert "**Deadline for this report:** not required" in md


# --------------------------------------------------------------------------- untrusted text

HOSTILE = "<script>alert('x')</script>"
STRUCTURE = (
    "line\n# Injected heading\n\n| a | b |\n|---|---|\n| c | d |\n```\ncode\n```\n"
    "[click](javascript:alert(1)) ![img](http://x/y.png) <!-- c --> <b>bold</b>\n"
    "---\n===\n    indented\n1. item\n- item\n> quote\n&lt;entity&gt; *em* _em_ `code`"
)


def hostile_snapshot() -> IncidentSnapshot:
    return snapshot(
        title=f"{HOSTILE} | # not a heading\n## nor this",
        summary=STRUCTURE,
        impact=STRUCTURE,
        root_cause=HOSTILE,
        status="<b>x</b>",
        indicators=["url:https://x.example/<script>", "domain:" + HOSTILE, HOSTILE],
        timeline=[TimelineEntry(AWARE, "note|x", "<img src=x onerror=alert(1)>", STRUCTURE)],
        entities=[HOSTILE],
        affected_assets=[STRUCTURE],
        alerts=[AlertSummary("A|1", "r*", HOSTILE, "high", "mail", AWARE)],
    )


ALLOWED_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "br"),
    *("ul", "li", "strong", "table", "thead", "tbody", "tr", "th", "td"),
}


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


@pytest.mark.parametrize("stage", list(Stage))
def test_html_escapes_incident_text(stage: Stage) -> None:
    r = report(hostile_snapshot(), stage)
    doc = r.to_html()
    assert doc.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert doc.rstrip().endswith("</html>")
    assert "<style>" in doc and "Content-Security-Policy" in doc
    collector = _TagCollector()
    collector.feed(doc)
    assert collector.tags <= ALLOWED_TAGS, collector.tags - ALLOWED_TAGS
    assert not collector.comments
    assert all(
        name in {"charset", "http-equiv", "content", "name", "lang"} for name in collector.attrs
    )
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in doc
    assert f"<title>{stage_title(stage)}: &lt;script&gt;" in doc


def stage_title(stage: Stage) -> str:
    return report(snapshot(), stage).title.split(":")[0]


@pytest.mark.parametrize("stage", list(Stage))
def test_incident_text_cannot_change_markdown_structure(stage: Stage) -> None:
    hostile = report(hostile_snapshot(), stage)
    md = hostile.to_markdown()
    assert headings(md) == [hostile.title, *(h for h, _ in hostile.sections)]
    types = {t.type for t in all_tokens(md)}
    forbidden = {"html_block", "html_inline", "link_open", "image", "fence", "code_block"}
    assert not types & forbidden
    assert "blockquote_open" not in types and "ordered_list_open" not in types
    assert "hr" not in types and "em_open" not in types and "code_inline" not in types
    # Tables only where the report puts them, one row each (one timeline entry, one alert).
    tokens = [t.type for t in all_tokens(md)]
    tables = {Stage.INTERMEDIATE: 1, Stage.FINAL: 2}.get(stage, 0)
    cells = {Stage.INTERMEDIATE: 4, Stage.FINAL: 4 + 6}.get(stage, 0)
    assert (tokens.count("table_open"), tokens.count("td_open")) == (tables, cells)


@settings(database=None, max_examples=300)
@given(
    st.one_of(
        st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs"))),
        st.text(alphabet=st.sampled_from(list("#*_`[]()<>!&|~-+=.:;1\\ \n\t\"'a0{}$"))),
    )
)
def test_escaped_text_renders_as_itself(text: str) -> None:
    flat = " ".join(text.split())
    escaped = escape_markdown(text)
    tokens = MD.parse(escaped)
    if not flat:
        assert tokens == []
        return
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    children = tokens[1].children or []
    assert {c.type for c in children} <= {"text"}
    assert "".join(c.content for c in children) == flat


# --------------------------------------------------------------------------- JSON and inputs


def test_json_shape() -> None:
    r = report(snapshot(malicious_suspected=None), Stage.EARLY_WARNING)
    data = r.to_json()
    json.dumps(data)  # JSON-ready as is
    assert set(data) == {
        "stage",
        "stage_title",
        "legal_basis",
        "incident_id",
        "title",
        "organisation",
        "authority",
        "generated_at",
        "deadline",
        "deadlines",
        "required",
        "fields",
        "missing",
    }
    assert data["stage"] == "early_warning"
    assert data["incident_id"] == "INC-2026-0042"
    assert data["generated_at"] == "2026-10-24T14:00:00+00:00"
    assert data["deadline"]["due_at"] == "2026-10-25T08:00:00+00:00"
    assert data["deadline"]["status"] == "pending"
    assert [d["stage"] for d in data["deadlines"]] == [
        "early_warning",
        "notification",
        "progress",
        "final",
    ]
    assert data["required"] == ["summary", "malicious_suspected", "cross_border"]
    for name in data["required"]:
        assert name in data["fields"]
    assert data["fields"]["malicious_suspected"] is None
    assert data["fields"]["cross_border"] is False
    assert data["missing"] == ["malicious_suspected"]


def test_final_json_carries_structured_lists() -> None:
    data = report(snapshot(), Stage.FINAL, now=AWARE + timedelta(days=3)).to_json()
    json.dumps(data)
    fields = data["fields"]
    assert fields["root_cause"].startswith("Credentials phished")
    assert fields["resolved_at"] == "2026-10-26T08:00:00+00:00"
    assert fields["timeline"][0] == {
        "at": "2026-10-24T09:00:00+00:00",
        "kind": "action",
        "actor": "analyst",
        "text": "Mailbox quarantined",
    }
    assert fields["alerts"][1]["rule_id"] == "infra.ot_schedule"
    assert fields["indicators"][2] == "ip:203.0.113.7"
    assert fields["financial_loss_eur"] == 120_000.0


def test_inputs_are_validated() -> None:
    with pytest.raises(ValidationError, match="aware_at"):
        snapshot(aware_at=datetime(2026, 10, 24, 8))
    with pytest.raises(ValidationError, match="entities: must be a list"):
        snapshot(entities="email:a@b.example")
    with pytest.raises(ValidationError, match="generated_at"):
        build_report(
            snapshot(),
            Stage.FINAL,
            clock=clock_for(snapshot()),
            generated_at=datetime(2026, 10, 24, 8),
        )
    with pytest.raises(ValidationError, match="unknown stage"):
        report(snapshot(), "weekly")  # type: ignore[arg-type]


def test_title_whitespace_is_collapsed_and_stage_strings_accepted() -> None:
    r = report(snapshot(title="  Lock\n\toutage  "), "final")  # type: ignore[arg-type]
    assert r.stage is Stage.FINAL
    assert r.title == "Final report: Lock outage"
