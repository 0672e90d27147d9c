"""Deciding a stage transition: every earlier required stage complete, the entry conditions met, no earlier
approval stale; and the per-stage table ``stage status`` shows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from core.config import STAGES, WorkflowConfig
from core.models import Category, Finding, Severity
from tools.workflow.approvals import StaleApproval, latest_approvals, stale_approvals, stale_finding
from tools.workflow.features import resolve_feature
from tools.workflow.gate import Context, run_gates
from tools.workflow.records import Adr, list_adrs
from tools.workflow.stages import DONE, STAGE, TARGETS, check_stage, earlier, entry_gates

Status = Literal["pass", "ask", "fail", "stale", "not started"]


class TransitionResult(BaseModel):
    """Whether ``feature`` may enter stage ``target``, with the evidence."""

    feature: str
    feature_dir: str = ""
    """The feature directory, relative to the workspace (``specs/001-name`` unless named otherwise)."""
    target: str
    current_stage: str | None
    required: list[str]
    findings: list[Finding] = Field(default_factory=list)
    passed: bool
    """No gate rejects and none asks."""
    questions: list[str] = Field(default_factory=list)
    """What the gates that ask want to know (a person's answer decides)."""
    next_action: str
    gates: dict[str, Status] = Field(default_factory=dict)
    """Every stage before ``target`` -> pass / ask / fail / stale / not started (as ``stage status`` shows it)."""
    stale: list[StaleApproval] = Field(default_factory=list)
    """Approvals of earlier stages made stale by later edits; each must be re-approved first."""


class StageRow(BaseModel):
    """One line of the ``stage status`` table."""

    stage: str
    status: Status
    optional: bool
    failing: list[str] = Field(default_factory=list)
    """Ids of the gates that reject (``fail``) or ask (``ask``)."""
    approval: Literal["approved", "stale", "none"] = "none"
    """The ledger's latest approval to enter this stage: still valid, stale, or none recorded."""
    changed: list[str] = Field(default_factory=list)
    """For a stale approval: the artifacts edited since."""


class FeatureStatus(BaseModel):
    """What ``stage status`` shows: the table, the current stage, the next action and the ADRs."""

    feature: str
    current_stage: str | None
    next_target: str | None
    next_action: str
    rows: list[StageRow]
    adrs: list[Adr] = Field(default_factory=list)


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.high) and not f.question]


def asking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.question]


def _apply_policy(findings: list[Finding], workflow: WorkflowConfig) -> list[Finding]:
    """With ``require_phr`` a missing prompt history record blocks instead of warning."""
    if not workflow.require_phr:
        return findings
    return [f.model_copy(update={"severity": Severity.high}) if f.check_id == "WF-PHR-MISSING" else f
            for f in findings]


def evaluate_stage(root: Path, feature_dir: Path, stage: str) -> list[Finding]:
    """Findings of the gates that mark ``stage`` complete for ``feature_dir`` (empty list: complete)."""
    check_stage(stage)
    return run_gates(STAGE[stage].all_gates(), Context(root, feature_dir))


class _State:
    """One stage of one feature: started, its (policy-adjusted) findings, and what they add up to."""

    def __init__(self, ctx: Context, stage: str, workflow: WorkflowConfig) -> None:
        self.started = STAGE[stage].started(ctx)
        self.findings = _apply_policy(run_gates(STAGE[stage].all_gates(), ctx), workflow)

    @property
    def complete(self) -> bool:
        return self.started and not blocking(self.findings) and not asking(self.findings)

    def status(self, stale: bool) -> Status:
        if not self.started:
            return "not started"
        if blocking(self.findings):
            return "fail"
        if asking(self.findings):
            return "ask"
        return "stale" if stale else "pass"


def _states(ctx: Context, workflow: WorkflowConfig) -> dict[str, _State]:
    return {stage: _State(ctx, stage, workflow) for stage in STAGES}


def _current_stage(complete: set[str], workflow: WorkflowConfig) -> str | None:
    """The last complete stage of the walk that stops at the first incomplete required stage."""
    current = None
    for stage in STAGES:
        if stage in complete:
            current = stage
        elif stage not in workflow.optional_stages:
            break
    return current


def _next_action(target: str, findings: list[Finding]) -> str:
    stops = blocking(findings)
    if not stops:
        questions = asking(findings)
        if questions:
            first = min(questions, key=Finding.sort_key)
            where = f" at {first.location()}" if first.location() else ""
            return (f"Answer {len(questions)} open question(s), or fix them first, starting with {first.check_id}"
                    f"{where}: {first.remediation}")
        return "The feature is complete." if target == DONE else f"Proceed with /sp.{target}."
    for check_id in ("WF-STAGE-SKIPPED", "WF-STALE-APPROVAL"):
        first = next((f for f in stops if f.check_id == check_id), None)
        if first:
            return f"{first.remediation}, then request '{target}' again."
    first = min(stops, key=Finding.sort_key)
    where = f" at {first.location()}" if first.location() else ""
    return f"Fix {len(stops)} blocking finding(s), starting with {first.check_id}{where}: {first.remediation}"


def _row(stage: str, state: _State, stale: StaleApproval | None, approved: bool, workflow: WorkflowConfig) -> StageRow:
    status = state.status(stale is not None)
    failing = sorted({f.check_id for f in (blocking if status == "fail" else asking)(state.findings)}) \
        if status in ("fail", "ask") else []
    approval = "stale" if stale else "approved" if approved else "none"
    return StageRow(stage=stage, status=status, optional=stage in workflow.optional_stages, failing=failing,
                    approval=approval, changed=stale.changed if stale else [])


def evaluate_transition(root: Path, feature: str, target: str, workflow: WorkflowConfig) -> TransitionResult:
    """Decide whether ``feature`` may enter ``target``: every earlier required stage complete, entry gates clean,
    no earlier approval stale."""
    check_stage(target, TARGETS)
    feature_dir = resolve_feature(root, feature)
    ctx = Context(root, feature_dir)
    states = _states(ctx, workflow)
    before = earlier(target)
    required = [s for s in before if s not in workflow.optional_stages]
    findings: list[Finding] = []
    for stage in required:
        state = states[stage]
        findings += [f for f in state.findings if f not in findings]
        if not state.started or blocking(state.findings):
            reason = "not started" if not state.started else "its gates fail"
            findings.append(Finding(
                check_id="WF-STAGE-SKIPPED", severity=Severity.high, category=Category.workflow,
                message=f"required stage '{stage}' is not complete ({reason}) before entering '{target}'",
                file=ctx.rel(feature_dir), remediation=f"Complete '{stage}' with {STAGE[stage].command}"))
    findings += [f for f in run_gates(entry_gates(target), ctx) if f not in findings]
    stale = stale_approvals(root, feature_dir)
    upstream = [stale[s] for s in before if s in stale]
    findings += [stale_finding(feature_dir, s, target) for s in upstream]
    approved = latest_approvals(root, feature_dir.name)
    gates = {s: _row(s, states[s], stale.get(s), s in approved, workflow).status for s in before}
    current = _current_stage({s for s in STAGES if states[s].complete}, workflow)
    questions = list(dict.fromkeys(f.question for f in asking(findings) if f.question))
    return TransitionResult(feature=feature_dir.name, feature_dir=ctx.rel(feature_dir), target=target,
                            current_stage=current, required=required, findings=findings,
                            passed=not blocking(findings) and not questions, questions=questions,
                            next_action=_next_action(target, findings), gates=gates, stale=upstream)


def stage_table(root: Path, feature: str, workflow: WorkflowConfig) -> list[StageRow]:
    """Per stage: pass / ask / fail / stale / not started, the ids of the gates that stop it and its approval."""
    feature_dir = resolve_feature(root, feature)
    stale = stale_approvals(root, feature_dir)
    approved = latest_approvals(root, feature_dir.name)
    states = _states(Context(root, feature_dir), workflow)
    return [_row(stage, states[stage], stale.get(stage), stage in approved, workflow) for stage in STAGES]


def feature_status(root: Path, feature: str, workflow: WorkflowConfig) -> FeatureStatus:
    """The table, the current stage and the next action: re-approve the first stale stage, else the next target."""
    feature_dir = resolve_feature(root, feature)
    rows = stage_table(root, feature, workflow)
    current = _current_stage({r.stage for r in rows if r.status in ("pass", "stale")}, workflow)
    stale = next((r for r in rows if r.approval == "stale"), None)
    if stale:
        target = stale.stage
        action = (f"Re-approve '{target}' ({', '.join(stale.changed)} changed since it was approved): "
                  f"stage approve {feature_dir.name} --to {target}")
    else:
        target = TARGETS[TARGETS.index(current) + 1] if current else STAGES[0]
        action = evaluate_transition(root, feature, target, workflow).next_action
    return FeatureStatus(feature=feature_dir.name, current_stage=current, next_target=target, next_action=action,
                         rows=rows, adrs=list_adrs(root))
