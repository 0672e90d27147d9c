"""The whole catalog: the registry's checks and the engine's other ids in one table, sorted by id.

docs/checks.md (:mod:`tools.checks.docs`) and the SARIF rules (:mod:`tools.sarif`) are generated from
:func:`entries`; :func:`entry` answers "what is this id" for any id the product emits, and so does
``uv run python -m tools.checks.catalog ID`` (a peer tool's id, such as hadolint's ``DL3002``, finds ours).
"""

from __future__ import annotations

import sys

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


def describe(e: Entry) -> str:
    """One entry as plain text: what ``python -m tools.checks.catalog ID`` prints."""
    severities = "any" if e.pattern and not e.severities else "/".join(s.value for s in e.emitted_severities())
    lines = [f"{e.id}: {e.title}", f"  {e.family}, {e.category.value}, {severities}; "
             f"{'can' if e.disable else 'cannot'} be disabled, {'can' if e.suppress else 'cannot'} be suppressed",
             f"  {e.description}"]
    if e.variation:
        lines.append(f"  varies: {e.variation}")
    lines.append(f"  fix: {e.remediation}")
    lines += [f"  {tool}: {', '.join(e.peer_ids(tool))}" for tool in e.peers]
    lines.append(f"  emitted by {e.source}; {e.help_uri}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the entries of the ids given (a peer tool's id finds ours), or one line per id without arguments."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("\n".join(f"{e.id:34} {e.severity.value:8} {e.title}" for e in entries()))
        return 0
    code = 0
    for name in args:
        found = entry(name) or next((e for e in entries() if any(name in e.peer_ids(t) for t in e.peers)), None)
        if found is None:
            print(f"{name}: not in the catalog", file=sys.stderr)
            code = 2
        else:
            print(describe(found))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
