"""tools.guard: Phase III boundaries, on hand-made change sets and on real git history."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import Symlink, commit, git, isolate_git_env, make_repo

from core.config import Phase3Config
from core.errors import InputError
from core.models import Category, ChangeSet, FileChange, Severity
from tools.git import change_set_from_range
from tools.guard import Boundaries, guard_change_set, normalize_path

PHASE3 = Phase3Config(
    protected=["backend/", "frontend/"],
    needs_approval=["frontend/next.config.js", "**/Dockerfile", "requirements.txt"],
    allowed=["backend/Dockerfile"],
)


def changes(*files: FileChange) -> ChangeSet:
    return ChangeSet(mode="paths", files=list(files))


def ids(findings) -> list[tuple[str, str | None]]:
    return [(f.check_id, f.file) for f in findings]


@pytest.mark.parametrize(("path", "zone"), [
    ("backend/Dockerfile", "allowed"),          # allowed carves out of protected
    ("frontend/next.config.js", "needs_approval"),  # the more specific glob wins: it asks
    ("ops/Dockerfile", "needs_approval"),
    ("requirements.txt", "needs_approval"),
    ("backend/app/main.py", "protected"),
    ("./backend/../k8s/deploy.yaml", "outside"),
    ("backend", "outside"),                     # a file named like the directory glob
])
def test_classify_precedence(path: str, zone: str) -> None:
    assert Boundaries.from_config(PHASE3).classify(path) == zone


def test_classify_directory_paths() -> None:
    assert Boundaries.from_config(PHASE3).classify("backend", is_dir=True) == "protected"


@pytest.mark.parametrize(("raw", "norm"), [
    ("./a/../b", "b"), ("a//b/./c/", "a/b/c"), ("./", "."), ("a/..", "."), ("k8s/dé ploy.yaml", "k8s/dé ploy.yaml"),
])
def test_normalize_path(raw: str, norm: str) -> None:
    assert normalize_path(raw) == norm


@pytest.mark.parametrize("raw", ["../x", "a/../../x", "..", "/etc/passwd"])
def test_normalize_path_rejects_escapes(raw: str) -> None:
    with pytest.raises(InputError, match="outside the workspace"):
        normalize_path(raw)


def test_infra_only_change_has_no_findings() -> None:
    cs = changes(FileChange(path="k8s/deploy.yaml", status="added"),
                 FileChange(path="backend/Dockerfile", status="modified"),
                 FileChange(path="helm/values.yaml", status="renamed", old_path="k8s/values.yaml"))
    findings = guard_change_set(cs, PHASE3)
    assert findings == []


@pytest.mark.parametrize(("change", "what"), [
    (FileChange(path="backend/app.py", status="added"), "backend/app.py: added;"),
    (FileChange(path="backend/app.py", status="deleted"), "backend/app.py: deleted;"),
    (FileChange(path="backend/run.sh", status="mode_changed", old_mode="100644", new_mode="100755"),
     "backend/run.sh: mode changed from 100644 to 100755;"),
    (FileChange(path="frontend/page.js", status="type_changed", is_symlink=True,
                symlink_target="../k8s/page.js"),
     "frontend/page.js: replaced by a symlink;"),
    (FileChange(path="backend/vendor", status="modified", is_submodule=True),
     "backend/vendor: submodule pointer changed;"),
    (FileChange(path="frontend/b.js", status="copied", old_path="k8s/a.js"), "frontend/b.js: copied from k8s/a.js;"),
])
def test_protected_change_is_critical_and_says_what_happened(change: FileChange, what: str) -> None:
    [finding] = guard_change_set(changes(change), PHASE3)
    assert (finding.check_id, finding.severity, finding.category, finding.file, finding.source) == (
        "PHASE3-PROTECTED-MODIFIED", Severity.critical, Category.phase3, change.path, "deterministic")
    assert finding.message.startswith(what)
    assert "immutable" in finding.message
    assert finding.remediation and "Revert" in finding.remediation


def test_rename_out_of_protected_reports_the_old_path() -> None:
    [finding] = guard_change_set(
        changes(FileChange(path="k8s/app.py", status="renamed", old_path="backend/app.py")), PHASE3)
    assert (finding.check_id, finding.file) == ("PHASE3-PROTECTED-MODIFIED", "backend/app.py")
    assert "renamed to k8s/app.py" in finding.message


def test_copy_out_of_protected_leaves_the_source_untouched() -> None:
    cs = changes(FileChange(path="k8s/app.py", status="copied", old_path="backend/app.py"))
    assert guard_change_set(cs, PHASE3) == []


def test_symlink_into_protected() -> None:
    cs = changes(FileChange(path="k8s/conf", status="added", is_symlink=True, symlink_target="../backend"),
                 FileChange(path="k8s/ok", status="added", is_symlink=True, symlink_target="../k8s/deploy.yaml"),
                 FileChange(path="k8s/far", status="added", is_symlink=True, symlink_target="../../backend"))
    [finding] = guard_change_set(cs, PHASE3)
    assert (finding.check_id, finding.severity, finding.file) == ("PHASE3-SYMLINK-INTO-PROTECTED",
                                                                   Severity.critical, "k8s/conf")


def test_symlink_to_a_directory_enclosing_protected_code() -> None:
    phase3 = Phase3Config(protected=["app/src/**"])
    cs = changes(FileChange(path="k8s/all", status="added", is_symlink=True, symlink_target="../app"),
                 FileChange(path="k8s/cfg", status="added", is_symlink=True, symlink_target="../app/config"))
    assert ids(guard_change_set(cs, phase3)) == [("PHASE3-SYMLINK-INTO-PROTECTED", "k8s/all")]


def test_needs_approval_asks_a_question() -> None:
    cs = changes(FileChange(path="ops/Dockerfile", status="modified"))
    [finding] = guard_change_set(cs, PHASE3)
    assert (finding.check_id, finding.severity, finding.category) == (
        "PHASE3-NEEDS-APPROVAL", Severity.medium, Category.phase3)
    assert finding.question == ("ops/Dockerfile is build configuration of Phase III: "
                                "approve this change as infrastructure-only? [y/N]")


def test_undefined_boundaries_ask_how_to_declare_them() -> None:
    findings = guard_change_set(changes(FileChange(path="backend/app.py", status="modified")), Phase3Config())
    [finding] = findings
    assert (finding.check_id, finding.severity, finding.category) == (
        "PHASE3-BOUNDARIES-UNDEFINED", Severity.medium, Category.phase3)
    assert "not declared" in finding.question
    assert "phase3.protected" in finding.question and ".infra-orchestrator.yaml" in finding.question
    assert "infra-orchestrator guard init" in finding.question


def test_guard_rejects_paths_outside_the_workspace() -> None:
    with pytest.raises(InputError):
        guard_change_set(changes(FileChange(path="../elsewhere.py", status="added")), PHASE3)


def test_phase_iv_commit_on_real_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    repo = make_repo(tmp_path, {"backend/app.py": "print('phase 3')\n", "backend/util.py": "X = 1\n",
                                "frontend/next.config.js": "module.exports = {};\n"})
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "k8s").mkdir()
    git(repo, "mv", "backend/util.py", "k8s/util.py")
    commit(repo, {"k8s/deploy.yaml": "kind: Deployment\n", "k8s/src": Symlink("../backend"),
                  "backend/Dockerfile": "FROM python:3.11\n", "ops/Dockerfile": "FROM nginx\n"}, "Phase IV")
    cs = change_set_from_range(repo, base)
    findings = guard_change_set(cs, PHASE3)
    assert ids(findings) == [
        ("PHASE3-PROTECTED-MODIFIED", "backend/util.py"),
        ("PHASE3-SYMLINK-INTO-PROTECTED", "k8s/src"),
        ("PHASE3-NEEDS-APPROVAL", "ops/Dockerfile"),
    ]


@pytest.mark.parametrize(("protected", "needs_approval", "allowed", "path", "zone"), [
    # a whole tier protected, its build configuration asks: the more specific glob wins
    (["frontend/**"], ["frontend/next.config.*"], [], "frontend/next.config.mjs", "needs_approval"),
    (["frontend/**"], ["frontend/next.config.*"], [], "frontend/app/page.tsx", "protected"),
    # an exact protected file inside a broader needs_approval glob stays protected
    (["backend/pyproject.toml"], ["backend/**"], [], "backend/pyproject.toml", "protected"),
    # equally specific globs resolve to the safer zone
    (["backend/Dockerfile"], ["backend/Dockerfile"], ["backend/Dockerfile"], "backend/Dockerfile", "protected"),
    ([], ["backend/Dockerfile"], ["backend/Dockerfile"], "backend/Dockerfile", "needs_approval"),
    # a broad carve-out does not silence a more specific build-configuration glob
    (["frontend/**"], ["frontend/package.json"], ["frontend/**/*.json"], "frontend/package.json", "needs_approval"),
])
def test_the_most_specific_glob_wins(protected, needs_approval, allowed, path, zone) -> None:
    assert Boundaries.from_globs(protected, needs_approval, allowed).classify(path) == zone


def test_whole_tier_protected_build_config_asks_instead_of_a_critical() -> None:
    phase3 = Phase3Config(protected=["frontend/**"], needs_approval=["frontend/next.config.*"])
    found = guard_change_set(changes(FileChange(path="frontend/next.config.ts", status="modified")), phase3, "/w")
    assert [(f.severity, f.question is not None) for f in found] != []
    assert all(f.severity is not Severity.critical for f in found)
    assert any(f.question for f in found)
