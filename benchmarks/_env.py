"""The environment every benchmark runs its children in: the project's bytecode compiled, as an install has it.

``uv sync`` compiles the dependencies' bytecode (``compile-bytecode = true``), but the project itself is an
editable install: its modules are compiled on first import and cached in ``__pycache__`` — unless
``PYTHONDONTWRITEBYTECODE`` is set, as it is on some CI and sandbox machines. Then every start recompiles about
90 modules (~0.1 s CPU), which no installed copy (``uv tool install``, ``pip install``) pays. So the children run
with the project compiled once up front and that variable removed, on both sides of every comparison.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agents", "core", "graph", "infra_orchestrator", "tools")


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without ``PYTHONDONTWRITEBYTECODE``, progress off, plus ``extra``; compiles the project."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "INFRA_ORCH_NO_PROGRESS": "1", **extra}
