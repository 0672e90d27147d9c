"""Regressions from the safety review: path filters, submodule ignore settings, symlinks under --path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import commit, git, isolate_git_env, make_repo

from core.config import load_config
from core.models import ChangeRequest, Outcome
from graph.runner import run_request

CONFIG = "phase3:\n  protected: ['backend/src/**', 'backend/lib']\n"


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    return make_repo(tmp_path, {".infra-orchestrator.yaml": CONFIG, "backend/src/app.py": "app = 1\n",
                                "backend/src/util.py": "u = 1\n", "k8s/README.md": "infra\n"})


def _review(repo: Path, **kw):
    loaded = load_config(repo)
    return run_request(ChangeRequest(workspace=str(repo), **kw), config=loaded.config, config_path=loaded.path)[0]


@pytest.mark.parametrize("path", ["./backend", "backend/", "backend//src", "backend/src/../src", "."])
def test_path_filter_is_normalised_before_narrowing_a_range(repo: Path, path: str):
    commit(repo, {"backend/src/app.py": "app = 2\n"}, "edit")
    decision = _review(repo, base="HEAD~1", paths=[path])
    assert decision.outcome is Outcome.rejected, (path, decision.phase3_protection)
    assert "backend/src/app.py" in decision.phase3_protection.detail


def test_path_filter_keeps_a_rename_out_of_the_named_directory(repo: Path):
    git(repo, "mv", "backend/src/util.py", "k8s/util.py")
    git(repo, "commit", "-qm", "move")
    decision = _review(repo, base="HEAD~1", paths=["backend/src/"])
    assert decision.outcome is Outcome.rejected
    assert "backend/src/util.py" in decision.phase3_protection.detail


def test_submodule_ignore_all_does_not_hide_a_protected_pointer_change(repo: Path, tmp_path: Path):
    (tmp_path / "lib-src").mkdir()
    lib = make_repo(tmp_path / "lib-src", {"lib.py": "x = 1\n"}, "lib v1")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet", str(lib), "backend/lib")
    git(repo, "commit", "-qm", "add lib")
    commit(lib, {"lib.py": "x = 2\n"}, "lib v2")
    git(repo / "backend" / "lib", "pull", "--quiet", "origin", "main")
    git(repo, "config", "-f", ".gitmodules", "submodule.backend/lib.ignore", "all")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "bump lib, hide it")
    decision = _review(repo, base="HEAD~1")
    assert decision.outcome is Outcome.rejected, decision.phase3_protection
    assert "backend/lib" in decision.phase3_protection.detail


def test_symlinks_inside_a_named_directory_are_guarded(repo: Path):
    os.symlink("../backend/src", repo / "k8s" / "app")
    os.symlink("../backend/src/app.py", repo / "k8s" / "file")
    decision = _review(repo, paths=["k8s"])
    assert decision.outcome is Outcome.rejected
    flagged = {f.file for f in decision.findings if f.check_id == "PHASE3-SYMLINK-INTO-PROTECTED"}
    assert {"k8s/app", "k8s/file"} <= flagged


@pytest.mark.parametrize("glob", ["./backend/src/**", "././backend/src/**"])
def test_dot_slash_globs_still_protect(repo: Path, glob: str):
    (repo / ".infra-orchestrator.yaml").write_text(f"phase3:\n  protected: ['{glob}']\n")
    commit(repo, {"backend/src/app.py": "app = 3\n"}, "edit")
    assert _review(repo, base="HEAD~1").outcome is Outcome.rejected


@pytest.mark.parametrize("glob", [" backend/src/**", "backend\\\\src\\\\**", "../backend/**", ""])
def test_globs_that_would_match_nothing_are_config_errors(tmp_path: Path, glob: str):
    from core.errors import ConfigError

    (tmp_path / ".infra-orchestrator.yaml").write_text(f"phase3:\n  protected: [{glob!r}]\n")
    with pytest.raises(ConfigError, match="phase3.protected"):
        load_config(tmp_path)


def test_a_directory_in_place_of_the_config_is_a_config_error(tmp_path: Path):
    from core.errors import ConfigError

    (tmp_path / ".infra-orchestrator.yaml").mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)


def test_an_in_scope_file_that_cannot_be_analysed_is_never_approved(tmp_path: Path):
    (tmp_path / ".infra-orchestrator.yaml").write_text(CONFIG)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_bytes(
        b"# caf\xe9\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
        b"spec: {hostPID: true, containers: [{name: c, image: 'x:1', securityContext: {privileged: true}}]}\n")
    decision = _review(tmp_path)
    assert decision.outcome is Outcome.clarification
    assert any("k8s/pod.yaml could not be analysed" in q for q in decision.questions)


def test_an_absolute_symlink_into_protected_code_is_guarded(repo: Path):
    os.symlink(str(repo / "backend" / "src"), repo / "k8s" / "abs")
    decision = _review(repo, paths=["k8s"])  # walked: the link stays a link
    assert decision.outcome is Outcome.rejected
    assert "k8s/abs" in {f.file for f in decision.findings if f.check_id == "PHASE3-SYMLINK-INTO-PROTECTED"}


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_worktree_review_sees_edits_hidden_by_index_flags(repo: Path, flag: str):
    git(repo, "update-index", flag, "backend/src/app.py")
    (repo / "backend" / "src" / "app.py").write_text("app = 'hidden edit'\n")
    decision = _review(repo, worktree=True)
    assert decision.outcome is Outcome.rejected, decision.phase3_protection
    assert "backend/src/app.py" in decision.phase3_protection.detail


def test_the_path_filter_narrows_what_is_shown_never_what_the_guard_sees(repo: Path):
    """``--path k8s`` (and MCP ``validate_change(paths=[...])``) once narrowed the range past the protected edit."""
    from tools.git import change_set_from_range, narrow_change_set
    from tools.guard import guard_change_set

    commit(repo, {"backend/src/app.py": "app = 2\n", "k8s/README.md": "infra v2\n"}, "both")
    full = change_set_from_range(repo, "HEAD~1")
    shown = narrow_change_set(full, ["k8s"])
    assert shown.paths() == ["k8s/README.md"]
    phase3 = load_config(repo).config.phase3
    assert guard_change_set(shown, phase3) == []  # the narrowed set alone would pass
    assert [f.file for f in guard_change_set(full, phase3)] == ["backend/src/app.py"]
