"""Running a specialist: its rule-based verdict, then the floor that bounds any provider's opinion.

Who the specialists are is the table in :mod:`agents.roster`.
"""

from __future__ import annotations

import time
from collections import Counter

from agents.grounding import ground
from agents.llm.base import Provider, SpecialistInput
from agents.roster import SPECIALISTS, Specialist
from core.models import AgentVerdict, Finding, Outcome, Severity
from core.render import finding_line

RULES = "rules"
"""The ``provider`` of a verdict made by rules alone (what the offline provider returns)."""


def blocks(f: Finding, fail_on: Severity | str) -> bool:
    """At or above the threshold; a finding that carries a question is for a person to decide, so it asks instead."""
    return f.severity.at_least(fail_on) and not f.question


def rule_outcome(findings: list[Finding], fail_on: Severity | str) -> Outcome:
    """The deterministic floor for a set of findings (suppressed ones never count)."""
    live = [f for f in findings if not f.suppressed]
    if any(blocks(f, fail_on) for f in live):
        return Outcome.rejected
    if any(f.question for f in live):
        return Outcome.clarification
    return Outcome.approved


def severity_counts(findings: list[Finding]) -> str:
    """``1 critical, 2 high`` — the count of each severity present, most severe first."""
    counts = Counter(f.severity.value for f in findings)
    return ", ".join(f"{counts[s.value]} {s.value}" for s in Severity if counts[s.value])


def rule_verdict(spec: Specialist, inp: SpecialistInput) -> AgentVerdict:
    """Turn the specialist's findings into a verdict whose reasoning is written from the evidence."""
    live = sorted((f for f in inp.findings if not f.suppressed), key=Finding.sort_key)
    suppressed = len(inp.findings) - len(live)
    outcome = rule_outcome(inp.findings, inp.fail_on)
    scope = f"{len(inp.objects)} object(s)" if inp.objects else f"{len(inp.changed_paths)} changed path(s)"
    if not live:
        summary = f"{spec.title}: no findings in {scope}."
        reasoning = summary
    else:
        blocking = [f for f in live if blocks(f, inp.fail_on)]
        summary = f"{spec.title}: {len(live)} finding(s) ({severity_counts(live)}) in {scope}."
        lines = [summary]
        if blocking:
            lines.append(f"{len(blocking)} at or above the '{inp.fail_on}' threshold block approval:")
        lines += [f"- {finding_line(f)}" for f in (blocking or live)[:8]]
        if len(blocking or live) > 8:
            lines.append(f"- … and {len(blocking or live) - 8} more")
        reasoning = "\n".join(lines)
    if suppressed:
        reasoning += f"\n{suppressed} finding(s) suppressed by annotation with a stated reason."
    recommendations = list(dict.fromkeys(f.remediation for f in live if f.remediation))[:6]
    return AgentVerdict(
        agent=spec.name,
        outcome=outcome,
        summary=summary,
        reasoning=reasoning,
        reviewed=sorted({f.check_id for f in inp.findings}),
        recommendations=recommendations,
        provider=RULES,
    )


def bounded(baseline: AgentVerdict, opinion: AgentVerdict) -> AgentVerdict:
    """Apply the floor to a provider's opinion: it may escalate and add, never relax. The provider's own outcome
    is kept apart (``own_outcome``): the policy may settle the rule part, never the model's."""
    own = None if opinion.provider == RULES else opinion.outcome  # the offline provider answers with the rules
    outcome = Outcome.worst(baseline.outcome, opinion.outcome)
    return opinion.model_copy(
        update={
            "agent": baseline.agent,
            "outcome": outcome,
            "own_outcome": own,
            "recommendations": list(dict.fromkeys(baseline.recommendations + opinion.recommendations)),
            "reviewed": sorted(set(baseline.reviewed) | set(opinion.reviewed)),
        }
    )


def run_specialist(name: str, inp: SpecialistInput, provider: Provider) -> AgentVerdict:
    """Run one specialist: rule baseline, then the provider's grounded and bounded opinion; fail closed on error.

    Findings that cite nothing in the specialist's input are dropped; their number is recorded as
    ``usage["ungrounded_findings"]``.
    """
    spec = SPECIALISTS[name]
    started = time.perf_counter()
    baseline = rule_verdict(spec, inp)
    try:
        opinion, dropped = ground(provider.assess(inp, baseline), inp)
        verdict = bounded(baseline, opinion)
        if dropped:
            verdict.usage = {**verdict.usage, "ungrounded_findings": dropped}
    except Exception as exc:  # noqa: BLE001 - any provider failure degrades to the rule verdict
        verdict = baseline.model_copy(
            update={"degraded": True, "error": f"{type(exc).__name__}: {exc}"[:300], "provider": provider.name}
        )
    verdict.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return verdict
