"""Build real, throw-away git repositories for tests.

Isolated from the user's git configuration (no global/system config, fixed identity, no signing), so the
result does not depend on the machine. Typical use::

    repo = make_repo(tmp_path, {"backend/app.py": "print('phase 3')\\n"})   # Phase III baseline
    base = git(repo, "rev-parse", "HEAD")
    commit(repo, {"k8s/deploy.yaml": "kind: Deployment\\n"}, "phase IV", delete=["backend/app.py"])

A file's content may be ``str``, ``bytes`` or :class:`Symlink` (its target).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
"""Environment that makes git ignore the machine's configuration."""


class Symlink(NamedTuple):
    """File content meaning "a symbolic link to ``target``"."""

    target: str


Content = str | bytes | Symlink


def isolate_git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every git process of the test (including the code under test) ignore the user's config."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return stdout; fails the test with git's stderr when git fails."""
    proc = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def write_files(repo: Path, files: dict[str, Content]) -> None:
    """Write ``files`` (path relative to ``repo`` -> content) into the work tree, replacing what is there."""
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        if isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def commit(repo: Path, files: dict[str, Content], message: str, delete: list[str] | tuple[str, ...] = ()) -> str:
    """Write ``files``, remove ``delete``, commit everything and return the new commit id."""
    write_files(repo, files)
    for rel in delete:
        (repo / rel).unlink()
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(tmp_path: Path, files: dict[str, Content], message: str = "Phase III application") -> Path:
    """Create ``tmp_path/repo`` with one commit holding ``files`` (branch ``main``) and return its path."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit(repo, files, message)
    return repo
