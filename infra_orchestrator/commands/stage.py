"""`stage approve` and `stage status`: Spec-Kit Plus stage transitions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.errors import InputError
from infra_orchestrator.commands.common import DecisionFormat, emit_decision, run_decision, workspace_dir

FEATURE_HELP = ("Feature: number (001), name, NNN-name or its directory; default: $SPECIFY_FEATURE_DIRECTORY, "
                ".specify/feature.json, then $SPECIFY_FEATURE or the current NNN-name git branch.")
STATUS_COLORS = {"pass": "green", "fail": "red", "stale": "magenta", "ask": "yellow"}


def register(app: typer.Typer) -> None:
    stage_app = typer.Typer(help="Spec-Kit Plus stage transitions of a feature under specs/NNN-name/.",
                            no_args_is_help=True)
    stage_app.command("approve")(stage_approve)
    stage_app.command("status")(stage_status)
    app.add_typer(stage_app, name="stage")


def _feature(root: Path, feature: str | None) -> str:
    from tools.workflow import default_feature

    if feature:
        return feature
    return default_feature(root, os.environ.get("SPECIFY_FEATURE"), os.environ.get("SPECIFY_FEATURE_DIRECTORY"))


def stage_approve(
    feature: Annotated[Optional[str], typer.Argument(help=FEATURE_HELP)] = None,
    to: Annotated[str, typer.Option("--to", help="Target: constitution, specify, clarify, plan, tasks, analyze, "
                                                 "implement, or done (implement complete).")] = "",
    path: Annotated[Path, typer.Option("--repo", "-C", help="Repository root.")] = Path("."),
    intent: Annotated[str, typer.Option("--message", "-m", help="Why the transition is requested.")] = "",
    record: Annotated[bool, typer.Option("--record", help="Create history/approvals/ so the decision is recorded "
                                                          "(recorded anyway when it exists).")] = False,
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="Output format.")] = DecisionFormat.text,
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", "-c", help="Operator config to judge by (default: INFRA_ORCH_CONFIG, else the config of the "
        "base revision).")] = None,
) -> None:
    """Approve a stage transition: [STAGE APPROVAL DECISION: ...] with the four-line Validation Summary."""
    from core.models import StageRequest
    from tools.ledger import opt_in
    from tools.workflow import TARGETS

    if to not in TARGETS:
        raise InputError(f"unknown stage '{to}'; stages are: {', '.join(TARGETS)}" if to else
                         f"--to is required: one of {', '.join(TARGETS)}")
    root = workspace_dir(path)
    name = _feature(root, feature)
    if record:
        opt_in(root)
    req = StageRequest(workspace=str(root), feature=name, target=to, intent=intent)
    emit_decision(run_decision(req, f"Checking {name} → {to}", config_file), fmt)


def stage_status(
    feature: Annotated[Optional[str], typer.Argument(help=FEATURE_HELP)] = None,
    path: Annotated[Path, typer.Option("--repo", "-C", help="Repository root.")] = Path("."),
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="text or json.")] = DecisionFormat.text,
) -> None:
    """Show each stage's gates (pass/ask/fail/stale/not started), the current stage and the next action."""
    from rich.console import Console
    from rich.table import Table

    from core.config import load_config
    from tools.workflow import feature_status

    root = workspace_dir(path)
    status = feature_status(root, _feature(root, feature), load_config(root).config.workflow)
    if fmt is DecisionFormat.json:
        typer.echo(status.model_dump_json(indent=2))
        return
    table = Table(title=f"Spec-Kit Plus status: {status.feature}")
    for col in ("Stage", "Status", "Failing gates", "Approval"):
        table.add_column(col)
    for r in status.rows:
        color = STATUS_COLORS.get(r.status, "yellow")
        stage = f"{r.stage} (optional)" if r.optional else r.stage
        table.add_row(stage, f"[{color}]{r.status}[/{color}]", ", ".join(r.failing) or "-", r.approval)
    console = Console()
    console.print(table)
    for r in status.rows:
        if r.approval == "stale":
            console.print(f"Stale approval of {r.stage}: changed since: {', '.join(r.changed)}", highlight=False,
                          markup=False)
    console.print(f"Current stage: {status.current_stage or 'none'}", highlight=False)
    console.print(f"Next action: {status.next_action}", highlight=False, markup=False)
    for adr in status.adrs:
        console.print(f"ADR: {adr.path} — {adr.title} ({adr.status or 'no status'})", highlight=False, markup=False)
