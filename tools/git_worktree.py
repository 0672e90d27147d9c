"""The work-tree change set: staged, unstaged and untracked changes against ``HEAD``, hidden edits included.

Kept apart from :mod:`tools.git` because it also compares blobs with the work tree (:mod:`tools.git_tree`),
which itself runs git through :mod:`tools.git`.
"""

from __future__ import annotations

from pathlib import Path

from core.models import ChangeSet, FileChange
from tools.git import (
    _DIFF_OPTS,
    SYMLINK_MODE,
    _empty_tree,
    _parse_numstat,
    _parse_raw,
    _prefix,
    _RawEntry,
    _require_repo,
    _reroot,
    _to_change,
    _untracked,
    neutral_filters,
    repo_toplevel,
    run_git,
)
from tools.git_tree import checkout_made, content_edits, newly_ignored


def _diff_worktree(root: Path, base: str) -> list[FileChange]:
    """``git diff <base>`` against the work tree, with every filter driver the repository configures disabled."""
    toplevel, prefix = repo_toplevel(root), _prefix(root)
    neutral = neutral_filters(toplevel)
    binary = _parse_numstat(run_git(toplevel, "diff", "--numstat", "-z", *_DIFF_OPTS, base, "--", config=neutral))
    raw = run_git(toplevel, "diff", "--raw", "-z", "--no-abbrev", *_DIFF_OPTS, base, "--", config=neutral)
    entries = _parse_raw(raw)
    checkout_made = _checkout_conversions(toplevel, entries)
    changes = (_reroot(_to_change(toplevel, entry, binary), prefix) for entry in entries
               if entry.path not in checkout_made)
    return [c for c in changes if c is not None]


def _checkout_conversions(toplevel: Path, entries: list[_RawEntry]) -> set[str]:
    """Paths git reports as modified only because its filter drivers are disabled: Git LFS files whose
    content matches the committed pointer, and CRLF a checkout writes (see :mod:`tools.git_tree`)."""
    candidates = {e.path: e.old_sha for e in entries
                  if e.letter == "M" and e.old_mode == e.new_mode and e.old_mode != SYMLINK_MODE}
    return checkout_made(toplevel, candidates) if candidates else set()


def change_set_from_worktree(root: Path) -> ChangeSet:
    """Staged and unstaged changes against HEAD plus untracked, not-ignored files, under ``root``.

    Beyond git's diff, every file of HEAD is compared byte for byte with the work tree
    (:func:`tools.git_tree.content_edits`), so index flags (``skip-worktree``, ``assume-unchanged``), a forged
    stat cache, clean filters and encoding attributes hide nothing; untracked files that only the work tree's own
    ``.gitignore`` edits ignore are listed too (:func:`tools.git_tree.newly_ignored`). In a repository without
    commits yet, everything is compared with the empty tree.
    """
    _require_repo(root)
    has_head = bool(run_git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip())
    base = "HEAD" if has_head else _empty_tree(root)
    files = _diff_worktree(root, base) + _untracked(root)
    edited_ignores = [f.path for f in files if f.status != "deleted" and f.path.rsplit("/", 1)[-1] == ".gitignore"]
    files += [FileChange(path=p, status="added") for p in newly_ignored(root, edited_ignores)] if has_head else []
    seen = {p for f in files for p in (f.path, f.old_path) if p}
    hidden = content_edits(root, "HEAD", seen) if has_head else []
    files = sorted(files + hidden, key=lambda f: f.path)
    return ChangeSet(mode="git-worktree", base="HEAD" if has_head else None, files=files)
