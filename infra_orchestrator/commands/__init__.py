"""Command modules. Each exposes ``register(app)``; keep their imports light (typer only at import time)."""

from infra_orchestrator.commands import audit, chat, check, eval, guard, init, mcp, review, stage

COMMAND_MODULES = [review, stage, eval, chat, audit, guard, check, mcp, init]
