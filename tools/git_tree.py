"""Read a revision exactly as committed, and compare the work tree with it byte for byte.

Blobs are read raw (``git cat-file --batch``): no attribute, filter driver, textconv, ``export-ignore`` or
replace object applies, so what is read is what the commit holds. :func:`snapshot_tree` writes a revision into
a temporary directory for readers that need files on disk (charts, values, app sources, Dockerfiles), and
:func:`worktree_differs` says which paths of the work tree differ from a revision, so a review of ``--head``
can warn that the work tree is not what it reviewed. :func:`content_edits` is the work-tree review's own
comparison: every tracked file's raw bytes against its base blob, whatever git's stat cache, fsmonitor,
index flags or clean filters claim.

Two differences are not edits, because a plain checkout produces them: a Git LFS file whose content matches
the pointer's ``oid`` and ``size``, and CRLF line endings where the checkout asks for them (``eol=crlf``, or
``core.autocrlf=true`` on a file that is not ``-text``).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pathspec

from core import confine
from core.errors import GitError
from core.models import FileChange
from tools.git import SUBMODULE_MODE, SYMLINK_MODE, resolve_ref, run_git, run_git_bytes

MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
"""A snapshot larger than this is refused (a review never needs a repository's large binaries)."""
_MAX_CONVERTED = 64 * 1024 * 1024
_LFS_HEADER = b"version https://git-lfs.github.com/spec/v1\n"


class TreeEntry(NamedTuple):
    """One ``git ls-tree -r`` record: mode, object type (``blob``, ``commit`` for a submodule), id, path."""

    mode: str
    type: str
    sha: str
    path: str


def object_format(root: Path) -> str:
    """The repository's hash algorithm: ``sha1`` or ``sha256``."""
    fmt = run_git(root, "rev-parse", "--show-object-format", check=False).strip()
    return fmt if fmt in ("sha1", "sha256") else "sha1"


def blob_id(data: bytes, fmt: str = "sha1") -> str:
    """The object id git gives a blob holding ``data`` (no filters)."""
    return hashlib.new(fmt, b"blob %d\0" % len(data) + data).hexdigest()


def file_blob_id(path: Path, fmt: str = "sha1") -> str:
    """:func:`blob_id` of a regular file's raw bytes, streamed (the file is never read whole); a FIFO, a device or
    a socket is never opened and matches no blob (so it counts as modified)."""
    try:
        stream = confine.open_regular(path)
    except confine.NotRegularFile:
        return "not-a-regular-file"
    with stream as fh:
        digest = hashlib.new(fmt, b"blob %d\0" % os.fstat(fh.fileno()).st_size)
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_entries(root: Path, rev: str, path: str | None = None) -> dict[str, TreeEntry]:
    """Every entry of ``rev`` under ``root`` (files, symlinks, submodules), keyed by path relative to ``root``;
    only ``path`` (taken literally) and what is under it when given."""
    sha = resolve_ref(root, rev)
    out: dict[str, TreeEntry] = {}
    limit = ("--", path) if path is not None else ()
    listing = run_git_bytes(root, "ls-tree", "-r", "-z", sha, *limit, env={"GIT_LITERAL_PATHSPECS": "1"})
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, obj = meta.decode().split(" ")
        path = raw_path.decode("utf-8", errors="surrogateescape")
        out[path] = TreeEntry(mode, kind, obj, path)
    return out


def read_blobs(root: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """The raw content of each blob id (one ``git cat-file --batch``); ids that name no blob are left out."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    data = run_git_bytes(root, "cat-file", "--batch", input="".join(f"{s}\n" for s in wanted).encode())
    out: dict[str, bytes] = {}
    pos = 0
    for sha in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split(b" ")
        pos = end + 1
        if len(header) != 3:  # "<sha> missing" or "<sha> ambiguous"
            continue
        size = int(header[2])
        if header[1] == b"blob":
            out[sha] = data[pos:pos + size]
        pos += size + 1
    return out


def read_entry_at(root: Path, rev: str, path: str) -> tuple[str, bytes] | None:
    """``(mode, raw content)`` of ``path`` (relative to ``root``) at ``rev``; a symlink's content is its target.
    None when ``rev`` holds no file there."""
    entry = tree_entries(root, rev, path).get(path)
    if entry is None or entry.type != "blob":
        return None
    return entry.mode, read_blobs(root, [entry.sha]).get(entry.sha, b"")


def read_at(root: Path, rev: str, path: str) -> bytes | None:
    """The raw content of ``path`` at ``rev`` (no filters, no attributes); None when it is no file there."""
    found = read_entry_at(root, rev, path)
    return found[1] if found else None


def materialize(root: Path, rev: str, dest: Path, max_bytes: int = MAX_SNAPSHOT_BYTES) -> list[str]:
    """Write every file of ``rev`` under ``root`` into ``dest`` as committed (modes, symlinks as symlinks,
    submodules as empty directories); returns the paths written. Raises :class:`GitError` past ``max_bytes``."""
    entries = tree_entries(root, rev)
    blobs = [e for e in entries.values() if e.type == "blob"]
    sizes = run_git_bytes(root, "cat-file", "--batch-check=%(objectsize)",
                          input="".join(f"{e.sha}\n" for e in blobs).encode()).split()
    if sum(int(s) for s in sizes if s.isdigit()) > max_bytes:
        raise GitError(f"revision {rev} holds more than {max_bytes // (1024 * 1024)} MiB under {root}; not snapshotted")
    contents = read_blobs(root, [e.sha for e in blobs])
    for entry in entries.values():
        target = dest / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.mode == SUBMODULE_MODE:
            target.mkdir(exist_ok=True)
        elif entry.mode == SYMLINK_MODE:
            os.symlink(os.fsdecode(contents[entry.sha]), target)
        else:
            target.write_bytes(contents[entry.sha])
            target.chmod(0o755 if entry.mode == "100755" else 0o644)
    return sorted(entries)


@contextmanager
def snapshot_tree(root: Path, rev: str) -> Iterator[Path]:
    """A temporary directory holding ``rev`` as committed (the part under ``root``), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="infra-orch-snapshot-") as tmp:
        dest = Path(tmp) / "tree"
        dest.mkdir()
        materialize(root, rev, dest)
        yield dest


class _Checkout:
    """What a plain checkout would make of a blob at a path: the conversions this work tree legitimately applies."""

    def __init__(self, root: Path):
        self.root = root
        self.autocrlf = run_git(root, "config", "core.autocrlf", check=False).strip().lower() == "true"

    def crlf_expected(self, path: str) -> bool:
        out = run_git(self.root, "check-attr", "-z", "eol", "text", "--", path, check=False).split("\0")
        attrs = dict(zip(out[1::3], out[2::3], strict=False))
        if attrs.get("eol") == "crlf":
            return True
        return self.autocrlf and attrs.get("text") not in ("unset", "false")

    def same(self, full: Path, rel: str, blob: bytes) -> bool:
        """True when the file ``full`` is what checking ``blob`` out at ``rel`` produces (beyond byte equality)."""
        if not full.is_file() or full.is_symlink():  # a FIFO or a device is never read: it is no checkout
            return False
        size = full.stat().st_size
        if blob.startswith(_LFS_HEADER):
            fields = dict(line.split(b" ", 1) for line in blob.splitlines()[1:] if b" " in line)
            digest = hashlib.sha256()
            with confine.open_regular(full) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            return fields.get(b"oid") == b"sha256:" + digest.hexdigest().encode() and \
                fields.get(b"size") == str(size).encode()
        if size > _MAX_CONVERTED or b"\r\n" in blob:
            return False
        with confine.open_regular(full) as fh:
            raw = fh.read(_MAX_CONVERTED + 1)
        return b"\r\n" in raw and raw.replace(b"\r\n", b"\n") == blob and self.crlf_expected(rel)


def _compare(root: Path, entry: TreeEntry | None, rel: str, blob: bytes | None, fmt: str,
             checkout: _Checkout) -> str | None:
    """What differs between the work-tree file ``rel`` and its tree entry: a FileChange status, or None."""
    full = root / rel
    link = full.is_symlink()
    if entry is None:
        return "added" if link or full.exists() else None
    if not link and not full.exists():
        return "deleted"
    if (entry.mode == SYMLINK_MODE) != link or (not link and not full.is_file()):
        return "type_changed"
    if link:
        return None if os.fsencode(os.readlink(full)) == blob else "modified"
    try:
        if file_blob_id(full, fmt) != entry.sha and not (blob is not None and checkout.same(full, rel, blob)):
            return "modified"
    except OSError:  # unreadable: it cannot be shown unchanged, so it counts as changed
        return "modified"
    executable = bool(os.stat(full).st_mode & 0o111)
    return "mode_changed" if executable != (entry.mode == "100755") else None


def checkout_made(root: Path, candidates: dict[str, str]) -> set[str]:
    """The paths among ``candidates`` (path -> base blob id) whose work-tree bytes differ from the blob only as a
    checkout makes them differ (an LFS file matching its pointer, CRLF the checkout asks for)."""
    blobs = read_blobs(root, candidates.values())
    checkout = _Checkout(root)
    return {p for p, sha in candidates.items()
            if sha in blobs and (root / p).is_file() and not (root / p).is_symlink()
            and checkout.same(root / p, p, blobs[sha])}


def content_edits(root: Path, rev: str, seen: set[str]) -> list[FileChange]:
    """Files of ``rev`` under ``root`` (other than ``seen``) whose work-tree bytes, type or mode differ from it.

    Compares raw bytes with the blob (no filters, no stat cache, no fsmonitor), so it sees edits git's own diff
    was told to skip. Submodules are left to ``git diff``."""
    entries = {p: e for p, e in tree_entries(root, rev).items() if e.type == "blob" and p not in seen}
    fmt, checkout = object_format(root), _Checkout(root)
    changes = []
    suspects = [e for e in entries.values() if _quick_differs(root, e, fmt)]
    blobs = read_blobs(root, [e.sha for e in suspects])
    for entry in suspects:
        status = _compare(root, entry, entry.path, blobs.get(entry.sha), fmt, checkout)
        if status == "mode_changed":
            changes.append(FileChange(path=entry.path, status=status, old_mode=entry.mode,
                                      new_mode="100644" if entry.mode == "100755" else "100755"))
        elif status == "type_changed":
            link = (root / entry.path).is_symlink()
            changes.append(FileChange(path=entry.path, status=status, old_mode=entry.mode, is_symlink=link,
                                      new_mode=SYMLINK_MODE if link else "100644",
                                      symlink_target=os.readlink(root / entry.path) if link else None))
        elif status:
            changes.append(FileChange(path=entry.path, status=status, old_mode=entry.mode, new_mode=entry.mode))
    return changes


def _quick_differs(root: Path, entry: TreeEntry, fmt: str) -> bool:
    """A cheap first pass: True unless the work-tree file is byte-identical with the same type and mode."""
    full = root / entry.path
    try:
        if full.is_symlink() or entry.mode == SYMLINK_MODE or not full.is_file():
            return True
        return file_blob_id(full, fmt) != entry.sha or bool(os.stat(full).st_mode & 0o111) != (entry.mode == "100755")
    except OSError:
        return True


def newly_ignored(root: Path, ignore_files: Iterable[str]) -> list[str]:
    """Untracked files that only the work tree's edits of ``ignore_files`` (``.gitignore`` paths) hide: matched by
    a line HEAD's version of that file lacks. A change cannot hide a new file by ignoring it in the same change."""
    out: set[str] = set()
    for rel in ignore_files:
        full = root / rel
        if full.is_symlink() or not full.is_file():
            continue
        before = set((read_at(root, "HEAD", rel) or b"").decode("utf-8", errors="replace").splitlines())
        added = [line for line in full.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line not in before and line.strip() and not line.startswith("#")]
        if not added:
            continue
        spec, where = pathspec.GitIgnoreSpec.from_lines(added), posixpath.dirname(rel)
        listed = run_git_bytes(root, "ls-files", "-z", "--others", "--ignored", "--exclude-per-directory=.gitignore",
                               "--", where or ".", env={"GIT_LITERAL_PATHSPECS": "1"})
        for path in (p.decode("utf-8", errors="surrogateescape") for p in listed.split(b"\0") if p):
            if spec.match_file(path[len(where) + 1:] if where else path):
                out.add(path)
    return sorted(out)


def _under(path: str, wanted: list[str]) -> bool:
    return any(w in ("", ".") or path == w or path.startswith(w.rstrip("/") + "/") for w in wanted)


def worktree_differs(root: Path, rev: str, paths: Iterable[str] = (".",)) -> list[str]:
    """The paths (files, or files under the directories given; ``.`` for everything) whose work-tree state
    differs from ``rev``: content, mode, type, or present on one side only. Sorted; empty when they agree."""
    from tools.workspace import walk

    wanted = [p for p in paths] or ["."]
    listed = tree_entries(root, rev) if any(w in ("", ".") for w in wanted) else \
        {p: e for w in dict.fromkeys(w.rstrip("/") for w in wanted) for p, e in tree_entries(root, rev, w).items()}
    entries = {p: e for p, e in listed.items() if e.type == "blob" and _under(p, wanted)}
    on_disk: set[str] = set()
    for w in wanted:
        start = root / w
        if start.is_symlink() or start.is_file():
            on_disk.add(Path(w).as_posix())
        elif start.is_dir():
            on_disk.update(p.relative_to(root).as_posix() for p, _ in walk(start))
    fmt, checkout = object_format(root), _Checkout(root)
    blobs = read_blobs(root, [e.sha for e in entries.values()])
    differ = [rel for rel in sorted(entries.keys() | on_disk)
              if _compare(root, entries.get(rel), rel, blobs.get(entries[rel].sha) if rel in entries else None,
                          fmt, checkout)]
    return differ
