"""A revision's copy of a few directories, for readers that need real files on disk.

Helm renders a chart from a directory, and the runtime contract parses app sources with their imports: both
read files, not blobs. In a git-range review they must read what merges (``--head``), not the work tree, so
:func:`head_tree` writes the listed directories as they are at ``rev`` into a temporary directory laid out like
the workspace (paths relative to the workspace root stay the same) and removes it afterwards.

Blobs are read with one ``git cat-file --batch``. A symlink is recreated as a symlink with its recorded target,
so the confined reader judges it inside the copy as it would in the workspace (a link out of the copy is out of
the workspace). Submodules are left out, as helm and the contract would not read them either.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from tools.git import SYMLINK_MODE
from tools.git_tree import read_blobs, tree_entries


def _safe(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and all(p not in ("..", ".", "") for p in parts)


@contextmanager
def head_tree(root: Path, rev: str, paths: Iterable[str]) -> Iterator[Path]:
    """A temporary directory holding ``paths`` (directories or files, relative to ``root``) as they are at
    ``rev``; removed when the block ends."""
    entries = {}
    for rel in sorted({p.strip("/") or "." for p in paths}):
        entries.update(tree_entries(root, rev, None if rel == "." else rel))
    files = {path: e for path, e in entries.items() if e.type == "blob" and _safe(path)}
    blobs = read_blobs(root, [e.sha for e in files.values()])
    with tempfile.TemporaryDirectory(prefix="infra-orch-head-") as tmp:
        dest = Path(tmp)
        for path, entry in sorted(files.items()):
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            data = blobs.get(entry.sha, b"")
            if entry.mode == SYMLINK_MODE:
                os.symlink(os.fsdecode(data), target)
            else:
                target.write_bytes(data)
        yield dest
