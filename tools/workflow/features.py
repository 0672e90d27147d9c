"""Which feature a request means, resolved as Spec-Kit's own scripts (``common.sh``) resolve it.

When no feature is named: ``$SPECIFY_FEATURE_DIRECTORY``, then ``.specify/feature.json``'s
``feature_directory`` (written by ``/speckit.specify``), then the branch — ``$SPECIFY_FEATURE`` stands in for
the git branch — matched by its prefix: ``001-``, ``0012-`` (three or more digits) or a timestamp
``20251104-1530-`` / ``20260319-143022-``. A gitflow prefix (``feat/004-name``) is dropped.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from core import confine
from core.errors import InputError
from tools import git

FEATURE_JSON = Path(".specify/feature.json")
_PREFIXED = re.compile(r"^(?P<prefix>\d{8}-\d{4,6}|\d+)-(?P<short>.+)$")
_BRANCH = re.compile(r"^(?:\d{8}-\d{4,6}|\d{3,})-\S+$")
DEFAULT_BRANCHES = ("origin/HEAD", "main", "master")
"""Where a feature branch is assumed to fork from, first match wins."""


def _parts(name: str) -> tuple[str, str] | None:
    match = _PREFIXED.match(name)
    return (match.group("prefix"), match.group("short")) if match else None


def _same_prefix(a: str, b: str) -> bool:
    return int(a) == int(b) if a.isdigit() and b.isdigit() else a == b


def _is_feature(path: Path) -> bool:
    """``specs/<prefix>-name/``, or an unnumbered ``specs/name/`` that holds a ``spec.md``."""
    return path.is_dir() and (_parts(path.name) is not None or (path / "spec.md").is_file())


def features(root: Path) -> list[Path]:
    """The feature directories under ``specs/`` of the workspace, sorted."""
    specs = root / "specs"
    return sorted(p for p in specs.iterdir() if _is_feature(p)) if specs.is_dir() else []


def _prefix(path: Path) -> str | None:
    parts = _parts(path.name)
    return parts[0] if parts else None


def _inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` when it is a directory; InputError when it escapes the workspace (after symlinks)."""
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root / rel))
    if candidate != real_root and real_root not in candidate.parents:
        raise InputError(f"feature directory '{rel}' is outside the workspace {real_root}")
    return Path(os.path.normpath(root / rel)) if candidate.is_dir() else None


def resolve_feature(root: Path, name: str) -> Path:
    """The feature directory for ``001``, ``1``, ``001-name``, ``name``, ``specs/001-name`` or any directory path
    inside the workspace; a prefixed name matches the one directory with that prefix (``004-fix-bug`` →
    ``specs/004-add-feature``), as Spec-Kit does for branches."""
    raw = name.strip().rstrip("/")
    if "/" in raw or os.sep in raw:
        found_dir = _inside(root, raw)
        if found_dir is not None and (found_dir.parent.name != "specs" or _is_feature(found_dir)):
            return found_dir
    wanted = raw.rsplit("/", 1)[-1]
    available = features(root)
    exact = [p for p in available if p.name == wanted]
    if exact:
        return exact[0]
    parts = _parts(wanted)
    numbered = [p for p in available if _prefix(p) is not None]
    if wanted.isdigit() or re.fullmatch(r"\d{8}-\d{4,6}", wanted):
        found = [p for p in numbered if _same_prefix(_prefix(p), wanted)]
    elif parts and any(_same_prefix(_prefix(p), parts[0]) for p in numbered):
        found = [p for p in numbered if _same_prefix(_prefix(p), parts[0])]
    else:
        found = [p for p in numbered if _parts(p.name)[1] == wanted]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"feature '{name}' is ambiguous: {', '.join(p.name for p in found)}")
    choices = ", ".join(p.name for p in available) or f"none (no specs/NNN-name/ directories under {root})"
    raise InputError(f"unknown feature '{name}'; features found: {choices}")


def feature_from_branch(branch: str) -> str | None:
    """The feature name of an ``NNN-name`` (3+ digits) or timestamp branch (``refs/heads/``, remote and
    gitflow prefixes allowed), else None."""
    name = branch.strip().rsplit("/", 1)[-1]
    return name if _BRANCH.match(name) else None


def current_branch(root: Path) -> str:
    """The checked-out branch of the repository holding ``root`` ("" when detached, not git, or no git)."""
    try:
        return git.run_git(root, "symbolic-ref", "--short", "-q", "HEAD", check=False).strip()
    except InputError:
        return ""


def feature_json(root: Path) -> str | None:
    """``feature_directory`` of ``.specify/feature.json``; None when the file is missing or names none.
    A file that exists but cannot be parsed is an error: guessing another feature would judge the wrong one."""
    path = root / FEATURE_JSON
    if not path.is_file():
        return None
    try:
        data = json.loads(confine.read_text_file(path, 64 * 1024, root=root))
    except (OSError, UnicodeDecodeError, ValueError, InputError) as exc:
        raise InputError(f"{FEATURE_JSON} cannot be read ({exc}); fix it or name the feature") from None
    value = data.get("feature_directory") if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def default_feature(root: Path, specify_feature: str | None = None, feature_directory: str | None = None) -> str:
    """The feature meant when none is named (a directory path or a branch-like name for :func:`resolve_feature`):
    ``feature_directory`` (``$SPECIFY_FEATURE_DIRECTORY``), ``.specify/feature.json``, then ``specify_feature``
    (``$SPECIFY_FEATURE``) or the git branch, which must look like ``NNN-name``."""
    for value in (feature_directory, feature_json(root)):
        if value and value.strip():
            path = Path(value.strip())
            rel = os.path.relpath(path, root) if path.is_absolute() else value.strip()
            if _inside(root, rel) is None:
                raise InputError(f"feature directory '{value.strip()}' does not exist")
            return Path(rel).as_posix()
    if specify_feature and specify_feature.strip():
        return specify_feature.strip().rsplit("/", 1)[-1]
    branch = current_branch(root)
    feature = feature_from_branch(branch)
    if feature is None:
        on = f"the current branch '{branch}' is not" if branch else "not on"
        raise InputError(f"no FEATURE given and {on} a feature branch (NNN-name); name the feature, set "
                         "SPECIFY_FEATURE or SPECIFY_FEATURE_DIRECTORY, or write .specify/feature.json")
    return feature


def feature_base(root: Path) -> str | None:
    """The commit the checked-out feature branch forked from, or None (then a stage approval reviews the directory).

    Only on a feature branch of a git repository: the merge-base of ``HEAD`` with the first of
    :data:`DEFAULT_BRANCHES` that exists. The feature's changes are then ``base..HEAD`` (committed work).
    """
    if feature_from_branch(current_branch(root)) is None:
        return None
    try:
        bases = (git.run_git(root, "merge-base", ref, "HEAD", check=False).strip() for ref in DEFAULT_BRANCHES)
        return next((b for b in bases if b), None)
    except InputError:
        return None
