"""The command-line front-end.

Exit codes (stable): 0 APPROVED, 1 REJECTED, 3 REQUIRES CLARIFICATION, 2 usage/config/input error,
4 internal error. stdout carries only the decision; progress and errors go to stderr.
LangGraph and the anthropic SDK are imported inside the commands that need them, so lint-style
commands start fast.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console

from infra_orchestrator import __version__
from infra_orchestrator.errors import EXIT_INTERNAL, EXIT_USAGE, InputError, OrchestratorError

app = typer.Typer(
    name="infra-orchestrator",
    help="Infrastructure gatekeeper: validates Kubernetes changes and Spec-Kit Plus stage transitions.\n\n"
    "Exit codes: 0 APPROVED, 1 REJECTED, 3 REQUIRES CLARIFICATION, 2 usage/config error, 4 internal error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
stage_app = typer.Typer(help="Spec-Kit Plus stage transitions of a feature under specs/NNN-name/.", no_args_is_help=True)
app.add_typer(stage_app, name="stage")

err = Console(stderr=True, highlight=False)


class DecisionFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-orchestrator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """Infrastructure gatekeeper."""


@contextmanager
def progress_reporter(label: str) -> Iterator:
    """A transient spinner on stderr (only on a terminal); yields a callback taking a step name."""
    if not sys.stderr.isatty() or os.environ.get("INFRA_ORCH_NO_PROGRESS"):
        yield None
        return
    started = time.perf_counter()
    with err.status(label, spinner="dots") as status:
        def step(name: str) -> None:
            status.update(f"{label}: {name.replace('specialist:', 'consulting ')} ({time.perf_counter() - started:.1f}s)")

        yield step


def _workspace(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"path '{path}' does not exist")
    if not path.is_dir():
        raise InputError(f"'{path}' is not a directory (pass the repository root; use --path for files)")
    return path.resolve()


def _emit(decision, fmt: DecisionFormat) -> None:
    from infra_orchestrator.render import render

    sys.stdout.write(render(decision, fmt.value))
    sys.stdout.flush()
    raise typer.Exit(decision.exit_code)


def _run(req, label: str):
    from graph.runner import run_request
    from infra_orchestrator.config import load_config
    from infra_orchestrator.providers import make_provider

    loaded = load_config(Path(req.workspace))
    provider = make_provider(loaded.config)
    with progress_reporter(label) as step:
        decision, _ = run_request(req, config=loaded.config, config_path=loaded.path, provider=provider, progress=step)
    return decision


@app.command()
def review(
    path: Annotated[Path, typer.Argument(help="Repository (or directory) to review.")] = Path("."),
    base: Annotated[Optional[str], typer.Option("--base", help="Git base ref: review the changes base..head.")] = None,
    head: Annotated[Optional[str], typer.Option("--head", help="Git head ref (default HEAD when --base is given).")] = None,
    paths: Annotated[Optional[list[str]], typer.Option("--path", "-p",
                                                       help="Limit the change to these paths (repeatable).")] = None,
    intent: Annotated[str, typer.Option("--message", "-m", help="One sentence of intent for the change.")] = "",
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="Output format.")] = DecisionFormat.text,
) -> None:
    """Validate a change: [CHANGE VALIDATION: APPROVED/REJECTED/REQUIRES CLARIFICATION].

    Without --base/--head the directory is reviewed as a whole (every infrastructure file in scope);
    with --base the git range base..head is the change; --path names the paths a change touches.
    """
    from infra_orchestrator.models import ChangeRequest

    root = _workspace(path)
    req = ChangeRequest(workspace=str(root), base=base, head=head, paths=paths or [], intent=intent)
    _emit(_run(req, "Reviewing change"), fmt)


@stage_app.command("approve")
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
    root = _workspace(path)
    req = StageRequest(workspace=str(root), feature=feature, target=to, intent=intent)
    _emit(_run(req, f"Checking {feature} → {to}"), fmt)


@stage_app.command("status")
def stage_status(
    feature: Annotated[str, typer.Argument(help="Feature: number (001), name, or NNN-name.")],
    path: Annotated[Path, typer.Option("--repo", "-C", help="Repository root.")] = Path("."),
    fmt: Annotated[DecisionFormat, typer.Option("--format", "-f", help="text or json.")] = DecisionFormat.text,
) -> None:
    """Show each stage's gates (pass/fail/not started), the current stage and the next action."""
    import json

    from rich.table import Table

    from infra_orchestrator.config import load_config
    from tools.workflow import stage_table

    root = _workspace(path)
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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps errors to one-line messages and stable exit codes."""
    try:
        app(args=argv, standalone_mode=True)
    except OrchestratorError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        if os.environ.get("INFRA_ORCH_DEBUG"):
            raise
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc} (set INFRA_ORCH_DEBUG=1 for a traceback)\n")
        sys.exit(EXIT_INTERNAL)


__all__ = ["app", "main", "EXIT_USAGE"]
