"""`stage approve` and `stage status`: Spec-Kit Plus stage transitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra_orchestrator.commands.common import DecisionFormat, emit_decision, run_decision, workspace_dir
from infra_orchestrator.errors import InputError

stage_app = typer.Typer(help="Spec-Kit Plus stage transitions of a feature under specs/NNN-name/.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    stage_app.command("approve")(stage_approve)
    stage_app.command("status")(stage_status)
    app.add_typer(stage_app, name="stage")


def stage_approve(
    feature: Annotated[str, typer.Argument(help="Feature: number (001), name, or NNN-name.")],
    to: Annotated[str, typer.Option("--to", help="Target stage: specify, clarify, plan, tasks, analyze, implement.")],
    path: Annotated[Path, typer.Option("--repo", "-C", help="Repository root.")] = Path("."),
    intent: Annotated[str, typer.Option("--message", "-m", help="Why the transition is requested.")] = "",
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="Output format.")] = DecisionFormat.text,
) -> None:
    """Approve a stage transition: [STAGE APPROVAL DECISION: ...] with the four-line Validation Summary."""
    from infra_orchestrator.config import STAGES
    from infra_orchestrator.models import StageRequest

    if to not in STAGES:
        raise InputError(f"unknown stage '{to}'; stages are: {', '.join(STAGES)}")
    root = workspace_dir(path)
    req = StageRequest(workspace=str(root), feature=feature, target=to, intent=intent)
    emit_decision(run_decision(req, f"Checking {feature} → {to}"), fmt)


def stage_status(
    feature: Annotated[str, typer.Argument(help="Feature: number (001), name, or NNN-name.")],
    path: Annotated[Path, typer.Option("--repo", "-C", help="Repository root.")] = Path("."),
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="text or json.")] = DecisionFormat.text,
) -> None:
    """Show each stage's gates (pass/fail/not started), the current stage and the next action."""
    import json

    from rich.console import Console
    from rich.table import Table

    from infra_orchestrator.config import load_config
    from tools.workflow import stage_table

    root = workspace_dir(path)
    cfg = load_config(root).config
    rows = stage_table(root, feature, cfg.workflow)
    if fmt is DecisionFormat.json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table(title=f"Spec-Kit Plus status: {feature}")
    for col in ("Stage", "Status", "Failing gates"):
        table.add_column(col)
    for r in rows:
        color = {"pass": "green", "fail": "red"}.get(r.status, "yellow")
        table.add_row(r.stage, f"[{color}]{r.status}[/{color}]", ", ".join(r.failing) or "-")
    Console().print(table)
