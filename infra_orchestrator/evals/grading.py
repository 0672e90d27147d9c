"""Grade the findings a model added against a scenario's labelled expectations, deterministically.

A model-added finding (source ``agent:*``, not a declared trade-off, not ``info``) matches a label when it
cites the label's file, at the label's line within ``tolerance`` or at the label's field (or a field inside
it), names the concern (its category is one of the label's, or its check id matches one of the label's
``checks`` patterns) and is at least as severe as the label's floor. Each label is matched by at most one
finding and each finding matches at most one label (greedy, labels in order, the closest citation first).

A finding on a labelled concern that is not counted (a second citation of a label already matched, or one
below the severity floor, which leaves the label missed) is *related*: neither right nor wrong. Every other model-added finding is a *false positive*. Precision = matched / (matched + false
positives); recall = matched labels / labels. Both are ``None`` when their denominator is zero.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from pydantic import BaseModel, Field, computed_field

from core.models import Decision, Severity
from infra_orchestrator.evals.scenario import ModelFindingSpec

CONFLICT_ID = "AGENT-CONFLICT"
_INDEX = re.compile(r"\[(\d+)\]")


class ModelFinding(BaseModel):
    """A finding a model added, as graded: where it points and what it says."""

    agent: str
    check: str
    category: str
    severity: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    message: str = ""


class Match(BaseModel):
    concern: str
    finding: int
    """Index into the scenario's ``model_findings``."""
    how: str
    """``line`` (within tolerance) or ``field``."""


class Grading(BaseModel):
    """Per-scenario grade of the model-added findings (promptfoo's ``gradingResult``: pass, score, reason)."""

    labels: int
    findings: int
    matched: list[Match] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list, description="concerns of unmatched labels")
    missed_required: list[str] = Field(default_factory=list)
    under_severity: list[str] = Field(default_factory=list, description="concerns found below the floor")
    false_positives: list[int] = Field(default_factory=list, description="indexes of unmatched findings")
    related: list[int] = Field(default_factory=list, description="indexes of unmatched findings on a labelled "
                               "concern (a second citation, or one below the floor): neither right nor wrong")

    @computed_field
    @property
    def precision(self) -> float | None:
        denominator = len(self.matched) + len(self.false_positives)
        return round(len(self.matched) / denominator, 4) if denominator else None

    @computed_field
    @property
    def recall(self) -> float | None:
        return round(len(self.matched) / self.labels, 4) if self.labels else None

    def reason(self) -> str:
        parts = [f"{len(self.matched)}/{self.labels} labelled concern(s) found"]
        if self.missed:
            parts.append("missed " + ", ".join(self.missed))
        if self.under_severity:
            parts.append("below the severity floor: " + ", ".join(self.under_severity))
        if self.false_positives:
            parts.append(f"{len(self.false_positives)} unlabelled finding(s)")
        return "; ".join(parts)


def normalise_field(path: str) -> str:
    """``spec.containers[0].env`` and ``spec.containers.0.env`` read the same."""
    return _INDEX.sub(r".\1", path.strip().strip(".")).lower()


def _field_within(found: str | None, label: str | None) -> bool:
    if not (found and label):
        return False
    f, lab = normalise_field(found), normalise_field(label)
    return f == lab or f.startswith(lab + ".")


def _file(path: str | None) -> str:
    return (path or "").removeprefix("./")


def locate(spec: ModelFindingSpec, f: ModelFinding) -> tuple[str, int] | None:
    """How ``f`` cites the label's place (``line`` with its distance, or ``field``), or None."""
    if _file(f.file) != _file(spec.file):
        return None
    if _field_within(f.field, spec.field):
        return "field", 0
    if spec.line is not None and f.line is not None and abs(f.line - spec.line) <= spec.tolerance:
        return "line", abs(f.line - spec.line)
    return None


def names_concern(spec: ModelFindingSpec, f: ModelFinding) -> bool:
    return f.category in {c.value for c in spec.categories} or any(fnmatchcase(f.check, p) for p in spec.checks)


def grade(labels: list[ModelFindingSpec], found: list[ModelFinding]) -> Grading:
    """Match ``found`` against ``labels`` (see the module docstring)."""
    taken: dict[int, str] = {}
    matched: list[Match] = []
    missed: list[ModelFindingSpec] = []
    weak: list[str] = []
    for spec in labels:
        candidates = []
        for i, f in enumerate(found):
            where = locate(spec, f)
            if where and names_concern(spec, f):
                candidates.append((Severity(f.severity).at_least(spec.severity), where[1], i, where[0]))
        strong = sorted((c for c in candidates if c[0] and c[2] not in taken), key=lambda c: (c[1], c[2]))
        if strong:
            _, _, i, how = strong[0]
            taken[i] = spec.concern
            matched.append(Match(concern=spec.concern, finding=i, how=how))
            continue
        missed.append(spec)
        if any(not c[0] for c in candidates):
            weak.append(spec.concern)
    related = {i for spec in labels for i, f in enumerate(found) if locate(spec, f) and names_concern(spec, f)}
    return Grading(labels=len(labels), findings=len(found), matched=matched, missed=[s.concern for s in missed],
                   missed_required=[s.concern for s in missed if s.required], under_severity=weak,
                   false_positives=[i for i in range(len(found)) if i not in taken and i not in related],
                   related=sorted(related - taken.keys()))


def _claim_fields(decision: Decision) -> dict[tuple[str, str | None, int | None], str]:
    """(check id, file, line) -> field, from the verdicts' evidence-backed claims where a provider gives them."""
    out: dict[tuple[str, str | None, int | None], str] = {}
    for v in decision.verdicts:
        for claim in getattr(v, "claims", None) or []:
            ev = getattr(claim, "evidence", None)
            if getattr(claim, "kind", "") == "finding" and ev is not None and getattr(ev, "field", None):
                out[(claim.check_id or "", ev.file, ev.line)] = ev.field
    return out


def model_findings(decision: Decision) -> list[ModelFinding]:
    """The findings a model added to ``decision`` (graded; trade-offs and ``info`` notes are not)."""
    fields = _claim_fields(decision)
    out = []
    for f in decision.findings:
        if not f.source.startswith("agent:") or f.check_id == CONFLICT_ID or f.severity is Severity.info:
            continue
        out.append(ModelFinding(agent=f.source.removeprefix("agent:"), check=f.check_id, category=f.category.value,
                                severity=f.severity.value, file=f.file, line=f.line, message=f.message,
                                field=getattr(f, "field", None) or fields.get((f.check_id, f.file, f.line))))
    return out
