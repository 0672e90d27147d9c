"""SARIF 2.1.0 output for the engine's findings (``infra-orchestrator check --format sarif``), for code scanning.

One run. The driver's rules are the whole catalog (:mod:`tools.checks.catalog`): every id the product can emit,
each with its title, description, ``help`` (text and Markdown: description, remediation, peers' ids) and
``helpUri`` (its section of docs/checks.md); security rules carry ``properties.security-severity``. A finding
whose id is not catalogued is a programming error and raises: there is no fallback rule.

Results point at the field when the finding knows it (``line``/``column``), with ``artifactLocation.uri``
relative to the repository root (``%SRCROOT%``: the nearest directory above the working directory holding
``.git``, else the working directory), whatever directory ``check`` ran from. ``partialFingerprints`` hash the
id, the file, the object (kind, namespace, name) and the field path, never the line or the message, so an
alert survives unrelated edits; findings sharing all of these are told apart by their order. Suppressed
findings carry an ``inSource`` suppression with the annotation's reason. A finding about no file (the note that
the configured Kubernetes version has no bundled schemas, a cross-object check that could not run) becomes a
``toolExecutionNotification`` of the run's invocation, with its rule: code scanning refuses a whole log in which
one result has no location.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.models import Category, Finding, Severity
from tools.catalog import DOCS_URL, PEER_TOOLS, SECURITY_SEVERITY, Entry
from tools.checks.catalog import entries
from tools.checks.catalog import entry as catalog_entry

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "infraOrchestratorFinding/v1"
_LEVEL = {Severity.critical: "error", Severity.high: "error", Severity.medium: "warning",
          Severity.low: "note", Severity.info: "note"}


def level(severity: Severity) -> str:
    """The SARIF ``level`` of a severity: critical/high → error, medium → warning, low/info → note."""
    return _LEVEL[severity]


def _help_markdown(entry: Entry) -> str:
    parts = [f"**{entry.title}** ({entry.category.value}, {entry.severity.value})", entry.description]
    if entry.variation:
        parts.append(f"Severity: {entry.variation}")
    parts.append(f"**Remediation:** {entry.remediation}")
    peers = [f"{tool}: {', '.join(f'`{i}`' for i in entry.peer_ids(tool))}" for tool in PEER_TOOLS
             if entry.peer_ids(tool)]
    if peers:
        parts.append("Same concern in the peer tools: " + "; ".join(peers) + ".")
    parts.append(f"[Documentation]({entry.help_uri})")
    return "\n\n".join(parts)


def rule(entry: Entry, rule_id: str | None = None) -> dict[str, Any]:
    """The ``reportingDescriptor`` of a catalog entry (``rule_id``: a member of a ``PREFIX-*`` family)."""
    tags = [entry.category.value, entry.family]
    pss = getattr(entry, "pss", None)
    if pss:
        tags.append(f"pss-{pss}")
    properties: dict[str, Any] = {"category": entry.category.value, "severity": entry.severity.value,
                                  "tags": list(dict.fromkeys(tags))}
    if entry.category is Category.security and entry.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[entry.severity]
    if entry.peers:
        properties["peers"] = dict(entry.peers)
    rule_id = rule_id or entry.id
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.lower().split("-") if part.isalnum()),
        "shortDescription": {"text": entry.title},
        "fullDescription": {"text": entry.description},
        "help": {"text": entry.remediation, "markdown": _help_markdown(entry)},
        "helpUri": entry.help_uri,
        "defaultConfiguration": {"level": level(entry.severity)},
        "properties": properties,
    }


def repository_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``.git`` (a repository or a worktree), else ``start``."""
    start = Path(os.path.realpath(start))
    return next((d for d in (start, *start.parents) if (d / ".git").exists()), start)


def _artifact(file: str, cwd: Path, root: Path) -> dict[str, Any]:
    full = Path(os.path.realpath(cwd / file))
    try:
        return {"uri": quote(full.relative_to(root).as_posix()), "uriBaseId": SRCROOT}
    except ValueError:  # outside the repository: an absolute URI
        return {"uri": full.as_uri()}


def _location(finding: Finding, artifact: dict[str, Any]) -> list[dict[str, Any]]:
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if finding.line:
        region: dict[str, Any] = {"startLine": finding.line}
        column = getattr(finding, "column", None)
        if column:
            region["startColumn"] = column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.resource.kind:
        location["logicalLocations"] = [{"name": finding.resource.label(), "kind": "resource"}]
    return [location]


def _identity(finding: Finding, artifact: dict[str, Any]) -> str:
    """What an alert is about, independent of lines and wording: id, file, object and field path."""
    ref = finding.resource
    parts = [finding.check_id, artifact["uri"], ref.kind or "", ref.namespace or "", ref.name or "",
             str(getattr(finding, "field", None) or "")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _result(finding: Finding, index: int, artifact: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": {"text": finding.message},
        "locations": _location(finding, artifact),
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "properties": {"severity": finding.severity.value, "category": finding.category.value},
    }
    if finding.suppressed:
        result["suppressions"] = [{"kind": "inSource", "status": "accepted",
                                   "justification": finding.suppression_reason or ""}]
    return result


def _notification(finding: Finding, index: int) -> dict[str, Any]:
    return {"level": level(finding.severity), "message": {"text": finding.message},
            "associatedRule": {"id": finding.check_id, "index": index},
            "properties": {"severity": finding.severity.value, "category": finding.category.value}}


def _rules(findings: list[Finding]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    catalog = [e for e in entries() if not e.pattern]
    rules = [rule(e) for e in catalog]
    index = {e.id: i for i, e in enumerate(catalog)}
    for f in findings:
        if f.check_id in index:
            continue
        family = catalog_entry(f.check_id)
        if family is None:
            raise KeyError(f"finding id {f.check_id} is not in the catalog: add it to tools/catalog")
        index[f.check_id] = len(rules)
        rules.append(rule(family, f.check_id))
    return rules, index


def to_sarif(findings: Iterable[Finding], tool_version: str, cwd: Path | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log (as a dict) of ``findings``, whose files are relative to ``cwd`` (default: the current
    directory) or absolute."""
    findings = list(findings)
    cwd = Path.cwd() if cwd is None else cwd
    root = repository_root(cwd)
    rules, index = _rules(findings)
    notifications = [_notification(f, index[f.check_id]) for f in findings if not f.file]
    findings = [f for f in findings if f.file]
    artifacts = [_artifact(f.file, cwd, root) for f in findings]
    identities = [_identity(f, a) for f, a in zip(findings, artifacts, strict=True)]
    fingerprints: dict[int, str] = {}
    seen: dict[str, int] = {}
    order = sorted(range(len(findings)), key=lambda i: (identities[i], findings[i].line or 0, findings[i].message))
    for i in order:  # findings about the same thing are numbered in line order, which unrelated edits keep
        seen[identities[i]] = seen.get(identities[i], 0) + 1
        fingerprints[i] = f"{identities[i]}:{seen[identities[i]]}"
    results = [_result(f, index[f.check_id], artifacts[i], fingerprints[i]) for i, f in enumerate(findings)]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "infra-orchestrator", "version": tool_version, "informationUri": DOCS_URL,
                                "rules": rules}},
            "originalUriBaseIds": {SRCROOT: {"description": {"text": "The repository root: the nearest directory "
                                                                      "holding .git above where check ran."}}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
