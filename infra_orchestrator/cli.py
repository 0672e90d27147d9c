"""The command-line front-end: assembles the command modules under ``infra_orchestrator/commands``.

Exit codes (stable): 0 APPROVED, 1 REJECTED, 3 REQUIRES CLARIFICATION, 2 usage/config/input error,
4 internal error. stdout carries only the decision; progress and errors go to stderr.
Command modules import LangGraph and the anthropic SDK inside the commands that need them, so
lint-style commands start fast. Shell completion: ``--install-completion`` / ``--show-completion`` (typer's).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from core.errors import EXIT_INTERNAL, OrchestratorError
from infra_orchestrator import __version__
from infra_orchestrator.commands import COMMAND_MODULES, rule

app = typer.Typer(
    name="infra-orchestrator",
    help="Infrastructure gatekeeper: validates Kubernetes changes and Spec-Kit Plus stage transitions.\n\n"
    "Exit codes: 0 APPROVED, 1 REJECTED, 3 REQUIRES CLARIFICATION, 2 usage/config error, 4 internal error.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


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


for _module in (*COMMAND_MODULES, rule):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps errors to one-line messages and stable exit codes."""
    try:
        app(args=argv, prog_name="infra-orchestrator", standalone_mode=True)
    except OrchestratorError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more and exit as a killed pipe writer
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        if os.environ.get("INFRA_ORCH_DEBUG"):
            raise
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc} (set INFRA_ORCH_DEBUG=1 for a traceback)\n")
        sys.exit(EXIT_INTERNAL)

