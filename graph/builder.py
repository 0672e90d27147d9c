"""Assemble the review graph.

    intake → deterministic → supervisor ─(one Send batch)→ specialist ×N → reconcile ─→ merge → finish → record
                                 │                             ↑               │        ↑
                                 │                             └─(follow-up: one Send batch, once)
                                 └─(nobody planned)─────────────────────────────────────┘

All planned specialists are dispatched in a single fan-out and join ``reconcile`` with a plain edge, so it runs
once per round; the supervisor's follow-up questions (one round at most) are a second single fan-out into it, and
``merge`` is reached only from ``reconcile`` (or directly when nobody was planned): it runs exactly once per run. Who the
specialists are is the table in :mod:`agents.roster`: the graph has one ``specialist`` node for all of them.
"""

from __future__ import annotations

from langgraph.graph import START, StateGraph

from graph import nodes
from graph.record import record
from graph.state import GraphContext, ReviewState, SpecialistTask


def compose(g: StateGraph, after: str = START) -> str:
    """Add the review's nodes and edges to ``g``, entered from ``after``; return the name of the last node.

    The one composition of the review: :func:`build_graph` (CLI, chat, MCP, evals) and the served graph
    (:mod:`graph.serve`, which puts its policy node before it and its render node after it) both build from it."""
    g.add_sequence([nodes.intake, nodes.deterministic, nodes.supervisor])
    g.add_edge(after, "intake")
    g.add_node("specialist", nodes.specialist, input_schema=SpecialistTask)
    g.add_node("reconcile", nodes.reconcile_node)
    g.add_conditional_edges("supervisor", nodes.fan_out, ["specialist", "merge"])
    g.add_edge("specialist", "reconcile")
    g.add_conditional_edges("reconcile", nodes.follow_up, ["specialist", "merge"])
    g.add_sequence([nodes.merge, nodes.finish, record])
    return "record"


def build_graph(checkpointer=None):
    g = StateGraph(ReviewState, context_schema=GraphContext)
    compose(g)
    return g.compile(checkpointer=checkpointer)
