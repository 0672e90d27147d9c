"""ChatSession in-process with scripted lines: explain, status, history, unknown words, end of input."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from rich.console import Console

from core.config import load_config
from graph.builder import build_graph
from graph.checkpointer import open_checkpointer
from graph.state import GraphContext
from infra_orchestrator.chat import ChatSession

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "todo-phase-iv"


def _chat(repo: Path, lines: list[str], ctx: GraphContext | None = None, loaded=None) -> tuple[int, str]:
    script = iter(lines)

    def ask(_prompt: str) -> str:
        try:
            return next(script)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    with open_checkpointer(None, repo) as saver:
        session = ChatSession(root=repo, loaded=loaded or load_config(repo), graph=build_graph(saver),
                              thread_id="s1", ctx=ctx or GraphContext(interactive=True), ask=ask,
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


SECRET_LINE = "k8s/backend-deployment.yaml:34:15: critical SEC-SECRET-ENV-LITERAL container 'backend' sets env"


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    return repo


def test_a_decision_prints_its_findings_once_numbered_with_the_offline_line(tmp_path):
    code, out = _chat(_repo(tmp_path), ["review k8s"])
    assert code == 0
    assert out.count(SECRET_LINE) == 1  # the numbered list replaces the issues: not printed twice
    assert "Issues identified:\n  1  " + SECRET_LINE in out
    assert "Required modifications:" in out.split(SECRET_LINE)[1]  # the decision's text goes on after the list
    assert out.rstrip().endswith("offline (rules only)")
    assert "tokens in" not in out


def test_a_long_list_is_truncated_and_findings_pages_through_it(tmp_path, monkeypatch):
    import infra_orchestrator.chat as chat

    monkeypatch.setattr(chat, "SHOWN_FINDINGS", 5)
    monkeypatch.setattr(chat, "FINDINGS_PAGE", 8)
    _, out = _chat(_repo(tmp_path), ["/findings", "review k8s", "/findings", "/findings 3", "/findings high"])
    assert "Nothing decided yet in this thread" in out
    more = re.search(r"… (\d+) more — /findings to list all\n", out)
    assert more, out
    total = int(more.group(1)) + 5  # 5 shown
    assert total > 16, "the example must have enough findings for three pages"
    decision, listing = out[:more.start()], out[more.end():]
    assert "\n  6  " not in decision
    pages = -(-total // 8)
    assert f"Findings 1-8 ({total} in all)" in listing and f"page 1 of {pages} — /findings 2 for the next" in listing
    assert f"Findings 17-{min(24, total)} ({total} in all)" in listing  # page 3
    high = re.search(r"Findings 1-(\d+) \((\d+) in all at or above high\)", listing)
    assert high and 0 < int(high.group(2)) < total


def test_clear_starts_a_new_thread(tmp_path):
    _, out = _chat(_repo(tmp_path), ["review k8s", "/clear", "/explain 1", "/history"])
    assert "cleared — new thread " in out and "resumes with: infra-orchestrator chat --thread s1" in out
    after = out.split("cleared — new thread ")[1]
    assert "Nothing decided yet in this thread" in after  # the last decision is forgotten
    assert "review k8s" not in after  # the new thread's history is empty


def test_an_llm_decision_prints_the_model_and_cost_line(tmp_path):
    import os

    from fakes.anthropic_server import FakeModelServer

    from agents.llm import make_provider
    from core.config import LoadedConfig, ProviderConfig

    repo = _repo(tmp_path)
    loaded = load_config(repo)
    config = loaded.config.model_copy(update={"provider": ProviderConfig(name="anthropic", model="claude-test-1")})
    with FakeModelServer() as fake:
        provider = make_provider(config, {**os.environ, "ANTHROPIC_API_KEY": "test",
                                          "ANTHROPIC_BASE_URL": fake.base_url})
        _, out = _chat(repo, ["review k8s"], ctx=GraphContext(interactive=True, provider=provider),
                       loaded=LoadedConfig(config=config, path=None))
    line = out.rstrip().splitlines()[-1]
    assert line.startswith("model claude-test-1 via anthropic: ") and "calls, tokens in " in line, line
    assert "/ out 250," in line  # the fake answers 50 output tokens a call, 5 calls
    assert "cache write " in line and "≈ $" in line
    assert "offline (rules only)" not in out
