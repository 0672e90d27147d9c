"""Progress on a terminal for long runs: a transient rich bar (or the spinner's text) on stderr.

Silent unless stderr is a terminal, and always with ``-q`` or ``INFRA_ORCH_NO_PROGRESS=1``: stdout carries only
the result, and a pipe or a CI log never sees a bar. The bar appears only once a run is long (many files, or
past :data:`DELAY_S`), so a one-file ``check`` neither flickers nor imports rich.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from tools.progress import Listener, listening

DELAY_S = 0.4
"""A run shorter than this shows nothing."""
MANY_FILES = 50
"""A run over at least this many files shows its bar at once."""
PHASES = {"rendering": "rendering charts", "reading": "reading files", "checking": "running checks"}


@lru_cache(maxsize=1)
def stderr_console():
    """The rich console on stderr (rich is imported on first use: lint-style commands never pay for it)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def wanted(quiet: bool = False) -> bool:
    """Whether progress may be drawn: stderr is a terminal, no ``-q``, no ``INFRA_ORCH_NO_PROGRESS``."""
    if quiet or os.environ.get("INFRA_ORCH_NO_PROGRESS"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def describe(phase: str, done: int, total: int) -> str:
    """``reading files 120/5000``: the phase in words, with its count when it is known."""
    words = PHASES.get(phase, phase)
    return f"{words} {done}/{total}" if phase == "reading" and total else words


class _Bar:
    """A rich progress bar started on the first report that shows a long run; stopped by :meth:`close`."""

    def __init__(self, label: str) -> None:
        self.label, self.started, self.lock = label, time.monotonic(), threading.Lock()
        self.bar = self.task = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self.lock:
            if self.bar is None:
                if total < MANY_FILES and time.monotonic() - self.started < DELAY_S:
                    return
                self._start()
            counts = {"completed": done, "total": total} if phase == "reading" and total else {}
            self.bar.update(self.task, description=f"{self.label}: {PHASES.get(phase, phase)}", **counts)

    def _start(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=stderr_console(), transient=True)
        self.task = self.bar.add_task(self.label, total=None)
        self.bar.start()

    def close(self) -> None:
        with self.lock:
            if self.bar is not None:
                self.bar.stop()


@contextmanager
def file_progress(label: str, quiet: bool = False) -> Iterator[None]:
    """A progress bar on stderr for the analyses run inside the block (``check``: files read, then checks)."""
    if not wanted(quiet):
        yield
        return
    bar = _Bar(label)
    try:
        with listening(bar):
            yield
    finally:
        bar.close()


def spinner_listener(update: Callable[[str], None]) -> Listener:
    """A listener that shows the engine's phase through ``update`` (a spinner's text), e.g. during ``review``."""
    return lambda phase, done, total: update(describe(phase, done, total))
