"""Run a request through the graph: the single entry point every front-end uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph.builder import build_graph
from graph.state import GraphContext
from infra_orchestrator.config import Config
from infra_orchestrator.models import ChangeRequest, Decision, StageRequest
from infra_orchestrator.providers.base import OfflineProvider, Provider


def initial_state(req: ChangeRequest | StageRequest, config: Config | None = None,
                  config_path: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"request": req.model_dump(mode="json"), "verdicts": [], "timings_ms": {}}
    if config is not None:
        state["config"] = config.model_dump(mode="json")
        state["config_path"] = config_path
    return state


def run_request(req: ChangeRequest | StageRequest, *, config: Config | None = None, config_path: str | None = None,
                provider: Provider | None = None, progress: Callable[[str], None] | None = None,
                graph=None) -> tuple[Decision, str]:
    """Run the whole graph once (no checkpointer) and return the decision and its text rendering."""
    graph = graph or build_graph()
    ctx = GraphContext(provider=provider or OfflineProvider(), progress=progress)
    final = graph.invoke(initial_state(req, config, config_path), context=ctx)
    return Decision.model_validate(final["decision"]), final["rendered"]
