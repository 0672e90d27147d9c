"""The command-line front-end: assembles the command modules under ``infra_orchestrator/commands``.

Exit codes (stable): 0 APPROVED, 1 REJECTED, 3 REQUIRES CLARIFICATION, 2 usage/config/input error,
4 internal error. stdout carries only the decision; progress and errors go to stderr.
Command modules import LangGraph and the anthropic SDK inside the commands that need them, so
lint-style commands start fast. Shell completion: ``--install-completion`` / ``--show-completion`` (typer's).

Start-up: typer turns every registered command's signature into click parameters each time it runs (about
20 ms of CPU for all of them). A command line that names a command (``check ...``) runs an app holding that one
command (:func:`build_app`), built from its module alone; anything else (``--help``, no argument, an unknown
name, completion) runs :data:`app`, which holds them all. Both answer the same for the command named.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Optional

import typer

from core.errors import EXIT_INTERNAL, OrchestratorError
from infra_orchestrator import __version__
from infra_orchestrator.commands import COMMANDS, command_module


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infra-orchestrator {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Show the version and exit.")] = None,
) -> None:
    """Infrastructure gatekeeper."""


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI: every command, or (``only``) the one top-level command of that name with the same root."""
    built = typer.Typer(
        name="infra-orchestrator",
        help="Infrastructure gatekeeper: validates Kubernetes changes and Spec-Kit Plus stage transitions.\n\n"
        "Exit codes: 0 APPROVED, 1 REJECTED, 3 REQUIRES CLARIFICATION, 2 usage/config error, 4 internal error.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )
    built.callback()(_root)
    for name in [only] if only else COMMANDS:
        command_module(name).register(built)
    return built


def named_command(args: list[str]) -> str | None:
    """The top-level command ``args`` run when their first word names one (options before it: None)."""
    return args[0] if args and args[0] in COMMANDS else None


def __getattr__(name: str) -> Any:
    if name == "app":  # every command, built on first use (tests, completion, the root's help)
        globals()["app"] = full = build_app()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: maps errors to one-line messages and stable exit codes."""
    args = sys.argv[1:] if argv is None else argv
    try:
        only = named_command(args)
        cli = build_app(only) if only else __getattr__("app")
        cli(args=argv, prog_name="infra-orchestrator", standalone_mode=True)
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

