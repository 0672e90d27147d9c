"""tools.layout: layout detection and `guard init` (in-process CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from clirun import invoke

from core.config import load_config
from tools.layout import Boundaries, detect_layout


def tree(root: Path, *paths: str) -> Path:
    for rel in paths:
        full = root / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("/"):
            full.mkdir(exist_ok=True)
        else:
            full.write_text("x\n")
    return root


def test_split_src_layout_proposes_src_and_present_build_config(tmp_path: Path) -> None:
    tree(tmp_path, "backend/src/main.py", "backend/requirements.txt", "backend/alembic/env.py",
         "frontend/src/app/page.tsx", "frontend/package.json", "frontend/next.config.mjs", "k8s/deploy.yaml")
    det = detect_layout(tmp_path)
    assert (det.kind, det.problem) == ("split-src", None)
    assert det.phase3() == {
        "protected": ["backend/src/**", "frontend/src/**"],
        "needs_approval": ["backend/requirements*.txt", "backend/alembic/**", "frontend/next.config.*",
                           "frontend/package.json"],
        "allowed": [], "app_roots": ["backend/src", "frontend/src"],
    }
    assert "backend/requirements.txt exists: Phase III build configuration or schema → needs approval" in det.reasons


def test_whole_tier_layout_protects_the_tiers_but_carves_out_docker_files(tmp_path: Path) -> None:
    det = detect_layout(tree(tmp_path, "backend/main.py", "frontend/pages/index.tsx", "Dockerfile.backend"))
    assert det.kind == "whole-tiers"
    assert det.protected == ["backend/**", "frontend/**"]
    bounds = Boundaries.from_globs(det.protected, det.needs_approval, det.allowed)
    assert [bounds.classify(p) for p in ("backend/main.py", "backend/Dockerfile", "Dockerfile.backend")] == [
        "protected", "allowed", "outside"]


@pytest.mark.parametrize(("paths", "kind", "protected"), [
    (("phase-3-ai-chatbot/backend/main.py", "phase-4-k8s/helm/Chart.yaml"), "phase-folder",
     ["phase-3-ai-chatbot/**"]),
    (("apps/phase3-todo-app/src/main.py", "apps/phase4-todo-app/helm/Chart.yaml"), "apps-folder",
     ["apps/phase3-todo-app/**"]),
])
def test_folder_layouts(tmp_path: Path, paths: tuple[str, ...], kind: str, protected: list[str]) -> None:
    det = detect_layout(tree(tmp_path, *paths))
    assert (det.kind, det.protected, det.problem) == (kind, protected, None)


@pytest.mark.parametrize(("paths", "problem"), [
    (("k8s/deploy.yaml",), "no known Phase III layout found"),
    (("backend/src/main.py", "frontend/pages/index.tsx"), "ambiguous: several layouts fit (split-src, whole-tiers)"),
    (("phase-3-a/x.py", "phase-3-b/y.py"), "several Phase III folders (phase-3-a, phase-3-b)"),
])
def test_no_or_ambiguous_layout_proposes_nothing(tmp_path: Path, paths: tuple[str, ...], problem: str) -> None:
    det = detect_layout(tree(tmp_path, *paths))
    assert det.problem.startswith(problem)


def test_init_prints_reasons_and_proposal_without_writing(tmp_path: Path) -> None:
    tree(tmp_path, "backend/src/main.py", "frontend/src/page.tsx")
    proc = invoke("guard", "init", str(tmp_path), "--dry-run")
    assert proc.returncode == 0
    assert "# backend/src/ exists: application source of the 'backend' tier → protected" in proc.stdout
    assert yaml.safe_load(proc.stdout)["phase3"]["protected"] == ["backend/src/**", "frontend/src/**"]
    assert not (tmp_path / ".infra-orchestrator.yaml").exists()


def test_init_write_merges_and_keeps_other_keys(tmp_path: Path) -> None:
    tree(tmp_path, "backend/src/main.py")
    (tmp_path / ".infra-orchestrator.yaml").write_text("policy:\n  fail_on: medium\nphase3:\n  allowed: [x/**]\n")
    proc = invoke("guard", "init", str(tmp_path), "--write")
    assert proc.returncode == 0, proc.stderr
    config = load_config(tmp_path).config
    assert (config.policy.fail_on.value, config.phase3.protected, config.phase3.app_roots) == (
        "medium", ["backend/src/**"], ["backend/src"])


def test_init_refuses_to_guess(tmp_path: Path) -> None:
    tree(tmp_path, "backend/src/main.py", "phase-3-bot/app.py")
    proc = invoke("guard", "init", str(tmp_path), "--write")
    assert proc.returncode == 3
    assert "nothing proposed: ambiguous" in proc.stderr
    assert "# phase-3-bot/ exists" in proc.stdout
    assert not (tmp_path / ".infra-orchestrator.yaml").exists()


def test_init_usage_errors(tmp_path: Path) -> None:
    proc = invoke("guard", "init", str(tmp_path), "--write", "--dry-run")
    assert proc.returncode == 2 and "exclude each other" in proc.stderr
    (tmp_path / "backend/src").mkdir(parents=True)
    (tmp_path / ".infra-orchestrator.yaml").write_text("- a list\n")
    proc = invoke("guard", "init", str(tmp_path), "--write")
    assert proc.returncode == 2 and "top level must be a mapping" in proc.stderr


def test_guard_init_write_refuses_a_deeply_nested_config(tmp_path: Path) -> None:
    tree(tmp_path, "backend/src/main.py")
    (tmp_path / ".infra-orchestrator.yaml").write_text("x: " + "[" * 50_000 + "]" * 50_000 + "\n")
    res = invoke("guard", "init", str(tmp_path), "--write")
    assert res.returncode == 2 and "nested deeper than 200 levels" in res.stderr


def test_policy_file_names_match_their_owners() -> None:
    from core.config import CONFIG_FILENAME
    from tools import layout
    from tools.ledger import LEDGER_DIR
    from tools.lock import LOCK_FILENAME

    assert (layout.CONFIG_FILENAME, layout.LOCK_FILENAME, layout.LEDGER_DIR) == (CONFIG_FILENAME, LOCK_FILENAME,
                                                                                 LEDGER_DIR.as_posix())
    assert layout.policy_file("backend/.infra-orchestrator.yaml") == CONFIG_FILENAME
    assert layout.policy_file("history/approvals/ledger.jsonl") == "/history/approvals/"
    assert layout.policy_file("k8s/phase3.lock") is None  # only the workspace's own lock
    assert layout.encloses_policy(".claude") == "/.claude/settings.json" and layout.encloses_policy("k8s") is None
