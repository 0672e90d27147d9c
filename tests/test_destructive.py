"""Destructive-change checks (tools/checks/destructive.py) and their wiring for git changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config
from core.models import ChangeRequest
from tests.gitrepo import commit, isolate_git_env, make_repo
from tools.checks import run_diff_checks
from tools.checks.destructive import quantity
from tools.engine import analyse, collect
from tools.manifests import load_manifest_text

PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: shop}}
spec:
  storageClassName: {cls}
  resources: {{requests: {{storage: {size}}}}}
"""
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: %s}\n"


def objs(text: str):
    return load_manifest_text(text, "k8s/app.yaml")[0]


def diff(base: str, head: str) -> list[tuple[str, str]]:
    return [(f.check_id, f.message) for f in run_diff_checks(objs(base), objs(head))]


def test_quantities():
    assert quantity("10Gi") == 10 * 2**30 and quantity("500M") == 5e8 and quantity("1.5") == 1.5
    assert quantity("lots") is None and quantity(None) is None


def test_pvc_may_grow_but_not_shrink_or_change_class():
    assert diff(PVC.format(cls="fast", size="10Gi"), PVC.format(cls="fast", size="20Gi")) == []
    assert [m for _, m in diff(PVC.format(cls="fast", size="10Gi"), PVC.format(cls="slow", size="9000Mi"))] == [
        "PersistentVolumeClaim shop/data: immutable field spec.storageClassName changed",
        "PersistentVolumeClaim shop/data: immutable field spec.resources.requests.storage (shrunk: volumes "
        "cannot be made smaller) changed",
    ]


def test_service_cluster_ip_and_identity_across_api_versions():
    assert diff(SERVICE % "None", SERVICE % "None") == []
    assert [i for i, _ in diff(SERVICE % "None", SERVICE % "10.0.0.5")] == ["DESTRUCT-IMMUTABLE"]
    moved = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c, namespace: shop}\n"
    assert diff(moved, moved.replace("v1beta1", "v1")) == []
    assert diff(moved, moved.replace("namespace: shop", "namespace: other"))[0][0] == "DESTRUCT-REMOVED"


def test_configmaps_may_be_removed():
    assert diff("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "") == []


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    return make_repo(tmp_path, {"k8s/pvc.yaml": PVC.format(cls="fast", size="10Gi"),
                                "k8s/svc.yaml": SERVICE % "None"})


def test_a_git_range_compares_base_and_head(repo):
    commit(repo, {"k8s/pvc.yaml": PVC.format(cls="fast", size="1Gi")}, "shrink", delete=["k8s/svc.yaml"])
    req = ChangeRequest(workspace=str(repo), base="HEAD~1")
    assert not [f for f in collect(req, repo, Config()).findings if f.check_id.startswith("DESTRUCT-")]  # read only
    analysis = analyse(req, Config())  # the engine's checks compare base and head
    got = sorted((f.check_id, f.file) for f in analysis.findings if f.check_id.startswith("DESTRUCT-"))
    assert got == [("DESTRUCT-IMMUTABLE", "k8s/pvc.yaml"), ("DESTRUCT-REMOVED", "k8s/svc.yaml")]


def test_a_directory_review_has_no_base_and_no_diff_findings(repo):
    analysis = analyse(ChangeRequest(workspace=str(repo)), Config())
    assert not [f for f in analysis.findings if f.check_id.startswith("DESTRUCT-")]
