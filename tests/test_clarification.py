"""Clarification as a conversation: interrupt(), Command(resume=...), and the policy's reading of answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.anthropic_server import FakeModelServer
from langgraph.checkpoint.memory import InMemorySaver

from agents.llm import make_provider
from core.config import Config, ProviderConfig, load_config
from core.models import ChangeRequest, Outcome
from graph.builder import build_graph
from graph.runner import resume_turn, start_turn
from graph.state import GraphContext

GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(GOOD)
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / "next.config.js").write_text("module.exports = {output: 'standalone'}\n")
    (tmp_path / ".infra-orchestrator.yaml").write_text(
        "phase3:\n  protected: ['frontend/src/**']\n  needs_approval: ['frontend/next.config.*']\n")
    return tmp_path


def _start(workspace: Path, thread: str, provider=None):
    graph = build_graph(checkpointer=InMemorySaver())
    loaded = load_config(workspace)
    req = ChangeRequest(workspace=str(workspace), paths=["k8s/app.yaml", "frontend/next.config.js"])
    ctx = GraphContext(interactive=True, record=False, **({"provider": provider} if provider else {}))
    turn = start_turn(graph, thread, req, config=loaded.config, config_path=loaded.path, ctx=ctx)
    return graph, ctx, turn


@pytest.mark.parametrize(("answer", "outcome"), [("y", Outcome.approved), ("no", Outcome.rejected)])
def test_answer_resumes_the_same_run(workspace: Path, answer: str, outcome: Outcome):
    graph, ctx, turn = _start(workspace, f"t-{answer}")
    assert turn.question and "frontend/next.config.js" in turn.question
    done = resume_turn(graph, f"t-{answer}", answer, ctx)
    assert done.decision is not None and done.decision.outcome is outcome
    assert done.decision.metadata.extra["answers"] == {turn.question: answer}
    declined = [f for f in done.decision.findings if f.check_id == "PHASE3-APPROVAL-DECLINED"]
    assert bool(declined) is (outcome is Outcome.rejected)


@pytest.mark.parametrize(("answer", "outcome"), [("y", Outcome.approved), ("no", Outcome.rejected)])
def test_answer_settles_the_question_with_a_model_configured(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                             answer: str, outcome: Outcome):
    """The Claude provider through the real SDK (a fake Messages API whose specialists all approve): the guard's
    rule verdict asks, the model approves, and the person's answer decides exactly as it does offline."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    with FakeModelServer() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)  # the operator chooses the endpoint
        config = Config(phase3=load_config(workspace).config.phase3, provider=ProviderConfig(name="anthropic"))
        graph, ctx, turn = _start(workspace, f"m-{answer}", make_provider(config))
        assert turn.question and "frontend/next.config.js" in turn.question
        done = resume_turn(graph, f"m-{answer}", answer, ctx)
    assert {c.agent for c in fake.calls} >= {"supervisor", "phase3_guard"}
    decision = done.decision
    assert decision is not None and decision.outcome is outcome, done.rendered
    guard = next(v for v in decision.verdicts if v.agent == "phase3_guard")
    assert guard.provider == "anthropic" and guard.own_outcome is Outcome.approved and not guard.degraded
    assert decision.next_steps, done.rendered  # never an empty list of modifications or recommendations


def test_non_interactive_run_asks_instead_of_pausing(workspace: Path):
    from graph.runner import run_request

    decision, text = run_request(ChangeRequest(workspace=str(workspace), paths=["frontend/next.config.js"]))
    assert decision.outcome is Outcome.clarification
    assert text.startswith("[CHANGE VALIDATION: REQUIRES CLARIFICATION]")
    assert decision.questions and "[y/N]" in decision.questions[0]
