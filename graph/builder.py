"""Assemble the review graph.

    intake → deterministic → supervisor ─(one Send batch)→ specialist ×N → merge → finish → record
                                        └─(nobody planned)──────────────────┘

All planned specialists are dispatched in a single fan-out and join ``merge`` with a plain edge, so ``merge``
runs exactly once per run (a Send branch started from another superstep would run it twice). Who the
specialists are is the table in :mod:`agents.roster`: the graph has one ``specialist`` node for all of them.
"""

from __future__ import annotations

from langgraph.graph import START, StateGraph

from graph import nodes
from graph.record import record
from graph.state import GraphContext, ReviewState, SpecialistTask


def build_graph(checkpointer=None):
    g = StateGraph(ReviewState, context_schema=GraphContext)
    g.add_sequence([nodes.intake, nodes.deterministic, nodes.supervisor])
    g.add_edge(START, "intake")
    g.add_node("specialist", nodes.specialist, input_schema=SpecialistTask)
    g.add_conditional_edges("supervisor", nodes.fan_out, ["specialist", "merge"])
    g.add_edge("specialist", "merge")
    g.add_sequence([nodes.merge, nodes.finish, record])
    return g.compile(checkpointer=checkpointer)
