"""The supervisor: plans the review (whom to engage, with which question) and reconciles the verdicts (one
follow-up round at most, and the coordination text). Rules first; a provider may refine; the deterministic floor
keeps the final say in the merge policy."""

from __future__ import annotations

from agents.conflicts import find_conflicts, gap_text, open_tradeoffs
from agents.llm.base import Provider, ReconcileInput, Reconciliation, SupervisorInput
from agents.roster import SPECIALISTS
from core.models import AgentVerdict, Conflict, DelegationPlan

MAX_ROUNDS = 2
"""The first round and at most one follow-up round."""


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


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
    """Ask the provider for a plan bounded by :func:`mandatory`; on any failure, rule routing takes over (and the
    plan says so: ``error``).

    The plan may consult nobody (a stage request with nothing in any specialist's categories): the graph then
    goes straight to the merge."""
    baseline = rule_plan(inp)
    try:
        plan = provider.plan(inp, baseline)
    except Exception as exc:  # noqa: BLE001 - supervisor failure must not stop the review
        return baseline.model_copy(update={"rationale": f"{baseline.rationale} (supervisor failed; rules used)",
                                           "error": _error(exc)})
    must = mandatory(inp)
    chosen = [s for s in dict.fromkeys(plan.specialists) if s in SPECIALISTS]
    added = [name for name in SPECIALISTS if name in must and name not in chosen]
    focus = {name: plan.focus.get(name) or baseline.focus[name] for name in [*chosen, *added]}
    skipped = {name: plan.skipped.get(name) or "not planned by the supervisor"
               for name in SPECIALISTS if name not in chosen and name not in added}
    return plan.model_copy(update={"specialists": [*chosen, *added], "focus": focus, "skipped": skipped})


def open_points(verdicts: list[AgentVerdict]) -> tuple[list[Conflict], list[str]]:
    """The conflicts among the verdicts, and the gaps (declared trade-offs the other side never addressed)."""
    return find_conflicts(verdicts), [gap_text(c) for c in open_tradeoffs(verdicts)]


def reconcile(inp: ReconcileInput, provider: Provider) -> Reconciliation:
    """The supervisor's reading of the verdicts of round ``inp.round``.

    Nothing to reconcile (no conflict, no gap, no follow-up answered) costs no call. Otherwise the provider may ask
    follow-up questions — in the first round only, of specialists of the table — and writes the coordination text.
    A failure leaves the conflicts to the merge policy and is reported."""
    baseline = Reconciliation(round=inp.round)
    if not (inp.conflicts or inp.gaps or inp.round > 1):
        return baseline
    try:
        rec = provider.reconcile(inp, baseline)
    except Exception as exc:  # noqa: BLE001 - a failed reconciliation must not stop the review
        return baseline.model_copy(update={"error": _error(exc)})
    follow_ups = {a: q for a, q in rec.follow_ups.items() if a in SPECIALISTS and q.strip()}
    if inp.round >= MAX_ROUNDS:  # one follow-up round at most
        follow_ups = {}
    return rec.model_copy(update={"round": inp.round, "follow_ups": follow_ups})
