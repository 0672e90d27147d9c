"""`mcp`: serve the gatekeeper's tools to Claude Code over stdio (MCP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra_orchestrator.commands.common import workspace_dir


def register(app: typer.Typer) -> None:
    app.command()(mcp)


def mcp(
    path: Annotated[Path | None, typer.Option(
        "--root", "--repo", "-C",
        help="Where to look for the workspace (default: $CLAUDE_PROJECT_DIR, else the working directory). The "
             "closest .infra-orchestrator.yaml up the tree, else the git root, is the workspace every path "
             "argument is confined to.")] = None,
) -> None:
    """Run the MCP server on stdio: validate_change, approve_stage, stage_status, check_manifests, guard_check."""
    from infra_orchestrator.mcp_server import serve, start_dir, workspace_root

    serve(workspace_root(workspace_dir(start_dir(path))))
