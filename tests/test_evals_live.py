"""Live runs (``--provider anthropic``) through the real SDK against the fake Messages server: replay-only fault
scenarios are skipped, ``--repeat`` reports stability, ``--judge`` grades model findings with an LLM judge, and
``--shard`` / ``eval merge`` split and rejoin a run."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from pathlib import Path

import pytest
from clirun import ROOT, invoke
from fakes.anthropic_server import Error, FakeModelServer, ToolUse, default_responder
from gitrepo import isolate_git_env

from infra_orchestrator.evals.scenario import discover

sys.path.insert(0, str(ROOT / "evals"))
from expert import Expert, load_script, resolve_lines  # noqa: E402

SCENARIOS = ROOT / "evals" / "scenarios"
FIXTURES = ROOT / "evals" / "fixtures"
KEY = "sk-ant-test-not-a-real-key"


def _copy(tmp_path: Path, *ids: str) -> Path:
    root = tmp_path / "scenarios"
    for sid in ids:
        shutil.copytree(SCENARIOS / sid, root / sid, ignore=shutil.ignore_patterns("recordings"))
    return root


def _eval(root: Path, report: Path, *args: str):
    return invoke("eval", str(root), "--fixtures", str(FIXTURES), "--report", str(report), *args)


def _results(report: Path) -> dict:
    return json.loads((report / "results.json").read_text())


@pytest.fixture()
def live(monkeypatch: pytest.MonkeyPatch):
    """Start the fake server with a responder and point the SDK (and the judge) at it."""
    isolate_git_env(monkeypatch)
    servers = []

    def start(responder):
        fake = FakeModelServer(responder).__enter__()
        servers.append(fake)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        return fake

    yield start
    for fake in servers:
        fake.__exit__(None, None, None)


def test_a_live_run_skips_the_replay_only_fault_scenarios(live, tmp_path: Path) -> None:
    root = _copy(tmp_path, "model-outage", "model-conflicting-verdicts", "approve-clean-worker")
    fake = live(default_responder)
    proc = _eval(root, tmp_path / "r", "--provider", "anthropic")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a healthy API is no false APPROVED
    status = {r["id"]: (r["status"], r["error"]) for r in _results(tmp_path / "r")["results"]}
    assert status["model-outage"] == ("skipped", "not run in mode 'live' (modes: replay)")
    assert status["model-conflicting-verdicts"][0] == "skipped"
    assert status["approve-clean-worker"] == ("pass", None)
    assert {c.data.get("agent") for c in fake.calls if c.agent != "supervisor"} <= {"security", "scalability",
                                                                                     "observability", "phase3_guard"}
    assert "Skipped in this mode: model-conflicting-verdicts, model-outage." in (tmp_path / "r" / "summary.md").read_text()


def test_recording_live_leaves_the_recordings_of_replay_only_scenarios_alone(live, tmp_path: Path) -> None:
    root = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS / "model-outage", root / "model-outage")
    before = sorted(p.name for p in (root / "model-outage" / "recordings").rglob("*.json"))
    assert before
    live(default_responder)
    proc = _eval(root, tmp_path / "r", "--provider", "anthropic", "--record")
    assert proc.returncode == 0, proc.stdout
    assert sorted(p.name for p in (root / "model-outage" / "recordings").rglob("*.json")) == before


def test_repeated_live_runs_report_the_agreement_of_outcomes(live, tmp_path: Path) -> None:
    root = _copy(tmp_path, "approve-clean-worker", "pss-privileged")
    lock, seen = threading.Lock(), {"n": 0}

    def wavering(call):
        """On the clean change (no critical finding), the security model asks on every second decision."""
        clean = all(f.get("severity") != "critical" for f in call.data.get("findings", []))
        if call.agent == "security" and clean:
            with lock:
                seen["n"] += 1
                odd = seen["n"] % 2 == 0
            if odd:
                return ToolUse({"outcome": "REQUIRES CLARIFICATION", "summary": "Unsure about the worker."})
        return default_responder(call)

    live(wavering)
    proc = _eval(root, tmp_path / "r", "--provider", "anthropic", "--repeat", "3")
    data = _results(tmp_path / "r")
    assert data["repeat"] == 3
    results = {r["id"]: r for r in data["results"]}
    assert results["approve-clean-worker"]["repeats"] == ["APPROVED", "REQUIRES CLARIFICATION", "APPROVED"]
    assert results["approve-clean-worker"]["agreement"] == 0.6667
    assert results["pss-privileged"]["repeats"] == ["REJECTED"] * 3 and results["pss-privileged"]["agreement"] == 1.0
    s = data["metrics"]["stability"]
    assert (s["runs"], s["scenarios"], s["stable"], s["unstable"]) == (3, 2, 1, ["approve-clean-worker"])
    assert "stability over 3 runs: 1/2 stable, mean agreement 83.3%" in proc.stdout
    assert proc.returncode == 0  # instability is reported; the first run decides pass or fail


def _expert_responder(scenario: str, tmp_path: Path, judge):
    """The scripted expert of ``scenario`` as a live model, and ``judge`` answering the judge's calls."""
    from infra_orchestrator.evals.workspace import WorkspaceBuilder

    loaded = next(s for s in discover(tmp_path / "scenarios") if s.scenario.id == scenario)
    script = resolve_lines(load_script(loaded.path), WorkspaceBuilder(FIXTURES, tmp_path / "ws").build(loaded))
    expert = Expert({scenario: script})

    def respond(call):
        if call.agent == "judge":
            return judge(call)
        status, body = expert(scenario, call.body)
        return Error(status) if status != 200 else ToolUse(body["content"][0]["input"])

    return respond


def test_the_llm_judge_grades_model_findings_beside_the_matcher(live, tmp_path: Path) -> None:
    _copy(tmp_path, "expert-probe-wrong-port")

    def judge(call):
        assert [lab["concern"] for lab in call.data["labels"]] == ["probe-port-not-listening"]
        assert call.data["findings"][0]["check"] == "AGENT-PROBE-PORT-CLOSED"
        return ToolUse({"matches": [{"label": 0, "finding": 0, "reason": "same port problem"}],
                        "valid_unlabelled": [], "summary": "The one labelled concern is found."})

    fake = live(_expert_responder("expert-probe-wrong-port", tmp_path, judge))
    proc = _eval(tmp_path / "scenarios", tmp_path / "r", "--provider", "anthropic", "--judge")
    assert proc.returncode == 0, proc.stdout
    data = _results(tmp_path / "r")
    result = data["results"][0]
    assert result["judge"]["pass"] is True and result["judge"]["score"] == 1.0
    j = data["metrics"]["model"]["judge"]
    assert (j["scenarios"], j["unscored"], j["precision"], j["recall"]) == (1, 0, 1.0, 1.0)
    assert data["metrics"]["model"]["recall"] == 1.0  # the deterministic matcher agrees
    judge_call = next(c for c in fake.calls if c.agent == "judge")
    assert judge_call.body["tool_choice"] == {"type": "tool", "name": "submit_grades"}
    assert KEY not in judge_call.text
    assert "judge: precision 100.0%, recall 100.0% (0 unscored)" in proc.stdout


def test_a_failing_judge_leaves_the_scenario_unscored_not_zero(live, tmp_path: Path) -> None:
    _copy(tmp_path, "expert-probe-wrong-port")
    live(_expert_responder("expert-probe-wrong-port", tmp_path, lambda call: Error(400, message="bad judge")))
    proc = _eval(tmp_path / "scenarios", tmp_path / "r", "--provider", "anthropic", "--judge")
    assert proc.returncode == 0, proc.stdout
    data = _results(tmp_path / "r")
    assert data["results"][0]["judge"]["unscored"] is True
    assert "bad judge" in data["results"][0]["judge"]["reason"]
    j = data["metrics"]["model"]["judge"]
    assert (j["scenarios"], j["unscored"], j["precision"], j["recall"]) == (1, 1, None, None)


@pytest.mark.parametrize(("args", "message"), [
    (("--provider", "replay", "--judge"), "--judge needs --provider anthropic"),
    (("--provider", "offline", "--shard", "3/2"), "--shard '3/2': i must be between 1 and N"),
])
def test_options_that_cannot_run_are_usage_errors(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    proc = _eval(SCENARIOS / "approve-docs-only", tmp_path / "r", *args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_shard_reports_merge_into_the_report_of_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    root = _copy(tmp_path, "approve-clean-worker", "pss-privileged", "expert-probe-wrong-port", "secret-env-literal",
                 "approve-docs-only")
    whole = _eval(root, tmp_path / "whole", "--provider", "offline")
    parts = [_eval(root, tmp_path / f"s{i}", "--provider", "offline", "--shard", f"{i}/2") for i in (1, 2)]
    assert whole.returncode == 0 and all(p.returncode == 0 for p in parts)
    ids = [[r["id"] for r in _results(tmp_path / f"s{i}")["results"]] for i in (1, 2)]
    assert ids == [["approve-clean-worker", "expert-probe-wrong-port", "secret-env-literal"],
                   ["approve-docs-only", "pss-privileged"]]
    merged = invoke("eval", "merge", str(tmp_path / "s2"), str(tmp_path / "s1" / "results.json"),
                    "--report", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "merged 2 report(s): 1/2, 2/2" in merged.stdout
    m, w = _results(tmp_path / "merged"), _results(tmp_path / "whole")
    strip = lambda rs: [{k: v for k, v in r.items() if k != "latency_ms"} for r in rs]  # noqa: E731
    assert strip(m["results"]) == strip(w["results"])
    assert {k: v for k, v in m["metrics"].items()} == w["metrics"]
    assert "shards 1/2, 2/2" in (tmp_path / "merged" / "summary.md").read_text()
    partial = invoke("eval", "merge", str(tmp_path / "s1"), "--report", str(tmp_path / "partial"))
    assert partial.returncode == 1 and "FAIL: missing shard(s): 2/2" in partial.stdout
    twice = invoke("eval", "merge", str(tmp_path / "s1"), str(tmp_path / "s1"), "--report", str(tmp_path / "x"))
    assert twice.returncode == 2 and "scenarios in more than one report" in twice.stderr


def test_the_nightly_workflow_runs_every_shard_and_merges_them() -> None:
    import yaml

    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly-evals.yml").read_text())
    n = int(flow["env"]["SHARDS"])
    matrix = flow["jobs"]["shard"]["strategy"]["matrix"]
    assert matrix["shard"] == list(range(1, n + 1)) and set(matrix["provider"]) == {"offline", "replay"}
    runs = [s.get("run", "") for s in flow["jobs"]["shard"]["steps"]]
    assert any("--shard ${{ matrix.shard }}/${{ env.SHARDS }}" in r for r in runs)
    merge = flow["jobs"]["merge"]
    assert merge["needs"] == "shard" and set(merge["strategy"]["matrix"]["provider"]) == set(matrix["provider"])
    assert any("eval merge shards/*" in s.get("run", "") for s in merge["steps"])
    live = " ".join(s.get("run", "") for s in flow["jobs"]["live"]["steps"])
    assert "--provider anthropic" in live and "--repeat 3" in live and "--judge" in live
