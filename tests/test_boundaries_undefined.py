"""No Phase III boundaries: the decision asks first (the seed: "if Phase III boundaries are unclear, halt and
request explicit definition"), and still lists every finding below the question."""

from __future__ import annotations

from pathlib import Path

from clirun import invoke

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:latest
"""


def test_no_boundaries_asks_first_even_with_blocking_findings(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    proc = invoke("review", str(tmp_path))
    out = proc.stdout
    assert proc.returncode == 3, out
    assert out.startswith("[CHANGE VALIDATION: REQUIRES CLARIFICATION]\n")
    modifications = out.split("Required modifications:\n", 1)[1].splitlines()
    assert "Phase III boundaries are not declared" in modifications[0]
    assert "guard init" in modifications[1]
    assert "SEC-IMAGE-TAG" in out  # the findings are still listed
    assert "escalated to REJECTED" not in out


def test_declared_boundaries_judge_the_findings(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    (tmp_path / ".infra-orchestrator.yaml").write_text("version: 1\nphase3:\n  protected: ['app/**']\n")
    proc = invoke("review", str(tmp_path))
    assert proc.returncode == 1 and proc.stdout.startswith("[CHANGE VALIDATION: REJECTED]\n"), proc.stdout
