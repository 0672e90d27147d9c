"""Which infrastructure a stage decision judges: the feature's own, never the rest of the repository.

* The feature's **changes** are its branch's commits since it forked, and only when the checked-out branch is
  the named feature's (another feature named from a feature branch has no change set here). Every stage guards
  them for Phase III.
* Before implement (constitution … analyze) no infrastructure is judged: the gates judge the workflow
  artifacts, so "Kubernetes Best Practices" is N/A.
* ``implement`` and ``done`` also judge the feature's infrastructure deliverables: the infrastructure files the
  branch changed or, without a branch, the paths its ``tasks.md`` and ``plan.md`` name (existing files and
  directories inside the workspace, filtered by ``kubernetes.paths`` like any review).

The decision's scope note says which scope was used.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import InputError
from core.models import ChangeSet, StageRequest
from tools import git
from tools.workflow import current_branch, feature_base, feature_from_branch, resolve_feature
from tools.workspace import read_text, resolve_inside, walk

INFRA_TARGETS = frozenset({"implement", "done"})
"""Targets whose decision judges the feature's infrastructure deliverables."""
NAMING_ARTIFACTS = ("tasks.md", "plan.md")
MAX_NAMED_FILES = 2_000

_PATH_TOKEN = re.compile(r"`([^`\s]+)`|(?<![\w:/.-])((?:\.?/)?[\w.-]+(?:/[\w.*-]+)+/?|[\w.-]*Dockerfile[\w.-]*)")
"""A path as artifacts write one: in backticks, or a bare word with a slash (or a Dockerfile name)."""


def _feature_dir(root: Path, name: str) -> Path | None:
    try:
        return resolve_feature(root, name)
    except InputError:
        return None


def _branch_is_feature(root: Path, feature_dir: Path) -> bool:
    branch = feature_from_branch(current_branch(root))
    here = _feature_dir(root, branch) if branch else None
    return here is not None and here.resolve() == feature_dir.resolve()


def feature_changes(req: StageRequest, root: Path) -> ChangeSet:
    """The named feature's own changes: its branch's commits since it forked when that branch is checked out;
    otherwise no change set (``directory``)."""
    feature_dir = _feature_dir(root, req.feature)
    if feature_dir is None or not _branch_is_feature(root, feature_dir):
        return ChangeSet(mode="directory")
    base = feature_base(root)
    return git.change_set_from_range(root, base) if base else ChangeSet(mode="directory")


def named_paths(root: Path, feature_dir: Path) -> list[str]:
    """The workspace files the feature's ``tasks.md`` and ``plan.md`` name (directories expanded), sorted."""
    real_root = Path(root).resolve()
    found: set[str] = set()
    for name in NAMING_ARTIFACTS:
        artifact = feature_dir / name
        if not artifact.is_file():
            continue
        try:  # the one confined reader: an artifact symlinked out of the workspace is not read
            text = read_text(root, artifact.resolve().relative_to(real_root).as_posix())[0] or ""
        except (InputError, ValueError):
            continue
        for match in _PATH_TOKEN.finditer(text):
            token = (match.group(1) or match.group(2)).strip().rstrip(".,;:)")
            if not token or "://" in token or token.startswith(("/", "~")) or ".." in token.split("/"):
                continue
            try:
                full = resolve_inside(root, token.removeprefix("./"))
            except InputError:
                continue
            if full.is_file():
                found.add(full.relative_to(real_root).as_posix())
            elif full.is_dir() and full != real_root:
                found.update(p.relative_to(real_root).as_posix() for p, is_link in walk(full) if not is_link)
            if len(found) > MAX_NAMED_FILES:
                break
    return sorted(found)[:MAX_NAMED_FILES]


def stage_candidates(req: StageRequest, root: Path, changes: ChangeSet) -> tuple[list[str], str]:
    """The candidate infrastructure files of a stage decision and the note that says which scope was used."""
    guarded = (f"; Phase III is guarded over the feature branch's {len(changes.files)} changed path(s)"
               if changes.mode != "directory" else "")
    if req.target not in INFRA_TARGETS:
        return [], (f"no infrastructure in this feature's scope before implement: the '{req.target}' gates judge "
                    f"the workflow artifacts{guarded}")
    if changes.mode != "directory":
        paths = [f.path for f in changes.files if f.status != "deleted"]
        return paths, f"the feature branch's {len(changes.files)} changed path(s) since it forked ({changes.base[:12]})"
    feature_dir = _feature_dir(root, req.feature)
    paths = named_paths(root, feature_dir) if feature_dir is not None else []
    return paths, (f"the {len(paths)} path(s) the feature's tasks.md and plan.md name (no feature branch checked "
                   "out, so the feature's own commits are unknown)")
