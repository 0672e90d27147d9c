"""Thin graph nodes: each reads the state through :class:`~graph.state.View`, makes one call into ``tools`` or
``agents``, and returns the models it produced as a state update (:func:`~graph.state.dump`)."""

from __future__ import annotations

import time
from functools import wraps
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from agents.context import (
    contract_rows,
    follow_up_input,
    reconcile_input,
    specialist_input,
    specialist_inputs,
    supervisor_input,
)
from agents.llm.base import Provider, SpecialistInput
from agents.policy import MergeInput, decide, deterministic_floor
from agents.specialists import run_specialist
from agents.supervisor import MAX_ROUNDS, open_points, plan_delegation, reconcile
from core.models import DecisionMetadata
from core.versions import versions
from graph.state import GraphContext, ReviewState, SpecialistTask, View, dump, dump_collected
from prompts import prompt_versions
from tools import engine


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
    """Read the change: its change set, the files in scope, their objects and Dockerfiles (no check yet)."""
    view = View(state)
    return dump_collected(engine.collect(view.request, Path(view.request.workspace), view.config))


@_timed("deterministic")
def deterministic(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """The engine's judgement: every check, the Phase III guard and (stage requests) the stage gates."""
    view = View(state)
    analysis = engine.judge(view.request, view.collected, view.config, policy=view.policy)
    contract = contract_rows(analysis.contracts) if analysis.contracts is not None else None
    return {"findings": dump(analysis.findings), "stage": dump(analysis.stage), "contract": contract}


@_timed("supervisor")
def supervisor(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """Plan the review: whom to engage with which question (the supervisor sees the change, not the bodies)."""
    view = View(state)
    inp = supervisor_input(view.request, view.findings, view.objects, view.changes, view.config)
    return {"plan": dump(plan_delegation(inp, runtime.context.provider)), "reconciliations": []}


def _tasks(inputs: dict[str, SpecialistInput]) -> list[Send]:
    return [Send("specialist", SpecialistTask(agent=name, payload=dump(inp))) for name, inp in inputs.items()]


def fan_out(state: ReviewState) -> list[Send] | str:
    """One ``Send`` batch: every planned specialist runs in the same superstep, in parallel. A plan that consults
    nobody goes straight to ``merge``, which decides from the deterministic findings alone."""
    view = View(state)
    inputs = specialist_inputs(view.request, view.plan, view.findings, view.objects, view.changes, view.config,
                               view.state.get("scope", []), view.state.get("contract"))
    return _tasks(inputs) or "merge"


def specialist(task: SpecialistTask, runtime: Runtime[GraphContext]) -> dict:
    if runtime.context and runtime.context.progress:
        runtime.context.progress(f"specialist:{task['agent']}")
    verdict = run_specialist(task["agent"], SpecialistInput.model_validate(task["payload"]), runtime.context.provider)
    return {"verdicts": [dump(verdict)]}


@_timed("reconcile")
def reconcile_node(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """The supervisor reads the round's verdicts: conflicts and gaps may get one follow-up round."""
    view = View(state)
    verdicts = view.verdicts
    conflicts, gaps = open_points(verdicts)
    round_ = len(view.reconciliations) + 1
    floor = deterministic_floor(view.request.kind, view.findings, view.config.policy)
    inp = reconcile_input(view.request, verdicts, conflicts, gaps, floor, round_)
    return {"reconciliations": [*state.get("reconciliations", []), dump(reconcile(inp, runtime.context.provider))]}


def follow_up(state: ReviewState) -> list[Send] | str:
    """The follow-up round (one at most): the specialists the supervisor asked, in one batch; else ``merge``."""
    view = View(state)
    rec = view.reconciliations[-1] if view.reconciliations else None
    if rec is None or not rec.follow_ups or len(view.reconciliations) >= MAX_ROUNDS:
        return "merge"
    verdicts = {v.agent: v for v in view.verdicts}
    conflicts, _ = open_points(view.verdicts)
    inputs = {}
    for name, question in rec.follow_ups.items():
        first = specialist_input(name, view.request, question, view.findings, view.objects, view.changes,
                                 view.config, view.state.get("scope", []), view.state.get("contract"))
        inputs[name] = follow_up_input(first, question, verdicts.get(name), conflicts, view.verdicts)
    return _tasks(inputs)


@_timed("merge")
def merge(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """Apply the decision policy. In an interactive run each open question pauses the run with ``interrupt()``
    (resumed by ``Command(resume=answer)``); the answers go to the policy ("y" settles, "n" rejects) and are
    kept in the ``answers`` channel, which ``finish`` copies into ``Decision.metadata.extra["answers"]``.
    On resume this node re-runs from its first line: nothing before ``interrupt()`` is expensive."""
    view = View(state)
    m = MergeInput(
        kind=view.request.kind,
        intent=view.request.intent,
        findings=view.findings,
        verdicts=view.verdicts,
        plan=view.plan,
        policy=view.config.policy,
        changed_paths=view.reviewed_paths,
        object_count=len(state["objects"]),
        scope_note=state.get("scope_note", ""),
        infra_files=len(state.get("scope", [])),
        policy_source=state.get("config_path") or "",
        change_mode=view.changes.mode,
        stage=view.stage,
        answers=state.get("answers") or {},
        reconciliations=view.reconciliations,
    )
    decision = decide(m)
    if runtime.context and runtime.context.interactive and decision.questions:
        m.answers = {**m.answers, **{q: str(interrupt({"question": q})).strip() for q in decision.questions}}
        decision = decide(m)
    return {"decision": dump(decision), "answers": m.answers}


@_timed("finish")
def finish(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """Attach the metadata (versions, timings, usage, counts) to the decision. Text is rendered by the front-end
    that shows it (``core.render``), once."""
    decision = View(state).decision
    decision.metadata = decision_metadata(state, runtime.context.provider)
    return {"decision": dump(decision)}


def decision_metadata(state: ReviewState, provider: Provider) -> DecisionMetadata:
    """Versions, timings, provider usage (tokens and cost, supervisor included) and counts of one decision."""
    view = View(state)
    verdicts = view.verdicts
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
        prompt_versions=prompt_versions(["supervisor", *(["reconcile"] if view.reconciliations else []),
                                         *(["specialist_rules"] if any(v.own_outcome for v in verdicts) else []),
                                         *(v.agent for v in verdicts)]),
        counts={"objects": len(state.get("objects", [])), "files_in_scope": len(state.get("scope", [])),
                "findings": len(state.get("findings", [])),
                "ungrounded_findings": sum(v.usage.get("ungrounded_findings", 0) for v in verdicts)},
        config_file=state.get("config_path"),
        workspace=view.request.workspace,
        extra={"answers": state["answers"]} if state.get("answers") else {},
    )
