"""A committed copy of this checkout (the work tree as it is, uncommitted edits included) for tests that must
clone or install the project the way a user would: ``pre-commit try-repo``, ``uv tool run --from``, a wheel."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clirun import ROOT
from tests.gitrepo import git


def tracked_files(root: Path = ROOT) -> list[str]:
    """The files git tracks or would track in ``root`` (ignored files, such as .venv, left out)."""
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"not a git checkout: {proc.stderr.decode(errors='replace').strip()}")
    return [p for p in proc.stdout.decode().split("\0") if p and (root / p).is_file()]


def snapshot(dest: Path, root: Path = ROOT) -> Path:
    """Copy the checkout's files into ``dest``, make it a git repository with one commit and return it."""
    for rel in tracked_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "snapshot of the checkout under test")
    return dest
