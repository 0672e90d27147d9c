"""Record and replay through the real anthropic SDK: the fake Messages server stands in for the live API
(``--record`` with a real key cannot run here), then replay answers from the recordings alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import ROOT, invoke
from fakes.anthropic_server import Error, FakeModelServer, default_responder
from gitrepo import isolate_git_env

SCENARIOS = ROOT / "evals" / "scenarios"
FIXTURES = ROOT / "evals" / "fixtures"
IDS = ("approve-clean-worker", "pss-privileged", "stage-approve-plan")


def _eval(root: Path, report: Path, *args: str):
    return invoke("eval", str(root), "--fixtures", str(FIXTURES), "--report", str(report), "--concurrency", "3",
                  *args)


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    data = json.loads((report / "results.json").read_text())
    return {r["id"]: (r["status"], r["actual"]) for r in data["results"]}


def _outage(call):
    return Error(529, retry_after=0.01) if call.agent == "security" else default_responder(call)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory):
    """Copies of three scenarios recorded once against the fake server (security answers 529: an outage)."""
    tmp = tmp_path_factory.mktemp("record")
    root = tmp / "scenarios"
    for sid in IDS:
        shutil.copytree(SCENARIOS / sid, root / sid, ignore=shutil.ignore_patterns("recordings"))
    with pytest.MonkeyPatch.context() as mp, FakeModelServer(_outage) as fake:
        isolate_git_env(mp)
        mp.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
        mp.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        proc = _eval(root, tmp / "recorded", "--provider", "anthropic", "--record")
        mp.delenv("ANTHROPIC_BASE_URL")
        mp.delenv("ANTHROPIC_API_KEY")
        yield root, tmp / "recorded", proc, fake


@pytest.fixture()
def recorded(recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private copy of the recorded scenarios (tests may delete recordings)."""
    isolate_git_env(monkeypatch)
    root, report, proc, fake = recording
    return Path(shutil.copytree(root, tmp_path / "scenarios", symlinks=True)), report, proc, fake


def test_replay_serves_recordings_through_the_sdk_without_the_upstream(recorded, tmp_path: Path) -> None:
    root, report, recorded_run, fake = recorded
    assert recorded_run.returncode == 1, recorded_run.stdout + recorded_run.stderr
    calls = len(fake.calls)
    files = sorted(p.relative_to(root).parts[:3] for p in root.glob("*/recordings/*/*.json"))
    assert {f[0] for f in files} == set(IDS)
    assert ("pss-privileged", "recordings", "security") in files
    assert "sk-ant-test" not in "".join(p.read_text() for p in root.glob("*/recordings/*/*.json"))
    proc = _eval(root, tmp_path / "replayed", "--provider", "replay")
    assert len(fake.calls) == calls, "replay must not reach the upstream"
    assert _outcomes(tmp_path / "replayed") == _outcomes(report)
    assert _outcomes(tmp_path / "replayed")["approve-clean-worker"] == ("fail", "REQUIRES CLARIFICATION")
    assert "FAIL: failed: approve-clean-worker" in proc.stdout


def test_a_request_without_recording_is_a_scenario_error(recorded, tmp_path: Path) -> None:
    root = recorded[0]
    for rec in (root / "pss-privileged" / "recordings" / "scalability").glob("*.json"):
        rec.unlink()
    proc = _eval(root, tmp_path / "replayed", "--provider", "replay")
    assert proc.returncode == 1
    assert "FAIL: scenario errors: pss-privileged" in proc.stdout
    result = next(r for r in json.loads((tmp_path / "replayed" / "results.json").read_text())["results"]
                  if r["id"] == "pss-privileged")
    assert result["error"].startswith("no recording for 1 request(s): scalability/")
