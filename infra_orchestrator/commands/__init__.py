"""Command modules. Each exposes ``register(app)``; keep their imports light (typer only at import time).

:data:`COMMANDS` names each top-level command and the module that registers it, in the order ``--help`` lists
them. The CLI imports a module only for the command it runs (:func:`command_module`), or all of them for the
root's help and completion.
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS = {"review": "review", "stage": "stage", "eval": "eval", "chat": "chat", "audit": "audit",
            "guard": "guard", "check": "check", "mcp": "mcp", "init": "init", "rule": "rule"}
"""Top-level command name -> its module under ``infra_orchestrator.commands``."""


def command_module(name: str) -> ModuleType:
    """The module that registers the top-level command ``name``."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name]}")
