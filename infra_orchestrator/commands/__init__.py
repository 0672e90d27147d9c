"""Command modules. Each exposes ``register(app)``; keep their imports light (typer only at import time)."""

from infra_orchestrator.commands import review, stage

COMMAND_MODULES = [review, stage]
