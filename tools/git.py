"""The git change set: which files a range of commits, or the work tree, touches.

Everything goes through :func:`run_git` (no shell, ``-z`` output, so spaces, non-ASCII characters and
newlines in file names are safe). Paths in the results are relative to the ``root`` the caller passed,
even when it is a subdirectory of the repository. Git problems become :class:`GitError`.

Git is hardened against the repository's local configuration (:data:`HARDENING`): no fsmonitor hook, no
untracked cache, file modes always compared, no replace objects, stat data always checked. A work-tree
review then compares every tracked file's raw bytes with the base blob (:func:`change_set_from_worktree`),
so a clean filter, an encoding attribute, an index flag or a forged stat cache cannot hide an edit, and
untracked files are listed with the repository's ``.gitignore`` files only (``.git/info/exclude`` and
``core.excludesFile`` are local and hide nothing).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

from core import confine
from core.errors import GitError, InputError
from core.models import ChangeSet, FileChange
from tools.guard import normalize_path

GIT_TIMEOUT_S = 60
SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"
_ZERO_SHA = re.compile(r"^0+$")
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied", "T": "type_changed"}
_DIFF_OPTS = ("--no-color", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none", "-M", "-C")
"""Output independent of user config: no colour/external diff/textconv, and submodule pointer changes are
always shown (``submodule.<name>.ignore=all`` or ``diff.ignoreSubmodules`` must not hide a Phase III change)."""
_UNKNOWN_REF = re.compile(
    r"ambiguous argument '(.+?)': unknown revision|bad revision '(.+?)'|"
    r"Not a valid object name '?([^'\s]+)'?|invalid object name '(.+?)'"
)
# Variables that would point git at another repository than ``root``, or make it see other objects.
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_REPLACE_REF_BASE", "GIT_ATTR_SOURCE")
HARDENING = (
    "--no-replace-objects",
    "-c", "core.quotepath=false",
    "-c", "core.fsmonitor=false",
    "-c", "core.untrackedCache=false",
    "-c", "core.fileMode=true",
    "-c", "core.trustctime=true",
    "-c", "core.checkStat=default",
    "-c", "core.attributesFile=" + os.devnull,
    "-c", "core.excludesFile=" + os.devnull,
)
"""Options for every git call: the repository's local config cannot hide a change. No fsmonitor hook (it may
lie, and it runs a program), no untracked cache, mode changes always seen, ``git replace`` objects ignored,
ctime and full stat data checked, and no attributes or excludes from files outside the repository."""


def _decode(raw: bytes) -> str:
    """Decode git output like the file system does (undecodable bytes survive as surrogates)."""
    return raw.decode("utf-8", errors="surrogateescape")


def _git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env.update(LC_ALL="C", GIT_OPTIONAL_LOCKS="0", GIT_NO_REPLACE_OBJECTS="1", GIT_ATTR_NOSYSTEM="1",
               **(extra or {}))
    return env


def _not_a_repo(root: Path) -> GitError:
    return GitError(f"{root} is not a git repository (needed for --base/--head)")


def _error(root: Path, command: str, stderr: str) -> GitError:
    """Translate git's stderr into a one-line, user-facing error."""
    if "not a git repository" in stderr.lower():
        return _not_a_repo(root)
    match = _UNKNOWN_REF.search(stderr)
    if match:
        return GitError(f"unknown git ref '{next(g for g in match.groups() if g)}'")
    first = next((line for line in stderr.splitlines() if line.strip()), "failed")
    return GitError(f"git {command} failed: {first.removeprefix('fatal: ')}")


def _run(root: Path, args: tuple[str, ...], check: bool, *, config: tuple[str, ...] = (), input: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    if not root.is_dir():
        raise GitError(f"{root} is not a directory")
    command = args[0] if args else ""
    try:
        proc = subprocess.run(["git", *HARDENING, *config, *args], cwd=root, env=_git_env(env), input=input,
                              capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {command} timed out after {GIT_TIMEOUT_S}s") from None
    if check and proc.returncode != 0:
        raise _error(root, command, _decode(proc.stderr))
    return proc


def run_git(root: Path, *args: str, check: bool = True, config: tuple[str, ...] = ()) -> str:
    """Run ``git <args>`` in ``root`` and return its stdout; a failure raises :class:`GitError` when ``check``.

    ``config`` adds ``-c name=value`` pairs after :data:`HARDENING`."""
    return _decode(_run(root, args, check, config=config).stdout)


def run_git_bytes(root: Path, *args: str, check: bool = True, input: bytes | None = None,
                  env: dict[str, str] | None = None, config: tuple[str, ...] = ()) -> bytes:
    """Like :func:`run_git`, with raw bytes out, optional stdin and extra environment (e.g. a temporary index)."""
    return _run(root, args, check, config=config, input=input, env=env).stdout


def neutral_filters(root: Path) -> tuple[str, ...]:
    """``-c`` pairs that disable every filter driver the repository configures (``filter.<name>.clean``,
    ``smudge``, ``process``): a driver runs a program on every work-tree read and may rewrite what git sees."""
    out = run_git(root, "config", "-z", "--get-regexp", r"^filter\..*\.(clean|smudge|process)$", check=False)
    keys = {entry.split("\n", 1)[0] for entry in _fields(out)}
    return tuple(arg for key in sorted(keys) for arg in ("-c", f"{key}="))


def is_git_repo(root: Path) -> bool:
    """True when ``root`` is inside a git work tree."""
    try:
        return run_git(root, "rev-parse", "--is-inside-work-tree", check=False).strip() == "true"
    except GitError:
        return False


def repo_toplevel(root: Path) -> Path:
    """The top-level directory of the repository holding ``root``."""
    return Path(run_git(root, "rev-parse", "--show-toplevel").removesuffix("\n"))


def _prefix(root: Path) -> str:
    """``root`` relative to the repository top level, with a trailing slash ("" at the top level)."""
    return run_git(root, "rev-parse", "--show-prefix").removesuffix("\n")


def _require_repo(root: Path) -> None:
    """Raise :class:`GitError` unless ``root`` is inside a git work tree (git's own errors pass through)."""
    if run_git(root, "rev-parse", "--is-inside-work-tree").strip() != "true":
        raise _not_a_repo(root)


def resolve_ref(root: Path, ref: str) -> str:
    """The commit id ``ref`` names; :class:`GitError` ("unknown git ref") when it names none."""
    _require_repo(root)
    sha = run_git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                  check=False).strip()
    if not sha:
        raise GitError(f"unknown git ref '{ref}'")
    return sha


def _fields(out: str) -> list[str]:
    """Split ``-z`` output into its NUL-terminated fields."""
    return out.split("\0")[:-1] if out else []


def _parse_numstat(out: str) -> set[str]:
    """Paths (the new side of renames and copies) that ``git diff --numstat -z`` reports as binary."""
    fields, binary, i = _fields(out), set(), 0
    while i < len(fields):
        added, deleted, path = fields[i].split("\t", 2)
        if not path:  # rename/copy: the two paths follow as fields of their own
            path, i = fields[i + 2], i + 2
        if (added, deleted) == ("-", "-"):
            binary.add(path)
        i += 1
    return binary


class _RawEntry(NamedTuple):
    """One record of ``git diff --raw -z``; paths are repository-relative."""

    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    letter: str
    old_path: str | None
    path: str


def _parse_raw(out: str) -> list[_RawEntry]:
    """Parse ``git diff --raw -z`` output."""
    fields, entries, i = _fields(out), [], 0
    while i < len(fields):
        old_mode, new_mode, old_sha, new_sha, status = fields[i].lstrip(":").split(" ")
        two_paths = status[0] in "RC"
        old_path, path = (fields[i + 1], fields[i + 2]) if two_paths else (None, fields[i + 1])
        entries.append(_RawEntry(old_mode, new_mode, old_sha, new_sha, status[0], old_path, path))
        i += 3 if two_paths else 2
    return entries


def _symlink_target(toplevel: Path, entry: _RawEntry) -> str:
    """A symlink's target: its blob, or the link itself when git left the blob id zero (work tree)."""
    if _ZERO_SHA.match(entry.new_sha):
        return os.readlink(toplevel / entry.path)
    return run_git(toplevel, "cat-file", "blob", entry.new_sha)


def _same_content(toplevel: Path, entry: _RawEntry) -> bool:
    """True when both sides hold the same blob (work-tree files, left zero by git, are hashed)."""
    new_sha = entry.new_sha
    if _ZERO_SHA.match(new_sha):
        new_sha = run_git(toplevel, "hash-object", "--no-filters", "--", entry.path).strip()
    return new_sha == entry.old_sha


def _to_change(toplevel: Path, entry: _RawEntry, binary: set[str]) -> FileChange:
    """Build the FileChange of one raw diff record."""
    is_symlink = entry.new_mode == SYMLINK_MODE and entry.letter != "D"
    mode_only = entry.letter == "M" and entry.old_mode != entry.new_mode and _same_content(toplevel, entry)
    return FileChange(
        path=entry.path, old_path=entry.old_path, old_mode=entry.old_mode, new_mode=entry.new_mode,
        status="mode_changed" if mode_only else _STATUS.get(entry.letter, "unknown"),
        is_symlink=is_symlink, symlink_target=_symlink_target(toplevel, entry) if is_symlink else None,
        is_submodule=SUBMODULE_MODE in (entry.old_mode, entry.new_mode), is_binary=entry.path in binary,
    )


def _reroot(change: FileChange, prefix: str) -> FileChange | None:
    """Re-express a repository-relative change relative to the subdirectory ``prefix``.

    Changes outside it are dropped; a rename or copy across its border becomes an addition (from outside)
    or, for a rename, a deletion (to outside): that is what the subdirectory sees.
    """
    if not prefix:
        return change
    new_in = change.path.startswith(prefix)
    old_in = change.old_path is not None and change.old_path.startswith(prefix)
    if new_in and (old_in or change.old_path is None):
        update = {"path": change.path[len(prefix):], "old_path": change.old_path and change.old_path[len(prefix):]}
    elif new_in:
        update = {"path": change.path[len(prefix):], "old_path": None, "status": "added"}
    elif old_in and change.status == "renamed":
        update = {"path": change.old_path[len(prefix):], "old_path": None, "status": "deleted",
                  "new_mode": "000000", "is_symlink": False, "symlink_target": None, "is_binary": False}
    else:
        return None
    return change.model_copy(update=update)


def _diff_changes(root: Path, *revs: str) -> list[FileChange]:
    """The changes ``git diff <revs>`` reports, relative to ``root``."""
    toplevel, prefix = repo_toplevel(root), _prefix(root)
    binary = _parse_numstat(run_git(toplevel, "diff", "--numstat", "-z", *_DIFF_OPTS, *revs, "--"))
    raw = run_git(toplevel, "diff", "--raw", "-z", "--no-abbrev", *_DIFF_OPTS, *revs, "--")
    changes = (_reroot(_to_change(toplevel, entry, binary), prefix) for entry in _parse_raw(raw))
    return [c for c in changes if c is not None]


def change_set_from_range(root: Path, base: str, head: str | None = None) -> ChangeSet:
    """The files changed between the commits ``base`` and ``head`` (HEAD when None), under ``root``."""
    head_ref = head or "HEAD"
    revs = (resolve_ref(root, base), resolve_ref(root, head_ref))
    return ChangeSet(mode="git-range", base=base, head=head_ref, files=_diff_changes(root, *revs))


def _empty_tree(root: Path) -> str:
    return run_git(root, "hash-object", "-t", "tree", os.devnull).strip()


def _looks_binary(path: Path) -> bool:
    """git's heuristic: a NUL byte in the first 8000 bytes."""
    try:
        with confine.open_regular(path) as fh:
            return b"\0" in fh.read(8000)
    except InputError:
        return True  # a FIFO or a device: never read, never diffed as text


def _untracked(root: Path) -> list[FileChange]:
    """Untracked files under ``root`` that the repository's ``.gitignore`` files do not ignore, as additions.

    Only the ignore files the repository holds count (they are part of what is reviewed); ``.git/info/exclude``
    and ``core.excludesFile`` are local to one clone and hide nothing."""
    changes = []
    for rel in _fields(run_git(root, "ls-files", "--others", "--exclude-per-directory=.gitignore", "-z")):
        full = root / rel
        link = full.is_symlink()
        changes.append(FileChange(
            path=rel, status="added", new_mode=SYMLINK_MODE if link else None, is_symlink=link,
            symlink_target=os.readlink(full) if link else None,
            is_binary=not link and full.is_file() and _looks_binary(full),
        ))
    return changes


def _under(path: str | None, wanted: list[str]) -> bool:
    return path is not None and any(w in (".", "") or path == w or path.startswith(w + "/") for w in wanted)


def narrow_change_set(changes: ChangeSet, wanted: list[str]) -> ChangeSet:
    """The part of ``changes`` under the normalised workspace-relative ``wanted`` paths (a rename counts when
    either side is wanted), for *showing* a ``--path`` review.

    Never give the narrowed set to the Phase III guard or the policy-change check: they judge the whole
    change, so a protected edit outside ``--path`` still rejects."""
    files = [f for f in changes.files if _under(f.path, wanted) or _under(f.old_path, wanted)]
    return changes.model_copy(update={"files": files})


_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_BLOBS: dict[tuple[str, str, str], bytes | None] = {}
"""Blob contents by (root, commit id, path): a commit's content never changes, so the cache cannot go stale."""
_BLOB_CACHE_BYTES = 256 * 1024 * 1024
_cached_bytes = 0


def _commit_id(root: Path, ref: str) -> str:
    """``ref`` itself when it is already a full object id (one git process less per file), else resolved."""
    return ref if _OBJECT_ID.fullmatch(ref) else resolve_ref(root, ref)


def _remember(key: tuple[str, str, str], data: bytes | None) -> None:
    global _cached_bytes
    size = len(data or b"")
    if _cached_bytes + size > _BLOB_CACHE_BYTES:
        _BLOBS.clear()
        _cached_bytes = 0
    _BLOBS[key] = data
    _cached_bytes += size


def read_file_at(root: Path, ref: str, path: str) -> bytes | None:
    """The content of ``path`` (relative to ``root``) at ``ref``; None when it is no file there."""
    sha = _commit_id(root, ref)
    key = (str(root), sha, path)
    if key in _BLOBS:
        return _BLOBS[key]
    proc = _run(root, ("cat-file", "blob", f"{sha}:./{normalize_path(path)}"), check=False)
    data = proc.stdout if proc.returncode == 0 else None
    _remember(key, data)
    return data


def prefetch_files_at(root: Path, ref: str, paths: list[str]) -> None:
    """Read every one of ``paths`` at ``ref`` with one ``git cat-file --batch`` process (instead of one process
    per file); :func:`read_file_at` then answers from the cache. Paths with a newline are left to it."""
    sha = _commit_id(root, ref)
    wanted = [p for p in dict.fromkeys(paths) if (str(root), sha, p) not in _BLOBS and "\n" not in p]
    if not wanted:
        return
    specs = "".join(f"{sha}:./{normalize_path(p)}\n" for p in wanted).encode("utf-8", "surrogateescape")
    out = _run(root, ("cat-file", "--batch"), check=False, input=specs).stdout
    at = 0
    for path in wanted:
        end = out.find(b"\n", at)
        if end < 0:
            return  # git stopped early: the rest is read one by one
        header = out[at:end].split(b" ")
        at = end + 1
        if len(header) == 3 and header[1] == b"blob" and header[2].isdigit():
            size = int(header[2])
            _remember((str(root), sha, path), out[at:at + size])
            at += size + 1
        elif len(header) == 3 and header[2].isdigit():  # a tree or a submodule commit: no file there
            at += int(header[2]) + 1
            _remember((str(root), sha, path), None)
        else:  # "<spec> missing" / "ambiguous"
            _remember((str(root), sha, path), None)


def list_files_at(root: Path, ref: str) -> list[str]:
    """Every file of ``ref`` under ``root``, relative to ``root``, sorted."""
    sha = resolve_ref(root, ref)
    return sorted(_fields(run_git(root, "ls-tree", "-r", "-z", "--name-only", sha)))
