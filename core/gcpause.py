"""Pause the cyclic garbage collector around one batch analysis.

A review or a scan allocates millions of short-lived, acyclic containers (parsed YAML, findings); the
collector's passes over them cost 15 % of a 10k-object run and a third at 100k (benchmarks/README.md), and
free almost nothing: reference counting already frees them. Nested and concurrent pauses (MCP tool calls in
worker threads) share one pause: the collector comes back, as it was, when the last one ends, exceptions
included.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the duration of the block; restore it when the outermost pause ends."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def gc_paused(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a batch entry point so that every caller (CLI, graph node, MCP tool, a library user) runs it
    with the collector paused (:func:`paused_gc`)."""

    @wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper
