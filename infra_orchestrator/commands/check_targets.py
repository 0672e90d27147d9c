"""What ``check`` analyses: the workspace of each path (the closest configuration up the tree), stdin, context.

A path inside a repository with a ``.infra-orchestrator.yaml`` is analysed in that repository's workspace, with
its configuration, whatever the current directory (as ruff finds the closest ``pyproject.toml``). The search
goes up from the path and stops at the first directory holding ``.git`` (the repository root) or at the
filesystem root. Without a configuration a directory is a workspace of its own and files are grouped under the
current directory; ``--config`` skips the search.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError

UNIT_MARKERS = ("Chart.yaml", "kustomization.yaml", "kustomization.yml", "Kustomization")
"""Files that make a directory one unit of analysis: a Helm chart or a kustomization, rendered as a whole."""
STDIN_NAME = "stdin.yaml"
"""The name stdin is analysed under without ``--stdin-filename`` (a YAML manifest)."""


@dataclass
class Target:
    """One engine run: a workspace ``root``, the paths of it to analyse (``[]``: all of it), and where its
    configuration comes from: ``config`` (``--config``, read wherever it is) or else the workspace's own file in
    ``config_root`` (read confined to that directory, as ``core.config.load_config`` reads a workspace's)."""

    root: Path
    config: Path | None
    rels: list[str] = field(default_factory=list)
    whole: bool = False
    config_root: Path | None = None

    def __post_init__(self) -> None:
        self.config_root = self.config_root or self.root

    def paths(self) -> list[str]:
        return [] if self.whole else sorted(set(self.rels))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def find_config(start: Path) -> Path | None:
    """The closest ``.infra-orchestrator.yaml`` in ``start`` or above it, stopping at the git root."""
    from core.config import CONFIG_FILENAME

    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILENAME
        if candidate.exists() or candidate.is_symlink():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def targets(paths: list[Path], cwd: Path, explicit_config: Path | None = None) -> list[Target]:
    """The engine runs for ``paths``: grouped by workspace so one run sees every object of a workspace named."""
    runs: dict[Path, Target] = {}

    def add(root: Path, config: Path | None, rel: str) -> None:
        target = runs.setdefault(root, Target(root=root, config=config))
        if rel in ("", "."):
            target.whole = True
        else:
            target.rels.append(rel)

    for path in paths:
        if not path.exists():
            raise InputError(f"path '{path}' does not exist")
        real = path.resolve()
        found = None if explicit_config else find_config(real if real.is_dir() else real.parent)
        if found is not None:
            add(found.parent, None, real.relative_to(found.parent).as_posix())
        elif real.is_dir():
            add(real, explicit_config, "")
        else:
            root = cwd if _inside(real, cwd) else real.parent
            add(root, explicit_config, real.relative_to(root).as_posix())
    return list(runs.values())


def display(root: Path, file: str | None, cwd: Path) -> str | None:
    """A workspace-relative finding path as the user sees it: relative to the current directory when it lies
    there or the current directory is inside the workspace (``../helm/x.yaml`` from ``k8s/``), else absolute."""
    if not file:
        return file
    full = root / file
    return os.path.relpath(full, cwd) if _inside(full, cwd) or _inside(cwd, root) else str(full)


def unit_of(root: Path, rel: str) -> str:
    """The chart or kustomization directory ``rel`` belongs to (its findings are reported there), else ``rel``."""
    parts = Path(rel).parts
    for depth in range(len(parts) - 1, 0, -1):
        directory = Path(*parts[:depth])
        if any((root / directory / marker).is_file() for marker in UNIT_MARKERS):
            return directory.as_posix()
    return rel


def about(file: str | None, named: list[str]) -> bool:
    """Whether a finding on ``file`` concerns one of the ``named`` paths (or is about no file at all)."""
    return file is None or any(file == n or file.startswith(n.rstrip("/") + "/") for n in named)


@contextmanager
def stdin_workspace(text: str, name: str | None, cwd: Path, explicit_config: Path | None) -> Iterator[Target]:
    """A temporary workspace holding stdin's text at the path ``--stdin-filename`` names (relative to the
    workspace of its configuration), so the engine reads it as it would read that file."""
    given = (cwd / name).resolve() if name else cwd / STDIN_NAME
    found = None if explicit_config else find_config(given.parent if given.parent.exists() else cwd)
    root = found.parent if found is not None else cwd
    rel = given.relative_to(root).as_posix() if _inside(given, root) else given.name
    if name and unit_of(root, rel) != rel:
        raise InputError(f"'{name}' belongs to the Helm chart or kustomization '{unit_of(root, rel)}': "
                         "check that directory instead of stdin")
    with tempfile.TemporaryDirectory(prefix="infra-orchestrator-stdin-") as tmp:
        dest = Path(tmp) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        yield Target(root=Path(tmp), config=explicit_config, rels=[rel], config_root=root if found else Path(tmp))
