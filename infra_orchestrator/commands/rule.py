"""`rule [ID...] [--all]`: list and explain the finding ids, from the one catalog (``tools.checks.catalog``).

``rule`` alone lists every id on one line (id, default severity, title), like ``checkov -l``; ``rule ID``
explains an id, like ``ruff rule``: what it finds, its family and category, the severities it may carry,
whether it can be disabled or suppressed, the fix, the peer tools' ids and where it is emitted. A peer tool's
id finds ours (``rule DL3002``, ``rule CKV_K8S_20``, ``rule privileged-container``). Exit 2 when an id is
not in the catalog.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer


class RuleFormat(str, Enum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("rule")(rule)


def find(name: str) -> list:
    """The entries ``name`` designates: our id (any case) or a peer tool's id for the same concern."""
    from tools.checks.catalog import entries, entry

    exact = entry(name) or entry(name.upper())
    if exact is not None:
        return [exact]
    wanted = name.lower()
    return [e for e in entries() if any(wanted == p.lower() for tool in e.peers for p in e.peer_ids(tool))]


def as_json(e) -> dict:
    return {"id": e.id, "title": e.title, "family": e.family, "category": e.category.value,
            "severity": e.severity.value, "severities": [s.value for s in e.emitted_severities()],
            "description": e.description, "remediation": e.remediation, "variation": e.variation or None,
            "disable": e.disable, "suppress": e.suppress, "pattern": e.pattern,
            "peers": {tool: list(e.peer_ids(tool)) for tool in e.peers}, "source": e.source, "help_uri": e.help_uri}


def rule(
    ids: Annotated[Optional[list[str]], typer.Argument(help="Finding ids to explain (ours, or a peer tool's: "
                                                       "DL3002, CKV_K8S_20, privileged-container).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Explain every id in the catalog.")] = False,
    fmt: Annotated[RuleFormat, typer.Option("--format", "-f", help="Output format.")] = RuleFormat.text,
) -> None:
    """List the finding ids (no argument) or explain some (IDs, or --all), from the one catalog."""
    import json
    import sys

    from tools.checks.catalog import describe, entries

    if ids and show_all:
        raise typer.BadParameter("give ids or --all, not both")
    missing: list[str] = []
    if ids:
        chosen = []
        for name in ids:
            found = find(name)
            missing += [] if found else [name]
            chosen += [e for e in found if e not in chosen]
    else:
        chosen = entries()
    if fmt is RuleFormat.json:
        text = json.dumps([as_json(e) for e in chosen], indent=2) + "\n"
    elif ids or show_all:
        text = "".join(describe(e) + "\n\n" for e in chosen).rstrip("\n") + "\n" if chosen else ""
    else:
        text = "".join(f"{e.id:34} {e.severity.value:8} {e.title}\n" for e in chosen)
    sys.stdout.write(text)
    for name in missing:
        sys.stderr.write(f"error: '{name}' is not in the catalog (rule, with no argument, lists every id)\n")
    raise typer.Exit(2 if missing else 0)
