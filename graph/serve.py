"""The review graph as LangGraph's server runtime serves it (``langgraph.json`` at the repository root names it).

``langgraph dev`` serves it in memory; a LangGraph server deployment (PostgreSQL and Redis) scales it. The runtime
gives threads, streaming, its own checkpointer and the clarification ``interrupt()`` over HTTP: this module gives
it one graph, built from the same composition as every other front-end (:func:`graph.builder.compose`) between
two nodes of its own:

    policy → intake → … → merge → finish → record → render

* **Input** (:class:`ServedInput`): ``{"request": {...}}``, a ``ChangeRequest`` (``kind: change``) or a
  ``StageRequest`` (``kind: stage``) as JSON, whose ``workspace`` is the root of the repository on the server.
  Nothing else is read from the caller: ``policy`` resolves the trusted policy on the server (the operator's
  ``INFRA_ORCH_CONFIG`` file, else the base revision's config: never the change's own, never the caller's).
* **Context** (:class:`ServedContext`, the run's ``context``): ``interactive`` (``merge`` pauses on each open
  question with ``interrupt()``; resume with ``Command(resume="y"|"n")``) and ``record`` (the approval ledger).
  The model is the operator's choice on the server (``INFRA_ORCH_CONFIG``'s ``provider``, ``INFRA_ORCH_PROVIDER``,
  ``ANTHROPIC_API_KEY``), never the caller's: offline unless the server's environment names one.
* **Output** (:class:`ServedOutput`): ``decision`` (the structured decision) and ``text`` (the seed's format).

No checkpointer is passed here: the runtime provides one (in memory for ``langgraph dev``, PostgreSQL when
deployed). The CLI's SQLite checkpointer (:mod:`graph.checkpointer`) is for chat only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from langgraph.graph import END, StateGraph
from langgraph.types import Overwrite
from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads its JSON schema (the runtime's /assistants schemas)

from agents.llm.base import Provider
from core.config import Config, load_config
from core.models import ChangeRequest, Decision, StageRequest
from core.render import render_text
from graph.builder import compose
from graph.runner import initial_state
from graph.state import ReviewState
from tools.policy_source import CONFIG_ENV, policy_for_request

REQUEST = TypeAdapter(Annotated[ChangeRequest | StageRequest, Field(discriminator="kind")])


class ServedInput(TypedDict):
    """What a caller sends: the request alone (``ChangeRequest`` or ``StageRequest`` as JSON)."""

    request: dict[str, Any]


class ServedOutput(TypedDict, total=False):
    """What a run returns: the decision as data and as the seed's text."""

    decision: dict[str, Any]
    text: str


class ServedState(ReviewState, total=False):
    text: str
    """The decision in the seed's format (:func:`core.render.render_text`)."""


@dataclass
class ServedContext:
    """The run's ``context`` as JSON (the runtime builds it from the caller's dict): plain flags only.

    ``provider`` and ``progress`` are what the nodes read from a :class:`graph.state.GraphContext`; here they are
    the server's, not fields a caller can set."""

    interactive: bool = False
    """True: ``merge`` pauses each open question with ``interrupt()`` instead of deciding REQUIRES CLARIFICATION."""
    record: bool = True
    """False keeps the ``record`` node from appending to the workspace's approval ledger."""

    progress = None  # a class attribute, not a field: the runtime streams the steps itself

    @cached_property
    def provider(self) -> Provider:
        """The operator's model, one instance per run (its usage ledger counts this run's calls)."""
        return served_provider()


def served_provider(env: dict[str, str] | None = None) -> Provider:
    """The provider the server's operator chose: ``INFRA_ORCH_CONFIG``'s ``provider`` section (trusted: it is the
    operator's file), else the defaults (``INFRA_ORCH_PROVIDER``; ``auto`` is anthropic when
    ``ANTHROPIC_API_KEY`` is set, else offline)."""
    from agents.llm import make_provider

    env = dict(os.environ) if env is None else env
    path = env.get(CONFIG_ENV)
    config = load_config(Path.cwd(), Path(path)).config if path else Config()
    return make_provider(config, env, config_trusted=bool(path))


WORKSPACES_ENV = "INFRA_ORCH_WORKSPACES"
"""The directories (``os.pathsep``-separated) under which a served request's workspace must lie: the operator's."""


def allowed_workspace(workspace: str, env: dict[str, str] | None = None) -> Path:
    """The request's workspace, resolved, when it lies under one of the operator's :data:`WORKSPACES_ENV` roots.

    A caller names a directory of the server's filesystem; without the operator's list nothing is served (fail
    closed), and a workspace outside it (after resolving symlinks) is refused."""
    env = os.environ if env is None else env
    roots = [Path(os.path.realpath(r)) for r in env.get(WORKSPACES_ENV, "").split(os.pathsep) if r.strip()]
    if not roots:
        raise ValueError(f"no workspace is served: set {WORKSPACES_ENV} on the server to the directories "
                         "(separated by ':') that requests may review")
    real = Path(os.path.realpath(workspace))
    if not any(real == root or root in real.parents for root in roots):
        raise ValueError(f"workspace '{workspace}' is outside the served directories ({WORKSPACES_ENV})")
    return real


def policy(state: ServedState) -> dict[str, Any]:
    """Validate the request (its workspace under the operator's :data:`WORKSPACES_ENV`) and resolve its trusted
    policy on the server; reset what a previous run on the same thread left in the reducer channels."""
    req = REQUEST.validate_python(state["request"])
    allowed_workspace(str(req.workspace))
    trusted = policy_for_request(req)
    fresh = initial_state(req, trusted.config, trusted.source, trusted)
    return {**fresh, "verdicts": Overwrite([]), "timings_ms": Overwrite({}), "answers": {}, "text": ""}


def render(state: ServedState) -> dict[str, Any]:
    """The decision's text, once, in the seed's format."""
    return {"text": render_text(Decision.model_validate(state["decision"]))}


def build_served_graph(checkpointer=None):
    """The served review graph (change and stage requests alike). ``checkpointer``: for tests outside the runtime;
    the server passes its own."""
    g = StateGraph(ServedState, context_schema=ServedContext, input_schema=ServedInput, output_schema=ServedOutput)
    g.add_node("policy", policy)
    g.set_entry_point("policy")
    last = compose(g, after="policy")
    g.add_node("render", render)
    g.add_edge(last, "render")
    g.add_edge("render", END)
    return g.compile(checkpointer=checkpointer, name="review")


review = build_served_graph()
"""The graph ``langgraph.json`` names (``graph.serve:review``)."""
