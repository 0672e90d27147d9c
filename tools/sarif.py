"""SARIF 2.1.0 output for the engine's findings (``infra-orchestrator check --format sarif``).

One run; the driver's rules are every check of the registry (stable ids, with title, description, remediation,
default level and peers) plus the engine's own ids found in the results (loader, schema, rendering). Results
carry physical locations (workspace-relative URI under ``%SRCROOT%``, start line) and suppressed findings carry
an ``inSource`` suppression with the annotation's reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.models import Finding, Severity
from tools.checks import CheckSpec

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {Severity.critical: "error", Severity.high: "error", Severity.medium: "warning",
          Severity.low: "note", Severity.info: "note"}


def level(severity: Severity) -> str:
    """The SARIF ``level`` of a severity: critical/high → error, medium → warning, low/info → note."""
    return _LEVEL[severity]


def _rule(spec: CheckSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": "".join(part.capitalize() for part in spec.id.lower().split("-")),
        "shortDescription": {"text": spec.title},
        "fullDescription": {"text": spec.description},
        "help": {"text": spec.remediation},
        "defaultConfiguration": {"level": level(spec.severity)},
        "properties": {"category": spec.category.value, "severity": spec.severity.value,
                       "tags": [spec.category.value, *([f"pss-{spec.pss}"] if spec.pss else [])],
                       **({"peers": dict(spec.peers)} if spec.peers else {})},
    }


def _engine_rule(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.check_id,
        "shortDescription": {"text": f"{finding.check_id} (engine)"},
        "defaultConfiguration": {"level": level(finding.severity)},
        "properties": {"category": finding.category.value},
    }


def _location(finding: Finding) -> list[dict[str, Any]]:
    if not finding.file:
        return []
    physical: dict[str, Any] = {"artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"}}
    if finding.line:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.resource.kind:
        location["logicalLocations"] = [{"name": finding.resource.label(), "kind": "resource"}]
    return [location]


def _result(finding: Finding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": {"text": finding.message},
        "locations": _location(finding),
        "properties": {"severity": finding.severity.value, "category": finding.category.value},
    }
    if finding.suppressed:
        result["suppressions"] = [{"kind": "inSource", "status": "accepted",
                                   "justification": finding.suppression_reason or ""}]
    return result


def to_sarif(findings: Iterable[Finding], specs: Iterable[CheckSpec], tool_version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log (as a dict) of ``findings``, with ``specs`` as the driver's rules."""
    findings = list(findings)
    rules = [_rule(spec) for spec in specs]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    for finding in findings:
        if finding.check_id not in index:
            index[finding.check_id] = len(rules)
            rules.append(_engine_rule(finding))
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "infra-orchestrator", "version": tool_version, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the directory check was run from"}}},
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, index[f.check_id]) for f in findings],
        }],
    }
