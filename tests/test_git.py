"""tools.git against real temporary repositories: a Phase III baseline commit, then a Phase IV commit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import Symlink, commit, git, isolate_git_env, make_repo, write_files

from core.errors import GitError, InputError
from core.models import ChangeSet, FileChange
from tools.git import (
    change_set_from_range,
    is_git_repo,
    list_files_at,
    read_file_at,
    repo_toplevel,
    run_git,
)
from tools.git_worktree import change_set_from_worktree

LINES = "".join(f"line {i}\n" for i in range(20))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))

BASELINE = {
    "backend/app.py": "def main():\n    return 'phase 3'\n",
    "backend/old_name.py": "def helper():\n    return 42\n",
    "backend/run.sh": "#!/bin/sh\necho run\n",
    "frontend/page.js": "export default () => null;\n",
    "infra/values.yaml": LINES,
    "infra/legacy.cfg": LINES + "legacy\n",
    "docs/obsolete.md": "# obsolete\n",
}
SPACED = "k8s/deploy ment é.yaml"
NEWLINE = "k8s/odd\nname.txt"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(repo, base sha): the baseline, then one Phase IV commit exercising every kind of change."""
    repo = make_repo(tmp_path_factory.mktemp("history"), BASELINE)
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "mv", "backend/old_name.py", "infra/new_name.py")
    (repo / "ops").mkdir()
    git(repo, "mv", "infra/legacy.cfg", "ops/legacy.cfg")
    (repo / "backend/run.sh").chmod(0o755)
    commit(repo, {
        SPACED: "kind: Deployment\n",
        NEWLINE: "odd\n",
        "backend/app.py": "def main():\n    return 'phase 4'\n",
        "infra/values.yaml": LINES + "extra\n",
        "infra/values-prod.yaml": LINES,
        "frontend/page.js": Symlink("../backend/app.py"),
        "assets/logo.png": PNG,
    }, "Phase IV infrastructure", delete=["docs/obsolete.md"])
    return repo, base


def by_path(changes: ChangeSet) -> dict[str, FileChange]:
    return {c.path: c for c in changes.files}


@pytest.fixture(scope="module")
def range_changes(history: tuple[Path, str]) -> dict[str, FileChange]:
    repo, base = history
    return by_path(change_set_from_range(repo, base))


def test_range_reports_exactly_the_changed_paths(range_changes: dict[str, FileChange]) -> None:
    assert set(range_changes) == {
        SPACED, NEWLINE, "backend/app.py", "infra/values.yaml", "infra/values-prod.yaml", "frontend/page.js",
        "assets/logo.png", "docs/obsolete.md", "infra/new_name.py", "ops/legacy.cfg", "backend/run.sh",
    }


@pytest.mark.parametrize(("path", "status"), [
    (SPACED, "added"), (NEWLINE, "added"), ("backend/app.py", "modified"), ("docs/obsolete.md", "deleted"),
])
def test_range_maps_simple_statuses(range_changes: dict[str, FileChange], path: str, status: str) -> None:
    change = range_changes[path]
    assert (change.status, change.old_path, change.is_symlink, change.is_binary) == (status, None, False, False)


def test_range_detects_renames_and_copies(range_changes: dict[str, FileChange]) -> None:
    renamed, copied = range_changes["infra/new_name.py"], range_changes["infra/values-prod.yaml"]
    assert (renamed.status, renamed.old_path) == ("renamed", "backend/old_name.py")
    assert (copied.status, copied.old_path) == ("copied", "infra/values.yaml")
    assert range_changes["infra/values.yaml"].status == "modified"


def test_range_distinguishes_mode_only_change(range_changes: dict[str, FileChange]) -> None:
    change = range_changes["backend/run.sh"]
    assert (change.status, change.old_mode, change.new_mode) == ("mode_changed", "100644", "100755")


def test_range_reports_file_replaced_by_symlink(range_changes: dict[str, FileChange]) -> None:
    change = range_changes["frontend/page.js"]
    assert (change.status, change.is_symlink, change.symlink_target) == ("type_changed", True, "../backend/app.py")
    assert change.new_mode == "120000"


def test_range_flags_binary_files_only(range_changes: dict[str, FileChange]) -> None:
    assert [p for p, c in range_changes.items() if c.is_binary] == ["assets/logo.png"]


def test_range_head_defaults_to_HEAD(history: tuple[Path, str]) -> None:
    repo, base = history
    explicit = change_set_from_range(repo, base, git(repo, "rev-parse", "HEAD").strip())
    implicit = change_set_from_range(repo, base)
    assert implicit.head == "HEAD"
    assert implicit.files == explicit.files


def test_range_in_subdirectory_is_relative_to_it(history: tuple[Path, str]) -> None:
    repo, base = history
    changes = by_path(change_set_from_range(repo / "infra", base))
    assert {p: (c.status, c.old_path) for p, c in changes.items()} == {
        "values.yaml": ("modified", None),
        "values-prod.yaml": ("copied", "values.yaml"),
        "new_name.py": ("added", None),  # renamed in from backend/, outside the root
        "legacy.cfg": ("deleted", None),  # renamed out to ops/
    }


def test_worktree_combines_staged_unstaged_and_untracked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {**BASELINE, ".gitignore": "*.log\n"})
    write_files(repo, {"k8s/staged.yaml": "kind: Service\n", "backend/app.py": "changed\n",
                       "k8s/untracked é.yaml": "kind: Pod\n", "debug.log": "ignored\n",
                       "k8s/link": Symlink("../backend/app.py"), "assets/raw.bin": PNG})
    git(repo, "add", "k8s/staged.yaml")
    git(repo, "rm", "--quiet", "docs/obsolete.md")
    (repo / "backend/run.sh").chmod(0o755)
    changes = by_path(change_set_from_worktree(repo))
    assert {p: c.status for p, c in changes.items()} == {
        "k8s/staged.yaml": "added", "backend/app.py": "modified", "k8s/untracked é.yaml": "added",
        "docs/obsolete.md": "deleted", "backend/run.sh": "mode_changed", "k8s/link": "added",
        "assets/raw.bin": "added",
    }
    assert (changes["k8s/link"].is_symlink, changes["k8s/link"].symlink_target) == (True, "../backend/app.py")
    assert [p for p, c in changes.items() if c.is_binary] == ["assets/raw.bin"]


def test_worktree_reads_unstaged_symlink_and_subdirectory(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, BASELINE)
    write_files(repo, {"frontend/page.js": Symlink("../infra/values.yaml"), "infra/new.yaml": "a: 1\n"})
    changes = change_set_from_worktree(repo / "frontend")
    assert changes.mode == "git-worktree"
    assert [(c.path, c.status, c.symlink_target) for c in changes.files] == [
        ("page.js", "type_changed", "../infra/values.yaml")]


def test_worktree_without_commits_compares_with_empty_tree(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "--quiet")
    write_files(repo, {"a.yaml": "a: 1\n", "b.yaml": "b: 2\n"})
    git(repo, "add", "a.yaml")
    changes = change_set_from_worktree(repo)
    assert changes.base is None
    assert [(c.path, c.status) for c in changes.files] == [("a.yaml", "added"), ("b.yaml", "added")]


def test_read_file_at_and_list_files_at(history: tuple[Path, str]) -> None:
    repo, base = history
    assert read_file_at(repo, base, "docs/obsolete.md") == b"# obsolete\n"
    assert read_file_at(repo, "HEAD", "docs/obsolete.md") is None
    assert read_file_at(repo, "HEAD", "assets/logo.png") == PNG
    assert read_file_at(repo / "infra", base, "./x/../legacy.cfg") == (LINES + "legacy\n").encode()
    assert list_files_at(repo / "infra", base) == ["legacy.cfg", "values.yaml"]
    assert SPACED in list_files_at(repo, "HEAD")
    with pytest.raises(InputError, match="outside the workspace"):
        read_file_at(repo / "infra", base, "../backend/app.py")


def test_repository_queries(history: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = history
    assert is_git_repo(repo / "infra")
    assert not is_git_repo(tmp_path)
    assert repo_toplevel(repo / "infra") == repo.resolve()


@pytest.mark.parametrize("call", [
    lambda repo: change_set_from_range(repo, "nope"),
    lambda repo: change_set_from_range(repo, "HEAD", "nope"),
    lambda repo: read_file_at(repo, "nope", "backend/app.py"),
    lambda repo: run_git(repo, "diff", "nope"),
])
def test_unknown_ref_is_a_git_error(history: tuple[Path, str], call) -> None:
    with pytest.raises(GitError, match=r"^unknown git ref 'nope'$"):
        call(history[0])


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for call in (lambda: change_set_from_range(plain, "HEAD"), lambda: change_set_from_worktree(plain),
                 lambda: run_git(plain, "status")):
        with pytest.raises(GitError, match=r"plain is not a git repository \(needed for --base/--head\)$"):
            call()


def test_missing_directory_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="is not a directory"):
        change_set_from_worktree(tmp_path / "missing")


def test_missing_git_binary(history: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GitError, match="^git is not installed or not on PATH$"):
        change_set_from_range(history[0], "HEAD")
    assert not is_git_repo(history[0])


def test_git_environment_cannot_redirect_to_another_repository(
        history: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = make_repo(tmp_path, {"x": "y\n"})
    monkeypatch.setenv("GIT_DIR", os.fspath(other / ".git"))
    repo, base = history
    assert "infra/new_name.py" in by_path(change_set_from_range(repo, base))
