"""Safe file access inside a workspace root.

Every path the engine reads goes through :func:`resolve_inside` (no escaping the workspace through ``..``
or symlinks) and :func:`read_text` (bounded size, text only, UTF-8 only). Unreadable files become
``SCH-UNREADABLE`` findings so one odd file never stops a scan.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from core import confine
from core.models import Finding, Severity
from tools.catalog import finding

PRUNE_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".infra-orchestrator", ".mypy_cache",
                        ".tox"})
"""Directories no walk descends into: version control, dependencies, caches, our own state."""
MAX_FILE_BYTES = confine.MAX_FILE_BYTES
BINARY_SNIFF_BYTES = 8 * 1024
UNREADABLE_ID = "SCH-UNREADABLE"
OUTSIDE_ID = "WS-OUTSIDE-WORKSPACE"


def resolve_inside(root: Path, rel: str) -> Path:
    """Return the real path of ``rel`` under ``root``; raise :class:`~core.confine.OutsideWorkspace` (an
    :class:`InputError`) when it escapes ``root``.

    ``..``, ``./``, absolute paths and symlinks (``/proc/self/cwd``, ``/proc/self/root`` included) are all
    resolved (``os.path.realpath``) before the test.
    """
    return confine.resolve_inside(root, rel)


def walk(start: Path, max_depth: int = confine.MAX_WALK_DEPTH, *, too_deep: list[Path] | None = None,
         seconds: float = confine.WALK_BUDGET_S) -> Iterator[tuple[Path, bool]]:
    """Every file under ``start`` plus every symlinked directory, as ``(path, is_directory_link)``.

    Symlinked directories are listed, never followed; :data:`PRUNE_DIRS` are skipped. Sorted within each
    directory (files first, then directory links), so the walk is reproducible. Nothing is skipped silently: a
    directory more than ``max_depth`` levels below ``start`` is not entered and raises
    :class:`~core.confine.WalkLimit`, or is appended to ``too_deep`` when the caller reports it itself; a walk
    still going after ``seconds`` raises :class:`~core.confine.WalkLimit`.
    """
    top = len(Path(start).parts)
    budget = confine.Budget(seconds)
    for dirpath, dirnames, filenames in os.walk(start):
        if budget.spent():
            raise confine.WalkLimit(f"walking {start} took longer than {seconds:g} s and was stopped (a network "
                                    "mount or a pathological tree?); nothing was judged")
        here = Path(dirpath)
        links = sorted(d for d in dirnames if (here / d).is_symlink())
        kept = sorted(d for d in dirnames if d not in PRUNE_DIRS and d not in links)
        if kept and len(here.parts) - top >= max_depth:
            if too_deep is None:
                raise confine.WalkLimit(f"{here / kept[0]} is nested more than {max_depth} directories below "
                                        f"{start} and was not walked; nothing was judged")
            too_deep += [here / d for d in kept]
            kept = []
        dirnames[:] = kept
        yield from ((here / name, False) for name in sorted(filenames))
        yield from ((here / name, True) for name in links)


def _unreadable(rel: str, message: str, severity: Severity = Severity.medium) -> Finding:
    """A file in scope that could not be analysed: never approved silently, a person is asked."""
    return finding(UNREADABLE_ID, message, severity=severity, file=rel,
                   question=f"{rel} could not be analysed ({message.split(';')[0]}): approve it unanalysed? [y/N]")


def too_deep(rel: str) -> Finding:
    """A directory nested deeper than a walk descends: not entered, so nothing in it was analysed, and a person is
    asked."""
    return _unreadable(rel, f"directory nested more than {confine.MAX_WALK_DEPTH} levels deep; not walked, so no file "
                            "in it was analysed")


def outside(rel: str, message: str) -> Finding:
    """A path in scope that resolves outside the workspace: not read, and never approved as if it were fine."""
    return finding(OUTSIDE_ID, message, file=rel,
                   question=f"{rel} resolves outside the workspace and was not read: approve it unanalysed? [y/N]")


def read_text(root: Path, rel: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, Finding | None]:
    """Read ``rel`` (inside ``root``) as UTF-8 text, through the confined reader (:mod:`core.confine`).

    Returns ``(text, None)``, or ``(None, finding)`` when the file is not a regular file (a FIFO, a device,
    a socket, a directory: never opened for reading), too large (checked with ``fstat``, never read whole),
    binary (a NUL byte in the first 8 KiB), not valid UTF-8, or cannot be read.
    Raises :class:`~core.confine.OutsideWorkspace` (an :class:`InputError`) only when the path escapes the
    workspace; :func:`read_confined` turns that into a finding too.
    """
    path = resolve_inside(root, rel)
    try:
        data = confine.read_regular(path, max_bytes, what=rel)
    except confine.NotRegularFile as exc:
        return None, _unreadable(rel, str(exc))
    except confine.TooLarge as exc:
        return None, _unreadable(rel, str(exc).replace("; not read", "; not analysed"))
    except OSError as exc:
        return None, _unreadable(rel, f"cannot read file: {exc.strerror or exc}")
    return decode_text(data, rel, max_bytes)


def read_confined(root: Path, rel: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, Finding | None]:
    """:func:`read_text`, with a path outside the workspace as a ``WS-OUTSIDE-WORKSPACE`` finding."""
    try:
        return read_text(root, rel, max_bytes)
    except confine.OutsideWorkspace as exc:
        return None, outside(rel, str(exc))


def decode_text(data: bytes, rel: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, Finding | None]:
    """Decode file content (from disk or a git blob) with the same size, binary and UTF-8 rules."""
    if len(data) > max_bytes:
        return None, _unreadable(rel, f"file is over the {max_bytes:,}-byte limit; not analysed")
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None, _unreadable(rel, "binary file (NUL byte in the first 8 KiB); not analysed")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, _unreadable(rel, f"file is not valid UTF-8 (invalid byte at offset {exc.start}); not analysed")
