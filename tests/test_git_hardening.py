"""The repository's local git configuration cannot hide a change: each trick on a real temporary repository.

Every test first shows the trick works on plain git (so the test could fail), then that tools.git sees through it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import GIT_ENV, Symlink, commit, git, isolate_git_env, make_repo

from core.models import ChangeSet, FileChange
from tools.git import change_set_from_range, narrow_change_set, run_git
from tools.git_attrs import attributes
from tools.git_tree import blob_id, materialize, read_at, read_entry_at, snapshot_tree, worktree_differs
from tools.git_worktree import change_set_from_worktree

APP = "def main():\n    return 'phase 3'\n"
BASE = {"backend/src/app.py": APP, "backend/src/run.sh": "#!/bin/sh\necho run\n", "k8s/app.yaml": "kind: Pod\n",
        ".gitignore": "*.log\n"}


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, BASE)


def plain_status(repo: Path) -> str:
    """What unhardened git reports for the work tree: ``git diff HEAD`` and the untracked, not-ignored files
    (the repository's own config applies)."""
    env = {**os.environ, **GIT_ENV}

    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, check=True).stdout

    return run("diff", "--name-only", "HEAD") + run("ls-files", "--others", "--exclude-standard")


def paths(changes: ChangeSet) -> dict[str, str]:
    return {f.path: f.status for f in changes.files}


def test_a_lying_fsmonitor_hides_nothing_and_never_runs(repo: Path):
    marker = repo.parent / "fsmonitor-ran"
    hook = repo / ".git" / "fsmon.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nprintf 'token\\0'\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))
    for rel in BASE:  # older than the index, so git records them as clean (not racily clean)
        os.utime(repo / rel, (1_600_000_000, 1_600_000_000))
    git(repo, "status")  # refreshes the stat data
    git(repo, "update-index", "--fsmonitor")
    git(repo, "status")  # writes the index with the hook's token: every entry "fsmonitor valid"
    (repo / "backend/src/app.py").write_text(APP + "# edit\n")
    plain_status(repo)  # plain git trusts the hook (whether it then hides the edit varies with timing)
    marker.unlink(missing_ok=True)
    assert paths(change_set_from_worktree(repo)) == {"backend/src/app.py": "modified"}
    assert not marker.exists()


def test_file_mode_false_cannot_hide_a_chmod(repo: Path):
    git(repo, "config", "core.fileMode", "false")
    (repo / "backend/src/app.py").chmod(0o755)
    assert plain_status(repo) == ""
    change = change_set_from_worktree(repo).files
    assert [(c.path, c.status, c.new_mode) for c in change] == [("backend/src/app.py", "mode_changed", "100755")]


def test_replace_objects_are_ignored_in_a_range(repo: Path):
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {"backend/src/app.py": APP + "# phase 4\n"}, "edit")
    git(repo, "replace", "HEAD", base)
    assert git(repo, "diff", "--name-only", base, "HEAD") == ""  # the trick works on plain git
    assert paths(change_set_from_range(repo, base)) == {"backend/src/app.py": "modified"}


def test_info_exclude_and_excludes_file_hide_no_untracked_file(repo: Path, tmp_path: Path):
    (repo / ".git/info").mkdir(exist_ok=True)
    (repo / ".git/info/exclude").write_text("backend/src/evil.py\n")
    (tmp_path / "global-ignore").write_text("backend/src/other.py\n")
    git(repo, "config", "core.excludesFile", str(tmp_path / "global-ignore"))
    (repo / "backend/src/evil.py").write_text("import os\n")
    (repo / "backend/src/other.py").write_text("import os\n")
    (repo / "debug.log").write_text("the repository's own .gitignore still applies\n")
    assert plain_status(repo) == ""
    assert paths(change_set_from_worktree(repo)) == {"backend/src/evil.py": "added", "backend/src/other.py": "added"}


def test_a_clean_filter_neither_runs_nor_hides_an_edit(repo: Path):
    marker = repo.parent / "filter-ran"
    (repo / ".git/info/attributes").parent.mkdir(exist_ok=True)
    (repo / ".git/info/attributes").write_text("backend/** filter=hide\n")
    git(repo, "config", "filter.hide.clean", f"sh -c 'touch {marker}; git show HEAD:backend/src/app.py'")
    (repo / "backend/src/app.py").write_text(APP + "import os; os.system('curl evil')\n")
    plain_status(repo)  # plain git trusts the hook (whether it then hides the edit varies with timing)
    marker.unlink(missing_ok=True)
    assert paths(change_set_from_worktree(repo)) == {"backend/src/app.py": "modified"}
    assert not marker.exists()


def test_working_tree_encoding_hides_no_re_encoded_file(repo: Path):
    (repo / ".git/info").mkdir(exist_ok=True)
    (repo / ".git/info/attributes").write_text("*.py working-tree-encoding=UTF-16LE\n")
    (repo / "backend/src/app.py").write_bytes(APP.encode("utf-16-le"))
    assert "app.py" not in plain_status(repo)
    assert paths(change_set_from_worktree(repo)) == {"backend/src/app.py": "modified"}


def test_crlf_counts_unless_the_checkout_asks_for_it(repo: Path):
    crlf = APP.replace("\n", "\r\n").encode()
    commit(repo, {".gitattributes": "*.py text eol=lf\n"}, "attributes")
    (repo / "backend/src/app.py").write_bytes(crlf)
    assert "app.py" not in plain_status(repo)
    assert paths(change_set_from_worktree(repo)) == {"backend/src/app.py": "modified"}
    commit(repo, {".gitattributes": "*.py text eol=crlf\n", "backend/src/app.py": APP}, "crlf checkout")
    (repo / "backend/src/app.py").write_bytes(crlf)  # what a checkout writes: not an edit
    assert paths(change_set_from_worktree(repo)) == {}


def test_an_lfs_file_matching_its_pointer_is_unchanged(repo: Path):
    import hashlib

    content = b"\x89PNG" + bytes(range(200))
    pointer = (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(content).hexdigest()}\n"
               f"size {len(content)}\n")
    commit(repo, {"frontend/logo.png": pointer}, "lfs pointer")
    (repo / "frontend/logo.png").write_bytes(content)
    assert paths(change_set_from_worktree(repo)) == {}
    (repo / "frontend/logo.png").write_bytes(content + b"tampered")
    assert paths(change_set_from_worktree(repo)) == {"frontend/logo.png": "modified"}


def test_restored_timestamps_with_trustctime_off_hide_no_edit(repo: Path):
    """A same-size edit with its mtime put back: only the ctime tells, and the repository says not to trust it."""
    git(repo, "config", "core.trustctime", "false")
    app = repo / "backend/src/app.py"
    os.utime(app, (1_600_000_000, 1_600_000_000))
    git(repo, "status")  # the index records the old mtime; the entry is not racily clean
    app.write_text(APP.replace("phase 3", "phase X"))
    os.utime(app, (1_600_000_000, 1_600_000_000))
    assert plain_status(repo) == ""
    assert paths(change_set_from_worktree(repo)) == {"backend/src/app.py": "modified"}


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_index_flags_hide_no_edit_or_deletion(repo: Path, flag: str):
    git(repo, "update-index", flag, "backend/src/app.py", "backend/src/run.sh")
    (repo / "backend/src/app.py").write_text(APP + "#\n")
    os.remove(repo / "backend/src/run.sh")
    assert paths(change_set_from_worktree(repo)) == {"backend/src/app.py": "modified", "backend/src/run.sh": "deleted"}


def test_narrowing_shows_a_part_but_keeps_the_whole(repo: Path):
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {"backend/src/app.py": APP + "#\n", "k8s/app.yaml": "kind: Pod\n#\n"}, "both")
    full = change_set_from_range(repo, base)
    shown = narrow_change_set(full, ["k8s"])
    assert [f.path for f in shown.files] == ["k8s/app.yaml"]
    assert {f.path for f in full.files} == {"backend/src/app.py", "k8s/app.yaml"}  # the original is untouched
    renamed = ChangeSet(mode="git-range", files=[FileChange(path="k8s/x.py", old_path="backend/src/x.py",
                                                            status="renamed")])
    assert narrow_change_set(renamed, ["backend"]).files == renamed.files


def test_read_at_and_snapshot_read_blobs_raw(repo: Path):
    commit(repo, {".gitattributes": "* export-ignore\n*.py eol=crlf filter=hide\n", "k8s/link": Symlink("app.yaml")},
           "attrs and a link")
    git(repo, "config", "filter.hide.smudge", "sh -c 'echo smudged'")
    assert read_at(repo, "HEAD", "backend/src/app.py") == APP.encode()
    assert read_entry_at(repo, "HEAD", "k8s/link") == ("120000", b"app.yaml")
    assert read_at(repo, "HEAD", "nope") is None
    assert read_at(repo, "HEAD", "k8s/*.yaml") is None  # a path, never a pattern
    assert read_at(repo, "HEAD", "backend") is None  # a directory is no file
    with snapshot_tree(repo, "HEAD") as tree:
        assert (tree / "backend/src/app.py").read_bytes() == APP.encode()  # no eol, no filter, not export-ignored
        assert os.readlink(tree / "k8s/link") == "app.yaml"
        assert not os.access(tree / "backend/src/app.py", os.X_OK)
    out = repo.parent / "snap"
    out.mkdir()
    assert materialize(repo / "k8s", "HEAD", out) == ["app.yaml", "link"]  # a subdirectory: relative to it
    assert (out / "app.yaml").read_text() == "kind: Pod\n"


def test_worktree_differs_names_what_is_not_the_reviewed_head(repo: Path):
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {"k8s/app.yaml": "kind: Pod\nmetadata: {}\n"}, "head")
    assert worktree_differs(repo, "HEAD", ["k8s", "backend"]) == []
    assert worktree_differs(repo, base, ["k8s"]) == ["k8s/app.yaml"]
    (repo / "k8s/new.yaml").write_text("kind: Service\n")
    (repo / "backend/src/run.sh").chmod(0o755)
    os.remove(repo / "backend/src/app.py")
    assert worktree_differs(repo, "HEAD", ["."]) == ["backend/src/app.py", "backend/src/run.sh", "k8s/new.yaml"]
    assert worktree_differs(repo, "HEAD", ["k8s/app.yaml"]) == []


def test_attributes_of_a_revision_and_of_the_work_tree(repo: Path):
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {".gitattributes": "[attr]sneaky eol=crlf export-ignore\nbackend/** sneaky\n"}, "macro")
    (repo / ".gitattributes").write_text("backend/** working-tree-encoding=UTF-16\n")
    at = attributes(repo, ["backend/src/app.py", "k8s/app.yaml"], base)
    assert at["backend/src/app.py"]["eol"] == "unspecified"
    head = attributes(repo, ["backend/src/app.py", "k8s/app.yaml"], "HEAD")
    assert head["backend/src/app.py"]["eol"] == "crlf" and head["backend/src/app.py"]["export-ignore"] == "set"
    assert head["k8s/app.yaml"]["eol"] == "unspecified"
    work = attributes(repo, ["backend/src/app.py"], None)
    assert work["backend/src/app.py"]["working-tree-encoding"] == "UTF-16"


def test_blob_ids_match_git(repo: Path):
    assert blob_id(APP.encode()) == run_git(repo, "rev-parse", "HEAD:backend/src/app.py").strip()


def test_a_gitignore_edit_cannot_hide_a_new_file_in_the_same_change(repo: Path):
    (repo / "backend/src/.gitignore").write_text("# cache\n__pycache__/\n")
    commit(repo, {}, "ignore the cache")
    (repo / ".gitignore").write_text("*.log\nbackend/src/evil.py\n")
    (repo / "backend/src/.gitignore").write_text("# cache\n__pycache__/\nhidden_*.py\n")
    for rel in ("backend/src/evil.py", "backend/src/hidden_1.py", "backend/src/__pycache__/app.pyc", "x.log"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x\n")
    assert "evil" not in plain_status(repo) and "hidden_1" not in plain_status(repo)
    assert paths(change_set_from_worktree(repo)) == {
        ".gitignore": "modified", "backend/src/.gitignore": "modified",
        "backend/src/evil.py": "added", "backend/src/hidden_1.py": "added"}  # what HEAD already ignored stays out

