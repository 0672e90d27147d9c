"""`init`: set a repository up for Claude Code (config, subagent, MCP server, guard hook)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra_orchestrator.commands.common import workspace_dir


def register(app: typer.Typer) -> None:
    app.command()(init)


def init(
    path: Annotated[Path, typer.Argument(help="Repository root.")] = Path("."),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print a unified diff of the changes; write nothing.")]
    = False,
) -> None:
    """Write .infra-orchestrator.yaml (if missing), the Claude Code subagent, .mcp.json and the guard hook.

    Merges into existing files without clobbering them; a second run changes nothing. The hook command is
    absolute and fail-closed, and is run once on a sample event (with PATH stripped) before anything is written.
    """
    import os

    from core.errors import InputError
    from infra_orchestrator.claude_init import apply_plan, check_hook_command, hook_command, plan_init

    root = workspace_dir(path)
    command = hook_command()
    problem = check_hook_command(command, {"PATH": "/nonexistent", "HOME": os.environ.get("HOME", "/")})
    if problem:
        raise InputError(f"the guard hook command {command!r} does not work without PATH: {problem}; nothing written")
    plan = plan_init(root, command, works=lambda existing: check_hook_command(existing) is None)
    for note in plan.notes:
        typer.echo(f"note: {note}", err=True)
    if dry_run:
        for f in plan.changes():
            typer.echo(f.diff(), nl=False)
        return
    written = apply_plan(root, plan)
    for rel in written:
        typer.echo(f"wrote {rel}", err=True)
    if not written:
        typer.echo("nothing to do: already set up", err=True)
