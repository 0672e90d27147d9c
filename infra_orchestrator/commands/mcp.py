"""`mcp`: serve the gatekeeper's tools to Claude Code over stdio (MCP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra_orchestrator.commands.common import workspace_dir


def register(app: typer.Typer) -> None:
    app.command()(mcp)


def mcp(
    path: Annotated[Path, typer.Option("--repo", "-C", help="Workspace root every path argument is confined to.")]
    = Path("."),
) -> None:
    """Run the MCP server on stdio: validate_change, approve_stage, stage_status, check_manifests, guard_check."""
    from infra_orchestrator.mcp_server import serve

    serve(workspace_dir(path))
