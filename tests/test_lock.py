"""phase3.lock: freeze, verify (CLI in-process) and the review pipeline's PHASE3-LOCK-MISMATCH findings."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from clirun import invoke

from core.config import Phase3Config
from core.errors import InputError
from core.models import Category, Severity
from tools.lock import LOCK_FILENAME, freeze, lock_findings, verify

CONFIG = 'phase3:\n  protected: ["backend/src/**", "frontend/src/**"]\n  allowed: ["backend/src/generated/**"]\n'
PHASE3 = Phase3Config(protected=["backend/src/**", "frontend/src/**"], allowed=["backend/src/generated/**"])


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    files = {".infra-orchestrator.yaml": CONFIG, "backend/src/main.py": "print('phase 3')\n",
             "backend/src/run.sh": "#!/bin/sh\n", "backend/src/generated/schema.py": "S = 1\n",
             "frontend/src/page.tsx": "export default 1;\n", "k8s/deploy.yaml": "kind: Deployment\n",
             "frontend/src/node_modules/x/index.js": "ignored\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "frontend/src/current").symlink_to("page.tsx")
    return root


def test_freeze_records_protected_files_modes_and_symlinks_only(tree: Path) -> None:
    path, count = freeze(tree, PHASE3)
    data = json.loads(path.read_text())
    assert sorted(data["files"]) == ["backend/src/main.py", "backend/src/run.sh", "frontend/src/current",
                                     "frontend/src/page.tsx"]
    assert count == 4
    assert data["files"]["frontend/src/current"]["mode"] == "120000"
    assert data["files"]["frontend/src/current"]["target"] == "page.tsx"
    assert data["files"]["backend/src/main.py"] == {
        "mode": "100644", "sha256": hashlib.sha256(b"print('phase 3')\n").hexdigest()}
    assert list(data) == sorted(data)  # stable key order


def test_freezing_twice_is_byte_identical(tree: Path) -> None:
    first = freeze(tree, PHASE3)[0].read_bytes()
    os.utime(tree / "backend/src/main.py", (0, 0))  # timestamps do not matter
    assert freeze(tree, PHASE3)[0].read_bytes() == first


def test_untouched_tree_verifies_clean(tree: Path) -> None:
    assert invoke("guard", "freeze", str(tree)).returncode == 0
    proc = invoke("guard", "verify", str(tree))
    assert (proc.returncode, proc.stdout) == (0, f"{LOCK_FILENAME}: Phase III unchanged\n")
    assert lock_findings(tree, PHASE3) == []


def test_verify_names_every_edit_deletion_addition_and_chmod(tree: Path) -> None:
    assert invoke("guard", "freeze", str(tree)).returncode == 0
    (tree / "backend/src/main.py").write_text("print('tampered')\n")
    (tree / "frontend/src/page.tsx").unlink()
    (tree / "frontend/src/extra.tsx").write_text("export const x = 1;\n")
    (tree / "backend/src/run.sh").chmod(0o755)
    (tree / "frontend/src/current").unlink()
    (tree / "frontend/src/current").symlink_to("extra.tsx")
    (tree / "backend/src/generated/schema.py").write_text("S = 2\n")  # allowed: not locked
    proc = invoke("guard", "verify", str(tree))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "changed (content): backend/src/main.py",
        "changed (mode 100644 -> 100755): backend/src/run.sh",
        "changed (symlink target 'page.tsx' -> 'extra.tsx'): frontend/src/current",
        "added: frontend/src/extra.tsx",
        "removed: frontend/src/page.tsx",
    ]


def test_review_reports_lock_mismatch_as_critical_phase3_finding(tree: Path) -> None:
    freeze(tree, PHASE3)
    (tree / "backend/src/main.py").write_text("print('force-pushed')\n")
    [finding] = lock_findings(tree, PHASE3)
    assert (finding.check_id, finding.severity, finding.category, finding.file) == (
        "PHASE3-LOCK-MISMATCH", Severity.critical, Category.phase3, "backend/src/main.py")
    proc = invoke("review", str(tree), "--format", "json")
    decision = json.loads(proc.stdout)
    assert (proc.returncode, decision["outcome"]) == (1, "REJECTED")
    assert decision["phase3_protection"] == {"status": "FAIL",
                                             "detail": "protected paths touched: backend/src/main.py"}


def test_lock_uses_its_own_globs_so_config_edits_cannot_hide_changes(tree: Path) -> None:
    freeze(tree, PHASE3)
    (tree / "frontend/src/page.tsx").write_text("tampered\n")
    narrowed = Phase3Config(protected=["backend/src/**"])
    findings = lock_findings(tree, narrowed)
    assert [(f.check_id, f.file) for f in findings] == [
        ("PHASE3-LOCK-MISMATCH", "frontend/src/page.tsx"), ("PHASE3-LOCK-INVALID", LOCK_FILENAME)]


def test_corrupt_lock_is_reported_and_verify_without_lock_is_a_usage_error(tree: Path) -> None:
    proc = invoke("guard", "verify", str(tree))
    assert proc.returncode == 2 and "guard freeze" in proc.stderr and "Traceback" not in proc.stderr
    freeze(tree, PHASE3)
    lock = tree / LOCK_FILENAME
    lock.write_text(lock.read_text().replace('"tree": "', '"tree": "0'))
    with pytest.raises(InputError, match="not a valid phase3.lock"):
        verify(tree)
    [finding] = lock_findings(tree, PHASE3)
    assert (finding.check_id, finding.severity) == ("PHASE3-LOCK-INVALID", Severity.high)


def test_freeze_without_boundaries_is_a_usage_error(tmp_path: Path) -> None:
    proc = invoke("guard", "freeze", str(tmp_path))
    assert proc.returncode == 2 and "phase3.protected is empty" in proc.stderr


def test_bundled_example_lock_is_in_sync() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "todo-phase-iv"
    diff = verify(example)
    assert diff is not None and diff.clean, diff and diff.lines()


def test_unanchored_globs_are_found_at_any_depth(tmp_path: Path) -> None:
    (tmp_path / "apps/api/src").mkdir(parents=True)
    (tmp_path / "apps/api/src/main.py").write_text("x\n")
    (tmp_path / "top.sql").write_text("create table t();\n")
    _, count = freeze(tmp_path, Phase3Config(protected=["src/", "*.sql", "/missing/**"]))
    assert sorted(json.loads((tmp_path / LOCK_FILENAME).read_text())["files"]) == ["apps/api/src/main.py", "top.sql"]
    assert count == 2


def test_a_revision_snapshot_equals_the_work_tree_snapshot(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitrepo import git, isolate_git_env

    from tools.lock import snapshot, snapshot_at

    isolate_git_env(monkeypatch)
    git(tree, "init", "--quiet")
    git(tree, "add", "--all")
    git(tree, "commit", "--quiet", "-m", "phase 3")
    globs = (PHASE3.protected, PHASE3.allowed)
    assert snapshot_at(tree, "HEAD", *globs) == snapshot(tree, *globs)  # node_modules left out by both
    assert "frontend/src/current" in snapshot_at(tree, "HEAD", *globs)


def test_the_base_lock_is_checked_against_the_reviewed_head(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change that edits Phase III and re-freezes the lock is still caught by the base's lock."""
    from gitrepo import commit, git, isolate_git_env

    from tools.lock import lock_diff_at, lock_findings_at

    isolate_git_env(monkeypatch)
    freeze(tree, PHASE3)
    git(tree, "init", "--quiet")
    commit(tree, {}, "phase 3 frozen")
    base_lock = (tree / LOCK_FILENAME).read_text()
    commit(tree, {"backend/src/main.py": "print('phase 4')\n"}, "edit")
    freeze(tree, PHASE3)
    commit(tree, {}, "re-freeze")
    assert lock_findings(tree, PHASE3) == []  # the head's own lock is blind
    findings = lock_findings_at(tree, base_lock, "HEAD", PHASE3)
    assert [(f.check_id, f.file) for f in findings] == [("PHASE3-LOCK-MISMATCH", "backend/src/main.py")]
    (tree / "frontend/src/page.tsx").write_text("work tree only\n")
    assert lock_diff_at(tree, base_lock, "HEAD").lines() == ["changed (content): backend/src/main.py"]
    assert lock_diff_at(tree, base_lock, None).lines() == ["changed (content): backend/src/main.py",
                                                           "changed (content): frontend/src/page.tsx"]
    assert lock_findings_at(tree, None, "HEAD", PHASE3) == []
    [invalid] = lock_findings_at(tree, "[" * 100_000, "HEAD", PHASE3)
    assert invalid.check_id == "PHASE3-LOCK-INVALID"
