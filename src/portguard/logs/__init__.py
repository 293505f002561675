"""IT/OT log intake and detection with Sigma rules (see docs/logs.md).

Public API::

    LogWatch                          the runtime: rules, detection, syslog listeners (service)
    LogRecord, LogSource, LogMapping  normalised records and the field mapping (mapping)
    parse_syslog, parse_json_line, read_path, read_evtx, IntakeError, ParseError   (intake)
    load_rules, RuleSet, RuleProblem, SigmaEngine                                  (sigma)
    LogDetector, IndicatorLookup, entities_of                                      (detectors)
"""

from __future__ import annotations

from portguard.logs.detectors import IndicatorLookup, IndicatorMatch, LogDetector, entities_of
from portguard.logs.intake import (
    IntakeError,
    ParseError,
    parse_json_line,
    parse_syslog,
    read_evtx,
    read_path,
)
from portguard.logs.mapping import LogMapping, LogRecord, LogSource
from portguard.logs.service import LogWatch, ScanResult, builtin_rules_dir
from portguard.logs.sigma import RuleProblem, RuleSet, SigmaEngine, load_rules

__all__ = [
    "IndicatorLookup",
    "IndicatorMatch",
    "IntakeError",
    "LogDetector",
    "LogMapping",
    "LogRecord",
    "LogSource",
    "LogWatch",
    "ParseError",
    "RuleProblem",
    "RuleSet",
    "ScanResult",
    "SigmaEngine",
    "builtin_rules_dir",
    "entities_of",
    "load_rules",
    "parse_json_line",
    "parse_syslog",
    "read_evtx",
    "read_path",
]
