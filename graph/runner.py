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
from core.config import Config, LoadedConfig, load_config
from core.models import ChangeRequest, Decision, StageRequest
from core.render import render_text
from graph.builder import build_graph
from graph.state import GraphContext

REQUEST_TEXT = "request_text"
"""Checkpoint metadata key holding the words the person typed for the run."""

ProviderFactory = Callable[[Config], Provider]


@dataclass(frozen=True)
class Setup:
    """What a front-end prepares for a workspace: its configuration and the provider that configuration names."""

    loaded: LoadedConfig
    provider: Provider


def prepare(workspace: Path, provider_factory: ProviderFactory | None = None) -> Setup:
    """Load the workspace's configuration and make its provider (``make_provider`` unless told otherwise)."""
    loaded = load_config(workspace)
    if provider_factory is None:
        from agents.llm import make_provider

        provider_factory = make_provider
    return Setup(loaded, provider_factory(loaded.config))


def initial_state(req: ChangeRequest | StageRequest, config: Config | None = None,
                  config_path: str | None = None) -> dict[str, Any]:
    """The input of a run; without ``config``, the workspace's own configuration is loaded."""
    if config is None:
        loaded = load_config(Path(req.workspace))
        config, config_path = loaded.config, loaded.path
    return {"request": req.model_dump(mode="json"), "config": config.model_dump(mode="json"),
            "config_path": config_path, "verdicts": [], "timings_ms": {}}


def decide(req: ChangeRequest | StageRequest, *, config: Config | None = None, config_path: str | None = None,
           provider: Provider | None = None, progress: Callable[[str], None] | None = None,
           graph=None) -> Decision:
    """Run the whole graph once (no checkpointer) and return the decision."""
    graph = graph or build_graph()
    ctx = GraphContext(provider=provider or OfflineProvider(), progress=progress)
    final = graph.invoke(initial_state(req, config, config_path), context=ctx)
    return Decision.model_validate(final["decision"])


def run_request(req: ChangeRequest | StageRequest, **kwargs: Any) -> tuple[Decision, str]:
    """:func:`decide`, with the decision's text (the seed's format)."""
    decision = decide(req, **kwargs)
    return decision, render_text(decision)


def review(req: ChangeRequest | StageRequest, *, setup: Setup | None = None,
           provider_factory: ProviderFactory | None = None, progress: Callable[[str], None] | None = None,
           graph=None) -> Decision:
    """What every front-end runs: the workspace's configuration and the provider it names (``setup``, else
    :func:`prepare`), then the graph once."""
    setup = setup or prepare(Path(req.workspace), provider_factory)
    return decide(req, config=setup.loaded.config, config_path=setup.loaded.path, provider=setup.provider,
                  progress=progress, graph=graph)


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


def thread_input(req: ChangeRequest | StageRequest, config: Config, config_path: str | None) -> dict[str, Any]:
    """The input of a new run on an existing thread: resets what the previous run left in reducer channels."""
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


def start_turn(graph, thread_id: str, req: ChangeRequest | StageRequest, *, config: Config,
               config_path: str | None, ctx: GraphContext, request_text: str = "") -> Turn:
    """Run ``req`` as a new run on ``thread_id`` (``durability="sync"``: every step is saved before the next)."""
    cfg = thread_config(thread_id, request_text)
    graph.invoke(thread_input(req, config, config_path), cfg, context=ctx, version="v2", durability="sync")
    return _turn(graph, cfg)


def resume_turn(graph, thread_id: str, answer: str, ctx: GraphContext) -> Turn:
    """Answer the question the thread is waiting on (``Command(resume=answer)``) and run on."""
    cfg = thread_config(thread_id, last_request(graph, thread_id))
    graph.invoke(Command(resume=answer), cfg, context=ctx, version="v2", durability="sync")
    return _turn(graph, cfg)


def continue_turn(graph, thread_id: str, ctx: GraphContext) -> Turn:
    """Finish a run that stopped between steps, from its last saved checkpoint."""
    cfg = thread_config(thread_id, last_request(graph, thread_id))
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
