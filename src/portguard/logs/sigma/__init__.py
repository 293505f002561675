"""The Sigma engine: pySigma parses, ``compiler`` turns each rule into a Python matcher once,
``engine`` indexes rules by log source and anchor literals, ``correlation`` runs correlation
rules over time windows, ``loader`` reports every rule that cannot load and why."""

from __future__ import annotations

from portguard.logs.sigma.engine import SigmaEngine
from portguard.logs.sigma.loader import CompiledRule, RuleProblem, RuleSet, load_rules

__all__ = ["CompiledRule", "RuleProblem", "RuleSet", "SigmaEngine", "load_rules"]
