"""Every row of the hostile corpus (tests/hostile.py) through each of its front-ends: an answer within the time
limit, no traceback, never APPROVED or an internal error for input that was not analysed."""

from __future__ import annotations

from pathlib import Path

import hostile
import pytest


@pytest.mark.parametrize(("case", "front"), [(c, f) for c in hostile.CASES for f in c.fronts],
                         ids=[f"{c.name}-{f}" for c in hostile.CASES for f in c.fronts])
def test_hostile_input_gets_a_clean_answer(tmp_path: Path, case: hostile.Case, front: str) -> None:
    root = hostile.base_workspace(tmp_path / "w")
    case.build(root)
    outcome = hostile.run(case, front, root)
    assert outcome.clean, outcome.detail


@pytest.mark.parametrize("front", hostile.FRONTS)
def test_the_clean_workspace_is_approved(tmp_path: Path, front: str) -> None:
    """The baseline the corpus builds on is APPROVED, so each row's refusal comes from its own input."""
    root = hostile.base_workspace(tmp_path / "w")
    outcome = hostile.run(hostile.Case("clean", lambda r: None, may_approve=True), front, root)
    assert outcome.clean and outcome.detail.startswith("exit 0"), outcome.detail


def test_the_corpus_is_large_enough() -> None:
    assert len(hostile.CASES) >= 25
    assert len({c.name for c in hostile.CASES}) == len(hostile.CASES)


def test_privileged_pod_in_json_is_found_with_its_location(tmp_path: Path) -> None:
    root = hostile.base_workspace(tmp_path / "w")
    hostile.CASES[[c.name for c in hostile.CASES].index("privileged-pod-json")].build(root)
    from clirun import run_cli

    proc = run_cli("check", str(root / "k8s" / "pod.json"), cwd=root)
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if "SEC-PRIVILEGED" in x or "privileged" in x.lower())
    assert line.startswith("k8s/pod.json:") and line.split(":")[1].isdigit() and int(line.split(":")[1]) > 1


def test_package_json_is_not_a_manifest(tmp_path: Path) -> None:
    from clirun import run_cli

    root = hostile.base_workspace(tmp_path / "w")
    (root / "package.json").write_text('{"name": "web", "version": "1.0.0"}\n')
    (root / "tsconfig.json").write_text('{\n  // comments are not JSON\n  "compilerOptions": {}\n}\n')
    proc = run_cli("check", str(root), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "package.json" not in proc.stdout and "tsconfig.json" not in proc.stdout
