"""Log intake: raw input to ``LogRecord``s. Parsers are pure (text in, record out, no I/O) and
fuzzable; sources (files, EVTX) are iterators around them yielding records or ``IntakeError``s,
so one bad line, chunk or datagram is counted and reported with its position, never fatal.

Formats: Windows EVTX (the ``evtx`` package), JSON lines (EVTX-as-JSON, Winlogbeat, ECS, plain),
syslog RFC 5424 and RFC 3164 (also the ``Mmm dd hh:mm:ss host prog[pid]: msg`` of log files),
with ``key=value`` bodies (FortiGate and the like) split into fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from portguard.core.clock import utcnow
from portguard.core.errors import ValidationError
from portguard.logs.mapping import LogMapping, LogRecord, LogSource

__all__ = [
    "IntakeError",
    "ParseError",
    "detect_format",
    "parse_json_line",
    "parse_syslog",
    "read_evtx",
    "read_path",
]

MAX_LINE = 1 << 20  # a JSON line longer than 1 MiB is refused
MAX_SYSLOG = 64 * 1024
_FACILITIES = (
    *("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron"),
    *("authpriv", "ftp", "ntp", "security", "console", "solaris-cron"),
    *(f"local{i}" for i in range(8)),
)
_SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]


class ParseError(ValidationError):
    """One record could not be parsed; ``location`` is ``source:position``."""


@dataclass(frozen=True, slots=True)
class IntakeError:
    """A record intake skipped: where and why."""

    source: str
    position: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.position}: {self.reason}"


# -- JSON lines -------------------------------------------------------------------------------


def parse_json_line(
    line: str | bytes,
    *,
    mapping: LogMapping | None = None,
    source: str = "-",
    position: str = "-",
    default: LogSource | None = None,
) -> LogRecord:
    """One JSON object (EVTX JSON, Winlogbeat, ECS or plain) to a record."""
    mapping = mapping or LogMapping.default()
    if len(line) > MAX_LINE:
        raise ParseError(f"line longer than {MAX_LINE} bytes", location=f"{source}:{position}")
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc}", location=f"{source}:{position}") from None
    if not isinstance(obj, dict):
        raise ParseError(
            f"expected a JSON object, got {type(obj).__name__}", location=f"{source}:{position}"
        )
    fields, logsource, when = mapping.from_json(obj, default)
    mapping.enrich(fields, when)
    return LogRecord(fields, logsource, when, source, position)


# -- syslog -----------------------------------------------------------------------------------

_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
    re.DOTALL,
)
_RFC3164 = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?)\s+"
    r"(?P<host>[^\s:\[]+)\s+(?P<tag>[^\s:\[]{1,48})(?:\[(?P<pid>[^\]]{0,32})\])?:?\s?(?P<msg>.*)$",
    re.DOTALL,
)
_PRI_ONLY = re.compile(r"<(?P<pri>\d{1,3})>(?P<msg>.*)$", re.DOTALL)
_SD_ELEMENT = re.compile(r"\[(?P<id>[^\s\]=]+)(?P<params>(?:\s+[^\s=\]]+=\"(?:[^\"\\]|\\.)*\")*)\]")
_SD_PARAM = re.compile(r"([^\s=\]]+)=\"((?:[^\"\\]|\\.)*)\"")
_KV = re.compile(r"(?:^|\s)([A-Za-z_][\w.-]{0,63})=(\"(?:[^\"\\]|\\.)*\"|[^\s\"]*)")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _pri(text: str | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    pri = int(text)
    if pri > 191:
        raise ValueError(f"PRI {pri} out of range")
    return _FACILITIES[pri >> 3], _SEVERITIES[pri & 7]


def _bsd_time(text: str, now: datetime) -> datetime:
    month = _MONTHS[text[:3]]
    day = int(text[4:6])
    hh, mm, ss = (int(float(x)) for x in text[7:].split(":"))
    year = now.year - (1 if month > now.month + 1 else 0)
    return datetime(year, month, day, hh, mm, ss, tzinfo=UTC)


def _kv_pairs(msg: str) -> dict[str, str]:
    pairs = {k: v[1:-1] if v.startswith('"') else v for k, v in _KV.findall(msg)}
    return pairs if len(pairs) >= 2 else {}


def parse_syslog(
    data: str | bytes,
    *,
    mapping: LogMapping | None = None,
    source: str = "-",
    position: str = "-",
    now: datetime | None = None,
) -> LogRecord:
    """One syslog message (RFC 5424, RFC 3164, or a log-file line) to a record."""
    mapping = mapping or LogMapping.default()
    loc = f"{source}:{position}"
    if len(data) > MAX_SYSLOG:
        raise ParseError(f"message longer than {MAX_SYSLOG} bytes", location=loc)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.removeprefix("\ufeff").rstrip("\r\n\x00")
    if "\x00" in text:
        raise ParseError("binary data (NUL byte) in a syslog message", location=loc)
    fields: dict[str, Any] = {}
    when: datetime | None = None
    app: str | None = None
    try:
        m = _RFC5424.match(text)
        if m:
            fields["Facility"], fields["Severity"] = _pri(m["pri"])
            ts = m["ts"]
            if ts != "-":
                when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
            for key, group in (("Hostname", "host"), ("AppName", "app"), ("ProcessId", "pid")):
                if m[group] != "-":
                    fields[key] = m[group]
            if m["msgid"] != "-":
                fields["MsgId"] = m["msgid"]
            app = fields.get("AppName")
            if m["sd"] != "-":
                for el in _SD_ELEMENT.finditer(m["sd"]):
                    for k, v in _SD_PARAM.findall(el["params"]):
                        fields.setdefault(k, v.replace('\\"', '"').replace("\\]", "]"))
            msg = (m["msg"] or "").removeprefix("\ufeff")
        elif m := _RFC3164.match(text):
            fields["Facility"], fields["Severity"] = _pri(m["pri"])
            when = _bsd_time(m["ts"], now or utcnow())
            fields["Hostname"] = m["host"]
            app = m["tag"]
            fields["AppName"] = app
            if m["pid"]:
                fields["ProcessId"] = m["pid"]
            msg = m["msg"]
        elif m := _PRI_ONLY.match(text):
            fields["Facility"], fields["Severity"] = _pri(m["pri"])
            msg = m["msg"]
        else:
            raise ParseError(
                "not a syslog message (no <PRI> and no timestamp header)", location=loc
            )
    except (ValueError, KeyError, IndexError) as exc:
        raise ParseError(f"malformed syslog header: {exc}", location=loc) from None
    fields["Message"] = msg
    kv = _kv_pairs(msg)
    for k, v in kv.items():
        fields.setdefault(k, v)
    if "Hostname" in fields:
        fields.setdefault("Computer", fields["Hostname"])
    mapping.enrich(fields, when)
    return LogRecord(fields, mapping.syslog_source(app, kv), when, source, position)


# -- EVTX -------------------------------------------------------------------------------------


def read_evtx(
    path: Path, *, mapping: LogMapping | None = None
) -> Iterator[LogRecord | IntakeError]:
    """Records of a Windows EVTX file; a corrupt chunk or record becomes an ``IntakeError``."""
    import evtx

    mapping = mapping or LogMapping.default()
    src = str(path)
    try:
        parser = evtx.PyEvtxParser(str(path), number_of_threads=1)
        records = iter(parser.records_json())
    except (OSError, RuntimeError, ValueError) as exc:
        yield IntakeError(src, "header", f"not a readable EVTX file: {exc}")
        return
    n = 0
    failures = 0
    while True:
        n += 1
        try:
            item = next(records)
        except StopIteration:
            if n == 1:
                yield IntakeError(src, "file", "no readable EVTX records (empty or corrupt file)")
            return
        except (RuntimeError, ValueError, OSError) as exc:
            failures += 1
            yield IntakeError(src, f"record #{n}", f"corrupt EVTX data: {str(exc)[:300]}")
            if failures > 10_000:
                yield IntakeError(src, f"record #{n}", "too many corrupt records; file abandoned")
                return
            continue
        if item is None:
            continue
        pos = f"record {item.get('event_record_id', n)}"
        try:
            yield parse_json_line(item["data"], mapping=mapping, source=src, position=pos)
        except (ParseError, KeyError) as exc:
            yield IntakeError(src, pos, str(getattr(exc, "message", exc)))


# -- files ------------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """``evtx``, ``jsonl``, ``json`` (one document) or ``syslog``, by content (then name)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"ElfFile\x00"):
        return "evtx"
    first = head.lstrip()[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        line = head.lstrip().split(b"\n", 1)[0]
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            return "json"  # one (pretty-printed) document, not JSON lines
        return "jsonl"
    if path.suffix.lower() == ".evtx":
        return "evtx"
    return "syslog"


MAX_JSON_DOCUMENT = 256 << 20


def _read_json_document(path: Path, mapping: LogMapping) -> Iterator[LogRecord | IntakeError]:
    """A file holding JSON documents one after the other (pretty-printed objects, or arrays
    of objects), as tools that render EVTX to JSON write them."""
    src = str(path)
    try:
        if path.stat().st_size > MAX_JSON_DOCUMENT:
            yield IntakeError(src, "-", f"JSON document larger than {MAX_JSON_DOCUMENT} bytes")
            return
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        yield IntakeError(src, "-", f"cannot read: {exc}")
        return
    decoder = json.JSONDecoder()
    pos, n = 0, 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            return
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield IntakeError(src, f"char {pos}", f"invalid JSON: {exc.msg}; rest of file skipped")
            return
        for obj in doc if isinstance(doc, list) else [doc]:
            n += 1
            if not isinstance(obj, dict):
                yield IntakeError(src, f"item {n}", f"expected an object, got {type(obj).__name__}")
                continue
            fields, logsource, when = mapping.from_json(obj)
            mapping.enrich(fields, when)
            yield LogRecord(fields, logsource, when, src, f"item {n}")


def read_path(
    path: Path, *, fmt: str | None = None, mapping: LogMapping | None = None
) -> Iterator[LogRecord | IntakeError]:
    """Records of one file, in the format given or detected."""
    mapping = mapping or LogMapping.default()
    src = str(path)
    try:
        kind = fmt or detect_format(path)
    except OSError as exc:
        yield IntakeError(src, "-", f"cannot read: {exc}")
        return
    if kind == "evtx":
        yield from read_evtx(path, mapping=mapping)
        return
    if kind == "json":
        yield from _read_json_document(path, mapping)
        return
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield IntakeError(src, "-", f"cannot read: {exc}")
        return
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                if kind == "jsonl":
                    yield parse_json_line(line, mapping=mapping, source=src, position=f"line {n}")
                else:
                    yield parse_syslog(line, mapping=mapping, source=src, position=f"line {n}")
            except ParseError as exc:
                yield IntakeError(src, f"line {n}", exc.message)
