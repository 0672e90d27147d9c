"""Checkpointer factory: SQLite by default, Postgres when given a ``postgresql://`` URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_SQLITE = ".infra-orchestrator/state.db"


@contextmanager
def open_checkpointer(target: str | None, workspace: Path) -> Iterator[object]:
    """Yield a LangGraph checkpointer for ``target`` (a sqlite path, or a postgres URL)."""
    if target and target.startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            from core.errors import ConfigError

            raise ConfigError("a Postgres checkpointer needs the 'postgres' extra: "
                              "uv sync --extra postgres") from exc
        with PostgresSaver.from_conn_string(target) as saver:
            saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(target) if target else workspace / DEFAULT_SQLITE
    path.parent.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver
