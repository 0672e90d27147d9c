"""The words of a decision about the agents: the Agent Coordination line (who was engaged, skipped and why,
failed, degraded) and the reasoning lines written from verdicts. Every sentence is written by code from what
happened; a model's own words are shown only when they agree with the outcome."""

from __future__ import annotations

from collections.abc import Iterable

from agents.llm.base import Reconciliation
from agents.roster import SPECIALISTS
from core.models import AgentVerdict, DelegationPlan, Outcome, SummaryStatus


def _grouped(verdicts: Iterable[AgentVerdict]) -> str:
    by: dict[str, list[str]] = {}
    for v in verdicts:
        by.setdefault(v.provider, []).append(v.agent + (" (round 2)" if v.round > 1 else ""))
    return "; ".join(f"{', '.join(names)} ({provider})" for provider, names in by.items())


def weaknesses(v: AgentVerdict) -> list[str]:
    """Why an answer that did arrive is weaker than it should be (dropped evidence, a spent tool budget)."""
    out = []
    if n := v.usage.get("ungrounded_findings"):
        out.append(f"{n} claim(s) dropped: evidence not found")
    if v.usage.get("budget_spent"):
        out.append("its tool budget ran out before it answered")
    return out


def agents_status(plan: DelegationPlan, verdicts: list[AgentVerdict],
                  reconciliations: list[Reconciliation]) -> SummaryStatus:
    """PASS only when the supervisor planned, every engaged specialist answered and any reconciliation ran;
    DEGRADED when any of them failed (rules stood in); WARN when an answer was weakened; SKIPPED when nobody
    was engaged."""
    if not verdicts:
        why = f" ({plan.rationale})" if plan.rationale else ""
        return SummaryStatus(status="SKIPPED", detail=f"no specialist consulted{why}; the deterministic checks decide")
    failed = [v for v in verdicts if v.degraded]
    weak = [(v, w) for v in verdicts if not v.degraded and (w := weaknesses(v))]
    parts = []
    if plan.error:
        parts.append(f"supervisor failed ({plan.error}); rule routing engaged every specialist")
    else:
        parts.append(f"supervisor planned ({plan.source})")
    ok = [v for v in verdicts if not v.degraded]
    if ok:
        parts.append(f"completed: {_grouped(ok)}")
    engaged = {v.agent for v in verdicts}
    skipped = {n: plan.skipped.get(n, "not planned") for n in SPECIALISTS if n not in engaged}
    if skipped:
        parts.append("skipped: " + ", ".join(f"{n} ({why})" for n, why in skipped.items()))
    follow = [v.agent for v in verdicts if v.round > 1]
    if follow:
        parts.append(f"one follow-up round: {', '.join(follow)}")
    if failed:
        parts.append("failed: " + "; ".join(f"{v.agent} ({v.error}); its rule verdict stands in" for v in failed))
    if weak:
        parts.append("degraded: " + "; ".join(f"{v.agent} ({', '.join(w)})" for v, w in weak))
    broken = [r for r in reconciliations if r.error]
    if broken:
        parts.append(f"reconciliation failed ({broken[-1].error}); the conflicts go to a person")
    status = "DEGRADED" if plan.error or failed or broken else "WARN" if weak else "PASS"
    return SummaryStatus(status=status, detail="; ".join(parts))


def dropped_line(verdicts: list[AgentVerdict]) -> str | None:
    counts = {v.agent: v.usage.get("ungrounded_findings", 0) for v in verdicts}
    total = sum(counts.values())
    if not total:
        return None
    who = ", ".join(f"{a} {n}" for a, n in counts.items() if n)
    return f"{total} model claim(s) dropped because their evidence was not found in the workspace ({who})."


def coordination_line(reconciliations: list[Reconciliation], outcome: Outcome) -> str | None:
    """The supervisor's coordination text when it agrees with the outcome; else what it judged, and why the
    decision differs (the deterministic floor and the conflict rule keep the final say)."""
    rec = next((r for r in reversed(reconciliations) if r.note or r.outcome), None)
    if rec is None:
        return None
    if rec.outcome is None or rec.outcome is outcome:
        return f"Supervisor: {rec.note.strip()}"
    return (f"Supervisor judged the verdicts {rec.outcome.value}; the decision is {outcome.value}: the deterministic "
            "checks and the conflict rule have the final say.")
