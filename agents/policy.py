"""The decision policy applied by the ``merge`` node. Deterministic; documented in docs/decision-policy.md.

1. A Phase III violation (a critical ``phase3`` finding) is REJECTED and can be neither suppressed nor
   overridden by any verdict.
2. Any unsuppressed finding at or above ``policy.fail_on`` is REJECTED; for stage requests, a failing
   workflow gate (high or above) is REJECTED whatever ``fail_on`` says.
3. A finding that carries a question (undefined Phase III boundaries, a ``needs_approval`` path) makes
   the outcome at least REQUIRES CLARIFICATION.
4. Verdicts can only escalate: the outcome is the worst of the floor and every verdict.
5. A degraded agent caps an APPROVED at REQUIRES CLARIFICATION unless
   ``policy.on_agent_failure: deterministic``.
6. Specialists in conflict — the same concern, opposite conclusions, each with verified evidence
   (:mod:`agents.conflicts`) — leave the decision to a person: the trade-off is stated and the outcome is
   REQUIRES CLARIFICATION, unless the floor or an uncontested verdict rejects anyway.
7. A model that escalates without verified evidence has failed (rule 5 applies): ``agents.specialists``.

Everything arrives typed (findings, verdicts with their conflicts, the stage result); nothing is read back from
text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.conflicts import contested, find_conflicts, gap_text, open_tradeoffs
from agents.llm.base import Reconciliation
from agents.llm.opinion import CONFLICT_ID
from agents.report import agents_status, coordination_line, dropped_line
from agents.roster import SPECIALISTS
from agents.specialists import blocks, rule_outcome, severity_counts
from core.config import PolicyConfig
from core.models import (
    AgentVerdict,
    Category,
    Conflict,
    Decision,
    DelegationPlan,
    Finding,
    Outcome,
    Severity,
    SummaryStatus,
)
from core.render import finding_line
from tools.catalog import finding
from tools.guard import UNDEFINED as BOUNDARIES_UNDEFINED_ID
from tools.workflow import TransitionResult

K8S_CATEGORIES = {Category.security, Category.scalability, Category.observability, Category.schema}


@dataclass
class MergeInput:
    kind: str
    intent: str
    findings: list[Finding]
    verdicts: list[AgentVerdict]
    plan: DelegationPlan
    policy: PolicyConfig
    changed_paths: list[str]
    object_count: int
    scope_note: str = ""
    policy_source: str = ""
    """Where the configuration came from (the base revision, the operator's file, or the work tree)."""
    infra_files: int | None = None
    """Infrastructure files in scope (None: unknown); a stage decision with none has no Kubernetes verdict."""
    change_mode: str = "directory"
    stage: TransitionResult | None = None
    """The stage gates' result (its findings are in ``findings``), for stage requests."""
    answers: dict[str, str] = field(default_factory=dict)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    """The supervisor's reconciliations, one per round that had something to reconcile."""


def is_phase3_violation(f: Finding) -> bool:
    return f.category is Category.phase3 and f.severity is Severity.critical


def _live(findings: list[Finding]) -> list[Finding]:
    """Unsuppressed findings; Phase III violations ignore suppression."""
    return [f for f in findings if not f.suppressed or is_phase3_violation(f)]


YES, NO = ("y", "yes"), ("n", "no")
DECLINED = "PHASE3-APPROVAL-DECLINED"


def answer_to(m: MergeInput, f: Finding) -> str:
    return m.answers.get(f.question or "", "").strip().lower()


def declined_findings(m: MergeInput, findings: list[Finding]) -> list[Finding]:
    """A Phase III violation for every question the person answered "no" (it rejects, like any violation)."""
    return [
        finding(DECLINED, f"approval declined by the user (answered '{answer_to(m, f)}'): {f.question}",
                file=f.file, source="user",
                remediation=f.remediation)
        for f in findings if f.question and answer_to(m, f) in NO
    ]


def floor_outcome(m: MergeInput, live: list[Finding]) -> Outcome:
    """The deterministic outcome of the live (unsuppressed, or Phase III) findings, with the person's answers."""
    if any(is_phase3_violation(f) for f in live):
        return Outcome.rejected
    if m.kind == "stage" and any(f.category is Category.workflow and f.severity.at_least("high") for f in live):
        return Outcome.rejected
    if boundaries_unanswered(m, live):  # the seed: "if Phase III boundaries are unclear, halt and ask"
        return Outcome.clarification
    unanswered = [f for f in live if not (f.question and answer_to(m, f) in YES)]
    return rule_outcome(unanswered, m.policy.fail_on)


def boundaries_unanswered(m: MergeInput, live: list[Finding]) -> list[Finding]:
    """The undefined-boundaries question while nobody has answered it (then nothing else can be judged)."""
    return [f for f in live if f.check_id == BOUNDARIES_UNDEFINED_ID and f.question and not answer_to(m, f)]


GUARD_SOURCES = frozenset({"deterministic", "user", "agent:phase3_guard"})
"""Who may speak about Phase III: the deterministic guard, the person's answers, and the Phase III guard agent."""


def deterministic_floor(kind: str, findings: list[Finding], policy: PolicyConfig) -> Outcome:
    """The outcome of the deterministic findings alone (no answers, no verdicts)."""
    m = MergeInput(kind=kind, intent="", findings=findings, verdicts=[], plan=DelegationPlan(specialists=[]),
                   policy=policy, changed_paths=[], object_count=0)
    return floor_outcome(m, _live(findings))


def _phase3_status(m: MergeInput, live: list[Finding]) -> SummaryStatus:
    p3 = [f for f in live if f.category is Category.phase3 and f.source in GUARD_SOURCES]
    touched = sorted({f.file for f in p3 if is_phase3_violation(f) and f.file})
    if touched:
        return SummaryStatus(status="FAIL", detail=f"protected paths touched: {', '.join(touched)}")
    questions = [f for f in p3 if f.question]
    if questions:
        paths = sorted({f.file for f in questions if f.file})
        what = f"needs approval: {', '.join(paths)}" if paths else questions[0].message
        return SummaryStatus(status="NEEDS INPUT", detail=what)
    contract = [f for f in p3 if f.check_id.startswith("CONTRACT-")]
    if contract:
        ids = ", ".join(sorted({f.check_id for f in contract}))
        return SummaryStatus(status="WARN", detail=f"no protected path touched; runtime contract: {len(contract)} "
                                                   f"finding(s) ({ids})")
    if m.change_mode == "directory":
        if m.kind == "stage":
            return SummaryStatus(status="NOT AFFECTED", detail="directory review (not on an NNN-name feature branch)")
        return SummaryStatus(status="PASS", detail="directory review: no change set, so no Phase III path is modified")
    where = " on the feature branch" if m.kind == "stage" else ""
    return SummaryStatus(status="PASS", detail=f"none of {len(m.changed_paths)} changed path(s){where} touch Phase III")


def _k8s_status(m: MergeInput, live: list[Finding]) -> SummaryStatus:
    k8s = [f for f in live if f.category in K8S_CATEGORIES]
    if m.kind == "stage" and m.infra_files == 0 and not k8s:
        return SummaryStatus(status="N/A", detail=m.scope_note or "no infrastructure in this feature's scope")
    blocking = [f for f in k8s if blocks(f, m.policy.fail_on)]
    base = f"{m.object_count} object(s) analysed"
    if blocking:
        ids = ", ".join(sorted({f.check_id for f in blocking})[:6])
        return SummaryStatus(status="FAIL", detail=f"{base}; {len(blocking)} blocking finding(s): {ids}")
    if k8s:
        return SummaryStatus(status="WARN", detail=f"{base}; {len(k8s)} non-blocking finding(s)")
    return SummaryStatus(status="PASS", detail=f"{base}; no findings")


def _workflow_status(m: MergeInput, live: list[Finding]) -> SummaryStatus:
    if m.kind != "stage" or not m.stage:
        return SummaryStatus(status="SKIPPED", detail="change validation; no stage transition requested")
    wf = [f for f in live if f.category is Category.workflow]
    failing = [f for f in wf if f.severity.at_least("high") or (f.question and answer_to(m, f) in NO)]
    target = f"{m.stage.feature} at '{m.stage.current_stage or 'not started'}', entering '{m.stage.target}'"
    if failing:
        ids = ", ".join(sorted({f.check_id for f in failing}))
        stale = sorted({s.stage for s in m.stage.stale})
        reapprove = f"; re-approve first: {', '.join(stale)}" if stale else ""
        return SummaryStatus(status="FAIL", detail=f"{target}: {len(failing)} failing gate check(s): {ids}{reapprove}")
    asking = [f for f in wf if f.question and answer_to(m, f) not in YES + NO]
    if asking:
        ids = ", ".join(sorted({f.check_id for f in asking}))
        return SummaryStatus(status="NEEDS INPUT", detail=f"{target}: {len(asking)} gate question(s): {ids}")
    gates = ", ".join(f"{stage} {state}" for stage, state in m.stage.gates.items())
    if wf:
        return SummaryStatus(status="WARN", detail=f"{target}: {gates}; {len(wf)} warning(s)")
    return SummaryStatus(status="PASS", detail=f"{target}: {gates}")


def conflict_finding(c: Conflict) -> Finding:
    """The ``AGENT-CONFLICT`` finding a conflict is reported as (info, the first specialist's)."""
    by, other = c.agents
    return Finding(check_id=CONFLICT_ID, severity=Severity.info, category=SPECIALISTS[by].primary,
                   resource=c.resource, file=c.file, line=c.line, source=f"agent:{by}",
                   message=f"trade-off between {by} and {other}"
                           f"{' on ' + c.concern if c.concern else ''}: {c.detail}")


def _settle_conflicts(m: MergeInput, live: list[Finding], found: list[Conflict]) -> Outcome:
    """A conflict leaves the decision to a person (REQUIRES CLARIFICATION) unless the floor — without the agent
    findings the conflict is about — or an uncontested verdict rejects anyway."""
    disputed = contested(found, m.verdicts)
    floor = floor_outcome(m, [f for f in live if (f.source, f.check_id, f.file, f.line) not in disputed])
    parties = {name for c in found for name in c.agents}
    rest = Outcome.worst(floor, *(v.outcome for v in m.verdicts if v.agent not in parties))
    return rest if rest is Outcome.rejected else Outcome.clarification


def counted_outcome(v: AgentVerdict, settled: bool) -> Outcome:
    """What a verdict contributes. Once the person has answered every question "yes", the rule part of a verdict
    that asked them has nothing left to ask: only the provider's own outcome still counts (a model's own
    clarification is about something else and stands). A degraded verdict always counts as it is."""
    if settled and v.outcome is Outcome.clarification and not v.degraded:
        return v.own_outcome or Outcome.approved
    return v.outcome


def _next_steps(m: MergeInput, outcome: Outcome, live: list[Finding], questions: list[str],
                conflicts: list[Conflict], escalated: list[AgentVerdict], failed: list[AgentVerdict]) -> list[str]:
    """What to do: never empty, and never an empty list of required modifications when the outcome is not
    APPROVED."""
    disputed = contested(conflicts, m.verdicts)  # the trade-off step below speaks for them
    blocking = [f for f in live if blocks(f, m.policy.fail_on) or is_phase3_violation(f)]
    blocking += [f for v in escalated for f in v.findings]
    steps = [f.remediation or f"Fix: {finding_line(f)}" for f in blocking
             if (f.source, f.check_id, f.file, f.line) not in disputed]
    steps += questions
    steps += [f"Present trade-offs for decision: {' vs '.join(c.agents)} on {c.target()}"
              f"{' (' + c.concern + ')' if c.concern else ''} — {c.detail}" for c in conflicts]
    if outcome is not Outcome.approved:
        steps += [f"Re-run the review, or decide by hand what {v.agent} would have checked: it failed ({v.error})."
                  for v in failed]
    if m.stage and m.stage.next_action and (outcome is Outcome.approved or not m.stage.passed):
        steps.append(m.stage.next_action)
    if outcome is Outcome.approved and not steps:
        steps.append("Proceed; re-run the review if the change grows.")
    if not steps:
        steps.append("Review the issues above by hand: no automatic remediation is known for them.")
    return list(dict.fromkeys(steps))


def decide(m: MergeInput) -> Decision:
    """Merge deterministic findings and verdicts into the decision (the only place an outcome is made)."""
    conflicts = find_conflicts(m.verdicts)
    agent_findings = [f for v in m.verdicts for f in v.findings]
    findings = m.findings + agent_findings + [conflict_finding(c) for c in conflicts]
    findings = sorted(findings + declined_findings(m, findings), key=Finding.sort_key)
    live = _live(findings)
    floor = floor_outcome(m, live)
    asked = [f for f in live if f.question]
    settled = bool(asked) and all(answer_to(m, f) in YES for f in asked)
    outcome = Outcome.worst(floor, *(counted_outcome(v, settled) for v in m.verdicts))
    failed = [v for v in m.verdicts if v.degraded]
    reasoning: list[str] = []
    if conflicts:
        outcome = _settle_conflicts(m, live, conflicts)
        reasoning += [f"Trade-off between {' and '.join(c.agents)} on {c.target()}"
                      f"{' (' + c.concern + ')' if c.concern else ''}: {c.detail}" for c in conflicts]
    reasoning += [f"Not decided on: {gap_text(c)}." for c in open_tradeoffs(m.verdicts)]
    if failed and outcome is Outcome.approved and m.policy.on_agent_failure == "clarify":
        outcome = Outcome.clarification
        reasoning.append(f"Agent(s) {', '.join(v.agent for v in failed)} failed: an approval needs every consulted "
                         "agent (fail closed).")
    if boundaries_unanswered(m, live) and outcome is Outcome.rejected and not any(map(is_phase3_violation, live)):
        outcome = Outcome.clarification  # the boundaries question comes before any verdict (never an approval)
    if any(is_phase3_violation(f) for f in live):
        reasoning.append("Phase III code is immutable: the change touches protected paths and cannot be approved.")
    escalated = [v for v in m.verdicts  # escalations that count in the outcome
                 if floor.rank < counted_outcome(v, settled).rank <= outcome.rank and not v.degraded]
    reasoning += [f"{v.agent} escalated to {counted_outcome(v, settled).value}." for v in escalated]
    reasoning += [v.summary + (f" It failed ({v.error}); its rule verdict stands in." if v.degraded else "")
                  for v in m.verdicts]
    reasoning += [line for line in (dropped_line(m.verdicts), coordination_line(m.reconciliations, outcome)) if line]

    questions = list(dict.fromkeys(f.question for f in live if f.question and not answer_to(m, f)))
    next_steps = _next_steps(m, outcome, live, questions, conflicts, escalated, failed)
    if undefined := boundaries_unanswered(m, live):  # the question first, then how to answer it
        first = [undefined[0].question, undefined[0].remediation]
        next_steps = [*first, *(s for s in next_steps if s not in first)]
        reasoning.insert(0, "Phase III boundaries are not declared, so this change cannot be judged yet: declare "
                            "them (or confirm to proceed without Phase III protection); the findings below still "
                            "apply once they are.")
    return Decision(
        outcome=outcome,
        kind="stage" if m.kind == "stage" else "change",
        title=f"{m.stage.feature} → {m.stage.target}" if m.stage else (m.intent or "change validation"),
        spec_kit_compliance=_workflow_status(m, live),
        phase3_protection=_phase3_status(m, live),
        k8s_best_practices=_k8s_status(m, live),
        agent_coordination=agents_status(m.plan, m.verdicts, m.reconciliations),
        analysis=_analysis(m, outcome, live),
        reasoning=reasoning,
        issues=[finding_line(f) for f in live],
        next_steps=next_steps,
        questions=questions,
        findings=findings,
        conflicts=conflicts,
        verdicts=m.verdicts,
    )


def _analysis(m: MergeInput, outcome: Outcome, live: list[Finding]) -> str:
    intent = f"Intent: {m.intent.strip()}. " if m.intent.strip() else ""
    scope = m.scope_note or f"{len(m.changed_paths)} path(s)"
    sev = severity_counts(live) or "none"
    suppressed = sum(1 for f in m.findings if f.suppressed)
    consulted = ", ".join(v.agent for v in m.verdicts) or "none"
    text = (
        f"{intent}Reviewed {scope}: {m.object_count} Kubernetes object(s). "
        f"Findings: {sev}. Specialists consulted: {consulted}. "
        f"Policy: findings at or above '{m.policy.fail_on.value}' reject; Phase III violations are never overridable."
    )
    if m.policy_source:
        text += f" Policy source: {m.policy_source}."
    if suppressed:
        text += f" {suppressed} finding(s) suppressed with a reason."
    return text + f" Outcome: {outcome.value}."
