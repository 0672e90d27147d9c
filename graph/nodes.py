"""Thin graph nodes: each adapts state to one call into ``tools`` or ``agents`` and back."""

from __future__ import annotations

import time
from functools import wraps
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from agents.context import specialist_inputs, supervisor_input
from agents.llm.base import Provider, SpecialistInput
from agents.policy import MergeInput, decide
from agents.specialists import run_specialist
from agents.supervisor import plan_delegation
from core.config import Config, load_config
from core.models import (
    AgentVerdict,
    ChangeRequest,
    ChangeSet,
    Decision,
    DecisionMetadata,
    DelegationPlan,
    Finding,
    K8sObject,
    StageRequest,
)
from core.render import render_text
from core.versions import versions
from graph.state import GraphContext, ReviewState, SpecialistTask
from prompts import prompt_versions
from tools import analysis
from tools.workflow import evaluate_transition


def _request(state: ReviewState) -> ChangeRequest | StageRequest:
    data = state["request"]
    return StageRequest.model_validate(data) if data.get("kind") == "stage" else ChangeRequest.model_validate(data)


def _config(state: ReviewState) -> Config:
    return Config.model_validate(state["config"])


def _changes(state: ReviewState) -> ChangeSet:
    return ChangeSet.model_validate(state["changes"])


def _findings(state: ReviewState) -> list[Finding]:
    return [Finding.model_validate(f) for f in state["findings"]]


def _verdicts(state: ReviewState) -> list[AgentVerdict]:
    return [AgentVerdict.model_validate(v) for v in state.get("verdicts", [])]


def _timed(name: str):
    """Record the node's wall time in ``timings_ms`` and announce it on the progress callback."""

    def deco(fn):
        @wraps(fn)
        def wrapper(state, runtime: Runtime[GraphContext]):
            if runtime.context and runtime.context.progress:
                runtime.context.progress(name)
            started = time.perf_counter()
            update = fn(state, runtime)
            if isinstance(update, dict):
                update.setdefault("timings_ms", {})[name] = round((time.perf_counter() - started) * 1000, 2)
            return update

        return wrapper

    return deco


@_timed("intake")
def intake(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    req = _request(state)
    root = Path(req.workspace)
    loaded = load_config(root) if "config" not in state else None
    config = _config(state) if loaded is None else loaded.config
    collected = analysis.collect(req, root, config)
    return {
        "config": config.model_dump(mode="json"),
        "config_path": state.get("config_path") if loaded is None else loaded.path,
        "changes": collected.changes.model_dump(mode="json"),
        "scope": collected.scope,
        "scope_note": collected.scope_note,
        "objects": [o.model_dump(mode="json") for o in collected.objects],
        "findings": [f.model_dump(mode="json") for f in collected.findings],
    }


@_timed("deterministic")
def deterministic(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    req = _request(state)
    config = _config(state)
    collected = analysis.Collected(
        changes=_changes(state),
        scope=state["scope"],
        objects=[K8sObject.model_validate(o) for o in state["objects"]],
        findings=_findings(state),
        scope_note=state.get("scope_note", ""),
    )
    findings = analysis.deterministic_findings(req, collected, config)
    stage = None
    if isinstance(req, StageRequest):
        result = evaluate_transition(Path(req.workspace), req.feature, req.target, config.workflow)
        findings += result.findings
        stage = result.model_dump(mode="json", exclude={"findings"})
    return {"findings": [f.model_dump(mode="json") for f in findings], "stage": stage}


@_timed("supervisor")
def supervisor(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    req = _request(state)
    inp = supervisor_input(req, _findings(state), state["objects"],
                           _changes(state).paths())
    plan = plan_delegation(inp, runtime.context.provider)
    return {"plan": plan.model_dump(mode="json")}


def fan_out(state: ReviewState) -> list[Send]:
    """One ``Send`` batch: every planned specialist runs in the same superstep, in parallel."""
    plan = DelegationPlan.model_validate(state["plan"])
    config = _config(state)
    inputs = specialist_inputs(_request(state), plan, _findings(state),
                               state["objects"], _changes(state).paths(),
                               config.policy.fail_on.value)
    return [Send("specialist", SpecialistTask(agent=name, payload=inp.model_dump(mode="json")))
            for name, inp in inputs.items()]


def specialist(task: SpecialistTask, runtime: Runtime[GraphContext]) -> dict:
    if runtime.context and runtime.context.progress:
        runtime.context.progress(f"specialist:{task['agent']}")
    verdict = run_specialist(task["agent"], SpecialistInput.model_validate(task["payload"]), runtime.context.provider)
    return {"verdicts": [verdict.model_dump(mode="json")]}


@_timed("merge")
def merge(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """Apply the decision policy. In an interactive run each open question pauses the run with ``interrupt()``
    (resumed by ``Command(resume=answer)``); the answers go to the policy ("y" settles, "n" rejects) and are
    kept in the ``answers`` channel, which ``render`` copies into ``Decision.metadata.extra["answers"]``.
    On resume this node re-runs from its first line: nothing before ``interrupt()`` is expensive."""
    req = _request(state)
    config = _config(state)
    changes = _changes(state)
    m = MergeInput(
        kind=req.kind,
        intent=req.intent,
        findings=_findings(state),
        verdicts=_verdicts(state),
        plan=DelegationPlan.model_validate(state["plan"]),
        policy=config.policy,
        changed_paths=changes.paths() if changes.mode != "directory" else state["scope"],
        object_count=len(state["objects"]),
        scope_note=state.get("scope_note", ""),
        change_mode=changes.mode,
        stage=state.get("stage"),
        answers=state.get("answers") or {},
    )
    decision = decide(m)
    if runtime.context and runtime.context.interactive and decision.questions:
        m.answers = {**m.answers, **{q: str(interrupt({"question": q})).strip() for q in decision.questions}}
        decision = decide(m)
    return {"decision": decision.model_dump(mode="json"), "answers": m.answers}


@_timed("render")
def render(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    decision = Decision.model_validate(state["decision"])
    decision.metadata = decision_metadata(state, runtime.context.provider)
    return {"decision": decision.model_dump(mode="json"), "rendered": render_text(decision)}


def decision_metadata(state: ReviewState, provider: Provider) -> DecisionMetadata:
    """Versions, timings, provider usage (tokens and cost, supervisor included) and counts of one decision."""
    verdicts = _verdicts(state)
    usage: dict[str, Any] = {v.agent: v.usage for v in verdicts if v.usage}
    provider_usage = getattr(provider, "decision_usage", None)
    ledger = provider_usage() if provider_usage else None
    if ledger and ledger["total"].get("calls"):
        usage = ledger
    return DecisionMetadata(
        versions=versions(),
        timings_ms={**state.get("timings_ms", {}), **{f"agent:{v.agent}": v.elapsed_ms for v in verdicts}},
        provider=provider.name,
        specialists=[v.agent for v in verdicts],
        degraded_agents=[v.agent for v in verdicts if v.degraded],
        usage=usage,
        prompt_versions=prompt_versions(["supervisor", *(v.agent for v in verdicts)]),
        counts={"objects": len(state.get("objects", [])), "files_in_scope": len(state.get("scope", [])),
                "findings": len(state.get("findings", [])),
                "ungrounded_findings": sum(v.usage.get("ungrounded_findings", 0) for v in verdicts)},
        config_file=state.get("config_path"),
        workspace=state["request"]["workspace"],
        extra={"answers": state["answers"]} if state.get("answers") else {},
    )
