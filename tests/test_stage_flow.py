"""`stage approve` / `stage status` end to end: the example's feature walks specify → done, decisions land in
the ledger, later edits make approvals stale, and the feature can come from the branch or SPECIFY_FEATURE."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import ROOT, invoke
from gitrepo import git, isolate_git_env

from core.models import ChangeRequest, StageRequest
from graph.runner import run_request
from tools.ledger import LEDGER_DIR, ledger_path, read_records, verify

EXAMPLE = ROOT / "examples" / "todo-phase-iv"
PATCH = ROOT / "examples" / "fix-todo-phase-iv.patch"
FEATURE = "specs/001-k8s-deployment"
MARKER = "- Storage class: [NEEDS CLARIFICATION: which storage class does Minikube provide?]\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """The example with its planted Kubernetes defects fixed (the patch), opted in to the ledger."""
    dest = Path(shutil.copytree(EXAMPLE, tmp_path / "todo"))
    subprocess.run(["git", "apply", str(PATCH)], cwd=dest, check=True)
    return dest


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"example drift: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def approve(root: Path, target: str, *extra: str) -> tuple[int, dict]:
    proc = invoke("stage", "approve", "001", "--to", target, "-C", str(root), "--format", "json", *extra)
    assert proc.returncode != 2, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def ids(decision: dict) -> set[str]:
    return {f["check_id"] for f in decision["findings"] if f["severity"] in ("high", "critical")}


def status(root: Path, *args: str) -> dict:
    proc = invoke("stage", "status", *args, "-C", str(root), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_example_walks_from_specify_to_done(repo: Path) -> None:
    code, decision = approve(repo, "specify", "--record")
    assert code == 0 and decision["outcome"] == "APPROVED"

    edit(repo, f"{FEATURE}/spec.md", "### Edge Cases\n", "### Edge Cases\n\n" + MARKER)
    code, decision = approve(repo, "plan")  # /sp.clarify stops and asks: so does the gate
    assert code == 3 and decision["outcome"] == "REQUIRES CLARIFICATION"
    assert "WF-CLARIFY-MARKERS" in {f["check_id"] for f in decision["findings"] if f["question"]}
    assert approve(repo, "clarify")[0] == 0  # clarify is where the marker gets resolved
    edit(repo, f"{FEATURE}/spec.md", MARKER, "- Storage class: none needed (no PVC; the database is external).\n")

    for target in ("plan", "tasks", "analyze", "implement"):
        code, decision = approve(repo, target)
        assert code == 0, (target, decision["issues"])
        assert decision["spec_kit_compliance"]["status"] in ("PASS", "WARN")

    code, decision = approve(repo, "done")
    assert code == 1
    open_tasks = [f["message"] for f in decision["findings"] if f["check_id"] == "WF-IMPLEMENT-OPEN-TASKS"]
    assert [m.split()[2] for m in open_tasks] == ["T012", "T013"]
    for task in ("T012", "T013"):
        edit(repo, f"{FEATURE}/tasks.md", f"- [ ] {task}", f"- [X] {task}")
    code, decision = approve(repo, "done")
    assert code == 0, decision["issues"]

    records = read_records(ledger_path(repo))
    assert [(r["subject"]["target"], r["outcome"]) for r in records] == [
        ("specify", "APPROVED"), ("plan", "REQUIRES CLARIFICATION"), ("clarify", "APPROVED"), ("plan", "APPROVED"),
        ("tasks", "APPROVED"), ("analyze", "APPROVED"), ("implement", "APPROVED"), ("done", "REJECTED"),
        ("done", "APPROVED")]
    assert verify(ledger_path(repo)).count == 9
    plan = records[3]
    assert set(plan["artifacts"]) == {".specify/memory/constitution.md", f"{FEATURE}/spec.md",
                                      f"{FEATURE}/checklists/requirements.md"}
    assert plan["summary"]["spec_kit_compliance"].startswith("PASS")
    assert set(plan["summary"]) == {"spec_kit_compliance", "phase3_protection", "k8s_best_practices",
                                    "agent_coordination"}
    assert plan["config_digest"] and plan["versions"]["infra-orchestrator"] and plan["prompt_versions"]
    final = status(repo, "001")
    assert final["current_stage"] == "implement" and final["next_action"] == "The feature is complete."
    assert {r["approval"] for r in final["rows"]} <= {"approved", "none"}


def test_spec_edit_after_plan_approval_makes_it_stale(repo: Path) -> None:
    (repo / LEDGER_DIR).mkdir(parents=True)
    for target in ("plan", "tasks"):
        assert approve(repo, target)[0] == 0
    edit(repo, f"{FEATURE}/spec.md", "- **FR-007**", "- **FR-008**: Logs MUST go to stdout.\n- **FR-007**")

    rows = {r["stage"]: r for r in status(repo, "001")["rows"]}
    assert (rows["plan"]["status"], rows["plan"]["approval"], rows["plan"]["changed"]) == (
        "stale", "stale", [f"{FEATURE}/spec.md"])
    assert rows["tasks"]["status"] == "stale" and rows["specify"]["status"] == "pass"
    assert status(repo, "001")["next_action"].endswith("stage approve 001-k8s-deployment --to plan")

    code, decision = approve(repo, "implement")
    stale = [f for f in decision["findings"] if f["check_id"] == "WF-STALE-APPROVAL"]
    assert code == 1 and [f["severity"] for f in stale] == ["high", "high"]
    assert "approval of 'plan'" in stale[0]["message"] and "approval of 'tasks'" in stale[1]["message"]
    assert "Re-approve 'plan': stage approve 001-k8s-deployment --to plan" in decision["next_steps"][0]

    assert approve(repo, "plan")[0] == 0
    assert approve(repo, "tasks")[0] == 0  # the stale 'tasks' approval is the one being replaced
    assert approve(repo, "implement")[0] == 0


def test_ticking_tasks_and_clarify_edits_do_not_make_approvals_stale(repo: Path) -> None:
    (repo / LEDGER_DIR).mkdir(parents=True)
    assert approve(repo, "clarify")[0] == 0
    edit(repo, f"{FEATURE}/spec.md", "## Requirements", "## Clarifications\n\n- Q: Storage? → A: none.\n\n## Requirements")
    assert approve(repo, "implement")[0] == 0
    edit(repo, f"{FEATURE}/tasks.md", "- [ ] T012", "- [X] T012")
    rows = {r["stage"]: r["approval"] for r in status(repo, "001")["rows"]}
    assert rows["clarify"] == "approved" and rows["implement"] == "approved"


def test_skip_attempt_is_rejected_and_names_the_stage(repo: Path) -> None:
    (repo / FEATURE / "plan.md").unlink()
    code, decision = approve(repo, "tasks")
    assert code == 1 and decision["outcome"] == "REJECTED"
    skipped = [f["message"] for f in decision["findings"] if f["check_id"] == "WF-STAGE-SKIPPED"]
    assert skipped == ["required stage 'plan' is not complete (not started) before entering 'tasks'"]
    assert not ledger_path(repo).exists()  # no history/approvals/: nothing is written


def test_change_review_is_recorded_with_its_files(repo: Path) -> None:
    (repo / LEDGER_DIR).mkdir(parents=True)
    decision, _ = run_request(ChangeRequest(workspace=str(repo), paths=["k8s"]))
    [record] = read_records(ledger_path(repo))
    assert record["kind"] == "change" and record["outcome"] == decision.outcome.value
    assert record["subject"]["mode"] == "paths" and "k8s/backend-deployment.yaml" in record["artifacts"]
    assert sum(record["findings"].values()) == len([f for f in decision.findings if not f.suppressed])


def test_record_false_in_the_context_skips_the_ledger(repo: Path) -> None:
    from graph.builder import build_graph
    from graph.runner import initial_state
    from graph.state import GraphContext

    (repo / LEDGER_DIR).mkdir(parents=True)
    req = StageRequest(workspace=str(repo), feature="001", target="plan")
    build_graph().invoke(initial_state(req), context=GraphContext(record=False))
    assert not ledger_path(repo).exists()
    build_graph().invoke(initial_state(req), context=GraphContext())
    assert len(read_records(ledger_path(repo))) == 1


def test_feature_from_specify_feature_or_branch(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    git(repo, "init", "-q", "--initial-branch=main")
    missing = invoke("stage", "status", "-C", str(repo))
    assert missing.returncode == 2 and "current branch 'main' is not a feature branch" in missing.stderr
    monkeypatch.setenv("SPECIFY_FEATURE", "k8s-deployment")
    assert status(repo)["feature"] == "001-k8s-deployment"
    monkeypatch.delenv("SPECIFY_FEATURE")
    git(repo, "checkout", "-q", "-b", "001-k8s-deployment")
    assert status(repo)["feature"] == "001-k8s-deployment"
    assert approve_default(repo) == 0


def test_feature_from_feature_json_or_specify_feature_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ".specify/feature.json").write_text(json.dumps({"feature_directory": FEATURE}), encoding="utf-8")
    assert status(repo)["feature"] == "001-k8s-deployment"
    moved = repo / "docs/specs/001-k8s-deployment"
    shutil.copytree(repo / FEATURE, moved)
    monkeypatch.setenv("SPECIFY_FEATURE_DIRECTORY", str(moved))
    assert status(repo)["feature"] == "001-k8s-deployment" and approve_default(repo) == 0
    monkeypatch.setenv("SPECIFY_FEATURE_DIRECTORY", "../elsewhere")
    proc = invoke("stage", "status", "-C", str(repo))
    assert proc.returncode == 2 and "outside the workspace" in proc.stderr


def approve_default(root: Path) -> int:
    return invoke("stage", "approve", "--to", "plan", "-C", str(root)).returncode


def test_missing_or_unknown_target_is_a_usage_error(repo: Path) -> None:
    proc = invoke("stage", "approve", "001", "-C", str(repo))
    assert proc.returncode == 2 and "--to is required" in proc.stderr
    proc = invoke("stage", "approve", "001", "--to", "deploy", "-C", str(repo))
    assert proc.returncode == 2 and "stages are: constitution" in proc.stderr and "done" in proc.stderr


def test_status_text_shows_current_stage_next_action_and_adrs(repo: Path) -> None:
    (repo / "history/adr").mkdir(parents=True)
    (repo / "history/adr/0001-use-helm.md").write_text("# ADR-0001: Use Helm\n\n- **Status:** Accepted\n")
    proc = invoke("stage", "status", "001", "-C", str(repo))
    assert proc.returncode == 0
    assert "Current stage: tasks" in proc.stdout and "Next action: Proceed with /sp.analyze." in proc.stdout
    assert "ADR: history/adr/0001-use-helm.md — ADR-0001: Use Helm (Accepted)" in proc.stdout
    assert "WF-IMPLEMENT-OPEN-TASKS" in proc.stdout


def test_concurrent_stage_approve_processes_keep_every_record(repo: Path) -> None:
    (repo / LEDGER_DIR).mkdir(parents=True)
    targets = ("plan", "tasks", "implement")
    procs = [subprocess.Popen([sys.executable, "-m", "infra_orchestrator", "stage", "approve", "001", "--to", t,
                               "-C", str(repo)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for t in targets]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    assert verify(ledger_path(repo)).count == 3
    assert sorted(r["subject"]["target"] for r in read_records(ledger_path(repo))) == sorted(targets)
    assert invoke("audit", "verify", str(repo)).returncode == 0


def test_a_damaged_ledger_fails_closed(repo: Path) -> None:
    (repo / LEDGER_DIR).mkdir(parents=True)
    assert approve(repo, "plan")[0] == 0
    path = ledger_path(repo)
    path.write_bytes(path.read_bytes()[:-5])
    proc = invoke("stage", "approve", "001", "--to", "tasks", "-C", str(repo))
    assert proc.returncode == 2 and proc.stdout == "" and "truncated" in proc.stderr
    assert invoke("audit", "verify", str(repo)).returncode == 1
