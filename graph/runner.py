"""Run a request through the graph: the single entry point every front-end uses.

One-shot runs (:func:`run_request`) have no checkpointer. Conversations (chat) run each request on a
*thread* of a checkpointer (:func:`start_turn`): a REQUIRES CLARIFICATION pauses the thread with
``interrupt()`` and :func:`resume_turn` continues it with the person's answer, in this process or another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.types import Command, Overwrite

from agents.llm.base import OfflineProvider, Provider
from core.config import Config, LoadedConfig
from core.gcpause import paused_gc
from core.models import ChangeRequest, Decision, StageRequest
from core.render import render_text
from graph.builder import build_graph
from graph.state import GraphContext
from tools.policy_source import TrustedPolicy, policy_for_request

REQUEST_TEXT = "request_text"
"""Checkpoint metadata key holding the words the person typed for the run."""

ProviderFactory = Callable[[Config], Provider]


@dataclass(frozen=True)
class Setup:
    """What a front-end prepares for a request: the trusted policy that judges it (its configuration, and where
    that came from) and the provider that configuration names."""

    loaded: LoadedConfig
    provider: Provider
    policy: TrustedPolicy


Target = ChangeRequest | StageRequest | Path


def _as_request(target: Target) -> ChangeRequest | StageRequest:
    """A workspace alone (chat) is judged like its uncommitted changes: against ``HEAD``'s policy."""
    return ChangeRequest(workspace=str(target), worktree=True) if isinstance(target, Path) else target


def prepare(target: Target, provider_factory: ProviderFactory | None = None,
            config_file: Path | None = None) -> Setup:
    """The trusted policy of ``target`` (the operator's ``--config`` / ``INFRA_ORCH_CONFIG`` file, else the base
    revision's config: never the change's own) and its provider (``make_provider`` unless told otherwise; a
    repository-chosen endpoint is honoured only when the operator allows it)."""
    policy = policy_for_request(_as_request(target), config_file)
    if provider_factory is None:
        from agents.llm import make_provider

        provider = make_provider(policy.config, config_trusted=policy.origin == "operator")
    else:
        provider = provider_factory(policy.config)
    return Setup(LoadedConfig(config=policy.config, path=policy.source), provider, policy)


def initial_state(req: ChangeRequest | StageRequest, config: Config | None = None,
                  config_path: str | None = None, policy: TrustedPolicy | None = None) -> dict[str, Any]:
    """The input of a run; without ``config``, the request's trusted policy is resolved."""
    if config is None:
        policy = policy or policy_for_request(req)
        config, config_path = policy.config, policy.source
    state = {"request": req.model_dump(mode="json"), "config": config.model_dump(mode="json"),
             "config_path": config_path, "verdicts": [], "timings_ms": {}}
    if policy is not None:
        state["policy"] = policy.reference()
    return state


def decide(req: ChangeRequest | StageRequest, *, config: Config | None = None, config_path: str | None = None,
           provider: Provider | None = None, progress: Callable[[str], None] | None = None,
           graph=None, policy: TrustedPolicy | None = None, record: bool = True) -> Decision:
    """Run the whole graph once (no checkpointer) and return the decision (``record``: append it to the
    workspace's approval ledger when the workspace keeps one)."""
    graph = graph or build_graph()
    ctx = GraphContext(provider=provider or OfflineProvider(), progress=progress, record=record)
    with paused_gc():  # one batch: the cyclic collector's passes cost 15-35 % and free nothing (core.gcpause)
        final = graph.invoke(initial_state(req, config, config_path, policy), context=ctx)
    return Decision.model_validate(final["decision"])


def run_request(req: ChangeRequest | StageRequest, **kwargs: Any) -> tuple[Decision, str]:
    """:func:`decide`, with the decision's text (the seed's format)."""
    decision = decide(req, **kwargs)
    return decision, render_text(decision)


def review(req: ChangeRequest | StageRequest, *, setup: Setup | None = None,
           provider_factory: ProviderFactory | None = None, config_file: Path | None = None,
           progress: Callable[[str], None] | None = None, graph=None) -> Decision:
    """What every front-end runs: the request's trusted policy and the provider it names (``setup``, else
    :func:`prepare`), then the graph once."""
    setup = setup or prepare(req, provider_factory, config_file)
    return decide(req, config=setup.loaded.config, config_path=setup.loaded.path, provider=setup.provider,
                  progress=progress, graph=graph, policy=setup.policy)


@dataclass
class Turn:
    """Where a threaded run stopped: a decision, or a question waiting for an answer."""

    decision: Decision | None = None
    rendered: str = ""
    question: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    incomplete: bool = False
    """The run stopped between steps (the process died): :func:`continue_turn` finishes it."""


@dataclass
class ThreadInfo:
    """One conversation thread as ``chat --list`` shows it."""

    thread_id: str
    last_request: str
    status: str


def thread_config(thread_id: str, request_text: str = "") -> dict[str, Any]:
    """The LangGraph run config of a thread; ``request_text`` is stored in the checkpoint metadata."""
    return {"configurable": {"thread_id": thread_id}, "metadata": {REQUEST_TEXT: request_text}}


def thread_input(req: ChangeRequest | StageRequest, config: Config | None = None,
                 config_path: str | None = None) -> dict[str, Any]:
    """The input of a new run on an existing thread: resets what the previous run left in reducer channels.
    Without ``config``, each request is judged by its own trusted policy."""
    state = initial_state(req, config, config_path)
    return {**state, "verdicts": Overwrite([]), "timings_ms": Overwrite({}), "answers": {}}


def _turn(graph, cfg: dict[str, Any]) -> Turn:
    snap = graph.get_state(cfg)
    questions = [i.value["question"] for t in snap.tasks for i in t.interrupts]
    values = snap.values
    if questions:
        return Turn(question=questions[0], answers=values.get("answers") or {})
    if snap.next:
        return Turn(incomplete=True)
    if "decision" not in values:
        return Turn()
    decision = Decision.model_validate(values["decision"])
    return Turn(decision=decision, rendered=render_text(decision), answers=values.get("answers") or {})


def start_turn(graph, thread_id: str, req: ChangeRequest | StageRequest, *, config: Config | None = None,
               config_path: str | None = None, ctx: GraphContext, request_text: str = "") -> Turn:
    """Run ``req`` as a new run on ``thread_id`` (``durability="sync"``: every step is saved before the next)."""
    cfg = thread_config(thread_id, request_text)
    with paused_gc():
        graph.invoke(thread_input(req, config, config_path), cfg, context=ctx, version="v2", durability="sync")
    return _turn(graph, cfg)


def resume_turn(graph, thread_id: str, answer: str, ctx: GraphContext) -> Turn:
    """Answer the question the thread is waiting on (``Command(resume=answer)``) and run on."""
    cfg = thread_config(thread_id, last_request(graph, thread_id))
    with paused_gc():
        graph.invoke(Command(resume=answer), cfg, context=ctx, version="v2", durability="sync")
    return _turn(graph, cfg)


def continue_turn(graph, thread_id: str, ctx: GraphContext) -> Turn:
    """Finish a run that stopped between steps, from its last saved checkpoint."""
    cfg = thread_config(thread_id, last_request(graph, thread_id))
    with paused_gc():
        graph.invoke(None, cfg, context=ctx, version="v2", durability="sync")
    return _turn(graph, cfg)


def pending_turn(graph, thread_id: str) -> Turn:
    """The thread's current state: its open question, its last decision, or an empty turn."""
    return _turn(graph, thread_config(thread_id))


def last_request(graph, thread_id: str) -> str:
    """The words of the thread's latest request ("" for a new thread)."""
    return (graph.get_state(thread_config(thread_id)).metadata or {}).get(REQUEST_TEXT, "")


def thread_history(graph, thread_id: str) -> list[tuple[str, str]]:
    """Each run of the thread, oldest first, as ``(request text, outcome or status)``."""
    runs: list[tuple[str, str]] = []
    for snap in reversed(list(graph.get_state_history(thread_config(thread_id)))):
        meta = snap.metadata or {}
        if meta.get("source") == "input":
            runs.append((meta.get(REQUEST_TEXT, ""), "incomplete"))
        elif runs:
            runs[-1] = (runs[-1][0], _status(snap))
    return runs


def _status(snap) -> str:
    if any(t.interrupts for t in snap.tasks):
        return "awaiting answer"
    if snap.next or "decision" not in snap.values:
        return "incomplete"
    return snap.values["decision"]["outcome"]


def _thread_ids(saver) -> list[str]:
    """Thread ids, most recently written first (read fully: the saver holds its lock while listing)."""
    ids = [tup.config["configurable"]["thread_id"] for tup in saver.list(None)]
    return list(dict.fromkeys(ids))


def list_threads(graph) -> list[ThreadInfo]:
    """Every thread of the graph's checkpointer with its last request and status."""
    out = []
    for tid in _thread_ids(graph.checkpointer):
        snap = graph.get_state(thread_config(tid))
        out.append(ThreadInfo(tid, (snap.metadata or {}).get(REQUEST_TEXT, ""), _status(snap)))
    return out
