"""Exact change semantics end to end: real temporary git repositories → tools.engine → agents.policy.

Each case asserts the outcome and exactly which paths the "Phase III Protection" line names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import Symlink, commit, git, isolate_git_env, make_repo, write_files

from agents.policy import MergeInput, decide
from core.config import load_config
from core.models import ChangeRequest, Decision, DelegationPlan, Outcome
from tools import engine

CONFIG = """\
phase3:
  protected: ["backend/src/**", "frontend/src/**"]
  needs_approval: ["frontend/package.json"]
kubernetes:
  paths: ["k8s/**"]
"""
BASELINE = {
    ".infra-orchestrator.yaml": CONFIG,
    "backend/src/main.py": "def main():\n    return 'phase 3'\n" * 5,
    "backend/src/util.py": "".join(f"VALUE_{i} = {i}\n" for i in range(30)),
    "backend/src/Models.py": "class Todo:\n    pass\n" * 5,
    "backend/src/run.sh": "#!/bin/sh\nexec uvicorn src.main:app\n",
    "backend/src/módulo de ñ.py": "X = 'ñ'\n",
    "frontend/src/page.tsx": "export default function Page() { return null; }\n",
    "frontend/package.json": '{"name": "todo"}\n',
    "docs/notes.md": "".join(f"note {i}\n" for i in range(30)),
}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, BASELINE)


def review(repo: Path, **request) -> Decision:
    """The decision for a change request, through the deterministic pipeline and the decision policy."""
    req = ChangeRequest(workspace=str(repo), **request)
    config = load_config(repo).config
    analysis = engine.analyse(req, config)
    collected, findings = analysis.collected, analysis.findings
    return decide(MergeInput(kind="change", intent="", findings=findings, verdicts=[],
                             plan=DelegationPlan(specialists=[]), policy=config.policy,
                             changed_paths=collected.changes.paths(), object_count=len(collected.objects),
                             change_mode=collected.changes.mode))


def review_commit(repo: Path, files: dict, delete: tuple[str, ...] = (), moves: tuple[tuple[str, str], ...] = ()) -> Decision:
    base = git(repo, "rev-parse", "HEAD").strip()
    for old, new in moves:
        (repo / new).parent.mkdir(parents=True, exist_ok=True)
        git(repo, "mv", old, new)
    commit(repo, files, "Phase IV", delete=delete)
    return review(repo, base=base)


def touched(decision: Decision) -> str:
    return decision.phase3_protection.detail


def test_infra_only_change_is_approved_and_says_nothing_was_touched(repo: Path) -> None:
    decision = review_commit(repo, {"docs/deploy.md": "# deploy\n"}, moves=(("docs/notes.md", "docs/old-notes.md"),))
    assert decision.outcome is Outcome.approved
    assert decision.phase3_protection.status == "PASS"
    assert touched(decision) == "none of 3 changed path(s) touch Phase III"


def test_rename_out_of_protected_counts_the_old_path(repo: Path) -> None:
    decision = review_commit(repo, {}, moves=(("backend/src/util.py", "docs/util.py"),))
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/util.py"


def test_rename_into_protected_counts_the_new_path(repo: Path) -> None:
    decision = review_commit(repo, {}, moves=(("docs/notes.md", "frontend/src/notes.md"),))
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: frontend/src/notes.md"


def test_copy_out_of_protected_with_unchanged_source_touches_nothing(repo: Path) -> None:
    decision = review_commit(repo, {"docs/util-copy.py": (repo / "backend/src/util.py").read_text()})
    assert decision.outcome is Outcome.approved
    assert touched(decision) == "none of 1 changed path(s) touch Phase III"


def test_copy_out_of_protected_whose_source_changed_reports_the_source(repo: Path) -> None:
    original = (repo / "backend/src/util.py").read_text()
    decision = review_commit(repo, {"docs/util-copy.py": original, "backend/src/util.py": original + "EXTRA = 1\n"})
    changes = {c.path: c for c in engine.change_set_for(
        ChangeRequest(workspace=str(repo), base="HEAD~1"), repo).files}
    assert (changes["docs/util-copy.py"].status, changes["docs/util-copy.py"].old_path) == (
        "copied", "backend/src/util.py")
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/util.py"


def test_copy_into_protected_counts_the_destination(repo: Path) -> None:
    notes = (repo / "docs/notes.md").read_text()
    decision = review_commit(repo, {"backend/src/notes.md": notes, "docs/notes.md": notes + "more\n"})
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/notes.md"


def test_case_only_rename_counts_both_spellings(repo: Path) -> None:
    decision = review_commit(repo, {}, moves=(("backend/src/Models.py", "backend/src/models.py"),))
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/Models.py, backend/src/models.py"


def test_non_ascii_and_space_names_are_named_exactly(repo: Path) -> None:
    decision = review_commit(repo, {"backend/src/módulo de ñ.py": "X = 'changed'\n"})
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/módulo de ñ.py"


def test_mode_only_change_is_rejected(repo: Path) -> None:
    (repo / "backend/src/run.sh").chmod(0o755)
    decision = review_commit(repo, {})
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/run.sh"
    assert any("mode changed from 100644 to 100755" in f.message for f in decision.findings)


def test_binary_file_added_to_protected_is_rejected(repo: Path) -> None:
    decision = review_commit(repo, {"frontend/src/logo.png": PNG})
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: frontend/src/logo.png"


def test_submodule_pointer_change_is_rejected(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{first},backend/src/vendor")
    git(repo, "commit", "--quiet", "-m", "vendor submodule")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--cacheinfo", f"160000,{base},backend/src/vendor")
    git(repo, "commit", "--quiet", "-m", "bump vendor")
    decision = review(repo, base=base)
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/vendor"
    assert any("submodule pointer changed" in f.message for f in decision.findings)


def test_new_symlink_pointing_into_protected_is_rejected(repo: Path) -> None:
    decision = review_commit(repo, {"docs/app": Symlink("../backend/src")})
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: docs/app"
    assert [f.check_id for f in decision.findings if f.file == "docs/app"] == ["PHASE3-SYMLINK-INTO-PROTECTED"]


def test_protected_file_replaced_by_symlink_is_rejected(repo: Path) -> None:
    decision = review_commit(repo, {"docs/main.py": "print('moved')\n", "backend/src/main.py": Symlink("../../docs/main.py")})
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/main.py"
    assert any("replaced by a symlink" in f.message for f in decision.findings)


def test_needs_approval_path_asks(repo: Path) -> None:
    decision = review_commit(repo, {"frontend/package.json": '{"name": "todo", "private": true}\n'})
    assert decision.outcome is Outcome.clarification
    assert touched(decision) == "needs approval: frontend/package.json"


def test_worktree_staged_unstaged_and_untracked_changes(repo: Path) -> None:
    write_files(repo, {"backend/src/main.py": "staged\n", "frontend/src/page.tsx": "unstaged\n",
                       "frontend/src/new.tsx": "untracked\n", "docs/new.md": "infra docs\n"})
    git(repo, "add", "backend/src/main.py")
    decision = review(repo, worktree=True)
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == ("protected paths touched: backend/src/main.py, frontend/src/new.tsx, "
                                 "frontend/src/page.tsx")


@pytest.mark.parametrize("path", ["./docs/../backend/src/main.py", "docs//../backend/./src/main.py", "app/main.py"])
def test_paths_are_normalised_before_matching(repo: Path, path: str) -> None:
    (repo / "app").symlink_to("backend/src")  # a symlinked directory into Phase III
    decision = review(repo, paths=[path])
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/main.py"


def test_staged_submodule_pointer_change_in_the_worktree_is_rejected(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{first},frontend/src/vendor")
    git(repo, "commit", "--quiet", "-m", "vendor submodule")
    git(repo, "update-index", "--cacheinfo", f"160000,{git(repo, 'rev-parse', 'HEAD').strip()},frontend/src/vendor")
    decision = review(repo, worktree=True)
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: frontend/src/vendor"


# -- git-level tricks: each was APPROVED while git ran with the repository's own configuration -------------------

def _local_attributes(repo: Path, text: str) -> None:
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text(text)


GIT_TRICKS = {
    "working-tree-encoding": lambda r: (_local_attributes(r, "*.py working-tree-encoding=UTF-16LE\n"),
                                        (r / "backend/src/util.py").write_bytes(
                                            (r / "backend/src/util.py").read_text().encode("utf-16-le"))),
    "eol": lambda r: (commit(r, {".gitattributes": "backend/** text eol=lf\n"}, "attributes"),
                      (r / "backend/src/util.py").write_bytes((r / "backend/src/util.py").read_bytes().replace(
                          b"\n", b"\r\n"))),
    "file-mode-false": lambda r: (git(r, "config", "core.fileMode", "false"),
                                  (r / "backend/src/util.py").chmod(0o755)),
    "info-exclude": lambda r: ((r / ".git/info").mkdir(exist_ok=True),
                               (r / ".git/info/exclude").write_text("backend/src/evil.py\n"),
                               (r / "backend/src/evil.py").write_text("import os\n")),
    "clean-filter": lambda r: (_local_attributes(r, "backend/src/util.py filter=same\n"),
                               git(r, "config", "filter.same.clean", "git show HEAD:backend/src/util.py"),
                               (r / "backend/src/util.py").write_text("import os; os.system('id')\n")),
}


@pytest.mark.parametrize("trick", list(GIT_TRICKS))
def test_local_git_configuration_cannot_hide_a_protected_edit(repo: Path, trick: str) -> None:
    GIT_TRICKS[trick](repo)
    decision = review(repo, worktree=True)
    assert decision.outcome is Outcome.rejected, trick
    assert touched(decision).startswith("protected paths touched: backend/src/"), touched(decision)


def test_git_replace_cannot_hide_a_protected_edit_in_a_range(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {"backend/src/main.py": "print('phase 4')\n"}, "edit")
    git(repo, "replace", "HEAD", base)
    decision = review(repo, base=base, head="HEAD")
    assert decision.outcome is Outcome.rejected
    assert touched(decision) == "protected paths touched: backend/src/main.py"
