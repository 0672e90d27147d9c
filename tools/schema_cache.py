"""A cache of compiled code across processes, under the user's cache directory; never trusted blindly.

Compiling one kind's schema validator costs tens of milliseconds per process; the cache keeps the compiled code
object (``marshal``) so a later process only loads it. An entry is used only when every check passes, otherwise
it is ignored and the caller compiles afresh (and rewrites it):

* the directory and the file belong to the current user and nobody else may write them (POSIX); the file is a
  regular file, not a symlink;
* the file starts with the format's magic and the SHA-256 of the rest matches (a torn or corrupt write);
* the entry names the same key as the one asked for: the key covers the interpreter build (``marshal`` is
  version-specific), the generator and everything it read (package versions, source files' size and mtime).

Writes go to a temporary file renamed into place, so a reader never sees half an entry. Any ``OSError`` (a
read-only home, a full disk) only disables the cache. ``INFRA_ORCH_CACHE_DIR`` moves it; set to an empty string
it disables it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
import tempfile
from pathlib import Path
from types import CodeType

MAGIC = b"infra-orchestrator code cache 1\n"
ENV_DIR = "INFRA_ORCH_CACHE_DIR"
_DIGEST = hashlib.sha256().digest_size
KEEP_PER_KIND = 3
"""Entries kept per kind (prefix): the newest keys, one per install in use on the machine."""


def user_cache_dir() -> Path | None:
    """The product's cache directory (``INFRA_ORCH_CACHE_DIR``, else the platform's user cache); None: disabled."""
    override = os.environ.get(ENV_DIR)
    if override is not None:
        return Path(override).expanduser() if override.strip() else None
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infra-orchestrator"


def _private(st: os.stat_result) -> bool:
    """Owned by the current user and not writable by group or others (always true where there are no uids)."""
    if not hasattr(os, "getuid"):
        return True
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _safe_dir(path: Path, create: bool) -> bool:
    """Whether ``path`` is a private directory of ours (created with mode 0700 when ``create``)."""
    try:
        if create:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and _private(st)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


class CodeCache:
    """Entries ``<prefix>-<digest of key>.bin`` in one private directory; ``directory=None`` disables the cache."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _path(self, prefix: str, key: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{prefix}-{key_digest(key)}.bin"

    def load(self, prefix: str, key: str) -> tuple[str, CodeType] | None:
        """``(entry name, code)`` stored under ``key``, or None when absent, foreign, corrupt or for another key."""
        path = self._path(prefix, key)
        if path is None or not _safe_dir(path.parent, create=False):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or not _private(st):
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read()
        except OSError:
            return None
        finally:
            os.close(fd)
        return _decode(data, key)

    def store(self, prefix: str, key: str, entry: str, code: CodeType) -> bool:
        """Write the entry atomically (and drop older entries of ``prefix``); False when the cache is unusable."""
        path = self._path(prefix, key)
        if path is None or not _safe_dir(path.parent, create=True):
            return False
        payload = marshal.dumps((key, entry, code))
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(MAGIC + hashlib.sha256(payload).digest() + payload)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            return False
        self._prune(prefix, keep=path.name)
        return True

    def _prune(self, prefix: str, keep: str) -> None:
        """Keep ``keep`` and the :data:`KEEP_PER_KIND` - 1 newest other entries of ``prefix``; remove the rest (left
        by older keys: upgrades), so the cache does not grow forever. Several installs of different versions on one
        machine (a pre-commit environment, a tool install, a project venv) each keep their entry instead of
        replacing each other's on every run."""
        try:
            others = []
            for old in self.directory.glob(f"{prefix}-*.bin"):
                if old.name != keep and old.name[len(prefix) + 1:].count("-") == 0:
                    others.append((old.stat().st_mtime_ns, old.name, old))
            for _, _, old in sorted(others, reverse=True)[KEEP_PER_KIND - 1:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass


def _decode(data: bytes, key: str) -> tuple[str, CodeType] | None:
    head = len(MAGIC) + _DIGEST
    if len(data) <= head or not data.startswith(MAGIC):
        return None
    payload = data[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):head]:
        return None
    try:
        stored = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(stored, tuple) and len(stored) == 3 and stored[0] == key and isinstance(stored[1], str)
            and isinstance(stored[2], CodeType)):
        return None
    return stored[1], stored[2]
