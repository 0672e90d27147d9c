"""Running a specialist: its rule-based verdict, then the floor that bounds any provider's opinion.

Who the specialists are is the table in :mod:`agents.roster`.
"""

from __future__ import annotations

import time
from collections import Counter

from agents.grounding import ground
from agents.llm.base import Provider, SpecialistInput
from agents.roster import SPECIALISTS, Specialist
from agents.toolbox import Toolbox
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
    seen = len(inp.objects) + len(inp.summaries) + inp.omitted_objects
    scope = f"{seen} object(s)" if seen and spec.sees_objects else \
        f"{len(inp.changed_paths)} path(s) in scope"
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


def model_part(opinion: AgentVerdict, escalated: Outcome | None) -> str:
    """What a model added, in code's words from its verified claims (never its free text, which could contradict
    the outcome): what it found that the rules did not, and what it confirmed."""
    found = [c for c in opinion.claims if c.kind == "finding"]
    confirmed = [c for c in opinion.claims if c.kind == "confirmed"]
    parts = []
    if found:
        parts.append("found beyond the rules: " + "; ".join(
            f"{c.check_id} at {c.evidence.location()} ({c.statement})" for c in found[:4]))
    if confirmed:
        parts.append("confirmed: " + "; ".join(f"{c.statement} ({c.evidence.location()})" for c in confirmed[:4]))
    if escalated is not None:
        parts.append(f"asks for {escalated.value}")
    return f"The model ({opinion.provider}) " + (", ".join(parts) if parts else "found nothing beyond the rules") + "."


def bounded(baseline: AgentVerdict, opinion: AgentVerdict) -> AgentVerdict:
    """Apply the floor to a provider's opinion: it may escalate and add, never relax. The provider's own outcome
    is kept apart (``own_outcome``): the policy may settle the rule part, never the model's.

    The summary is written by code: the rules' facts, then what the model found and confirmed (its own words go to
    ``reasoning``), so no model sentence can contradict the outcome."""
    if opinion.provider == RULES:  # the offline provider answers with the rules
        return opinion.model_copy(update={"agent": baseline.agent, "own_outcome": None, "summary": baseline.summary,
                                          "reasoning": baseline.reasoning,
                                          "outcome": Outcome.worst(baseline.outcome, opinion.outcome)})
    own = opinion.outcome
    outcome = Outcome.worst(baseline.outcome, own)
    escalated = own if own.rank > baseline.outcome.rank else None
    words = "\n".join(t for t in (opinion.summary, opinion.reasoning) if t)
    return opinion.model_copy(
        update={
            "agent": baseline.agent,
            "outcome": outcome,
            "own_outcome": own,
            "summary": f"{baseline.summary} {model_part(opinion, escalated)}",
            "reasoning": f"{baseline.reasoning}\nModel: {words}" if words else baseline.reasoning,
            "recommendations": list(dict.fromkeys(baseline.recommendations + opinion.recommendations)),
            "reviewed": sorted(set(baseline.reviewed) | set(opinion.reviewed)),
        }
    )


def unsupported(baseline: AgentVerdict, verdict: AgentVerdict) -> str | None:
    """Why a model's escalation has no verified evidence behind it (None when it has, or did not escalate): a
    REJECTED needs a verified finding, a REQUIRES CLARIFICATION a verified finding or trade-off."""
    own = verdict.own_outcome
    if own is None or own.rank <= baseline.outcome.rank:
        return None
    if verdict.findings or (own is Outcome.clarification and verdict.conflicts):
        return None
    return f"the model answered {own.value} without verified evidence"


def run_specialist(name: str, inp: SpecialistInput, provider: Provider) -> AgentVerdict:
    """Run one specialist: rule baseline, then the provider's grounded and bounded opinion; fail closed on error.

    Claims whose evidence does not hold are dropped; their number is ``usage["ungrounded_findings"]`` and the
    first reasons ``dropped``. A model that escalates without verified evidence has failed: its rule verdict
    stands in (``degraded``), and ``policy.on_agent_failure`` decides what that means.
    """
    spec = SPECIALISTS[name]
    started = time.perf_counter()
    baseline = rule_verdict(spec, inp).model_copy(update={"question": inp.focus, "round": inp.round})
    try:
        toolbox = Toolbox(inp.scope) if inp.scope else None
        grounded = ground(provider.assess(inp, baseline), inp, toolbox)
        verdict = bounded(baseline, grounded.verdict)
        if grounded.dropped:
            verdict.usage = {**verdict.usage, "ungrounded_findings": grounded.dropped}
            verdict.reasoning += "\nDropped (evidence not verified): " + "; ".join(grounded.reasons[:5])
        problem = unsupported(baseline, verdict)
        if problem:
            dropped = f" ({grounded.dropped} claim(s) dropped: {grounded.reasons[0]})" if grounded.dropped else ""
            verdict = baseline.model_copy(update={"degraded": True, "error": f"{problem}{dropped}"[:300],
                                                  "provider": provider.name, "usage": verdict.usage})
    except Exception as exc:  # noqa: BLE001 - any provider failure degrades to the rule verdict
        verdict = baseline.model_copy(
            update={"degraded": True, "error": f"{type(exc).__name__}: {exc}"[:300], "provider": provider.name}
        )
    verdict.question, verdict.round = inp.focus, inp.round
    verdict.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return verdict
