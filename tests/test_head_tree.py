"""A git-range review reads charts and app sources at ``--head``, like manifests, not from the work tree.

helm and the runtime contract read files, so the engine renders and parses a copy of the head
(:mod:`tools.head_tree`) whenever the work tree differs there, and says so with WS-WORKTREE-DIFFERS (info).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import Symlink, commit, git, isolate_git_env, make_repo

from agents.llm.base import OfflineProvider
from core.config import Config
from core.models import ChangeRequest
from graph.runner import run_request
from tools import engine
from tools.head_tree import head_tree
from tools.rendering import helm_backend

needs_helm = pytest.mark.skipif(helm_backend() is None, reason="neither helm nor helm-python-sdk is available")

CONFIG = """\
phase3:
  protected: ["backend/src/**"]
  app_roots: ["backend"]
helm:
  charts: ["charts/app"]
"""
CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: "registry.example/app:{{ .Values.tag }}"
          securityContext:
            privileged: {{ .Values.privileged }}
"""


@pytest.fixture(autouse=True)
def _git_env(monkeypatch):
    isolate_git_env(monkeypatch)


def _repo(tmp_path: Path) -> tuple[Path, str]:
    repo = make_repo(tmp_path, {".infra-orchestrator.yaml": CONFIG, "backend/src/app.py": "print('hi')\n",
                                "charts/app/Chart.yaml": CHART, "charts/app/templates/deploy.yaml": TEMPLATE,
                                "charts/app/values.yaml": "tag: '1.0'\nprivileged: false\n"})
    return repo, git(repo, "rev-parse", "HEAD").strip()


def _review(repo: Path, base: str, head: str = "HEAD"):
    req = ChangeRequest(workspace=str(repo), base=base, head=head)
    config = Config.model_validate({"phase3": {"protected": ["backend/src/**"], "app_roots": ["backend"]},
                                    "helm": {"charts": ["charts/app"]}})
    collected = engine.collect(req, repo, config)
    return collected, engine.judge(req, collected, config, phase3=False)


def test_head_tree_copies_the_revision_not_the_work_tree(tmp_path):
    repo, first = _repo(tmp_path)
    (repo / "charts/app/values.yaml").write_text("tag: work-tree\n")
    (repo / "charts/app/extra.txt").write_text("untracked\n")
    commit(repo, {"charts/app/link": Symlink("../../backend/src/app.py")}, "a link")
    with head_tree(repo, first, ["charts/app"]) as copy:
        assert (copy / "charts/app/values.yaml").read_text() == "tag: '1.0'\nprivileged: false\n"
        assert not (copy / "charts/app/extra.txt").exists()  # untracked: not in the revision
        assert not (copy / "charts/app/link").exists() and not (copy / "backend").exists()  # only what was asked
    with head_tree(repo, "HEAD", ["charts/app"]) as copy:
        assert os.readlink(copy / "charts/app/link") == "../../backend/src/app.py"  # a link stays a link
    assert not copy.exists()


@needs_helm
def test_a_chart_is_rendered_at_the_head_when_the_work_tree_differs(tmp_path):
    repo, base = _repo(tmp_path)
    commit(repo, {"charts/app/values.yaml": "tag: '1.0'\nprivileged: true\n"}, "privileged at head")
    (repo / "charts/app/values.yaml").write_text("tag: '1.0'\nprivileged: false\n")  # fixed only locally
    collected, analysis = _review(repo, base)
    ids = {f.check_id for f in analysis.findings}
    assert "SEC-PRIVILEGED" in ids, sorted(ids)  # what merges is privileged, whatever the work tree says
    drift = [f for f in collected.findings if f.check_id == "WS-WORKTREE-DIFFERS"]
    assert len(drift) == 1 and drift[0].file == "charts/app/values.yaml"
    assert "read at the reviewed head" in drift[0].message


@needs_helm
def test_no_copy_and_no_note_when_the_work_tree_is_the_head(tmp_path):
    repo, base = _repo(tmp_path)
    commit(repo, {"charts/app/values.yaml": "tag: '1.0'\nprivileged: true\n"}, "privileged at head")
    collected, analysis = _review(repo, base)
    assert "SEC-PRIVILEGED" in {f.check_id for f in analysis.findings}
    assert not [f for f in collected.findings if f.check_id == "WS-WORKTREE-DIFFERS"]


def _need_hidden_by_the_work_tree(tmp_path: Path) -> tuple[Path, ChangeRequest, Config]:
    """The head's app reads DATABASE_URL; the work tree's copy of that source no longer does."""
    repo, base = _repo(tmp_path)
    manifest = TEMPLATE.replace('"registry.example/app:{{ .Values.tag }}"', "registry.example/app:1.0") \
        .replace("{{ .Values.privileged }}", "false")
    commit(repo, {"backend/src/app.py": "import os\nDB = os.environ['DATABASE_URL']\n",
                  "k8s/deploy.yaml": manifest}, "the app needs DATABASE_URL")
    (repo / "backend/src/app.py").write_text("print('no env needed here')\n")
    config = Config.model_validate({"phase3": {"protected": ["backend/src/**"], "app_roots": ["backend"]}})
    return repo, ChangeRequest(workspace=str(repo), base=base, head="HEAD"), config


def test_the_runtime_contract_reads_app_sources_at_the_head(tmp_path):
    repo, req, config = _need_hidden_by_the_work_tree(tmp_path)
    collected = engine.collect(req, repo, config)
    found, contracts = engine.workspace_evidence(repo, collected, config, lock=False)
    assert any("DATABASE_URL" in f.message for f in found), [f.message for f in found]
    assert any(f.check_id == "WS-WORKTREE-DIFFERS" and f.file == "backend/src/app.py" for f in found)
    [app] = contracts  # what the Phase III specialist is given: the head's contract, not the work tree's
    assert "DATABASE_URL" in app.env


class ContractSeen(OfflineProvider):
    """Keeps the runtime contract the Phase III specialist was given."""

    name = "contract-seen"
    contract = None

    def assess(self, inp, baseline):
        if inp.agent == "phase3_guard":
            self.contract = inp.contract
        return baseline


def test_the_phase3_specialist_is_given_the_contract_of_the_head(tmp_path):
    _, req, config = _need_hidden_by_the_work_tree(tmp_path)
    provider = ContractSeen()
    run_request(req, config=config, provider=provider)
    [app] = provider.contract
    assert app["app_root"] == "backend" and [v["name"] for v in app["env"]] == ["DATABASE_URL"]
