"""The graph's shape: every specialist in one parallel batch, merge exactly once, the floor holds."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agents.llm.base import OfflineProvider
from agents.roster import SPECIALISTS
from core.models import AgentVerdict, ChangeRequest, DelegationPlan, Outcome, StageRequest
from graph.builder import build_graph
from graph.runner import initial_state, run_request
from graph.state import GraphContext

GOOD_DEPLOYMENT = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()


class BarrierProvider(OfflineProvider):
    """Every specialist blocks until all of them are inside ``assess`` at once: proves they overlap."""

    name = "barrier"

    def __init__(self, parties: int = len(SPECIALISTS)):
        self.barrier = threading.Barrier(parties, timeout=10)
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def assess(self, inp, baseline):
        with self.lock:
            self.threads.add(threading.get_ident())
        self.barrier.wait()  # raises BrokenBarrierError (-> degraded verdict) if the calls are sequential
        return baseline


class ApprovingProvider(OfflineProvider):
    """A provider that tries to approve everything, and to drop every specialist."""

    name = "pushover"

    def plan(self, inp, baseline):
        return DelegationPlan(specialists=[], rationale="skip all", source="model")

    def assess(self, inp, baseline):
        return baseline.model_copy(update={"outcome": Outcome.approved, "summary": "LGTM"})


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(GOOD_DEPLOYMENT)
    (tmp_path / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: ['app/src/**']\n")
    return tmp_path


def test_specialists_run_concurrently_and_merge_once(workspace: Path):
    provider = BarrierProvider()
    graph = build_graph()
    req = ChangeRequest(workspace=str(workspace))
    merges = 0
    specialists = 0
    final = None
    for update in graph.stream(initial_state(req), context=GraphContext(provider=provider), stream_mode="updates"):
        merges += "merge" in update
        specialists += "specialist" in update
        final = update.get("finish", final)
    assert merges == 1
    assert specialists == len(SPECIALISTS)
    verdicts = [AgentVerdict.model_validate(v) for v in final["decision"]["verdicts"]]
    assert sorted(v.agent for v in verdicts) == sorted(SPECIALISTS)
    assert not any(v.degraded for v in verdicts), [v.error for v in verdicts]
    assert len(provider.threads) == len(SPECIALISTS)


def test_sequential_specialists_would_break_the_barrier(workspace: Path):
    """Control for the test above: with one party more than there are specialists, they never meet: each degrades."""
    provider = BarrierProvider(parties=len(SPECIALISTS) + 1)
    provider.barrier = threading.Barrier(len(SPECIALISTS) + 1, timeout=0.5)
    decision, _ = run_request(ChangeRequest(workspace=str(workspace)), provider=provider)
    assert all(v.degraded for v in decision.verdicts)
    assert decision.agent_coordination.status == "DEGRADED"
    assert decision.outcome is Outcome.clarification  # fail closed: no approval without the agents


def test_clean_workspace_is_approved_offline(workspace: Path):
    decision, text = run_request(ChangeRequest(workspace=str(workspace), intent="add the web deployment"))
    assert decision.outcome is Outcome.approved, text
    assert text.startswith("[CHANGE VALIDATION: APPROVED]\n\n")
    assert decision.metadata.specialists and decision.metadata.versions["langgraph"]
    assert set(decision.metadata.timings_ms) >= {"intake", "deterministic", "supervisor", "merge"}


def test_a_provider_cannot_relax_the_floor_or_drop_the_guard(workspace: Path):
    (workspace / "k8s" / "bad.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
        "spec:\n  containers:\n    - name: c\n      image: nginx:latest\n      securityContext: {privileged: true}\n")
    decision, _ = run_request(ChangeRequest(workspace=str(workspace)), provider=ApprovingProvider())
    assert decision.outcome is Outcome.rejected
    assert "phase3_guard" in decision.metadata.specialists
    assert any(f.check_id == "SEC-PRIVILEGED" for f in decision.findings)


def _feature_workspace(tmp_path: Path) -> Path:
    """A directory with one Spec-Kit Plus feature and nothing any specialist owns."""
    (tmp_path / "specs" / "001-demo").mkdir(parents=True)
    (tmp_path / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: ['app/src/**']\n")
    return tmp_path


class NobodyProvider(OfflineProvider):
    """A supervisor whose plan consults nobody."""

    name = "nobody"

    def plan(self, inp, baseline):
        return DelegationPlan(specialists=[], rationale="nothing to review", source="model")


def test_a_plan_that_consults_nobody_still_reaches_merge_and_decides(tmp_path: Path):
    req = StageRequest(workspace=str(_feature_workspace(tmp_path)), feature="001", target="specify")
    updates = list(build_graph().stream(initial_state(req), context=GraphContext(provider=NobodyProvider()),
                                        stream_mode="updates"))
    assert [next(iter(u)) for u in updates] == ["intake", "deterministic", "supervisor", "merge", "finish", "record"]
    decision, text = run_request(req, provider=NobodyProvider())
    assert decision.verdicts == [] and decision.metadata.specialists == []
    assert text.startswith(f"[STAGE APPROVAL DECISION: {decision.outcome.value}]")
    assert decision.agent_coordination.render() == ("SKIPPED — no specialist consulted (nothing to review); "
                                                    "the deterministic checks decide")


def test_a_new_specialist_is_one_table_entry(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """An entry in the roster is routed, fanned out, run, merged and reported without touching the graph."""
    import prompts
    from agents.roster import Specialist
    from core.models import Category

    real = prompts.load_prompt
    monkeypatch.setattr(prompts, "load_prompt", lambda n: prompts.Prompt(n, "1", "cost\n") if n == "cost" else real(n))
    monkeypatch.setitem(SPECIALISTS, "cost", Specialist("cost", "Cost", Category.scalability, "Requests vs spend."))
    decision, text = run_request(ChangeRequest(workspace=str(workspace)))
    assert "cost" in decision.metadata.specialists and "cost" in decision.metadata.prompt_versions
    assert "Cost: no findings" in " ".join(decision.reasoning)
    assert "cost" in decision.agent_coordination.detail and decision.outcome is Outcome.approved, text
