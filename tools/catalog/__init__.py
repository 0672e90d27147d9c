"""The catalog of every finding id the product emits, and the factory that builds findings from it.

An :class:`Entry` holds an id's metadata: category, default severity (and the other severities the code may
emit, with when), title, description, remediation, the peer tools' ids, whether ``checks.enabled`` /
``checks.disabled`` may select it and whether an annotation may suppress it.

* The registry's checks (:mod:`tools.checks`) are entries: ``CheckSpec`` extends :class:`Entry`, and the
  ``@check`` decorator is where their metadata lives.
* The ids produced outside the registry (loader, renderer, schema validation, chart values, runtime contract,
  Phase III guard, stage gates, agents) are listed in this package's ``*_ids`` modules and built with
  :func:`finding`, which takes severity, category and remediation from their entry.
* ``tools.checks.catalog`` joins both into the one table that docs/checks.md and the SARIF rules come from.

Selection: :func:`selection_errors` refuses unknown ids and ids that cannot be deselected (Phase III, stage
gates, notices that input was not analysed); :func:`deselect` applies ``checks.enabled``/``disabled`` to the
findings of ids outside the registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from core.config import ChecksConfig
from core.models import Category, Finding, Severity
from tools.catalog.engine_ids import ENTRIES as _ENGINE
from tools.catalog.entry import DOCS_URL, FAMILIES, ID_PATTERN, PEER_TOOLS, Entry, Family
from tools.catalog.phase3_ids import ENTRIES as _PHASE3
from tools.catalog.workflow_ids import ENTRIES as _WORKFLOW

SECURITY_SEVERITY: dict[Severity, str] = {Severity.critical: "9.5", Severity.high: "8.0", Severity.medium: "5.5",
                                          Severity.low: "3.0"}
"""CVSS-like score of a security rule for code scanning (SARIF ``properties.security-severity``); none for info."""


def _index(entries: Iterable[Entry]) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in out:
            raise ValueError(f"finding id {entry.id} is catalogued twice")
        out[entry.id] = entry
    return out


ENGINE_ENTRIES: dict[str, Entry] = _index((*_ENGINE, *_PHASE3, *_WORKFLOW))
"""The entries of every id emitted outside the check registry, by id."""
_PATTERNS = [e for e in ENGINE_ENTRIES.values() if e.pattern]


def lookup(check_id: str, registry: Mapping[str, Entry] | None = None) -> Entry | None:
    """The entry of ``check_id``: an engine id, a check of ``registry``, or the family (``AGENT-*``) it belongs to."""
    found = ENGINE_ENTRIES.get(check_id) or (registry or {}).get(check_id)
    return found or next((e for e in _PATTERNS if e.matches(check_id)), None)


def finding(check_id: str, message: str, *, severity: Severity | None = None, category: Category | None = None,
            remediation: str | None = None, **fields: Any) -> Finding:
    """A :class:`Finding` of a catalogued id; severity, category and remediation default to its entry's.

    ``severity``/``category`` may differ from the defaults only as the entry documents. An id that is not
    catalogued, or an undocumented severity, raises: a programming error that the catalog tests catch.
    """
    entry = ENGINE_ENTRIES.get(check_id)
    if entry is None:
        raise KeyError(f"finding id {check_id} is not in the catalog (tools/catalog)")
    severity = severity or entry.severity
    category = category or entry.category
    if not entry.allows(severity, category):
        raise ValueError(f"{check_id} is catalogued as {entry.severity.value}/{entry.category.value}: "
                         f"{severity.value}/{category.value} is not a documented variation")
    return Finding(check_id=check_id, severity=severity, category=category, message=message,
                   remediation=entry.remediation if remediation is None else remediation, **fields)


def _suggestion(name: str, known: Mapping[str, Entry]) -> str:
    for entry in known.values():
        if any(name in entry.peer_ids(tool) for tool in entry.peers):
            return f" ({name} is {', '.join(t for t in entry.peers if name in entry.peer_ids(t))}'s id: use {entry.id})"
    close = difflib.get_close_matches(name, [i for i, e in known.items() if not e.pattern], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _why_fixed(entry: Entry) -> str:
    if entry.family == "phase3":
        return "Phase III findings are never overridable"
    if entry.family == "workflow":
        return "stage gates are configured under workflow: (optional_stages, require_phr)"
    if entry.family == "agent":
        return "agents' findings are weighed by the decision policy"
    return "it reports input that was not analysed (exclude the file with checks.exclude_paths instead)"


def selection_errors(checks: ChecksConfig, registry: Mapping[str, Entry]) -> list[str]:
    """Why ``checks.enabled``/``disabled``/``unsuppressible`` cannot be honoured (empty when they can).

    ``registry`` holds the registered checks by id. An unknown id is an error (a typo would otherwise select
    nothing, silently), and so is an id in ``enabled``/``disabled`` that cannot be deselected.
    """
    known = {**ENGINE_ENTRIES, **registry}
    errors = []
    for key, names in (("enabled", checks.enabled), ("disabled", checks.disabled),
                       ("unsuppressible", checks.unsuppressible)):
        for name in names:
            entry = known.get(name)
            if entry is None or entry.pattern:
                errors.append(f"checks.{key}: unknown finding id '{name}'{_suggestion(name, known)}")
            elif key != "unsuppressible" and not entry.disable:
                errors.append(f"checks.{key}: {name} cannot be enabled or disabled: {_why_fixed(entry)}")
    return errors


def is_selected(entry: Entry, checks: ChecksConfig) -> bool:
    """Whether findings of ``entry`` survive ``checks.enabled``/``disabled`` (a fixed id always does)."""
    if not entry.disable:
        return True
    return entry.id not in checks.disabled and (not checks.enabled or entry.id in checks.enabled)


def deselect(findings: Iterable[Finding], checks: ChecksConfig) -> list[Finding]:
    """``findings`` without those of engine ids that ``checks.enabled``/``disabled`` leave out.

    Registry checks are selected before they run (``tools.checks.selected``); this applies the same selection
    to the ids produced outside the registry. Ids it does not know (registry checks) are kept.
    """
    return [f for f in findings if (entry := ENGINE_ENTRIES.get(f.check_id)) is None or is_selected(entry, checks)]


__all__ = ["DOCS_URL", "ENGINE_ENTRIES", "FAMILIES", "ID_PATTERN", "PEER_TOOLS", "SECURITY_SEVERITY", "Entry", "Family", "deselect",
           "finding", "is_selected", "lookup", "selection_errors"]
