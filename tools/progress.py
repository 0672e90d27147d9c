"""Progress of a long analysis, reported to whoever listens (a front-end's progress bar), else nowhere.

The engine calls :func:`report` as it reads files and runs its checks; a front-end installs a listener for the
duration of one run with :func:`listening`. The listener lives in a context variable, so concurrent runs
(MCP tool calls, eval threads) never see each other's, and LangGraph nodes, which run in a copy of the
caller's context, report to the caller's. Pure: no terminal library here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, int, int], None]
"""``(phase, done, total)``: e.g. ``("reading", 120, 5000)``; ``total`` 0 when unknown."""

_listener: ContextVar[Listener | None] = ContextVar("infra_orchestrator_progress", default=None)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the progress of the analyses run inside the block to ``listener`` (None: to nobody)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report(phase: str, done: int, total: int = 0) -> None:
    """Tell the listener, if any, that ``done`` of ``total`` steps of ``phase`` are finished. A listener that
    fails never fails the analysis."""
    listener = _listener.get()
    if listener is None:
        return
    try:
        listener(phase, done, total)
    except Exception:  # noqa: BLE001 - progress is cosmetic
        pass
