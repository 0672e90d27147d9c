"""`chat`: an interactive session; every chat is a thread in a checkpointer (SQLite or Postgres)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from infra_orchestrator.commands.common import progress_reporter, workspace_dir


def register(app: typer.Typer) -> None:
    app.command()(chat)


def checkpointer_target(explicit: str | None, configured: str | None, root: Path) -> str | None:
    """``--checkpointer`` wins over config ``checkpointer:``; a relative SQLite path is relative to the repo."""
    target = explicit or configured
    if target and not target.startswith(("postgres://", "postgresql://")) and not Path(target).is_absolute():
        return str(root / target)
    return target


def chat(
    thread: Annotated[Optional[str], typer.Option("--thread", "-t", help="Resume this thread (id from --list).")] = None,
    list_threads: Annotated[bool, typer.Option("--list", help="List the threads (id, last request, status).")] = False,
    checkpointer: Annotated[Optional[str], typer.Option(
        "--checkpointer", help="SQLite file or postgresql:// URL (default: config `checkpointer:`, "
        "else .infra-orchestrator/state.db).")] = None,
    path: Annotated[Path, typer.Option("--repo", "-C", help="Repository root.")] = Path("."),
) -> None:
    """Talk to the gatekeeper: plain requests or /review, /stage, /status, /explain, /findings, /history, /clear, /quit."""
    from rich.console import Console
    from rich.table import Table

    from graph.builder import build_graph
    from graph.checkpointer import open_checkpointer
    from graph.runner import list_threads as threads_of
    from graph.runner import prepare
    from graph.state import GraphContext
    from infra_orchestrator.chat import ChatSession, line_reader, new_thread_id

    root = workspace_dir(path)
    setup = prepare(root)
    target = checkpointer_target(checkpointer, setup.loaded.config.checkpointer, root)
    with open_checkpointer(target, root) as saver:
        graph = build_graph(saver)
        if list_threads:
            table = Table(title="Chat threads", title_justify="left")
            for col in ("Thread", "Last request", "Status"):
                table.add_column(col, overflow="fold")
            for t in threads_of(graph):
                table.add_row(t.thread_id, t.last_request, t.status)
            Console().print(table)
            return
        ctx = GraphContext(provider=setup.provider, interactive=True)
        session = ChatSession(root=root, loaded=setup.loaded, graph=graph, thread_id=thread or new_thread_id(), ctx=ctx,
                              ask=line_reader(root), progress=progress_reporter)
        raise typer.Exit(session.run())
