"""Safe file access inside a workspace root.

Every path the engine reads goes through :func:`resolve_inside` (no escaping the workspace through ``..``
or symlinks) and :func:`read_text` (bounded size, text only, UTF-8 only). Unreadable files become
``SCH-UNREADABLE`` findings so one odd file never stops a scan.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from core.errors import InputError
from core.models import Finding, Severity
from tools.catalog import finding

PRUNE_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".infra-orchestrator", ".mypy_cache",
                        ".tox"})
"""Directories no walk descends into: version control, dependencies, caches, our own state."""
MAX_FILE_BYTES = 5 * 1024 * 1024
BINARY_SNIFF_BYTES = 8 * 1024
UNREADABLE_ID = "SCH-UNREADABLE"


def resolve_inside(root: Path, rel: str) -> Path:
    """Return the real path of ``rel`` under ``root``; raise :class:`InputError` when it escapes ``root``.

    ``..``, ``./``, absolute paths and symlinks are all resolved (``os.path.realpath``) before the test.
    """
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root / rel))
    if candidate != real_root and real_root not in candidate.parents:
        raise InputError(f"path '{rel}' is outside the workspace {real_root}")
    return candidate


def walk(start: Path) -> Iterator[tuple[Path, bool]]:
    """Every file under ``start`` plus every symlinked directory, as ``(path, is_directory_link)``.

    Symlinked directories are listed, never followed; :data:`PRUNE_DIRS` are skipped. Sorted within each
    directory (files first, then directory links), so the walk is reproducible.
    """
    for dirpath, dirnames, filenames in os.walk(start):
        here = Path(dirpath)
        links = sorted(d for d in dirnames if (here / d).is_symlink())
        dirnames[:] = sorted(d for d in dirnames if d not in PRUNE_DIRS and d not in links)
        yield from ((here / name, False) for name in sorted(filenames))
        yield from ((here / name, True) for name in links)


def _unreadable(rel: str, message: str, severity: Severity = Severity.medium) -> Finding:
    """A file in scope that could not be analysed: never approved silently, a person is asked."""
    return finding(UNREADABLE_ID, message, severity=severity, file=rel,
                   question=f"{rel} could not be analysed ({message.split(';')[0]}): approve it unanalysed? [y/N]")


def read_text(root: Path, rel: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, Finding | None]:
    """Read ``rel`` (inside ``root``) as UTF-8 text.

    Returns ``(text, None)``, or ``(None, finding)`` when the file is too large (checked with ``stat``,
    never read whole), binary (a NUL byte in the first 8 KiB), not valid UTF-8, or cannot be read.
    Raises :class:`InputError` only when the path escapes the workspace.
    """
    path = resolve_inside(root, rel)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, _unreadable(rel, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit; not analysed")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return None, _unreadable(rel, f"cannot read file: {exc.strerror or exc}")
    return decode_text(data, rel, max_bytes)


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
