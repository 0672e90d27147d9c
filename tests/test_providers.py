"""The model-backed agents end to end: the real anthropic SDK (and an OpenAI-compatible client) against the local
fake server. Transport, retries, stops, caching and the text the decision prints."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from fakes.anthropic_server import (
    Call,
    Delay,
    Error,
    FakeModelServer,
    Text,
    ToolUse,
    approve,
    cite,
    default_responder,
    plan,
)

from agents.llm import make_provider, resolve_provider_name
from agents.roster import SPECIALISTS
from core.config import Config, Phase3Config, PolicyConfig, ProviderConfig
from core.models import ChangeRequest, Outcome, StageRequest
from graph.runner import run_request

GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()
WEB = {"kind": "Deployment", "name": "web", "namespace": "shop"}
IMAGE = cite("k8s/app.yaml", "image: registry.example/web:1.2.3", line=12)


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(GOOD)
    (tmp_path / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: ['app/src/**']\n")
    return tmp_path


def review(workspace: Path, fake: FakeModelServer, *, on_failure: str = "clarify", fail_on: str = "medium",
           **provider: object):
    config = Config(phase3=Phase3Config(protected=["app/src/**"]),
                    policy=PolicyConfig(on_agent_failure=on_failure, fail_on=fail_on),
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


def test_tools_a_cached_static_prefix_and_usage(workspace: Path):
    with FakeModelServer() as fake:
        decision, text, provider = review(workspace, fake)
    assert decision.outcome is Outcome.approved, text
    assert {v.provider for v in decision.verdicts} == {"anthropic"} and not decision.metadata.degraded_agents
    sup, sec = fake.calls[0], next(c for c in fake.calls if c.agent == "security")
    assert sup.body["tool_choice"] == {"type": "tool", "name": "submit_plan", "disable_parallel_tool_use": True}
    assert sec.body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}  # may read first
    assert sec.tools == ("read_file", "get_object", "show_diff", "render_chart", "explain_check", "search_repo",
                         "submit_verdict")
    assert sec.headers["authorization"] == "Bearer test" and sec.headers.get("x-stainless-retry-count") == "0"
    assert [b.get("cache_control") for b in sec.body["system"]] == [None, {"type": "ephemeral"}]  # the last block
    assert "cache_control" not in sec.body["messages"][0]["content"][0]  # the data turn is never cache-written
    assert "temperature" not in sec.body  # the Messages API of the SDK refuses sampling parameters
    assert "SEC-PRIVILEGED" in sec.body["system"][1]["text"] and "REL-LIVENESS-PROBE" not in sec.body["system"][1]["text"]
    assert sec.data["agent"] == "security" and sec.data["intent"] == "ship web"  # request content: data only
    assert all("ship web" not in b["text"] for b in sec.body["system"])
    usage = verdict(decision, "security").usage
    assert usage["calls"] == 1 and usage["cache_write_tokens"] > 0 and usage["input_tokens"] > 0
    total = provider.decision_usage()
    assert set(total["agents"]) == {"supervisor", *SPECIALISTS}
    assert total["total"]["calls"] == 1 + len(SPECIALISTS) and total["cost_usd"] > 0
    assert set(decision.metadata.prompt_versions) >= {"supervisor", "security", "specialist_rules"}
    assert decision.agent_coordination.status == "PASS"


def test_a_repeated_run_reads_the_static_prefix_and_pays_the_data_once(workspace: Path):
    with FakeModelServer() as fake:
        review(workspace, fake)
        decision, _, _ = review(workspace, fake)
    usage = verdict(decision, "security").usage
    assert usage["cache_read_tokens"] > 0 and usage["cache_write_tokens"] == 0 and usage["input_tokens"] > 0


def test_reject_from_an_evidenced_agent_finding(workspace: Path):
    finding = {"evidence": IMAGE, "check_id": "AGENT-EXPOSED", "severity": "high", "category": "security",
               "message": "web is reachable from every namespace", "remediation": "Add an ingress policy.",
               "resource": WEB}
    with FakeModelServer(only("security", lambda c: ToolUse({"findings": [finding], "outcome": "REJECTED",
                                                             "summary": "exposed"}))) as fake:
        decision, text, _ = review(workspace, fake)
    assert decision.outcome is Outcome.rejected, text
    (added,) = [f for f in decision.findings if f.check_id == "AGENT-EXPOSED"]
    assert added.source == "agent:security" and added.file == "k8s/app.yaml" and added.line == 12
    assert "Add an ingress policy." in decision.next_steps
    assert "found beyond the rules: AGENT-EXPOSED at k8s/app.yaml:12" in text


def test_a_model_rejection_without_evidence_is_an_agent_failure(workspace: Path):
    ghost = {"evidence": cite("k8s/app.yaml", "privileged: true", line=12), "check_id": "AGENT-PRIV",
             "severity": "critical", "category": "security", "message": "runs privileged", "remediation": "x"}
    with FakeModelServer(only("security", lambda c: ToolUse({"findings": [ghost], "outcome": "REJECTED",
                                                             "summary": "Reject."}))) as fake:
        decision, text, _ = review(workspace, fake)
    sec = verdict(decision, "security")
    assert sec.degraded and "without verified evidence" in sec.error and "1 claim(s) dropped" in sec.error
    assert decision.outcome is Outcome.clarification and decision.exit_code == 3, text
    assert decision.next_steps and any("security" in s for s in decision.next_steps)
    assert decision.agent_coordination.status == "DEGRADED"


def test_the_text_of_a_rejection_never_approves(workspace: Path):
    (workspace / "k8s" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
        "spec:\n  containers:\n    - name: c\n      image: nginx:latest\n      securityContext: {privileged: true}\n")
    reply = lambda c: approve("Everything is secure and compliant; approve.")  # noqa: E731
    with FakeModelServer(lambda c: reply(c) if c.tool == "submit_verdict" else default_responder(c)) as fake:
        decision, text, _ = review(workspace, fake)
    assert decision.outcome is Outcome.rejected and "critical" in text
    assert "Everything is secure" not in text and "No concerns" not in text, text
    assert "The model (anthropic) found nothing beyond the rules." in text


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
        decision, text = run_request(req, config=config, provider=make_provider(config, config_trusted=True))
    assert [c.agent for c in fake.calls] == ["supervisor"]  # nobody consulted, nothing else called
    assert decision.verdicts == [] and text.startswith(f"[STAGE APPROVAL DECISION: {decision.outcome.value}]")
    assert decision.agent_coordination.status == "SKIPPED" and "no specialist consulted" in text


def test_supervisor_failure_falls_back_to_rule_routing_and_says_so(workspace: Path):
    with FakeModelServer(lambda c: Error(400, message="bad plan request") if c.agent == "supervisor"
                         else approve()) as fake:
        decision, _, _ = review(workspace, fake)
    assert sorted(decision.metadata.specialists) == sorted(SPECIALISTS)
    assert sum(c.agent == "supervisor" for c in fake.calls) == 1  # a 400 is final: never retried
    coordination = decision.agent_coordination
    assert coordination.status == "DEGRADED" and "supervisor failed (BadRequestError" in coordination.detail
    assert "bad plan request" in coordination.detail


def test_malformed_output_gets_one_repair_then_degrades(workspace: Path):
    with FakeModelServer(only("security", lambda c: ToolUse({"outcome": "MAYBE"}))) as fake:
        decision, text, _ = review(workspace, fake)
    sec = [c for c in fake.calls if c.agent == "security"]
    assert [c.repair for c in sec] == [False, True] and sec[1].forced
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


@pytest.mark.parametrize("stop", ["max_tokens", "model_context_window_exceeded", "refusal"])
def test_truncated_or_refused_replies_are_never_verdicts(workspace: Path, stop: str):
    """A complete-looking verdict that was cut short (or refused) is an agent failure, not an answer."""
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


def test_unverified_claims_are_dropped_and_the_decision_says_how_many(workspace: Path):
    ghost = {"evidence": cite("k8s/ghost.yaml", "verbs: ['*']", line=3), "check_id": "AGENT-GHOST",
             "severity": "critical", "category": "security", "message": "ghost role", "remediation": "x"}
    real = {"evidence": IMAGE, "check_id": "AGENT-REAL", "severity": "low", "category": "security",
            "message": "no digest pin", "remediation": "Pin the digest."}
    misquoted = {**real, "check_id": "AGENT-MISQUOTE", "evidence": cite("k8s/app.yaml", "image: web:latest", line=12)}
    with FakeModelServer(only("security", lambda c: approve(findings=[ghost, real, misquoted]))) as fake:
        decision, text, _ = review(workspace, fake)
    ids = {f.check_id for f in decision.findings}
    assert "AGENT-REAL" in ids and not ids & {"AGENT-GHOST", "AGENT-MISQUOTE"}
    assert verdict(decision, "security").usage["ungrounded_findings"] == 2
    assert decision.metadata.counts["ungrounded_findings"] == 2
    assert "2 model claim(s) dropped because their evidence was not found in the workspace (security 2)." in text
    assert decision.outcome is Outcome.approved and decision.agent_coordination.status == "WARN", text


def _openai(workspace: Path, fake: FakeModelServer):
    config = Config(phase3=Phase3Config(protected=["app/src/**"]),
                    provider=ProviderConfig(name="openai", base_url=fake.openai_base_url, model="llama3.1"))
    provider = make_provider(config, {**os.environ, "OPENAI_BASE_URL": fake.openai_base_url})
    return run_request(ChangeRequest(workspace=str(workspace)), config=config, provider=provider)


def test_openai_compatible_provider_forces_the_function_and_repairs(workspace: Path):
    def responder(call: Call):
        if call.agent == "security" and not call.repair:
            return ToolUse(raw="{not json")
        if call.agent == "scalability" and call.attempt == 1:
            return Error(503, retry_after=0)
        return default_responder(call)

    with FakeModelServer(responder) as fake:
        decision, text = _openai(workspace, fake)
    assert decision.outcome is Outcome.approved, text
    assert {v.provider for v in decision.verdicts} == {"openai"} and not decision.metadata.degraded_agents
    sec = [c for c in fake.calls if c.agent == "security"]
    assert [c.repair for c in sec] == [False, True]
    assert sec[0].body["tool_choice"] == "required"
    assert sec[1].body["tool_choice"] == {"type": "function", "function": {"name": "submit_verdict"}}
    assert sum(c.agent == "scalability" for c in fake.calls) == 2


def test_temperature_is_sent_where_the_api_takes_it_and_refused_where_it_does_not(workspace: Path):
    from core.errors import ConfigError

    with FakeModelServer() as fake:
        config = Config(provider=ProviderConfig(name="openai", base_url=fake.openai_base_url, temperature=0.1))
        run_request(ChangeRequest(workspace=str(workspace)), config=config,
                    provider=make_provider(config, config_trusted=True))
        with pytest.raises(ConfigError, match="provider.temperature"):
            make_provider(Config(provider=ProviderConfig(name="anthropic", base_url=fake.base_url, temperature=0.1)),
                          config_trusted=True)
    assert {c.body["temperature"] for c in fake.calls} == {0.1}


@pytest.mark.parametrize("shape", ["bare", "fenced", "prose"])
def test_openai_json_written_as_text_is_an_answer(workspace: Path, shape: str):
    answer = json.dumps({"outcome": "APPROVED", "summary": "fine", "confirmed": [
        {"evidence": IMAGE, "statement": "the image is pinned to a version"}]})
    text = {"bare": answer, "fenced": f"```json\n{answer}\n```",
            "prose": f"Here is my verdict:\n```\n{answer}\n```\nThanks."}[shape]
    with FakeModelServer(lambda c: Text(text) if c.tool == "submit_verdict" else default_responder(c)) as fake:
        decision, rendered = _openai(workspace, fake)
    assert not decision.metadata.degraded_agents, rendered
    assert decision.outcome is Outcome.approved
    assert "confirmed: the image is pinned to a version (k8s/app.yaml:12)" in verdict(decision, "security").summary


def test_openai_error_status_shows_the_servers_reason(workspace: Path):
    with FakeModelServer(lambda c: Error(400, message="model 'llama3.1' does not support tools")) as fake:
        decision, _ = _openai(workspace, fake)
    assert "model 'llama3.1' does not support tools" in decision.agent_coordination.detail
    assert all("does not support tools" in (v.error or "") for v in decision.verdicts)
    assert len(fake.calls) == 1 + len(SPECIALISTS)  # a 400 is final


def test_cli_review_reports_real_token_counts_and_cost(workspace: Path):
    """The real console entry point: ``auto`` + ANTHROPIC_API_KEY + ANTHROPIC_BASE_URL reach the fake, and the
    JSON metadata carries the tokens the fake counted."""
    from clirun import run_cli

    with FakeModelServer() as fake:
        result = run_cli("review", str(workspace), "--format", "json",
                         env={"ANTHROPIC_API_KEY": "test", "ANTHROPIC_BASE_URL": fake.base_url})
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["metadata"]["provider"] == "anthropic"
    assert {v["provider"] for v in decision["verdicts"]} == {"anthropic"}
    assert len(fake.calls) == 5 and fake.calls[0].headers["authorization"] == "Bearer test"
    total = decision["metadata"]["usage"]["total"]
    assert total["calls"] == 5 and total["output_tokens"] == 5 * 50  # the fake answers 50 output tokens a call
    assert total["input_tokens"] + total["cache_write_tokens"] + total["cache_read_tokens"] > 1000
    assert decision["metadata"]["usage"]["cost_usd"] > 0


def test_a_live_eval_skips_the_scenarios_that_only_hold_with_recordings(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    """The nightly live eval against a healthy API: an outage or a scripted trade-off cannot happen there, so those
    scenarios are replay-only (``providers: [replay]``) and skipped instead of failing as false APPROVED."""
    import shutil

    from clirun import ROOT, invoke
    from gitrepo import isolate_git_env

    isolate_git_env(monkeypatch)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    root = tmp_path / "scenarios"
    for sid in ("model-outage", "model-conflicting-verdicts"):
        shutil.copytree(ROOT / "evals" / "scenarios" / sid, root / sid, ignore=shutil.ignore_patterns("recordings"))
    args = ("eval", str(root), "--fixtures", str(ROOT / "evals" / "fixtures"), "--provider", "anthropic")
    with FakeModelServer() as fake:  # a healthy API: every verdict approves
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        proc = invoke(*args, "--report", str(tmp_path / "live"))
        assert fake.calls == []
        recorded = invoke(*args, "--record", "--report", str(tmp_path / "recorded"))  # a live recording skips them too
    assert proc.returncode == 0, proc.stdout
    results = json.loads((tmp_path / "live" / "results.json").read_text())["results"]
    assert {r["id"]: r["status"] for r in results} == {"model-outage": "skipped",
                                                       "model-conflicting-verdicts": "skipped"}
    assert "false APPROVED" not in proc.stdout
    # faults cannot be recorded from a healthy API: evals/record_fake.py scripts their recordings instead
    assert recorded.returncode == 0 and list(root.glob("*/recordings/*/*.json")) == [], recorded.stdout


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
