"""End to end through the real CLI on real temporary git repositories (base = Phase III, head = Phase IV)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from clirun import ROOT, invoke, run_cli
from gitrepo import commit, isolate_git_env, make_repo

CONFIG = """\
phase3:
  protected: ["backend/src/**", "frontend/src/**"]
  needs_approval: ["frontend/next.config.*", "**/requirements.txt"]
"""

PHASE3 = {
    ".infra-orchestrator.yaml": CONFIG,
    "backend/src/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    "backend/requirements.txt": "fastapi==0.115.0\n",
    "frontend/src/app.tsx": "export default function App() { return null }\n",
    "frontend/next.config.js": "module.exports = {}\n",
}

GOOD_INFRA = (ROOT / "tests" / "fixtures" / "good_app.yaml").read_text()


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    return make_repo(tmp_path, PHASE3)


def _review(repo: Path, *extra: str):
    return invoke("review", str(repo), "--base", "main~1", *extra)


def test_clean_infra_change_is_approved(repo: Path):
    commit(repo, {"k8s/app.yaml": GOOD_INFRA}, "phase IV: deploy")
    proc = _review(repo, "-m", "deploy the web tier")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("[CHANGE VALIDATION: APPROVED]\n")
    assert "Intent: deploy the web tier" in proc.stdout


def test_protected_edit_is_rejected_even_with_perfect_infra(repo: Path):
    commit(repo, {"k8s/app.yaml": GOOD_INFRA, "backend/src/main.py": "app = None\n"}, "phase IV + sneaky edit")
    proc = _review(repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("[CHANGE VALIDATION: REJECTED]\n")
    assert "PHASE3-PROTECTED-MODIFIED backend/src/main.py" in proc.stdout


def test_needs_approval_path_requires_clarification(repo: Path):
    commit(repo, {"k8s/app.yaml": GOOD_INFRA, "frontend/next.config.js": "module.exports = {output: 'standalone'}\n"},
           "standalone build")
    proc = _review(repo, "--format", "json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    decision = json.loads(proc.stdout)
    assert decision["outcome"] == "REQUIRES CLARIFICATION"
    assert any("frontend/next.config.js" in q for q in decision["questions"])


def test_json_output_validates_against_the_published_schema(repo: Path):
    commit(repo, {"k8s/app.yaml": GOOD_INFRA.replace("web:1.2.3", "web:latest")}, "latest tag")
    proc = _review(repo, "--format", "json")
    assert proc.returncode == 1
    schema = json.loads((ROOT / "docs" / "decision.schema.json").read_text())
    decision = json.loads(proc.stdout)
    jsonschema.validate(decision, schema)
    assert any(f["check_id"] == "SEC-IMAGE-TAG" and f["file"] == "k8s/app.yaml" for f in decision["findings"])


def test_markdown_format(repo: Path):
    commit(repo, {"k8s/app.yaml": GOOD_INFRA}, "phase IV")
    proc = _review(repo, "--format", "markdown")
    assert proc.returncode == 0
    assert proc.stdout.startswith("## [CHANGE VALIDATION: APPROVED]")


def test_path_mode_treats_named_paths_as_the_change(repo: Path):
    proc = invoke("review", str(repo), "--path", "backend/src/main.py")
    assert proc.returncode == 1
    assert "backend/src/main.py" in proc.stdout


def test_undefined_boundaries_require_clarification(tmp_path: Path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(GOOD_INFRA)
    proc = invoke("review", str(tmp_path))
    assert proc.returncode == 3, proc.stdout
    assert "phase3.protected" in proc.stdout


# --- bad input: a one-line error or a finding, never a traceback ---------------------------------

def _no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_path_is_a_one_line_error(tmp_path: Path):
    proc = run_cli("review", str(tmp_path / "nope"))
    assert proc.returncode == 2
    _no_traceback(proc)
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr


def test_base_on_a_non_git_directory(tmp_path: Path):
    proc = invoke("review", str(tmp_path), "--base", "main")
    assert proc.returncode == 2
    _no_traceback(proc)
    assert "not a git repository" in proc.stderr


def test_unknown_git_ref(repo: Path):
    proc = invoke("review", str(repo), "--base", "no-such-ref")
    assert proc.returncode == 2 and "no-such-ref" in proc.stderr
    _no_traceback(proc)


def test_bad_config_names_the_key_and_file(tmp_path: Path):
    (tmp_path / ".infra-orchestrator.yaml").write_text("phase3:\n  protectd: [a]\npolicy:\n  fail_on: severe\n")
    proc = invoke("review", str(tmp_path))
    assert proc.returncode == 2
    _no_traceback(proc)
    assert ".infra-orchestrator.yaml" in proc.stderr
    assert "phase3.protectd: unknown key" in proc.stderr
    assert "policy.fail_on" in proc.stderr


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


@pytest.mark.parametrize(
    ("name", "content", "check_id"),
    [
        ("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "SCH-YAML-INVALID"),
        ("latin1.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1"), "SCH-UNREADABLE"),
        ("bomb.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "".join(
            "  " + line + "\n" for line in BOMB.splitlines()), "SCH-YAML-BOMB"),
    ],
)
def test_bad_files_become_findings(tmp_path: Path, name: str, content, check_id: str):
    (tmp_path / "k8s").mkdir()
    target = tmp_path / "k8s" / name
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = invoke("review", str(tmp_path), "--format", "json")
    _no_traceback(proc)
    assert proc.returncode in (0, 1, 3)
    findings = json.loads(proc.stdout)["findings"]
    hit = [f for f in findings if f["check_id"] == check_id]
    assert hit and hit[0]["file"] == f"k8s/{name}" and hit[0]["category"] == "schema"


def test_fifty_megabyte_file_is_refused_without_reading_it(tmp_path: Path):
    (tmp_path / "k8s").mkdir()
    with open(tmp_path / "k8s" / "huge.yaml", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    proc = invoke("review", str(tmp_path), "--format", "json")
    _no_traceback(proc)
    findings = json.loads(proc.stdout)["findings"]
    assert any(f["check_id"] == "SCH-UNREADABLE" and f["file"] == "k8s/huge.yaml" for f in findings)


def test_version_and_help():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("infra-orchestrator ")
    proc = invoke("review", "--help")
    assert proc.returncode == 0 and "--base" in proc.stdout and "--format" in proc.stdout
