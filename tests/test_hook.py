"""The Claude Code PreToolUse hook: recorded inputs, Bash parsing, fail-closed input handling, fast path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import ROOT

from infra_orchestrator.hook import answer, bash_targets

FIXTURES = Path(__file__).parent / "fixtures" / "hooks"
CONFIG = (ROOT / "examples" / "todo-phase-iv" / ".infra-orchestrator.yaml").read_text()
HEAVY = ("typer", "rich", "langgraph", "anthropic", "pydantic")


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "todo"
    for d in ("backend/src", "frontend/src", "k8s"):
        (root / d).mkdir(parents=True)
    (root / ".infra-orchestrator.yaml").write_text(CONFIG)
    (root / "backend/src/main.py").write_text("app = None\n")
    (root / "frontend/next.config.js").write_text("module.exports = {};\n")
    return root


def recorded(name: str, workspace: Path) -> str:
    return (FIXTURES / f"{name}.json").read_text().replace("$WORKSPACE", str(workspace))


def verdict(stdout: str) -> dict | None:
    return json.loads(stdout)["hookSpecificOutput"] if stdout else None


@pytest.mark.parametrize(("name", "decision", "named"), [
    ("write-protected", "deny", "backend/src/main.py is blocked — it is protected by the phase3.protected glob "
                                "'backend/src/**'"),
    ("edit-dotdot", "deny", "Edit of backend/src/config.py is blocked — it is protected by the phase3.protected "
                            "glob 'backend/src/**'"),
    ("bash-sed-frontend", "deny", "`sed` on frontend/src/app.tsx is blocked — it is protected by the "
                                  "phase3.protected glob 'frontend/src/**'"),
    ("bash-ls", None, None),
    ("write-outside", None, None),
    ("edit-needs-approval", "ask", "frontend/next.config.js changes Phase III build configuration "
                                   "(phase3.needs_approval glob 'frontend/next.config.*')"),
])
def test_recorded_inputs(workspace: Path, name: str, decision: str | None, named: str | None) -> None:
    out = verdict(answer(recorded(name, workspace)))
    if decision is None:
        assert out is None
    else:
        assert (out["hookEventName"], out["permissionDecision"]) == ("PreToolUse", decision)
        assert named in out["permissionDecisionReason"]


@pytest.mark.parametrize(("command", "decision"), [
    ("rm -rf backend/src", "deny"),
    ("rm -rf backend", "deny"),                          # a directory holding protected code
    ("rm -rf k8s", None),
    ("echo x >> backend/src/main.py", "deny"),
    ("cat backend/src/main.py > /tmp/copy.py", None),
    ("cp k8s/a.yaml backend/src/a.yaml", "deny"),
    ("cp backend/src/main.py k8s/", None),              # reading Phase III is fine
    ("cp Dockerfile backend/", None),                   # a new file next to the protected src/
    ("chmod -R g+w backend", "deny"),
    ("chmod 755 backend", None),
    ("mv backend/src/main.py k8s/", "deny"),
    ("git checkout -- frontend/src/page.tsx", "deny"),
    ("git checkout main", None),
    ("git rm -q backend/src/main.py", "deny"),
    ("truncate -s 0 backend/src/main.py", "deny"),
    ("chmod +x backend/src/main.py", "deny"),
    ("chmod -x backend/src/main.py", "deny"),
    ("ls; kubectl get pods && tee frontend/src/x.ts < /dev/null", "deny"),
    ("docker build . | tee build.log", None),
    ("cd backend && rm src/main.py", "deny"),
    ("bash -c 'rm backend/src/main.py'", "deny"),
    ("sed 's/a/b/' backend/src/main.py", None),         # no -i: prints only
    ("sed -i.bak -e s/a/b/ backend/src/main.py", "deny"),
    ("FOO=1 sudo rm backend/src/main.py", "deny"),
    ("helm upgrade --install todo helm/todo", None),
    ("sed -i s/a/b/ frontend/package.json", "ask"),
    ("echo 'unterminated", "deny"),                      # cannot parse: fail closed
])
def test_bash_commands(workspace: Path, command: str, decision: str | None) -> None:
    event = {"tool_name": "Bash", "cwd": str(workspace), "tool_input": {"command": command}}
    out = verdict(answer(json.dumps(event)))
    assert (out or {}).get("permissionDecision") == decision


def test_bash_targets_follow_cd_and_redirections() -> None:
    assert bash_targets("cd backend; echo hi > src/a.py 2>&1 && ls") == [("backend/src/a.py", "redirection '>' into",
                                                                          False)]


def test_symlinked_directory_is_resolved(workspace: Path) -> None:
    (workspace / "app").symlink_to("backend/src")
    event = {"tool_name": "Write", "cwd": str(workspace), "tool_input": {"file_path": "app/main.py", "content": ""}}
    out = verdict(answer(json.dumps(event)))
    assert out["permissionDecision"] == "deny"
    assert "backend/src/main.py" in out["permissionDecisionReason"]


def test_notebook_edit_uses_notebook_path(workspace: Path) -> None:
    event = {"tool_name": "NotebookEdit", "cwd": str(workspace),
             "tool_input": {"notebook_path": str(workspace / "backend/src/eda.ipynb"), "new_source": ""}}
    assert verdict(answer(json.dumps(event)))["permissionDecision"] == "deny"


@pytest.mark.parametrize(("raw", "reason"), [
    ("{not json", "not JSON"),
    ("[]", "no tool_name"),
    ('{"tool_name": "Write", "tool_input": "x"}', "tool_input is missing or not an object"),
    ('{"tool_name": "Edit", "tool_input": {}}', "tool_input.file_path is missing"),
])
def test_unreadable_input_is_denied_with_a_reason(raw: str, reason: str) -> None:
    out = verdict(answer(raw))
    assert out["permissionDecision"] == "deny"
    assert reason in out["permissionDecisionReason"]


def test_other_tools_and_foreign_directories_get_no_opinion(workspace: Path, tmp_path: Path) -> None:
    read = {"tool_name": "Read", "cwd": str(workspace), "tool_input": {"file_path": "backend/src/main.py"}}
    foreign = {"tool_name": "Write", "cwd": str(tmp_path), "tool_input": {"file_path": "backend/src/main.py"}}
    outside = {"tool_name": "Write", "cwd": str(workspace), "tool_input": {"file_path": "/etc/hosts"}}
    assert [answer(json.dumps(e)) for e in (read, foreign, outside)] == ["", "", ""]


def test_broken_config_is_denied(workspace: Path) -> None:
    (workspace / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: backend/src/**\n")
    event = {"tool_name": "Write", "cwd": str(workspace), "tool_input": {"file_path": "k8s/x.yaml"}}
    out = verdict(answer(json.dumps(event)))
    assert out["permissionDecision"] == "deny" and "lists of strings" in out["permissionDecisionReason"]


def test_hook_process_answers_without_heavy_imports(workspace: Path) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "infra_orchestrator", "guard", "hook"],
                          input=recorded("write-protected", workspace), capture_output=True, text=True,
                          cwd=ROOT, timeout=30)
    assert proc.returncode == 0
    assert verdict(proc.stdout)["permissionDecision"] == "deny"
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert imported.isdisjoint(HEAVY), imported & set(HEAVY)


def test_hook_process_is_silent_for_no_opinion(workspace: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "infra_orchestrator", "guard", "hook"],
                          input=recorded("bash-ls", workspace), capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_typer_command_gives_the_same_answer(workspace: Path) -> None:
    from typer.testing import CliRunner

    from infra_orchestrator.cli import app

    result = CliRunner().invoke(app, ["guard", "hook"], input=recorded("edit-dotdot", workspace))
    assert result.exit_code == 0
    assert verdict(result.stdout)["permissionDecision"] == "deny"
