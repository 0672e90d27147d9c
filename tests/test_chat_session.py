"""ChatSession in-process with scripted lines: explain, status, history, unknown words, end of input."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from rich.console import Console

from core.config import load_config
from graph.builder import build_graph
from graph.checkpointer import open_checkpointer
from graph.state import GraphContext
from infra_orchestrator.chat import ChatSession

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "todo-phase-iv"


def _chat(repo: Path, lines: list[str]) -> tuple[int, str]:
    script = iter(lines)

    def ask(_prompt: str) -> str:
        try:
            return next(script)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    with open_checkpointer(None, repo) as saver:
        session = ChatSession(root=repo, loaded=load_config(repo), graph=build_graph(saver), thread_id="s1",
                              ctx=GraphContext(interactive=True), ask=ask,
                              console=Console(file=out, width=200, highlight=False, color_system=None))
        code = session.run()
    return code, out.getvalue()


def test_session_explains_the_last_decision(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    code, out = _chat(repo, ["/explain 1", "review k8s", "why was the backend rejected?", "/explain SEC-IMAGE-TAG",
                             "/status 001", "make me a sandwich", "/history"])
    assert code == 0
    assert "Nothing decided yet in this thread" in out
    assert "[CHANGE VALIDATION: REJECTED]" in out
    assert "k8s/backend-deployment.yaml:34:15: critical SEC-SECRET-ENV-LITERAL " in out  # "why was the backend…"
    assert "fix: " in out
    assert "k8s/backend-deployment.yaml:22:11: high SEC-IMAGE-TAG container 'backend'" in out
    assert "Spec-Kit Plus status: 001" in out
    assert "Sorry — did not understand 'make me a sandwich'." in out
    assert "│ 1 │ review k8s │ REJECTED │" in out
    assert (repo / ".infra-orchestrator" / "state.db").exists()
