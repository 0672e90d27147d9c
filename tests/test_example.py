"""The README's demo: the bundled example is REJECTED; the patched variant is APPROVED; its feature's stages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import ROOT, invoke, run_cli

EXAMPLE = ROOT / "examples" / "todo-phase-iv"
PATCH = ROOT / "examples" / "fix-todo-phase-iv.patch"


def test_example_is_rejected_with_useful_findings():
    proc = run_cli("review", "examples/todo-phase-iv", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    decision = json.loads(proc.stdout)
    assert decision["outcome"] == "REJECTED"
    ids = {(f["check_id"], f["file"]) for f in decision["findings"]}
    assert ("SEC-SECRET-ENV-LITERAL", "k8s/backend-deployment.yaml") in ids
    assert ("SEC-IMAGE-TAG", "k8s/backend-deployment.yaml") in ids
    assert ("REL-SERVICE-TARGET", "k8s/backend-service.yaml") in ids
    assert ("SEC-SECRET-COMMITTED", "k8s/secret.yaml") in ids
    assert "sk-example" not in proc.stdout  # the secret value is never echoed


def test_text_output_is_the_seed_format():
    proc = invoke("review", "examples/todo-phase-iv")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == "[CHANGE VALIDATION: REJECTED]" and lines[1] == ""
    assert "Issues identified:" in lines and "Required modifications:" in lines


@pytest.fixture()
def fixed(tmp_path: Path) -> Path:
    dest = tmp_path / "todo"
    shutil.copytree(EXAMPLE, dest)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "apply", str(PATCH)], cwd=dest, check=True)
    return dest


def test_fixed_example_is_approved(fixed: Path):
    proc = invoke("review", str(fixed))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("[CHANGE VALIDATION: APPROVED]")


def test_stage_approval_with_open_clarification_marker_asks_naming_file_and_line(fixed: Path):
    spec = fixed / "specs" / "001-k8s-deployment" / "spec.md"
    lines = spec.read_text().splitlines()
    lines.insert(5, "- Storage class: [NEEDS CLARIFICATION: which storage class does Minikube provide?]")
    spec.write_text("\n".join(lines) + "\n")
    proc = invoke("stage", "approve", "001", "--to", "plan", "-C", str(fixed))
    assert proc.returncode == 3, proc.stdout
    out = proc.stdout
    assert out.startswith("[STAGE APPROVAL DECISION: REQUIRES CLARIFICATION]\n\nValidation Summary:\n")
    assert "- Spec-Kit Plus Compliance: NEEDS INPUT" in out
    assert "- specs/001-k8s-deployment/spec.md:6: medium WF-CLARIFY-MARKERS " in out
    for line in ("- Phase III Protection:", "- Kubernetes Best Practices:", "- Agent Coordination:"):
        assert line in out


def test_stage_approval_passes_when_gates_pass(fixed: Path):
    proc = invoke("stage", "approve", "001-k8s-deployment", "--to", "tasks", "-C", str(fixed))
    assert proc.returncode == 0, proc.stdout
    assert "- Spec-Kit Plus Compliance: PASS" in proc.stdout


def test_unknown_stage_and_feature_are_usage_errors(fixed: Path):
    proc = invoke("stage", "approve", "001", "--to", "deploy", "-C", str(fixed))
    assert proc.returncode == 2 and "unknown stage 'deploy'" in proc.stderr
    proc = invoke("stage", "approve", "042", "--to", "plan", "-C", str(fixed))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_stage_status_table(fixed: Path):
    proc = invoke("stage", "status", "001", "-C", str(fixed), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["stage"]: r["status"] for r in json.loads(proc.stdout)["rows"]}
    assert rows["plan"] == "pass" and rows["implement"] == "fail"
