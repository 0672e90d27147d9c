"""Cross-object checks on a change see the workspace's unchanged manifests: a changed Service whose Deployment
sits in an unchanged file selects pods, so no false "matches no pod template" (high) finding."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import commit, git, isolate_git_env, make_repo

from core.config import Config
from core.models import ChangeRequest
from tools.engine import analyse

CONFIG = "version: 1\nphase3:\n  protected: ['app/**']\n"
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
      - {name: web, image: "web:1.0"}
"""
SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec:
  selector: {app: %s}
  ports: [{port: 80, targetPort: 8080}]
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    return make_repo(tmp_path, {".infra-orchestrator.yaml": CONFIG, "k8s/deploy.yaml": DEPLOYMENT,
                                "k8s/svc.yaml": SERVICE % "web", "app/main.py": "print('hi')\n"})


def _targets(repo: Path, **request) -> list[str]:
    found = analyse(ChangeRequest(workspace=str(repo), **request), Config()).findings
    return [f.file for f in found if f.check_id == "REL-SERVICE-TARGET"]


def test_a_changed_service_sees_the_unchanged_deployment(repo: Path) -> None:
    commit(repo, {"k8s/svc.yaml": (SERVICE % "web").replace("port: 80", "port: 8080")}, "change the port")
    assert _targets(repo, base="HEAD~1") == []
    (repo / "k8s" / "svc.yaml").write_text((SERVICE % "web").replace("port: 80", "port: 81"))
    assert _targets(repo, worktree=True) == []
    assert _targets(repo, paths=["k8s/svc.yaml"]) == []


def test_a_directory_too_deep_to_walk_does_not_stop_a_review_of_other_paths(repo: Path) -> None:
    """The context walk reads, never judges: a directory nested past the walk's limit elsewhere in the workspace
    neither fails the review of a change nor hides the change's own findings."""
    deep = repo.joinpath("docs", *["x"] * 70)
    deep.mkdir(parents=True)
    (deep / "notes.yaml").write_text("a: 1\n")
    (repo / "k8s" / "svc.yaml").write_text(SERVICE % "api")
    assert _targets(repo, worktree=True) == ["k8s/svc.yaml"]
    assert _targets(repo, paths=["k8s/svc.yaml"]) == ["k8s/svc.yaml"]
    found = analyse(ChangeRequest(workspace=str(repo)), Config()).findings  # the directory review says so
    assert [f.file for f in found if f.check_id == "SCH-UNREADABLE"] == ["/".join(["docs", *["x"] * 64])]


def test_a_real_mismatch_is_still_found_and_only_for_the_changed_file(repo: Path) -> None:
    commit(repo, {"k8s/svc.yaml": SERVICE % "api"}, "point the service elsewhere")
    assert _targets(repo, base="HEAD~1") == ["k8s/svc.yaml"]


def test_unchanged_objects_are_never_reported(repo: Path) -> None:
    commit(repo, {"k8s/other.yaml": SERVICE.replace("name: web", "name: other") % "nothing"}, "add another")
    git(repo, "log", "--oneline")
    files = {f.file for f in analyse(ChangeRequest(workspace=str(repo), base="HEAD~1"), Config()).findings if f.file}
    assert "k8s/deploy.yaml" not in files and "k8s/svc.yaml" not in files


def test_contract_findings_point_at_the_container_env():
    from clirun import ROOT

    from core.config import load_config

    example = ROOT / "examples" / "todo-phase-iv"
    found = analyse(ChangeRequest(workspace=str(example)), load_config(example).config).findings
    jwt = next(f for f in found if f.check_id == "CONTRACT-ENV-MISSING" and "JWT_SECRET" in f.message
               and f.file == "k8s/backend-deployment.yaml")
    assert jwt.field == "spec.template.spec.containers[0].env" and jwt.object_line == 1
    line = (example / jwt.file).read_text().splitlines()[jwt.line - 1]
    assert line.strip() == "env:" and jwt.column == line.index("env:") + 1


def test_check_of_a_file_sees_its_siblings_and_reads_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`check k8s/service.yaml`: the Deployment beside it is context (no false REL-SERVICE-TARGET), but the rest of
    the workspace is not read — a one-file check (pre-commit, an editor) costs one directory, not the repository."""
    from tools import engine, workspace
    from tools.engine import check_paths

    ws = tmp_path / "ws"
    (ws / "k8s").mkdir(parents=True)
    (ws / "k8s/deploy.yaml").write_text(DEPLOYMENT)
    (ws / "k8s/service.yaml").write_text(SERVICE % "web")
    for i in range(30):
        (ws / f"elsewhere/app{i}").mkdir(parents=True)
        (ws / f"elsewhere/app{i}/cm.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n")
    read: list[str] = []
    real = workspace.read_confined

    def spy(root, rel, *args, **kwargs):
        read.append(rel)
        return real(root, rel, *args, **kwargs)

    monkeypatch.setattr(engine, "read_confined", spy)
    findings = check_paths(ws, ["k8s/service.yaml"], Config()).findings
    assert "REL-SERVICE-TARGET" not in {f.check_id for f in findings}
    assert "k8s/deploy.yaml" in read
    assert not [r for r in read if r.startswith("elsewhere/")], read
