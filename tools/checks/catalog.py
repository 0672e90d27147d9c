"""The whole catalog: the registry's checks and the engine's other ids in one table, sorted by id.

docs/checks.md (:mod:`tools.checks.docs`) and the SARIF rules (:mod:`tools.sarif`) are generated from
:func:`entries`; :func:`entry` answers "what is this id" for any id the product emits.
"""

from __future__ import annotations

from tools.catalog import ENGINE_ENTRIES, Entry, lookup
from tools.checks import registry


def entries() -> list[Entry]:
    """Every catalogued id, registry checks included, sorted by id (families such as ``AGENT-*`` last)."""
    checks = {spec.id: spec for spec in registry()}
    clash = sorted(checks.keys() & ENGINE_ENTRIES.keys())
    if clash:
        raise ValueError(f"ids both registered as checks and listed in tools/catalog: {', '.join(clash)}")
    return sorted([*checks.values(), *ENGINE_ENTRIES.values()], key=lambda e: (e.pattern, e.id))


def entry(check_id: str) -> Entry | None:
    """The entry of ``check_id`` (a check, an engine id, or the family it belongs to); None when uncatalogued."""
    return lookup(check_id, {spec.id: spec for spec in registry()})
