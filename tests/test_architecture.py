"""The layering contract: one layer per package, imports pointing down only, no import cycles.

``lint-imports`` reads the contracts in ``pyproject.toml`` (``[tool.importlinter]``); the cycle check walks
grimp's module graph (the same graph import-linter builds), lazy function-level imports included.
"""

from __future__ import annotations

import grimp
from importlinter.cli import lint_imports

PACKAGES = ("infra_orchestrator", "graph", "agents", "tools", "core", "prompts")


def test_import_contracts_are_kept():
    assert lint_imports() == 0, "an import breaks a contract in pyproject.toml [tool.importlinter]: run lint-imports"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_modules():
    g = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)  # annotations only: no runtime cycle
    edges: dict[str, set[str]] = {}
    for m in g.modules:
        edges[m] = set(g.find_modules_directly_imported_by(m))
    assert _cycles(edges) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
