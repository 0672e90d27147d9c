"""Threads in a checkpointer: a clarification paused by one process is resumed by another (SQLite, Postgres)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from clirun import run_cli

from core.config import load_config
from core.models import ChangeRequest
from graph.builder import build_graph
from graph.checkpointer import open_checkpointer
from graph.runner import (
    continue_turn,
    list_threads,
    pending_turn,
    resume_turn,
    start_turn,
    thread_config,
    thread_history,
    thread_input,
)
from graph.state import GraphContext

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "todo-phase-iv"
QUESTION = "frontend/next.config.js is build configuration of Phase III: approve this change as infrastructure-only? [y/N]"
POSTGRES = os.environ.get("INFRA_ORCH_TEST_POSTGRES")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    shutil.copytree(EXAMPLE, ws)
    return ws


def _target(kind: str, tmp_path: Path) -> str:
    if kind == "postgres":
        if not POSTGRES:
            pytest.skip("set INFRA_ORCH_TEST_POSTGRES=postgresql://... to run the Postgres checkpointer test")
        return POSTGRES
    return str(tmp_path / "state.db")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_thread_paused_in_one_process_is_resumed_in_another(kind, repo, tmp_path):
    target, thread = _target(kind, tmp_path), f"t-{uuid.uuid4().hex[:8]}"
    first = run_cli("chat", "-C", str(repo), "--checkpointer", target, "--thread", thread,
                    input="/review frontend/next.config.js\n")
    assert first.returncode == 0, first.stderr
    assert QUESTION in first.stdout and f"chat --thread {thread}" in first.stdout
    with open_checkpointer(target, repo) as saver:
        graph = build_graph(saver)
        assert pending_turn(graph, thread).question == QUESTION
        turn = resume_turn(graph, thread, "yes", GraphContext(interactive=True))
        assert turn.decision.outcome.value == "APPROVED"
        assert turn.answers == {QUESTION: "yes"}
        assert thread_history(graph, thread) == [("/review frontend/next.config.js", "APPROVED")]
        assert any(t.thread_id == thread and t.status == "APPROVED" for t in list_threads(graph))


def test_no_rejects_and_a_new_run_on_the_thread_starts_clean(repo, tmp_path):
    loaded = load_config(repo)
    ctx = GraphContext(interactive=True)
    with open_checkpointer(str(tmp_path / "s.db"), repo) as saver:
        graph = build_graph(saver)
        req = ChangeRequest(workspace=str(repo), paths=["frontend/next.config.js"])
        turn = start_turn(graph, "t", req, config=loaded.config, config_path=loaded.path, ctx=ctx, request_text="a")
        assert turn.question == QUESTION
        turn = resume_turn(graph, "t", "n", ctx)
        assert turn.decision.outcome.value == "REJECTED"
        assert "PHASE3-APPROVAL-DECLINED" in {f.check_id for f in turn.decision.findings}
        again = start_turn(graph, "t", ChangeRequest(workspace=str(repo), paths=["k8s"]), config=loaded.config,
                           config_path=loaded.path, ctx=ctx, request_text="b")
        assert again.question is None and again.answers == {}
        assert len(again.decision.verdicts) == len(turn.decision.verdicts)  # verdicts reset, not accumulated
        assert [h[0] for h in thread_history(graph, "t")] == ["a", "b"]


def test_non_interactive_runs_still_return_the_question(repo, tmp_path):
    loaded = load_config(repo)
    with open_checkpointer(str(tmp_path / "s.db"), repo) as saver:
        turn = start_turn(build_graph(saver), "t", ChangeRequest(workspace=str(repo), paths=["frontend/next.config.js"]),
                          config=loaded.config, config_path=loaded.path, ctx=GraphContext())
    assert turn.decision.outcome.value == "REQUIRES CLARIFICATION"
    assert turn.decision.questions == [QUESTION]


def test_a_run_stopped_between_steps_is_finished(repo, tmp_path):
    loaded = load_config(repo)
    ctx = GraphContext(interactive=True)
    with open_checkpointer(str(tmp_path / "s.db"), repo) as saver:
        graph = build_graph(saver)
        req = ChangeRequest(workspace=str(repo), paths=["k8s"])
        graph.invoke(thread_input(req, loaded.config, loaded.path), thread_config("t", "k8s"), context=ctx,
                     interrupt_before=["merge"], durability="sync")  # stands in for a process killed mid-run
        assert pending_turn(graph, "t").incomplete
        assert [t.status for t in list_threads(graph)] == ["incomplete"]
        turn = continue_turn(graph, "t", ctx)
        assert turn.decision.outcome.value == "REJECTED" and not turn.incomplete
