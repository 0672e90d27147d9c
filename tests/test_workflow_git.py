"""A stage approval on a feature branch judges the feature's own changes (merge-base..HEAD), not the whole tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gitrepo import commit, git, isolate_git_env, make_repo

from core.models import StageRequest
from graph.runner import run_request
from tools.engine import change_set_for
from tools.workflow import feature_base

FEATURE_FIXTURE = Path(__file__).parent / "fixtures" / "features" / "complete"
OLD_MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: default\ndata: {}\n"
NEW_MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: todo\n  namespace: todo\ndata: {}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``main`` holds an old manifest; branch ``001-todo-k8s`` adds the feature's artifacts and one manifest."""
    isolate_git_env(monkeypatch)
    root = make_repo(tmp_path, {"k8s/old.yaml": OLD_MANIFEST})
    git(root, "checkout", "-q", "-b", "001-todo-k8s")
    shutil.copytree(FEATURE_FIXTURE, root, dirs_exist_ok=True)
    commit(root, {"k8s/todo.yaml": NEW_MANIFEST}, "feature")
    return root


def test_feature_branch_changes_are_the_commits_since_the_fork(repo: Path) -> None:
    base = git(repo, "rev-parse", "main").strip()
    assert feature_base(repo) == base
    changes = change_set_for(StageRequest(workspace=str(repo), feature="1", target="plan"), repo)
    paths = changes.paths()
    assert changes.mode == "git-range" and "k8s/todo.yaml" in paths and "k8s/old.yaml" not in paths
    assert "specs/001-todo-k8s/spec.md" in paths


def test_implement_on_a_feature_branch_analyses_only_its_manifests(repo: Path) -> None:
    decision, _ = run_request(StageRequest(workspace=str(repo), feature="1", target="implement"))
    assert decision.k8s_best_practices.detail.startswith("1 object(s) analysed")
    assert "SEC-DEFAULT-NAMESPACE" not in {f.check_id for f in decision.findings}  # old.yaml is not the feature's


def test_before_implement_no_infrastructure_is_judged(repo: Path) -> None:
    decision, text = run_request(StageRequest(workspace=str(repo), feature="1", target="plan"))
    assert decision.k8s_best_practices.status == "N/A"
    assert "- Kubernetes Best Practices: N/A — no infrastructure in this feature's scope" in text
    assert "guarded over the feature branch's" in decision.k8s_best_practices.detail
    assert not {f.check_id for f in decision.findings if f.category.value in ("security", "scalability",
                                                                               "observability", "schema")}


def test_another_feature_named_from_a_feature_branch_does_not_judge_this_branch(repo: Path) -> None:
    other = repo / "specs" / "002-other"
    shutil.copytree(repo / "specs" / "001-todo-k8s", other)
    commit(repo, {"specs/002-other/spec.md": (other / "spec.md").read_text()}, "another feature")
    assert change_set_for(StageRequest(workspace=str(repo), feature="2", target="plan"), repo).mode == "directory"
    assert change_set_for(StageRequest(workspace=str(repo), feature="1", target="plan"), repo).mode == "git-range"


def test_off_a_feature_branch_implement_judges_the_paths_its_tasks_name(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "001-todo-k8s")
    tasks = repo / "specs" / "001-todo-k8s" / "tasks.md"
    tasks.write_text(tasks.read_text() + "\n- [X] T999 Review `k8s/todo.yaml` for the namespace\n")
    decision, _ = run_request(StageRequest(workspace=str(repo), feature="1", target="implement"))
    assert decision.k8s_best_practices.detail.startswith("1 object(s) analysed"), decision.k8s_best_practices
    assert "the 1 path(s) the feature's tasks.md and plan.md name" in decision.analysis, decision.analysis
    assert "SEC-DEFAULT-NAMESPACE" not in {f.check_id for f in decision.findings}  # k8s/old.yaml is not named


def test_on_the_default_branch_the_directory_is_reviewed(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    assert feature_base(repo) is None
    assert change_set_for(StageRequest(workspace=str(repo), feature="1", target="plan"), repo).mode == "directory"


def test_outside_git_there_is_no_feature_base(tmp_path: Path) -> None:
    assert feature_base(tmp_path) is None


def test_named_paths_are_read_confined(tmp_path: Path) -> None:
    from tools.stage_scope import named_paths

    root = tmp_path / "repo"
    feature = root / "specs" / "001-x"
    feature.mkdir(parents=True)
    (root / "k8s").mkdir()
    (root / "k8s" / "app.yaml").write_text(NEW_MANIFEST)
    outside = tmp_path / "tasks.md"
    outside.write_text("- [X] T001 Write `k8s/app.yaml`\n")
    (feature / "tasks.md").symlink_to(outside)
    assert named_paths(root, feature) == []  # an artifact symlinked out of the workspace is not read
    (feature / "tasks.md").unlink()
    (feature / "tasks.md").write_text(outside.read_text())
    assert named_paths(root, feature) == ["k8s/app.yaml"]
