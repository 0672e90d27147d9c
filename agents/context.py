"""Build the scoped inputs the supervisor and each specialist see, within the per-call input budget (never the
whole repository: what does not fit is summarised, and a specialist fetches it with a tool)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from agents.budget import FINDINGS_SHARE, estimate, fit_objects, fit_rows
from agents.llm.base import FollowUpInput, ReconcileInput, SpecialistInput, SupervisorInput, ToolScope
from agents.roster import SPECIALISTS, Specialist
from core.config import Config
from core.models import (
    AgentVerdict,
    ChangeRequest,
    ChangeSet,
    Conflict,
    DelegationPlan,
    Finding,
    K8sObject,
    Outcome,
    StageRequest,
)
from tools.checks import registry
from tools.contract import AppContract, app_roots, extract_contract

MAX_CONTRACT_ITEMS = 40
SUPERVISOR_SHARE = 4
"""The supervisor plans from a quarter of the budget of findings rows and a quarter of changed paths."""


def boundaries(config: Config) -> dict[str, list[str]]:
    """The Phase III boundaries of the trusted configuration (empty lists included: "undefined" is information)."""
    p3 = config.phase3
    return {"protected": p3.protected, "needs_approval": p3.needs_approval, "allowed": p3.allowed,
            "app_roots": p3.app_roots}


def _change_rows(changes: ChangeSet, objects: list[K8sObject]) -> list[dict[str, Any]]:
    by_file: dict[str, list[str]] = {}
    for o in objects:
        by_file.setdefault(o.rendered_from or o.file, []).append(f"{o.kind}/{o.name}")
    rows = []
    for f in changes.files:
        row: dict[str, Any] = {"path": f.path, "status": f.status}
        if f.old_path and f.old_path != f.path:
            row["old_path"] = f.old_path
        if by_file.get(f.path):
            row["objects"] = by_file[f.path][:8]
        rows.append(row)
    return rows


def supervisor_input(req: ChangeRequest | StageRequest, findings: list[Finding], objects: list[K8sObject],
                     changes: ChangeSet, config: Config) -> SupervisorInput:
    budget = config.provider.input_budget_tokens
    rows, rest, _ = fit_rows([f for f in findings if not f.suppressed], budget // SUPERVISOR_SHARE, message=False)
    change_rows, used, left_out = [], 0, 0
    for row in _change_rows(changes, objects):
        cost = estimate(row)
        if used + cost <= budget // SUPERVISOR_SHARE:
            change_rows.append(row)
            used += cost
        else:
            left_out += 1
    omitted = {k: v for k, v in (("paths", left_out), ("findings", sum(rest.values()))) if v}
    stage = {"feature": req.feature, "target": req.target} if isinstance(req, StageRequest) else None
    return SupervisorInput(
        request_kind=req.kind,
        intent=req.intent,
        changes=change_rows,
        changed_paths=changes.paths(),
        finding_counts=dict(Counter(f.category.value for f in findings)),
        findings=rows,
        object_kinds=dict(Counter(o.kind for o in objects)),
        boundaries=boundaries(config),
        stage=stage,
        omitted=omitted,
        available=list(SPECIALISTS),
    )


def _prioritised(mine: list[Finding], objects: list[K8sObject], changed: set[str]) -> list[K8sObject]:
    """Objects its findings point at first, then objects of changed files, then the rest (stable order)."""
    cited = {(f.file, f.object_line or f.line) for f in mine} | {(f.resource.kind, f.resource.name) for f in mine if f.resource.kind}

    def rank(o: K8sObject) -> int:
        if (o.file, o.line) in cited or (o.kind, o.name) in cited:
            return 0
        return 1 if (o.file in changed or o.rendered_from in changed) else 2

    return sorted(objects, key=rank)


def catalog(spec: Specialist) -> list[dict[str, str]]:
    """Ids and titles of the registered checks in the specialist's categories."""
    categories = spec.categories
    return [{"id": c.id, "title": c.title} for c in registry() if c.category in categories]


def contract_rows(apps: list[AppContract]) -> list[dict[str, Any]]:
    """What the Phase III app needs at run time, as the specialist reads it."""
    out = []
    for c in apps:
        env = [{"name": v.name, "required": v.required, "file": v.file, "line": v.line}
               for v in sorted(c.env.values(), key=lambda v: v.name)][:MAX_CONTRACT_ITEMS]
        out.append({"app_root": c.root, "entry": c.entry, "env": env, "ports": sorted(c.ports),
                    "health": c.health})
    return out


def runtime_contract(root: Path, config: Config) -> list[dict[str, Any]]:
    """The runtime contract read (never run) from the app roots, where the checks did not read it already."""
    roots = app_roots(root, config.phase3)
    return contract_rows([extract_contract(root, r, single_app=len(roots) == 1) for r in roots])


def specialist_input(name: str, req: ChangeRequest | StageRequest, focus: str, findings: list[Finding],
                     objects: list[K8sObject], changes: ChangeSet, config: Config,
                     scope: list[str] | None = None, contract: list[dict[str, Any]] | None = None) -> SpecialistInput:
    """One specialist's input: all its findings (the rules read them all), the objects in scope within the input
    budget, and — for the Phase III guard — the boundaries and the runtime ``contract`` (the checks' reading,
    :func:`contract_rows`; read here when they did not read it)."""
    spec = SPECIALISTS[name]
    mine = [f for f in findings if spec.owns(f)]
    paths = changes.paths() or list(scope or [])
    budget = config.provider.input_budget_tokens
    _, _, used = fit_rows(mine, budget // FINDINGS_SHARE)
    room = budget - used
    extra: dict[str, Any] = {}
    if name == "phase3_guard":
        if contract is None:
            contract = runtime_contract(Path(req.workspace), config)
        extra = {"boundaries": boundaries(config), "contract": contract}
        room -= estimate(extra)
    whole, summaries, omitted = fit_objects(_prioritised(mine, objects, set(paths)), max(room, 500),
                                            bodies=spec.sees_objects)
    return SpecialistInput(
        agent=name,
        request_kind=req.kind,
        intent=req.intent,
        focus=focus or spec.focus,
        findings=mine,
        objects=whole,
        summaries=summaries,
        omitted_objects=omitted,
        changed_paths=paths,
        fail_on=config.policy.fail_on.value,
        context={"catalog": catalog(spec)},
        scope=ToolScope(workspace=req.workspace, request=req, changes=changes, config=config),
        **extra,
    )


def specialist_inputs(req: ChangeRequest | StageRequest, plan: DelegationPlan, findings: list[Finding],
                      objects: list[K8sObject], changes: ChangeSet, config: Config,
                      scope: list[str] | None = None,
                      contract: list[dict[str, Any]] | None = None) -> dict[str, SpecialistInput]:
    return {name: specialist_input(name, req, plan.focus.get(name, ""), findings, objects, changes, config, scope,
                                   contract) for name in plan.specialists}


def verdict_row(v: AgentVerdict) -> dict[str, Any]:
    """A verdict as the supervisor reads it: outcome, summary, verified claims, failure."""
    row: dict[str, Any] = {"agent": v.agent, "outcome": v.outcome.value, "summary": v.summary,
                           "provider": v.provider, "round": v.round}
    if v.own_outcome:
        row["model_outcome"] = v.own_outcome.value
    if v.claims:
        row["claims"] = [c.model_dump(mode="json", exclude_defaults=True) for c in v.claims]
    if v.degraded:
        row["failed"] = v.error or "failed"
    return row


def reconcile_input(req: ChangeRequest | StageRequest, verdicts: list[AgentVerdict], conflicts: list[Conflict],
                    gaps: list[str], floor: Outcome, round_: int) -> ReconcileInput:
    return ReconcileInput(request_kind=req.kind, intent=req.intent, round=round_, floor=floor,
                          verdicts=[verdict_row(v) for v in verdicts], conflicts=conflicts, gaps=gaps,
                          available=list(SPECIALISTS))


def follow_up_input(inp: SpecialistInput, question: str, previous: AgentVerdict | None,
                    conflicts: list[Conflict], verdicts: list[AgentVerdict]) -> SpecialistInput:
    """Round 2 for one specialist: its first input, the supervisor's question, its first answer, and the claims of
    the specialists it is in conflict with."""
    others = {a for c in conflicts if inp.agent in c.agents for a in c.agents if a != inp.agent}
    other_claims = [{"agent": v.agent, **c.model_dump(mode="json", exclude_defaults=True)}
                    for v in verdicts if v.agent in others for c in v.claims]
    prev = verdict_row(previous) if previous else {}
    return inp.model_copy(update={"follow_up": FollowUpInput(question=question, previous=prev, others=other_claims),
                                  "round": 2, "focus": question})
