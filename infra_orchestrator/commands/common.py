"""Helpers shared by every command module: formats, workspace checks, running a request, emitting a decision."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import typer

from core.errors import InputError
from infra_orchestrator.progress import stderr_console


class DecisionFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@contextmanager
def progress_reporter(label: str) -> Iterator:
    """A transient spinner on stderr (only on a terminal); yields a callback taking a step name. The engine's
    own progress (files read of how many, checks) shows in the same line."""
    from infra_orchestrator.progress import spinner_listener, wanted
    from tools.progress import listening

    if not wanted():
        yield None
        return
    started = time.perf_counter()
    with stderr_console().status(label, spinner="dots") as status:
        def step(name: str) -> None:
            status.update(f"{label}: {name.replace('specialist:', 'consulting ')} ({time.perf_counter() - started:.1f}s)")

        with listening(spinner_listener(step)):
            yield step


def workspace_dir(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"path '{path}' does not exist")
    if not path.is_dir():
        raise InputError(f"'{path}' is not a directory (pass the repository root; use --path for files)")
    return path.resolve()


def emit_decision(decision, fmt: DecisionFormat) -> None:
    from core.render import render

    sys.stdout.write(render(decision, fmt.value))
    sys.stdout.flush()
    raise typer.Exit(decision.exit_code)


def run_decision(req, label: str, config_file: Path | None = None):
    """The decision on ``req`` under its trusted policy (the operator's ``--config`` / ``INFRA_ORCH_CONFIG`` file,
    else the base revision's config), with a progress spinner."""
    from graph.runner import review
    from tools import memo

    memo.set_enabled(False)  # one decision per process: nothing to reuse across runs
    with progress_reporter(label) as step:
        return review(req, config_file=config_file, progress=step)
