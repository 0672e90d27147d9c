"""`review`: validate a change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from infra_orchestrator.commands.common import DecisionFormat, emit_decision, run_decision, workspace_dir


def register(app: typer.Typer) -> None:
    app.command()(review)


def review(
    path: Annotated[Path, typer.Argument(help="Repository (or directory) to review.")] = Path("."),
    base: Annotated[Optional[str], typer.Option("--base", help="Git base ref: review the changes base..head.")] = None,
    head: Annotated[Optional[str], typer.Option("--head", help="Git head ref (default HEAD when --base is given).")] = None,
    worktree: Annotated[bool, typer.Option("--worktree", "-w",
                                           help="Review staged, unstaged and untracked changes against HEAD.")] = False,
    paths: Annotated[Optional[list[str]], typer.Option("--path", "-p",
                                                       help="Limit the change to these paths (repeatable).")] = None,
    intent: Annotated[str, typer.Option("--message", "-m", help="One sentence of intent for the change.")] = "",
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="Output format.")] = DecisionFormat.text,
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", "-c", help="Operator config to judge by (default: INFRA_ORCH_CONFIG, else the config of the "
        "base revision).")] = None,
) -> None:
    """Validate a change: [CHANGE VALIDATION: APPROVED/REJECTED/REQUIRES CLARIFICATION].

    Without --base/--head the directory is reviewed as a whole (every infrastructure file in scope);
    with --base the git range base..head is the change; --path names the paths a change touches.
    """
    from core.models import ChangeRequest

    root = workspace_dir(path)
    req = ChangeRequest(workspace=str(root), base=base, head=head, worktree=worktree, paths=paths or [],
                        intent=intent)
    emit_decision(run_decision(req, "Reviewing change", config_file), fmt)
