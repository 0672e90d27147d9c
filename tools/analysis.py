"""Compose the deterministic tools into the two steps the graph runs: collect inputs, then check them.

Pure and LangGraph-free, so the lint-style ``check`` command and the graph share one code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from infra_orchestrator.config import Config
from infra_orchestrator.errors import InputError
from infra_orchestrator.models import ChangeRequest, ChangeSet, FileChange, Finding, K8sObject, StageRequest
from tools import git
from tools.checks import run_checks
from tools.guard import guard_change_set
from tools.manifests import load_manifest_text
from tools.workspace import decode_text, read_text, resolve_inside

PRUNE_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".infra-orchestrator", ".mypy_cache", ".tox"}
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Collected:
    """What intake produced: the change set, the infra files in scope, their objects and load findings."""

    changes: ChangeSet
    scope: list[str]
    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    scope_note: str = ""


def is_yaml(path: str) -> bool:
    return path.lower().endswith(YAML_SUFFIXES)


def walk_files(root: Path) -> list[str]:
    """Every regular file under ``root`` (posix, relative), pruning VCS/dependency directories."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in PRUNE_DIRS)
        rel_dir = Path(dirpath).relative_to(root)
        out.extend((rel_dir / f).as_posix() for f in sorted(filenames))
    return out


def infra_spec(config: Config) -> tuple[pathspec.PathSpec, pathspec.PathSpec]:
    include = pathspec.GitIgnoreSpec.from_lines(config.kubernetes.paths)
    exclude = pathspec.GitIgnoreSpec.from_lines(config.checks.exclude_paths)
    return include, exclude


def in_scope(paths: list[str], config: Config) -> list[str]:
    """The infrastructure files among ``paths`` (config ``kubernetes.paths`` minus ``checks.exclude_paths``)."""
    include, exclude = infra_spec(config)
    return [p for p in paths if include.match_file(p) and not exclude.match_file(p)]


def _explicit_changes(root: Path, paths: list[str]) -> ChangeSet:
    files: list[FileChange] = []
    for p in paths:
        full = resolve_inside(root, p)
        if not full.exists():
            raise InputError(f"path '{p}' does not exist in {root}")
        rel = full.relative_to(root.resolve()).as_posix()
        if full.is_dir():
            files += [FileChange(path=f"{rel}/{f}" if rel != "." else f, status="modified")
                      for f in walk_files(full)]
        else:
            files.append(FileChange(path=rel, status="modified"))
    return ChangeSet(mode="paths", files=files)


def change_set_for(req: ChangeRequest | StageRequest, root: Path) -> ChangeSet:
    """The change under review: a git range, explicit paths, or (no git info) the whole directory."""
    if isinstance(req, StageRequest):
        return ChangeSet(mode="directory")
    if req.base or req.head or req.worktree:
        if req.worktree:
            changes = git.change_set_from_worktree(root)
        else:
            changes = git.change_set_from_range(root, req.base or "HEAD", req.head)
        if req.paths:
            wanted = [p.rstrip("/") for p in req.paths]
            changes.files = [f for f in changes.files
                             if any(f.path == w or f.path.startswith(w + "/") for w in wanted)]
        return changes
    if req.paths:
        return _explicit_changes(root, req.paths)
    return ChangeSet(mode="directory")


def _read_at_head(root: Path, changes: ChangeSet, rel: str) -> tuple[str | None, Finding | None]:
    if changes.mode == "git-range" and changes.head:  # the work tree may differ from the reviewed head
        data = git.read_file_at(root, changes.head, rel)
        if data is None:
            return None, None
        return decode_text(data, rel)
    if not (root / rel).is_file():
        return None, None
    return read_text(root, rel)


def collect(req: ChangeRequest | StageRequest, root: Path, config: Config) -> Collected:
    """Intake: the change set, the infra files in scope, and their parsed Kubernetes objects."""
    changes = change_set_for(req, root)
    if changes.mode == "directory":
        candidates = walk_files(root)
        note = f"the directory {root.name or root} as a whole (no change set; every infrastructure file in scope)"
    else:
        candidates = [f.path for f in changes.files if f.status != "deleted"]
        note = f"{len(changes.files)} changed path(s) ({changes.mode})"
    scope = in_scope(candidates, config)
    out = Collected(changes=changes, scope=scope, scope_note=note)
    for rel in scope:
        if not is_yaml(rel):
            continue
        text, problem = _read_at_head(root, changes, rel)
        if problem:
            out.findings.append(problem)
        if text is None:
            continue
        objs, findings = load_manifest_text(text, rel)
        out.objects += objs
        out.findings += findings
    return out


def deterministic_findings(req: ChangeRequest | StageRequest, collected: Collected, config: Config) -> list[Finding]:
    """Run the engine over the objects and the Phase III guard over the change set."""
    findings = list(collected.findings)
    findings += run_checks(collected.objects, config)
    # HOOK: further deterministic analyzers (one call each) go here.
    if isinstance(req, ChangeRequest):
        guarded = collected.changes if collected.changes.mode != "directory" else ChangeSet(mode="directory")
        findings += guard_change_set(guarded, config.phase3)
    return sorted(findings, key=Finding.sort_key)
