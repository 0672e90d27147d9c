"""Graded evals end to end: scenarios where the rules pass but an expert objects, recorded from the scripted expert
(``evals/record_fake.py``), then run offline (the rules alone) and replayed through the real anthropic SDK; and
replay that survives catalog and data edits, reporting the recordings it served as stale."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from clirun import ROOT, invoke
from gitrepo import isolate_git_env

from infra_orchestrator.evals.replay import semantic_key
from infra_orchestrator.evals.scenario import discover
from infra_orchestrator.evals.workspace import WorkspaceBuilder

sys.path.insert(0, str(ROOT / "evals"))
import record_fake  # noqa: E402

SCENARIOS = ROOT / "evals" / "scenarios"
FIXTURES = ROOT / "evals" / "fixtures"
IDS = ("approve-clean-worker", "pss-privileged", "expert-probe-wrong-port", "expert-configmap-without-rollout",
       "expert-env-renamed-in-deployment-only")


def _eval(root: Path, report: Path, *args: str):
    return invoke("eval", str(root), "--fixtures", str(FIXTURES), "--report", str(report), "--concurrency", "3",
                  *args)


def _results(report: Path) -> dict:
    return json.loads((report / "results.json").read_text())


@pytest.fixture(scope="module")
def recorded_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of five scenarios, recorded once from the scripted expert (in process, no network)."""
    root = tmp_path_factory.mktemp("graded") / "scenarios"
    for sid in IDS:
        shutil.copytree(SCENARIOS / sid, root / sid, ignore=shutil.ignore_patterns("recordings"))
    with pytest.MonkeyPatch.context() as mp:
        isolate_git_env(mp)
        results = record_fake.record(discover(root), FIXTURES, concurrency=3)
    assert all(r.status == "pass" for r in results), [(r.id, r.status, r.error) for r in results]
    return root


@pytest.fixture()
def scenarios(recorded_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    return Path(shutil.copytree(recorded_copy, tmp_path / "scenarios"))


def test_offline_is_the_rules_baseline_and_replay_adds_the_experts_findings(scenarios: Path, tmp_path: Path) -> None:
    offline = _eval(scenarios, tmp_path / "offline", "--provider", "offline")
    replay = _eval(scenarios, tmp_path / "replay", "--provider", "replay")
    assert offline.returncode == 0 and replay.returncode == 0, offline.stdout + replay.stdout
    off, rep = _results(tmp_path / "offline"), _results(tmp_path / "replay")
    graded = {r["id"]: r for r in off["results"] if r["expert"]}
    assert set(graded) == {i for i in IDS if i.startswith("expert-")}
    # offline: the rules approve what the expert objects to, and add no finding
    assert {r["actual"] for r in graded.values()} == {"APPROVED"}
    mo = off["metrics"]["model"]
    assert (mo["graded"], mo["labels"], mo["matched"], mo["findings"], mo["recall"], mo["precision"]) == \
        (3, 3, 0, 0, 0.0, None)
    assert mo["expert_agreement"] == 0
    # replay: the recorded expert's findings are graded against the labels
    mr = rep["metrics"]["model"]
    assert (mr["graded"], mr["graded_pass"], mr["expert_agreement"], mr["matched"], mr["recall"], mr["precision"]) == \
        (3, 3, 3, 3, 1.0, 1.0)
    outcomes = {r["id"]: r["actual"] for r in rep["results"]}
    assert outcomes["expert-probe-wrong-port"] == "REJECTED"
    assert outcomes["expert-configmap-without-rollout"] == "REQUIRES CLARIFICATION"
    probe = next(r for r in rep["results"] if r["id"] == "expert-probe-wrong-port")
    assert probe["grading"]["matched"][0]["concern"] == "probe-port-not-listening"
    assert probe["model_findings"][0]["file"] == "k8s/api.yaml"
    summary = (tmp_path / "replay" / "summary.md").read_text()
    assert "**Precision 100.0%, recall 100.0%**" in summary
    assert "| expert-probe-wrong-port | REJECTED | REJECTED | 1/1 | 0 |" in summary
    case = next(c for c in ET.parse(tmp_path / "replay" / "junit.xml").getroot().iter("testcase")
                if c.get("name") == "expert-probe-wrong-port")
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["model.recall"] == "100.0%"
    assert "model findings: 3 graded scenario(s), 3 pass; labels 3, matched 3, unlabelled 0; precision 100.0%, " \
           "recall 100.0%" in replay.stdout


def test_a_missed_required_label_fails_the_scenario_with_a_model(scenarios: Path, tmp_path: Path) -> None:
    path = scenarios / "expert-probe-wrong-port" / "scenario.yaml"
    data = yaml.safe_load(path.read_text())
    data["expect"]["model_findings"][0]["file"] = "k8s/other.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = _eval(scenarios, tmp_path / "r", "--provider", "replay")
    assert proc.returncode == 1
    assert "FAIL: failed: expert-probe-wrong-port" in proc.stdout
    result = next(r for r in _results(tmp_path / "r")["results"] if r["id"] == "expert-probe-wrong-port")
    assert result["actual"] == "REJECTED" and result["grading"]["false_positives"] == [0]
    assert _eval(scenarios, tmp_path / "o", "--provider", "offline").returncode == 0  # offline grades nothing


def test_a_changed_check_title_keeps_replay_passing_and_lists_stale_recordings(
        scenarios: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.checks import core

    before = _eval(scenarios, tmp_path / "before", "--provider", "replay")
    assert before.returncode == 0 and _results(tmp_path / "before")["metrics"]["stale"] == []
    spec = core._REGISTRY["SEC-IMAGE-TAG"]
    monkeypatch.setitem(core._REGISTRY, "SEC-IMAGE-TAG", dataclasses.replace(spec, title=spec.title + " (renamed)"))
    after = _eval(scenarios, tmp_path / "after", "--provider", "replay")
    assert after.returncode == 0, after.stdout
    data = _results(tmp_path / "after")
    assert [r["status"] for r in data["results"]] == ["pass"] * len(IDS)
    assert data["failures"] == [] and "ERROR" not in after.stdout
    assert {r["id"]: r["actual"] for r in data["results"]} == \
        {r["id"]: r["actual"] for r in _results(tmp_path / "before")["results"]}
    stale = data["metrics"]["stale"]
    assert len(stale) == len(IDS) and all(s.endswith("security/submit_verdict#0.0: prompt") for s in stale)
    assert "## Stale recordings\n\n- approve-clean-worker: security/submit_verdict#0.0: prompt" in \
        (tmp_path / "after" / "summary.md").read_text()
    strict = _eval(scenarios, tmp_path / "strict", "--provider", "replay", "--fail-on-stale")
    assert strict.returncode == 1 and "FAIL: stale recordings: approve-clean-worker" in strict.stdout


def test_a_changed_data_turn_is_served_from_its_slot_and_reported_stale(scenarios: Path, tmp_path: Path) -> None:
    path = scenarios / "approve-clean-worker" / "scenario.yaml"
    path.write_text(path.read_text().replace("worker:2.0.1", "worker:2.0.2"))
    proc = _eval(scenarios, tmp_path / "r", "--provider", "replay")
    assert proc.returncode == 0, proc.stdout
    result = next(r for r in _results(tmp_path / "r")["results"] if r["id"] == "approve-clean-worker")
    assert result["status"] == "pass" and result["error"] is None
    assert "security/submit_verdict#0.0: data" in result["stale"]


def test_the_semantic_key_ignores_prompts_schemas_and_workspace_paths() -> None:
    def body(data: str, system: str = "prompt v1", tools_desc: str = "x", extra_turns: int = 0) -> dict:
        turns = [{"role": "user", "content": [{"type": "text", "text": f"<data>\n{data}\n</data>",
                                              "cache_control": {"type": "ephemeral"}}]}]
        turns += [{"role": "assistant", "content": []}, {"role": "user", "content": []}] * extra_turns
        return {"model": "m", "system": [{"type": "text", "text": system}], "messages": turns,
                "tools": [{"name": "submit_verdict", "description": tools_desc, "input_schema": {}}],
                "tool_choice": {"type": "tool", "name": "submit_verdict"}}

    data = '{"agent":"security","changed_paths":["/tmp/infra-eval-abc123/k8s/a.yaml"]}'
    key = semantic_key(body(data))
    assert (key.agent, key.tool, key.turn) == ("security", "submit_verdict", 0)
    assert semantic_key(body(data, system="prompt v2", tools_desc="y")) == key
    assert semantic_key(body(data.replace("abc123", "zzz999"))) == key
    assert semantic_key(body(data.replace("a.yaml", "b.yaml"))).id != key.id
    assert semantic_key(body(data, extra_turns=1)).turn == 1


def test_every_shipped_expert_scenario_labels_real_places_and_the_rules_miss_it(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    expert = [s for s in discover(SCENARIOS) if "expert" in s.scenario.tags]
    assert len(expert) >= 20
    rules_pass = [s for s in expert if s.scenario.expect.rules_outcome is not None]
    assert len(rules_pass) >= 20, "scenarios where the rules pass but an expert objects"
    builder = WorkspaceBuilder(FIXTURES, tmp_path)
    scripts = record_fake.scripts_for(expert, FIXTURES)  # every scripted quote is found in the built tree
    for loaded in expert:
        s = loaded.scenario
        assert s.graded and any(lab.required for lab in s.expect.model_findings), s.id
        assert s.id in scripts, f"{s.id}: no expert.yaml"
        repo = builder.build(loaded)
        for lab in s.expect.model_findings:
            lines = (repo / lab.file).read_text().splitlines()
            assert lab.line is None or lab.line <= len(lines), (s.id, lab.concern)


def test_the_scripted_expert_answers_in_the_shape_of_each_tool_schema() -> None:
    from expert import AgentScript, Expert, ExpertScript

    from agents.llm.opinion import AgentOpinion

    finding = {"check_id": "AGENT-X", "severity": "high", "category": "scalability", "message": "m",
               "remediation": "r", "file": "k8s/a.yaml", "quote": "replicas: 10", "field": "spec.replicas",
               "line": 5, "resource": {"kind": "Deployment", "name": "a"}}
    script = ExpertScript(agents={"scalability": AgentScript.model_validate(
        {"outcome": "REJECTED", "summary": "s", "findings": [finding]})})
    expert = Expert({"sc": script})

    def ask(schema: dict, tool: str = "submit_verdict") -> dict:
        body = {"model": "m", "tools": [{"name": "read_file", "input_schema": {}},
                                        {"name": tool, "input_schema": schema}],
                "messages": [{"role": "user", "content": '<data>\n{"agent":"scalability"}\n</data>'}]}
        status, reply = expert("sc", body)
        assert status == 200 and reply["content"][0]["name"] == tool
        return reply["content"][0]["input"]

    today = ask(AgentOpinion.model_json_schema())
    AgentOpinion.model_validate(today)  # the current (evidence-first) schema accepts it
    assert today["findings"][0]["evidence"]["file"] == "k8s/a.yaml" and today["findings"][0]["evidence"]["line"] == 5
    older = ask({"properties": {"outcome": {}}, "$defs": {"OpinionFinding": {"properties": {"file": {}}}}})
    assert older["findings"][0]["file"] == "k8s/a.yaml" and older["findings"][0]["line"] == 5
    evidence = ask({"properties": {"outcome": {}, "confirmed": {}},
                    "$defs": {"OpinionFinding": {"properties": {"evidence": {}}}}})
    assert evidence["findings"][0]["evidence"] == {"file": "k8s/a.yaml", "line": 5, "quote": "replicas: 10",
                                                   "field": "spec.replicas"}
    assert ask({"properties": {"engage": {}}}, "submit_plan")["engage"][0]["agent"] == "security"
    assert set(ask({"properties": {"specialists": {}}}, "submit_plan")["specialists"]) >= {"security", "scalability"}
    assert ask({}, "submit_reconciliation")["outcome"] == "REJECTED"
