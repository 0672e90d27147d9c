"""Assemble the review graph.

intake → deterministic → supervisor ─(one Send batch)→ specialist ×N → merge → render → record

All specialists are dispatched in a single fan-out and join ``merge`` with a plain edge, so ``merge``
runs exactly once per run (a Send branch started from another superstep would run it twice).
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from graph import nodes
from graph.record import record
from graph.state import GraphContext, ReviewState, SpecialistTask


def build_graph(checkpointer=None):
    g = StateGraph(ReviewState, context_schema=GraphContext)
    g.add_node("intake", nodes.intake)
    g.add_node("deterministic", nodes.deterministic)
    g.add_node("supervisor", nodes.supervisor)
    g.add_node("specialist", nodes.specialist, input_schema=SpecialistTask)
    g.add_node("merge", nodes.merge)
    g.add_node("render", nodes.render)
    g.add_node("record", record)
    g.add_edge(START, "intake")
    g.add_edge("intake", "deterministic")
    g.add_edge("deterministic", "supervisor")
    g.add_conditional_edges("supervisor", nodes.fan_out, ["specialist"])
    g.add_edge("specialist", "merge")
    g.add_edge("merge", "render")
    g.add_edge("render", "record")
    g.add_edge("record", END)
    return g.compile(checkpointer=checkpointer)
