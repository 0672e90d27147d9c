"""The per-call input budget: what one model call may carry, estimated the way the fake server counts (characters
/ 4 of the compact JSON). Objects beyond the budget become one-line summaries, findings beyond it become counts;
a specialist fetches any object with its ``get_object`` tool."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from agents.llm.base import ObjectSummary
from core.models import Finding, K8sObject

FINDINGS_SHARE = 3
"""Findings rows may take at most 1/3 of the budget; objects the rest."""
SUMMARY_SHARE = 5
"""Summaries of objects beyond the budget may take at most 1/5 of it; what is left is only counted."""


def estimate(value: Any) -> int:
    """Estimated tokens of ``value`` as sent (compact JSON, characters / 4)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                                          default=str)
    return len(text) // 4 + 1


def finding_row(f: Finding, *, message: bool = True) -> dict[str, Any]:
    """A deterministic finding as a model sees it: id, severity, category, message, location, object (the
    supervisor plans from ids and locations: ``message=False``)."""
    row: dict[str, Any] = {"check_id": f.check_id, "severity": f.severity.value, "category": f.category.value}
    if message:
        row["message"] = f.message
    if f.file:
        row["file"] = f.file
    if f.line:
        row["line"] = f.line
    if f.resource.kind:
        row["resource"] = {k: v for k, v in (("kind", f.resource.kind), ("namespace", f.resource.namespace),
                                             ("name", f.resource.name)) if v}
    if f.suppressed:
        row["suppressed"] = True
    return row


def fit_rows(findings: Iterable[Finding], budget: int, *, message: bool = True
             ) -> tuple[list[dict[str, Any]], dict[str, int], int]:
    """The most severe findings as rows within ``budget`` tokens, the count per check id of the rest, and the
    tokens the rows take."""
    rows, rest, used = [], Counter(), 0
    for f in sorted(findings, key=Finding.sort_key):
        row = finding_row(f, message=message)
        cost = estimate(row)
        if used + cost <= budget and not rest:
            rows.append(row)
            used += cost
        else:
            rest[f.check_id] += 1
    return rows, dict(rest), used


def object_line(o: K8sObject | ObjectSummary) -> str:
    """``Kind ns/name @ file:line``: an object beyond the budget, enough to fetch it with ``get_object``."""
    ns = f"{o.namespace}/" if o.namespace else ""
    return f"{o.kind} {ns}{o.name} @ {o.file}:{o.line}"


def shown(o: K8sObject, with_body: bool = True) -> ObjectSummary:
    return ObjectSummary(kind=o.kind, name=o.name, namespace=o.namespace, file=o.file, line=o.line,
                         body=o.body if with_body else None)


def fit_objects(objects: list[K8sObject], budget: int, *, bodies: bool = True
                ) -> tuple[list[ObjectSummary], list[str], int]:
    """Objects in priority order: whole (with body) while they fit in ``budget``, then one-line summaries within
    a fifth of it, then only counted. Returns ``(whole, summaries, omitted)``."""
    whole: list[ObjectSummary] = []
    summaries: list[str] = []
    used, omitted = 0, 0
    summary_budget = max(200, budget // SUMMARY_SHARE)
    for o in objects:
        if bodies and not summaries:
            item = shown(o)
            cost = estimate({k: v for k, v in vars(item).items() if v is not None})  # its model_dump, cheaper
            if used + cost <= budget - summary_budget:
                whole.append(item)
                used += cost
                continue
        line = object_line(o)
        cost = estimate(line)
        if used + cost <= budget:
            summaries.append(line)
            used += cost
        else:
            omitted += 1
    return whole, summaries, omitted
