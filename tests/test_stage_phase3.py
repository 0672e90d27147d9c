"""A stage approval on a feature branch guards the branch's commits: Phase III edits reject the transition."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gitrepo import commit, git, isolate_git_env

from core.config import load_config
from core.models import Outcome, StageRequest
from graph.runner import run_request

FEATURES = Path(__file__).parent / "fixtures" / "features" / "complete"


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    root = tmp_path / "repo"
    shutil.copytree(FEATURES, root)
    (root / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: ['backend/src/**']\n")
    (root / "backend" / "src").mkdir(parents=True)
    (root / "backend" / "src" / "main.py").write_text("app = 'phase 3'\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    commit(root, {}, "Phase III application and specs")
    git(root, "checkout", "--quiet", "-b", "001-todo-k8s")
    return root


def _approve(root: Path):
    loaded = load_config(root)
    return run_request(StageRequest(workspace=str(root), feature="001", target="plan"),
                       config=loaded.config, config_path=loaded.path)


def test_clean_feature_branch_passes_the_guard(repo: Path):
    commit(repo, {"k8s/README.md": "manifests come here\n"}, "infra notes")
    decision, _ = _approve(repo)
    assert decision.phase3_protection.status == "PASS", decision.phase3_protection
    assert "on the feature branch" in decision.phase3_protection.detail


def test_phase3_edit_on_the_feature_branch_rejects_the_transition(repo: Path):
    commit(repo, {"backend/src/main.py": "app = 'patched during phase 4'\n"}, "quick fix")
    decision, text = _approve(repo)
    assert decision.outcome is Outcome.rejected, text
    assert decision.phase3_protection.status == "FAIL"
    assert "backend/src/main.py" in decision.phase3_protection.detail
    assert "- Phase III Protection: FAIL — protected paths touched: backend/src/main.py" in text
