"""The supervisor: decides which specialists to consult (rules first, a provider may refine)."""

from __future__ import annotations

from agents.llm.base import Provider, SupervisorInput
from agents.specialists import SPECIALISTS
from core.models import DelegationPlan

_FOCUS = {
    "security": "Pod security, RBAC, network exposure and secret handling of the objects in scope.",
    "scalability": "Resources, probes, replicas/HPA/PDB, wiring between objects, schema validity.",
    "observability": "Labels, logging/metrics/tracing hooks, graceful shutdown, rollback and GitOps hygiene.",
    "phase3_guard": "Whether any changed path or the runtime contract affects frozen Phase III code.",
}


def rule_plan(inp: SupervisorInput) -> DelegationPlan:
    """Consult every specialist whenever there is anything to review; say why for each."""
    specialists = list(SPECIALISTS)
    focus = {}
    for name in specialists:
        cats = sorted(c.value for c in SPECIALISTS[name].categories)
        n = sum(inp.finding_counts.get(c, 0) for c in cats)
        focus[name] = f"{_FOCUS[name]} {n} deterministic finding(s) in {', '.join(cats)}."
    rationale = (
        f"{inp.request_kind} request over {len(inp.changed_paths)} path(s) and "
        f"{sum(inp.object_kinds.values())} Kubernetes object(s): all four specialists consulted."
    )
    return DelegationPlan(specialists=specialists, focus=focus, rationale=rationale, source="rules")


def mandatory(inp: SupervisorInput) -> set[str]:
    """Specialists a provider may not drop: the guard on change requests, and anyone with findings."""
    must = {"phase3_guard"} if inp.request_kind == "change" else set()
    for name, spec in SPECIALISTS.items():
        if any(inp.finding_counts.get(c.value, 0) for c in spec.categories):
            must.add(name)
    return must


def plan_delegation(inp: SupervisorInput, provider: Provider) -> DelegationPlan:
    """Ask the provider for a plan bounded by :func:`mandatory`; on any failure, rule routing takes over."""
    baseline = rule_plan(inp)
    try:
        plan = provider.plan(inp, baseline)
    except Exception as exc:  # noqa: BLE001 - supervisor failure must not stop the review
        return baseline.model_copy(update={"rationale": f"{baseline.rationale} (supervisor failed: {exc}; rules used)"})
    must = mandatory(inp)
    chosen = [s for s in plan.specialists if s in SPECIALISTS]
    chosen += [name for name in SPECIALISTS if name in must and name not in chosen]
    return plan.model_copy(update={"specialists": chosen, "focus": {**baseline.focus, **plan.focus}})
