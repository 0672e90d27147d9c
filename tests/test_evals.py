"""`infra-orchestrator eval` over the shipped scenarios and over temporary copies that break on purpose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from clirun import ROOT, invoke
from gitrepo import isolate_git_env

from agents.llm.base import OfflineProvider
from infra_orchestrator.evals.runner import run_suite
from infra_orchestrator.evals.scenario import discover, scenario_json_schema

SCENARIOS = ROOT / "evals" / "scenarios"
FIXTURES = ROOT / "evals" / "fixtures"


def _offline(loaded, config):
    return OfflineProvider()


def _comparable(results: list[dict]) -> list[dict]:
    """Results without timings: what must not depend on concurrency."""
    return [{k: v for k, v in r.items() if k != "latency_ms"} for r in results]


def _eval(*args: str):
    return invoke("eval", *args, "--provider", "offline")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """One run of every shipped scenario through the CLI at concurrency 4."""
    report = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git_env(mp)
        proc = _eval(str(SCENARIOS), "--concurrency", "4", "--report", str(report))
    return proc, report


def test_shipped_scenarios_pass_with_no_false_approved(shipped) -> None:
    proc, report = shipped
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((report / "results.json").read_text())
    gating = [r for r in data["results"] if not r["pending"] and r["status"] != "skipped"]
    assert len(data["results"]) >= 40 and len(gating) >= 40
    assert all(r["status"] == "pass" for r in gating), [r["id"] for r in gating if r["status"] != "pass"]
    assert data["failures"] == []
    summary = (report / "summary.md").read_text()
    assert summary.index("## False APPROVED") < summary.index("## Confusion matrix")
    suite = ET.parse(report / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (str(len(data["results"])), "0", "0")
    assert int(suite.get("skipped")) == sum(1 for r in data["results"] if r["pending"] or r["status"] == "skipped")
    assert {c.get("name") for c in suite.iter("testcase")} == {r["id"] for r in data["results"]}


def test_concurrency_does_not_change_results(shipped, monkeypatch: pytest.MonkeyPatch) -> None:
    _, report = shipped
    isolate_git_env(monkeypatch)
    serial = run_suite(discover(SCENARIOS), mode="offline", provider_factory=_offline,
                       fixtures=FIXTURES, concurrency=1)
    parallel = json.loads((report / "results.json").read_text())["results"]
    assert _comparable([r.model_dump(mode="json") for r in serial]) == _comparable(parallel)


def _copy(tmp_path: Path, *ids: str) -> Path:
    root = tmp_path / "scenarios"
    for sid in ids:
        shutil.copytree(SCENARIOS / sid, root / sid)
    return root


def _edit(scenario_dir: Path, change) -> None:
    path = scenario_dir / "scenario.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _disable(check: str):
    def change(data: dict) -> None:
        config = yaml.safe_load((FIXTURES / "app" / ".infra-orchestrator.yaml").read_text())
        data["workspace"]["config"] = {**config, "checks": {"disabled": [check]}}
    return change


def test_disabling_a_check_fails_the_run_and_names_the_changed_scenarios(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    root = _copy(tmp_path, "secret-env-literal", "pss-privileged", "approve-clean-worker")
    before = _eval(str(root), "--fixtures", str(FIXTURES), "--report", str(tmp_path / "before"))
    assert before.returncode == 0, before.stdout + before.stderr
    _edit(root / "secret-env-literal", _disable("SEC-SECRET-ENV-LITERAL"))
    _edit(root / "pss-privileged", _disable("SEC-PRIVILEGED"))
    after = _eval(str(root), "--fixtures", str(FIXTURES), "--report", str(tmp_path / "after"),
                  "--baseline", str(tmp_path / "before" / "results.json"))
    assert after.returncode == 1, after.stdout + after.stderr
    assert "FAIL: false APPROVED: secret-env-literal\n" in after.stdout
    assert "FAIL: regressed against the baseline: pss-privileged, secret-env-literal\n" in after.stdout
    assert "secret-env-literal (pass (REJECTED) -> fail (APPROVED))" in after.stdout
    summary = (tmp_path / "after" / "summary.md").read_text()
    assert summary.split("## Verdict")[0].count("secret-env-literal") == 1
    assert "| pss-privileged | pass (REJECTED) | fail (REJECTED) |" in summary
    assert "approve-clean-worker |" not in summary.split("## Against the baseline")[1]


def _mislabelled(tmp_path: Path, tags: list[str]) -> Path:
    """A clean change whose scenario wrongly expects REJECTED (the run sees a false APPROVED)."""
    root = _copy(tmp_path, "approve-clean-worker")
    _edit(root / "approve-clean-worker", lambda d: d.update(tags=tags, expect={"outcome": "REJECTED"}))
    return root


def test_pending_scenarios_are_listed_but_do_not_fail_the_run(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    root = _mislabelled(tmp_path, ["pending:k8s-engine"])
    proc = _eval(str(root), "--fixtures", str(FIXTURES), "--report", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stdout
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "- **approve-clean-worker** (pending: k8s-engine) — expected REJECTED" in summary
    assert "- approve-clean-worker [k8s-engine] — fail: expected REJECTED, got APPROVED" in summary


def test_a_false_approved_fails_without_a_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    root = _mislabelled(tmp_path, [])
    proc = _eval(str(root), "--fixtures", str(FIXTURES), "--report", str(tmp_path / "r"))
    assert proc.returncode == 1
    assert "FAIL: false APPROVED: approve-clean-worker" in proc.stdout


def test_a_scenario_that_cannot_be_built_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    root = _copy(tmp_path, "phase3-patch-edit")
    (root / "phase3-patch-edit" / "head.patch").unlink()
    proc = _eval(str(root), "--fixtures", str(FIXTURES), "--report", str(tmp_path / "r"))
    assert proc.returncode == 1
    assert "FAIL: scenario errors: phase3-patch-edit" in proc.stdout
    junit = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    assert [c.find("error") is not None for c in junit.iter("testcase")] == [True]


def test_an_invalid_scenario_is_a_usage_error_naming_the_key(tmp_path: Path) -> None:
    root = _copy(tmp_path, "approve-docs-only")
    _edit(root / "approve-docs-only", lambda d: d.update(expected="APPROVED"))
    proc = _eval(str(root))
    assert proc.returncode == 2
    assert "approve-docs-only/scenario.yaml: invalid scenario: expected: Extra inputs are not permitted" in proc.stderr


def test_the_json_schema_is_generated_from_the_model() -> None:
    shipped_schema = json.loads((ROOT / "evals" / "scenario.schema.json").read_text())
    assert shipped_schema == scenario_json_schema(), (
        "stale: uv run python -m infra_orchestrator.evals.scenario > evals/scenario.schema.json")


@pytest.mark.parametrize(("args", "message"), [
    (("--provider", "offline", "--record"), "--record needs --provider anthropic"),
    (("--provider", "anthropic"), "--provider anthropic needs ANTHROPIC_API_KEY"),
])
def test_providers_that_cannot_run_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    proc = invoke("eval", str(SCENARIOS / "approve-docs-only"), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
