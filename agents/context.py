"""Build the small, scoped inputs the supervisor and each specialist see (never the whole repository)."""

from __future__ import annotations

from collections import Counter

from agents.llm.base import ObjectSummary, SpecialistInput, SupervisorInput
from agents.roster import SPECIALISTS, Specialist
from core.models import ChangeRequest, DelegationPlan, Finding, K8sObject, StageRequest
from tools.checks import registry

MAX_OBJECTS_PER_AGENT = 60


def supervisor_input(req: ChangeRequest | StageRequest, findings: list[Finding], objects: list[K8sObject],
                     changed_paths: list[str]) -> SupervisorInput:
    return SupervisorInput(
        request_kind=req.kind,
        intent=req.intent,
        changed_paths=changed_paths,
        finding_counts=dict(Counter(f.category.value for f in findings)),
        object_kinds=dict(Counter(o.kind for o in objects)),
        available=list(SPECIALISTS),
    )


def _relevant_objects(findings: list[Finding], objects: list[K8sObject]) -> list[ObjectSummary]:
    """The objects a specialist's findings point at (by file and line), capped; all objects if none."""
    cited = {(f.file, f.object_line or f.line) for f in findings}
    cited_files = {f.file for f in findings}
    chosen = [o for o in objects if (o.file, o.line) in cited] or [o for o in objects if o.file in cited_files]
    chosen = chosen or objects
    return [
        ObjectSummary(kind=o.kind, name=o.name, namespace=o.namespace, file=o.file, line=o.line, body=o.body)
        for o in chosen[:MAX_OBJECTS_PER_AGENT]
    ]


def catalog(spec: Specialist) -> list[dict[str, str]]:
    """Ids and titles of the registered checks in the specialist's categories (static, so cacheable)."""
    return [{"id": c.id, "title": c.title} for c in registry() if c.category in spec.categories]


def specialist_inputs(req: ChangeRequest | StageRequest, plan: DelegationPlan, findings: list[Finding],
                      objects: list[K8sObject], changed_paths: list[str], fail_on: str) -> dict[str, SpecialistInput]:
    out: dict[str, SpecialistInput] = {}
    for name in plan.specialists:
        spec = SPECIALISTS[name]
        mine = [f for f in findings if spec.owns(f)]
        out[name] = SpecialistInput(
            agent=name,
            request_kind=req.kind,
            intent=req.intent,
            focus=plan.focus.get(name, ""),
            findings=mine,
            objects=_relevant_objects(mine, objects) if spec.sees_objects else [],
            changed_paths=changed_paths,
            fail_on=fail_on,
            context={"catalog": catalog(spec)},
        )
    return out
