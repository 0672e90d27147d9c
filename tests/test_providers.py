"""The Claude-backed agents end to end: the real anthropic SDK against the local fake Messages server."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from fakes.anthropic_server import Call, Delay, Error, FakeModelServer, ToolUse, approve, default_responder, plan

from agents.llm import make_provider, resolve_provider_name
from agents.roster import SPECIALISTS
from core.config import Config, Phase3Config, PolicyConfig, ProviderConfig
from core.models import ChangeRequest, Outcome, StageRequest
from graph.runner import run_request

GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()
WEB = {"kind": "Deployment", "name": "web", "namespace": "shop"}


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(GOOD)
    (tmp_path / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: ['app/src/**']\n")
    return tmp_path


def review(workspace: Path, fake: FakeModelServer, *, on_failure: str = "clarify", **provider: object):
    config = Config(phase3=Phase3Config(protected=["app/src/**"]), policy=PolicyConfig(on_agent_failure=on_failure),
                    provider=ProviderConfig(name="anthropic", base_url=fake.base_url, **provider))
    p = make_provider(config, {**os.environ, "ANTHROPIC_BASE_URL": fake.base_url})  # the operator names the fake
    p.backoff_s = 0.01
    decision, text = run_request(ChangeRequest(workspace=str(workspace), intent="ship web"), config=config, provider=p)
    return decision, text, p


def verdict(decision, agent):
    return next(v for v in decision.verdicts if v.agent == agent)


def only(agent: str, reply) -> callable:
    """A responder answering ``agent`` with ``reply(call)`` and everyone else by default."""
    return lambda call: reply(call) if call.agent == agent else default_responder(call)


def test_auto_picks_anthropic_only_with_a_key(monkeypatch: pytest.MonkeyPatch):
    assert resolve_provider_name(Config()) == "offline"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    assert resolve_provider_name(Config()) == "anthropic"


def test_approve_with_forced_tools_cached_context_and_usage(workspace: Path):
    with FakeModelServer() as fake:
        decision, text, provider = review(workspace, fake)
    assert decision.outcome is Outcome.approved, text
    assert {v.provider for v in decision.verdicts} == {"anthropic"} and not decision.metadata.degraded_agents
    sup, sec = fake.calls[0], next(c for c in fake.calls if c.agent == "security")
    assert sup.body["tool_choice"] == {"type": "tool", "name": "submit_plan", "disable_parallel_tool_use": True}
    assert sec.body["tool_choice"]["name"] == "submit_verdict"
    assert sec.headers["authorization"] == "Bearer test" and sec.headers.get("x-stainless-retry-count") == "0"
    assert [b.get("cache_control") for b in sec.body["system"]] == [{"type": "ephemeral"}] * 2
    assert sec.body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert "SEC-PRIVILEGED" in sec.body["system"][1]["text"]  # the catalog of its categories
    assert "REL-LIVENESS-PROBE" not in sec.body["system"][1]["text"]
    assert sec.data["agent"] == "security" and sec.data["intent"] == "ship web"  # request content: data only
    assert all("ship web" not in b["text"] for b in sec.body["system"])
    usage = verdict(decision, "security").usage
    assert usage["calls"] == 1 and usage["cache_write_tokens"] > 0 and usage["cost_micro_usd"] > 0
    total = provider.decision_usage()
    assert set(total["agents"]) == {"supervisor", *SPECIALISTS}
    assert total["total"]["calls"] == 1 + len(SPECIALISTS) and total["cost_usd"] > 0
    assert set(decision.metadata.prompt_versions) >= {"supervisor", "security"}


def test_a_repeated_run_reads_the_cached_prefix(workspace: Path):
    with FakeModelServer() as fake:
        review(workspace, fake)
        decision, _, _ = review(workspace, fake)
    usage = verdict(decision, "security").usage
    assert usage["cache_read_tokens"] > 0 and usage["cache_write_tokens"] == 0


def test_reject_from_a_grounded_agent_finding(workspace: Path):
    finding = {"check_id": "AGENT-EXPOSED", "severity": "high", "category": "security",
               "message": "web is reachable from every namespace", "resource": WEB}
    with FakeModelServer(only("security", lambda c: ToolUse({"outcome": "REJECTED", "summary": "exposed",
                                                             "findings": [finding]}))) as fake:
        decision, text, _ = review(workspace, fake)
    assert decision.outcome is Outcome.rejected, text
    added = [f for f in decision.findings if f.check_id == "AGENT-EXPOSED"]
    assert added and added[0].source == "agent:security"


def test_supervisor_skipping_specialists_cannot_drop_mandatory_ones(workspace: Path):
    (workspace / "k8s" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
        "spec:\n  containers:\n    - name: c\n      image: nginx:latest\n      securityContext: {privileged: true}\n")
    with FakeModelServer(lambda c: plan([]) if c.agent == "supervisor" else approve()) as fake:
        decision, _, _ = review(workspace, fake)
    assert {"phase3_guard", "security"} <= set(decision.metadata.specialists)
    assert decision.outcome is Outcome.rejected  # the model approved; the floor did not move


def test_a_plan_consulting_nobody_on_a_stage_request_still_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    (tmp_path / "specs" / "001-demo").mkdir(parents=True)  # a feature, and nothing any specialist owns
    with FakeModelServer(lambda c: plan([]) if c.agent == "supervisor" else approve()) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)  # the operator chooses the endpoint
        config = Config(phase3=Phase3Config(protected=["app/src/**"]), provider=ProviderConfig(name="anthropic"))
        req = StageRequest(workspace=str(tmp_path), feature="001", target="specify")
        decision, text = run_request(req, config=config, provider=make_provider(config))
    assert [c.agent for c in fake.calls] == ["supervisor"]  # nobody consulted, nothing else called
    assert decision.verdicts == [] and text.startswith(f"[STAGE APPROVAL DECISION: {decision.outcome.value}]")
    assert decision.agent_coordination.status == "SKIPPED" and "no specialist consulted" in text


def test_supervisor_failure_falls_back_to_rule_routing(workspace: Path):
    with FakeModelServer(lambda c: Error(400) if c.agent == "supervisor" else approve()) as fake:
        decision, _, _ = review(workspace, fake)
    assert sorted(decision.metadata.specialists) == sorted(SPECIALISTS)
    assert sum(c.agent == "supervisor" for c in fake.calls) == 1  # a 400 is final: never retried


def test_malformed_output_gets_one_repair_then_degrades(workspace: Path):
    with FakeModelServer(only("security", lambda c: ToolUse({"outcome": "MAYBE"}))) as fake:
        decision, text, _ = review(workspace, fake)
    sec = [c for c in fake.calls if c.agent == "security"]
    assert [c.repair for c in sec] == [False, True]
    assert "outcome" in sec[1].body["messages"][2]["content"][0]["content"]  # the validation error went back
    assert verdict(decision, "security").degraded and "after one repair" in verdict(decision, "security").error
    assert decision.agent_coordination.status == "DEGRADED" and "security" in decision.agent_coordination.detail
    assert decision.outcome is Outcome.clarification, text


def test_malformed_output_repaired_counts(workspace: Path):
    reply = lambda c: approve() if c.repair else ToolUse({"summary": "no outcome"})  # noqa: E731
    with FakeModelServer(only("observability", reply)) as fake:
        decision, _, _ = review(workspace, fake)
    assert not verdict(decision, "observability").degraded
    assert verdict(decision, "observability").usage["calls"] == 2
    assert decision.outcome is Outcome.approved


@pytest.mark.parametrize("stop", ["max_tokens", "refusal"])
def test_truncated_or_refused_answers_are_failures(workspace: Path, stop: str):
    with FakeModelServer(only("scalability", lambda c: ToolUse({"outcome": "APPROVED", "summary": "x"},
                                                               stop_reason=stop))) as fake:
        decision, _, _ = review(workspace, fake)
    assert verdict(decision, "scalability").degraded and stop in verdict(decision, "scalability").error
    assert decision.outcome is Outcome.clarification


def test_429_then_success_honours_retry_after(workspace: Path):
    reply = lambda c: Error(429, retry_after=0.2) if c.attempt == 1 else approve()  # noqa: E731
    with FakeModelServer(only("security", reply)) as fake:
        decision, _, _ = review(workspace, fake)
    sec = [c for c in fake.calls if c.agent == "security"]
    assert len(sec) == 2 and not verdict(decision, "security").degraded
    assert verdict(decision, "security").elapsed_ms >= 200  # waited as told
    assert all(c.headers.get("x-stainless-retry-count") == "0" for c in sec)  # the SDK itself never retries
    assert decision.outcome is Outcome.approved


@pytest.mark.parametrize(("policy", "expected"), [("clarify", Outcome.clarification),
                                                  ("deterministic", Outcome.approved)])
def test_529_three_times_degrades(workspace: Path, policy: str, expected: Outcome):
    with FakeModelServer(only("scalability", lambda c: Error(529, retry_after=0))) as fake:
        decision, text, _ = review(workspace, fake, on_failure=policy)
    assert sum(c.agent == "scalability" for c in fake.calls) == 3  # provider.max_attempts
    assert decision.metadata.degraded_agents == ["scalability"]
    assert "OverloadedError" in decision.agent_coordination.detail
    assert decision.outcome is expected, text


def test_a_timed_out_call_is_retried(workspace: Path):
    reply = lambda c: Delay(1.5) if c.attempt == 1 else approve()  # noqa: E731
    with FakeModelServer(only("observability", reply)) as fake:
        decision, _, _ = review(workspace, fake, timeout_s=0.3)
    assert sum(c.agent == "observability" for c in fake.calls) == 2
    assert not verdict(decision, "observability").degraded and decision.outcome is Outcome.approved


def test_the_decision_budget_bounds_every_agent(workspace: Path):
    started = time.perf_counter()
    with FakeModelServer(lambda c: plan() if c.agent == "supervisor" else Delay(3)) as fake:
        decision, _, _ = review(workspace, fake, timeout_s=5, decision_budget_s=0.6)
    assert time.perf_counter() - started < 2.5
    assert sorted(decision.metadata.degraded_agents) == sorted(SPECIALISTS)
    assert decision.outcome is Outcome.clarification


def test_hallucinated_resource_is_dropped_and_counted(workspace: Path):
    ghost = {"check_id": "AGENT-GHOST", "severity": "critical", "category": "security",
             "message": "ghost deployment runs privileged", "resource": {"kind": "Deployment", "name": "ghost"}}
    real = {"check_id": "AGENT-REAL", "severity": "low", "category": "security", "message": "consider a PDB",
            "file": "k8s/app.yaml", "line": 1}
    bad_line = {**real, "check_id": "AGENT-BAD-LINE", "line": 999}
    with FakeModelServer(only("security", lambda c: approve(findings=[ghost, real, bad_line]))) as fake:
        decision, text, _ = review(workspace, fake)
    ids = {f.check_id for f in decision.findings}
    assert "AGENT-REAL" in ids and not ids & {"AGENT-GHOST", "AGENT-BAD-LINE"}
    assert verdict(decision, "security").usage["ungrounded_findings"] == 2
    assert decision.outcome is Outcome.approved, text


def test_conflicting_verdicts_present_the_trade_off(workspace: Path):
    sec = ToolUse({"outcome": "REJECTED", "summary": "too many exposed pods", "findings": [
        {"check_id": "AGENT-EXPOSURE", "severity": "low", "category": "security",  # below fail_on: the conflict decides
         "message": "every replica is exposed", "resource": WEB}]})
    scal = approve("needs more replicas", findings=[
        {"check_id": "AGENT-REPLICAS", "severity": "low", "category": "scalability",
         "message": "one replica is a single point of failure", "resource": WEB}],
        conflicts_with=[{"agent": "security", "resource": WEB, "tradeoff": "3 replicas vs fewer exposed pods"}])
    responder = {"security": sec, "scalability": scal}
    with FakeModelServer(lambda c: responder.get(c.agent) or default_responder(c)) as fake:
        decision, text, _ = review(workspace, fake)
    assert decision.outcome is Outcome.clarification, text
    assert any("Present trade-offs for decision" in s and "Deployment shop/web" in s for s in decision.next_steps)
    assert any("3 replicas vs fewer exposed pods" in r for r in decision.reasoning)


def test_openai_compatible_provider_forces_the_function_and_repairs(workspace: Path):
    def responder(call: Call):
        if call.agent == "security" and not call.repair:
            return ToolUse(raw="{not json")
        if call.agent == "scalability" and call.attempt == 1:
            return Error(503, retry_after=0)
        return default_responder(call)

    with FakeModelServer(responder) as fake:
        config = Config(phase3=Phase3Config(protected=["app/src/**"]),
                        provider=ProviderConfig(name="openai", base_url=fake.openai_base_url, model="llama3.1"))
        provider = make_provider(config, {**os.environ, "OPENAI_BASE_URL": fake.openai_base_url})
        decision, text = run_request(ChangeRequest(workspace=str(workspace)), config=config, provider=provider)
    assert decision.outcome is Outcome.approved, text
    assert {v.provider for v in decision.verdicts} == {"openai"} and not decision.metadata.degraded_agents
    sec = [c for c in fake.calls if c.agent == "security"]
    assert [c.repair for c in sec] == [False, True]
    assert sec[0].body["tool_choice"] == {"type": "function", "function": {"name": "submit_verdict"}}
    assert sum(c.agent == "scalability" for c in fake.calls) == 2


def test_cli_review_uses_claude_when_a_key_is_set(workspace: Path):
    """The real console entry point: ``auto`` + ANTHROPIC_API_KEY + ANTHROPIC_BASE_URL reach the fake."""
    from clirun import run_cli

    with FakeModelServer() as fake:
        result = run_cli("review", str(workspace), "--format", "json",
                         env={"ANTHROPIC_API_KEY": "test", "ANTHROPIC_BASE_URL": fake.base_url})
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["metadata"]["provider"] == "anthropic"
    assert {v["provider"] for v in decision["verdicts"]} == {"anthropic"}
    assert len(fake.calls) == 5 and fake.calls[0].headers["authorization"] == "Bearer test"


def test_offline_paths_never_import_the_sdk():
    """Lazy import: building the offline provider and the graph leaves ``anthropic`` unimported."""
    import subprocess
    import sys

    code = ("import sys; from graph.builder import build_graph; from core.config import Config; "
            "from agents.llm import make_provider; make_provider(Config()); build_graph(); "
            "assert 'anthropic' not in sys.modules, 'SDK imported'")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
