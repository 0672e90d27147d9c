"""The one confined reader: every product read of a file goes through :func:`read_regular`.

A path is resolved (``os.path.realpath``: ``..``, symlinks, ``/proc/self/cwd`` and ``/proc/self/root``
links all resolve to where they really point) and refused when it leaves the workspace root; the final
resolved path is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a link swapped in after the resolution is not
followed; a FIFO or a device never blocks the open) and ``fstat`` must say *regular file* before one byte
is read, so a FIFO, ``/dev/zero``, ``/dev/stdin``, a socket or a directory is refused, never read.
At most ``max_bytes + 1`` bytes are read, so a file growing under the reader cannot exhaust memory.

Pure (standard library only) so the hook path, the config loader and the engine share it.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from core.errors import InputError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_WALK_DEPTH = 64
"""Directory levels a walk descends below its start; a deeper directory is not entered, and that is said."""
WALK_BUDGET_S = 120.0
"""Seconds one walk may take before it stops and says so (a FUSE mount or a pathological tree)."""
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


class OutsideWorkspace(InputError):
    """The path resolves outside the workspace root."""


class NotRegularFile(InputError):
    """The path is a FIFO, a device, a socket or a directory: never read."""


class TooLarge(InputError):
    """The file is over the size limit: never read whole."""


class WalkLimit(InputError):
    """A walk met a directory nested deeper than it descends, or ran out of time: it stops and says so."""


def real_root(root: Path | str) -> Path:
    return Path(os.path.realpath(root))


def resolve_inside(root: Path | str, rel: str | Path, *, what: str | None = None) -> Path:
    """The real path of ``rel`` (relative to ``root``, or absolute); :class:`OutsideWorkspace` when it
    resolves outside ``root``."""
    base = os.path.realpath(root)
    candidate = os.path.realpath(os.path.join(base, rel))
    if candidate != base and not candidate.startswith(base.rstrip(os.sep) + os.sep):  # strings: no Path per parent
        raise OutsideWorkspace(f"{what or f'path {str(rel)!r}'} resolves to {candidate}, outside the workspace {base}")
    return Path(candidate)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: Path | str, max_bytes: int = MAX_FILE_BYTES, *, what: str | None = None) -> bytes:
    """The bytes of the regular file ``path`` (already resolved; it is opened without following a link).

    :class:`NotRegularFile` for anything else, :class:`TooLarge` over ``max_bytes``; :class:`OSError` when it
    cannot be opened or read (missing, permission, a symlink swapped in: ``ELOOP``).
    """
    name = what or str(path)
    fd = os.open(path, _FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{name} is {_kind(info.st_mode)}, not a regular file; not read")
        if info.st_size > max_bytes:
            raise TooLarge(f"{name} is {info.st_size:,} bytes, over the {max_bytes:,}-byte limit; not read")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise TooLarge(f"{name} grew over the {max_bytes:,}-byte limit while read; not read")
        return data
    finally:
        os.close(fd)


def read_inside(root: Path | str, rel: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """:func:`resolve_inside` then :func:`read_regular`: the confined read of a workspace file."""
    return read_regular(resolve_inside(root, rel), max_bytes, what=str(rel))


def read_text_file(path: Path | str, max_bytes: int = MAX_FILE_BYTES, *, root: Path | str | None = None,
                   what: str | None = None) -> str:
    """A UTF-8 text file (confined to ``root`` when given); :class:`InputError` naming it otherwise."""
    name = what or str(path)
    try:
        real = resolve_inside(root, path, what=name) if root is not None else Path(os.path.realpath(path))
        return read_regular(real, max_bytes, what=name).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not valid UTF-8 (invalid byte at offset {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None


class Budget:
    """A wall-clock budget for one walk: :meth:`spent` turns true once ``seconds`` have passed."""

    def __init__(self, seconds: float = WALK_BUDGET_S) -> None:
        self.deadline = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() > self.deadline


def open_regular(path: Path | str):
    """A binary stream over the regular file ``path`` (opened ``O_NONBLOCK``, the last component not followed);
    :class:`NotRegularFile` for a FIFO, a device, a socket or a directory, which is never read or waited on."""
    fd = os.open(path, _FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{path} is {_kind(info.st_mode)}, not a regular file; not read")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")
