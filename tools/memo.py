"""In-process reuse across runs: a file's parsed objects, and each object's per-object findings.

A long-lived process (the MCP server, chat, the served graph, an editor calling ``check`` on every keystroke)
analyses the same workspace again and again with one file changed. Like ruff's cache, the engine then reuses what
cannot have changed, and only that:

* :class:`LoadMemo`: the objects and load findings of a manifest, keyed by its workspace-relative path *and its
  whole text* (a hit compares the text, so an edit is always a miss), bounded by the total text size kept;
* :class:`ObjectMemo`: the findings of a pure per-object computation (an ``object``-scope check, schema
  validation), keyed by the object instance and a caller-chosen key (the check id plus whatever of the config the
  result depends on). Only objects of the latest run are kept, so nothing outlives the workspace it came from.

Both are sound only because neither side mutates what it shares: loaded objects and findings are never modified in
place (changes go through ``model_copy``); Helm- and Kustomize-rendered objects, which the renderers do adjust, are
loaded fresh every run and never pass through :class:`LoadMemo`.

``INFRA_ORCH_NO_MEMO=1`` turns both off (every run computes everything, as a fresh process does); so does
:func:`set_enabled` in one-shot commands.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

ENV_OFF = "INFRA_ORCH_NO_MEMO"
MAX_TEXT_CHARS = 8 * 1024 * 1024
"""Characters of manifest text the load memo keeps with their objects (about 20k objects, ~100 MiB held by a
long-lived process); the least recently used go first."""

T = TypeVar("T")


_ON = [True]


def set_enabled(on: bool) -> None:
    """Turn reuse on or off for this process. One-shot commands (``check``, ``review``) turn it off: with no
    later run to serve, keeping the parsed workspace only raises the peak memory (at 100k objects, from 275 to
    471 MiB)."""
    _ON[0] = on


def enabled() -> bool:
    """Whether reuse across runs is on: not turned off by :func:`set_enabled` nor by ``INFRA_ORCH_NO_MEMO``
    (anything but unset, empty or ``0``)."""
    return _ON[0] and os.environ.get(ENV_OFF, "") in ("", "0")


class LoadMemo:
    """``(file, text) -> (objects, findings)`` of a loader, least recently used first out."""

    def __init__(self, load: Callable[[str, str], tuple[list, list]], max_chars: int = MAX_TEXT_CHARS) -> None:
        self._load = load
        self._max = max_chars
        self._entries: OrderedDict[tuple[str, str], tuple[list, list]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()  # the MCP server and the graph's parallel agents share one memo
        self.hits = self.misses = 0

    def load(self, text: str, file: str) -> tuple[list, list]:
        """What ``load(text, file)`` returns, reused when this file had this exact text before (new lists)."""
        if not enabled():
            return self._load(text, file)
        key = (file, text)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self.hits += 1
                self._entries.move_to_end(key)
                return list(found[0]), list(found[1])
            self.misses += 1
        objects, findings = self._load(text, file)
        if len(text) > self._max:
            return objects, findings
        with self._lock:
            if key not in self._entries:
                self._chars += len(text)
            self._entries[key] = (list(objects), list(findings))
            while self._chars > self._max:
                (_, old), _ = self._entries.popitem(last=False)
                self._chars -= len(old)
        return objects, findings

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0
            self.hits = self.misses = 0


class ObjectMemo:
    """Results of pure per-object computations, for the objects of the latest run (see :meth:`keep_only`)."""

    def __init__(self) -> None:
        # id(obj) -> (obj, results): holding obj keeps its id from being reused by another object
        self._entries: dict[int, tuple[Any, dict[Any, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, obj: Any, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` for ``(obj, key)``, computed once while ``obj`` stays in the memo."""
        entry = self._entries.get(id(obj))
        if entry is None or entry[0] is not obj:
            with self._lock:
                entry = self._entries[id(obj)] = (obj, {})
        results = entry[1]
        if key in results:
            return results[key]
        found = results[key] = compute()
        return found

    def keep_only(self, objects: Iterable[Any]) -> None:
        """Forget every object but ``objects`` (call after a run with that run's objects)."""
        wanted = {id(o) for o in objects}
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if k in wanted}

    def __len__(self) -> int:
        return len(self._entries)
