"""Build a scenario's repository in a temporary directory: fixture + base commit, then the head layer.

git runs isolated from the machine's configuration (no global/system config, fixed identity, no signing),
so a scenario builds the same everywhere. The head commit is ``HEAD`` and the base commit ``HEAD~1``;
in ``worktree`` mode the head layer is left uncommitted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import yaml

from core.config import CONFIG_FILENAME
from core.errors import InputError
from infra_orchestrator.evals.scenario import Layer, LoadedScenario

BASE_REF = "HEAD~1"
HEAD_REF = "HEAD"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "eval",
    "GIT_AUTHOR_EMAIL": "eval@example.invalid",
    "GIT_COMMITTER_NAME": "eval",
    "GIT_COMMITTER_EMAIL": "eval@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}
"""Environment that makes git ignore the machine's configuration and produce stable commit ids."""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; raise :class:`InputError` with git's stderr when it fails."""
    proc = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args], cwd=repo,
                          capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=False)
    if proc.returncode != 0:
        raise InputError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def _place(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    return path


def apply_layer(tree: Path, layer: Layer, scenario_dir: Path, default_dir: str) -> None:
    """Apply ``layer`` to the work tree: overlay dir, files, deletes, renames, symlinks, chmod, patch."""
    overlay = scenario_dir / (layer.dir or default_dir)
    if overlay.is_dir():
        shutil.copytree(overlay, tree, symlinks=True, dirs_exist_ok=True)
    elif layer.dir:
        raise InputError(f"{scenario_dir}: layer dir '{layer.dir}' does not exist")
    for rel, text in layer.files.items():
        _place(tree / rel).write_text(text, encoding="utf-8")
    for rel in layer.delete:
        (tree / rel).unlink()
    for old, new in layer.rename.items():
        (tree / old).rename(_place(tree / new))
    for rel, target in layer.symlinks.items():
        _place(tree / rel).symlink_to(target)
    for rel in layer.executable:
        (tree / rel).chmod(0o755)
    if layer.patch:
        git(tree, "apply", str(scenario_dir / layer.patch))


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)


def _build_base(loaded: LoadedScenario, fixtures: Path, dest: Path) -> None:
    """The fixture, the scenario's config and its base layer, committed once at ``dest``."""
    scenario, spec = loaded.scenario, loaded.scenario.workspace
    if spec.fixture:
        source = fixtures / spec.fixture
        if not source.is_dir():
            raise InputError(f"scenario {scenario.id}: fixture '{spec.fixture}' not found under {fixtures}")
        shutil.copytree(source, dest, symlinks=True)
    else:
        dest.mkdir(parents=True)
    git(dest, "init", "--quiet", "--template=", "--initial-branch=main")
    if spec.config is not None:
        (dest / CONFIG_FILENAME).write_text(yaml.safe_dump(spec.config, sort_keys=False), encoding="utf-8")
    apply_layer(dest, spec.base, loaded.path, "base")
    _commit(dest, "base")


def shared_base_key(loaded: LoadedScenario) -> str | None:
    """A key for base commits several scenarios share (same fixture and config, no base edits), else None."""
    spec = loaded.scenario.workspace
    if spec.base != Layer() or (loaded.path / "base").exists():
        return None
    payload = json.dumps([spec.fixture, spec.config], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class WorkspaceBuilder:
    """Builds scenario repositories under ``root``: base commits shared by scenarios are built once
    (thread-safe) and copied, so a scenario costs one commit."""

    def __init__(self, fixtures: Path, root: Path) -> None:
        self.fixtures, self.root = fixtures, root
        self._bases: dict[str, Path] = {}
        self._lock = threading.Lock()

    def _base(self, loaded: LoadedScenario, dest: Path) -> None:
        key = shared_base_key(loaded)
        if key is None:
            _build_base(loaded, self.fixtures, dest)
            return
        with self._lock:
            if key not in self._bases:
                _build_base(loaded, self.fixtures, self.root / ".bases" / key)
                self._bases[key] = self.root / ".bases" / key
        shutil.copytree(self._bases[key], dest, symlinks=True)

    def build(self, loaded: LoadedScenario, before_head: Callable[[Path], None] | None = None) -> Path:
        """Create the scenario's repository at ``root/<id>``: base commit (``HEAD~1``), head commit
        (``HEAD``), or in ``worktree`` mode the head layer left uncommitted; ``before_head`` runs on the
        base work tree first. Returns its path."""
        scenario = loaded.scenario
        dest = self.root / scenario.id
        self._base(loaded, dest)
        if before_head:
            before_head(dest)
        apply_layer(dest, scenario.workspace.head, loaded.path, "head")
        if scenario.request.mode != "worktree":
            _commit(dest, scenario.title)
        return dest
