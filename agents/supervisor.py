"""The supervisor: decides which specialists to consult (rules first, a provider may refine)."""

from __future__ import annotations

from agents.llm.base import Provider, SupervisorInput
from agents.roster import SPECIALISTS
from core.models import DelegationPlan


def rule_plan(inp: SupervisorInput) -> DelegationPlan:
    """Consult every specialist whenever there is anything to review; say why for each."""
    focus = {}
    for name, spec in SPECIALISTS.items():
        cats = sorted(c.value for c in spec.categories)
        n = sum(inp.finding_counts.get(c, 0) for c in cats)
        focus[name] = f"{spec.focus} {n} deterministic finding(s) in {', '.join(cats)}."
    rationale = (
        f"{inp.request_kind} request over {len(inp.changed_paths)} path(s) and "
        f"{sum(inp.object_kinds.values())} Kubernetes object(s): every specialist consulted."
    )
    return DelegationPlan(specialists=list(SPECIALISTS), focus=focus, rationale=rationale, source="rules")


def mandatory(inp: SupervisorInput) -> set[str]:
    """Specialists a provider may not drop: those always consulted on this kind of request, and anyone with
    findings in its categories."""
    return {name for name, spec in SPECIALISTS.items()
            if inp.request_kind in spec.always_for or any(inp.finding_counts.get(c.value, 0) for c in spec.categories)}


def plan_delegation(inp: SupervisorInput, provider: Provider) -> DelegationPlan:
    """Ask the provider for a plan bounded by :func:`mandatory`; on any failure, rule routing takes over.

    The plan may consult nobody (a stage request with nothing in any specialist's categories): the graph then
    goes straight to the merge."""
    baseline = rule_plan(inp)
    try:
        plan = provider.plan(inp, baseline)
    except Exception as exc:  # noqa: BLE001 - supervisor failure must not stop the review
        return baseline.model_copy(update={"rationale": f"{baseline.rationale} (supervisor failed: {exc}; rules used)"})
    must = mandatory(inp)
    chosen = [s for s in plan.specialists if s in SPECIALISTS]
    chosen += [name for name in SPECIALISTS if name in must and name not in chosen]
    return plan.model_copy(update={"specialists": chosen, "focus": {**baseline.focus, **plan.focus}})
