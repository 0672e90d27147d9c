"""The Claude Code PreToolUse hook: recorded inputs, Bash parsing, fail-closed input handling, fast path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import ROOT

from infra_orchestrator.hook import answer
from tools.shell import bash_targets

FIXTURES = Path(__file__).parent / "fixtures" / "hooks"
CONFIG = (ROOT / "examples" / "todo-phase-iv" / ".infra-orchestrator.yaml").read_text()
HEAVY = ("typer", "click", "rich", "langgraph", "anthropic", "pydantic", "mcp", "httpx")


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
    ("bash-subshell-rm", "deny", "`rm` on backend/src/main.py is blocked"),
    ("bash-loop-glob-ask", "ask", "cannot tell whether this command writes into Phase III path backend/src "
                                  "(phase3.protected glob 'backend/src/**'"),
    ("bash-git-checkout-ref", "deny", "`git` on frontend/src/app.tsx is blocked"),
    ("edit-absolute-foreign-cwd", "deny", "Edit of backend/src/main.py is blocked"),
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


def bash_decision(workspace: Path, command: str) -> str | None:
    event = {"tool_name": "Bash", "cwd": str(workspace), "tool_input": {"command": command}}
    return (verdict(answer(json.dumps(event))) or {}).get("permissionDecision")


@pytest.mark.parametrize(("command", "decision"), [
    ("(rm backend/src/main.py)", "deny"),
    ("{ rm backend/src/main.py; }", "deny"),
    ("if true; then rm backend/src/main.py; fi", "deny"),
    ("for f in a b; do rm backend/src/main.py; done", "deny"),
    ("while false; do :; done; until true; do rm -r frontend/src; done", "deny"),
    ("! rm backend/src/main.py", "deny"),
    ("exec rm backend/src/main.py", "deny"),
    ("f() { rm backend/src/main.py; }", "deny"),
    ("case x in x) rm backend/src/main.py;; esac", "deny"),
    ("(cd backend && rm src/main.py); rm src/other.py", "deny"),
    ("(cd backend); rm src/main.py", None),             # the subshell's cd does not outlive it
    ("for f in backend/src/*; do rm \"$f\"; done", "ask"),  # a variable operand, a protected word
    ("for f in k8s/*; do rm \"$f\"; done", None),
])
def test_subshells_and_compound_commands(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ("echo $(rm backend/src/main.py)", "deny"),
    ('echo "$(rm backend/src/main.py)"', "deny"),
    ("echo `rm backend/src/main.py`", "deny"),
    ("FOO=$(date) rm backend/src/main.py", "deny"),
    ("tee >(rm backend/src/main.py) < /dev/null", "deny"),
    ("rm $(ls -d backend/src/*)", "ask"),               # the operands come from the substitution
    ("rm \"$(cat list)\"", None),                       # mentions no Phase III path
    ("echo $((1 + 2)) backend", "ask"),                 # arithmetic: not modelled, names a directory with src/
    ("docker build -t todo-backend:$(git rev-parse --short HEAD) k8s", None),
])
def test_command_substitution(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ("echo x >& backend/src/main.py", "deny"),
    ("echo x 1<> backend/src/main.py", "deny"),
    ("echo x >| backend/src/main.py", "deny"),
    ("echo x &> backend/src/main.py", "deny"),
    ("echo x &>> backend/src/main.py", "deny"),
    ("echo x>backend/src/main.py", "deny"),
    ("cat <<EOF > frontend/src/page.tsx\nexport default 1\nEOF", "deny"),
    ("echo x > backend/src/$NAME", "deny"),             # the directory is protected whatever the name
    ("echo x > $OUT backend/src/main.py", "ask"),
    ("make 2>&1 >&2 | tee build.log", None),
    ("ls 2>/dev/null < backend/src/main.py", None),
])
def test_redirections(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ("sudo -u root rm backend/src/main.py", "deny"),
    ("sudo -Eu root -- rm backend/src/main.py", "deny"),
    ("env -i rm backend/src/main.py", "deny"),
    ("env VAR=x OTHER=y rm backend/src/main.py", "deny"),
    ("env -u HOME -C backend rm src/main.py", "deny"),
    ("env -S 'rm -f' backend/src/main.py", "deny"),
    ("timeout -s KILL 5 rm backend/src/main.py", "deny"),
    ("nice -n 5 nohup rm backend/src/main.py", "deny"),
    ("command rm backend/src/main.py", "deny"),
    ("sudo -u root kubectl apply -f k8s/", None),
])
def test_prefixes_with_options(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ('bash -lc "rm backend/src/main.py"', "deny"),
    ("sh -ec 'cd frontend; rm -r src'", "deny"),
    ("bash -o pipefail -c 'echo x > backend/src/main.py'", "deny"),
    ("sudo bash -c 'rm backend/src/main.py'", "deny"),
    ("su -c 'rm backend/src/main.py' root", "deny"),
    ("eval 'rm backend/src/main.py'", "deny"),
    ("bash -lc 'kubectl get pods'", None),
    ("bash scripts/deploy.sh", "ask"),                  # a script it cannot read
])
def test_shell_flags(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ("rm backend/s*/main.py", "deny"),                  # expanded against the work tree
    ("rm backend/{src,x}/main.py", "deny"),
    ("rm -rf ./*", "deny"),
    ("rm backend/n*/main.py", "ask"),                   # matches nothing today: cannot tell
    ("cd k8s && rm -rf *", None),
    ("rm k8s/*.yaml", None),
    ("rm $DIR/main.py", None),                          # names no Phase III path
])
def test_globs_and_braces_in_operands(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ("cp -t backend/src evil.py", "deny"),
    ("cp --target-directory=backend/src evil.py", "deny"),
    ("cp --target-directory backend/src evil.py", "deny"),
    ("mv -t frontend/src x.ts", "deny"),
    ("cp -r /tmp/src backend", "deny"),                 # becomes backend/src
    ("cp -a /tmp/app/. backend/src", "deny"),
    ("rsync -a x/ backend/", "deny"),                   # the contents of x/ land in backend/ itself
    ("rsync -a --delete x backend/", "deny"),
    ("install -m 644 a.py backend/src/a.py", "deny"),
    ("ln -sf /tmp/x backend/src/x", "deny"),
    ("cp -r /tmp/other backend", None),                 # becomes backend/other, next to src/
    ("rsync -a x backend/", None),
    ("rsync -a x/ deploy@host:backend/", None),         # remote
    ("cp -t k8s backend/src/main.py", None),
])
def test_copy_destinations(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize(("command", "decision"), [
    ("git checkout HEAD~1 backend/src/main.py", "deny"),
    ("git checkout .", "deny"),
    ("git -C backend checkout -- src/main.py", "deny"),
    ("git -c core.autocrlf=false checkout -- backend/src/main.py", "deny"),
    ("git --no-pager -C frontend restore src/app.tsx", "deny"),
    ("git restore --source HEAD~1 backend/src/main.py", "deny"),
    ("git restore -s HEAD~1 -- frontend/src", "deny"),
    ("git mv backend/src/main.py k8s/", "deny"),
    ("git mv k8s/a.yaml backend/src/", "deny"),
    ("git checkout -b feature origin/main", None),
    ("git -C backend log -- src/main.py", None),
    ("git restore k8s/a.yaml", None),
])
def test_git_forms(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


def test_patches_touching_protected_paths(workspace: Path) -> None:
    (workspace / "fix.diff").write_text("diff --git a/backend/src/main.py b/backend/src/main.py\n"
                                        "--- a/backend/src/main.py\n+++ b/backend/src/main.py\n@@ -1 +1 @@\n"
                                        "-app = None\n+app = 1\n")
    (workspace / "k8s.diff").write_text("--- a/k8s/a.yaml\n+++ b/k8s/a.yaml\n@@ -0,0 +1 @@\n+x: 1\n")
    assert bash_decision(workspace, "git apply fix.diff") == "deny"
    assert bash_decision(workspace, "patch -p1 < fix.diff") == "deny"
    assert bash_decision(workspace, "patch -p1 -i fix.diff") == "deny"
    assert bash_decision(workspace, "git apply --check fix.diff") is None
    assert bash_decision(workspace, "git apply k8s.diff") is None


@pytest.mark.parametrize(("command", "decision"), [
    ("find backend/src -name '*.pyc' -delete", "deny"),
    ("find backend -name '*.py' -exec sed -i s/a/b/ {} \\;", "deny"),
    ("find backend/src | xargs rm", "ask"),
    ("find backend/src -name '*.pyc' | xargs -i rm {}", "ask"),
    ("find backend -name '*.py' -exec grep -n x {} +", None),
    ("find backend/src -name '*.py' | xargs grep x", None),
    ("echo hi # note\nrm backend/src/main.py", "deny"),  # a comment ends at the newline
    ("rm \\\n  backend/src/main.py", "deny"),            # line continuation
    ("mkdir -p backend/src/new", "deny"),
    ("perl -pi -e s/a/b/ backend/src/main.py", "deny"),
])
def test_other_writers(workspace: Path, command: str, decision: str | None) -> None:
    assert bash_decision(workspace, command) == decision


@pytest.mark.parametrize("command", [
    "ls", "cat backend/src/main.py", "grep -r x backend", "echo hi > /tmp/x", "(cd k8s && ls)", "(cd k8s && ls .)",
    "kubectl apply -f k8s/", "helm upgrade --install todo helm/todo --set image.tag=$(git rev-parse --short HEAD)",
    "docker build -f backend/Dockerfile backend", "git status && git diff -- backend/src", "echo 'a (b' > /tmp/x",
    "wc -l backend/src/*.py", "diff -r backend/src /tmp/copy",
])
def test_harmless_commands_get_no_opinion(workspace: Path, command: str) -> None:
    assert bash_decision(workspace, command) is None


def test_target_outside_the_cwd_workspace_is_judged_by_its_own(workspace: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: ['app/**']\n")
    (workspace / "sub").mkdir()
    (workspace / "sub/.infra-orchestrator.yaml").write_text("phase3:\n  protected: ['x/**']\n")
    target = str(workspace / "backend/src/main.py")
    cases = [  # (cwd, CLAUDE_PROJECT_DIR, tool_input)
        (tmp_path, None, {"file_path": target}),
        (other, str(workspace), {"file_path": target}),
        (other, None, {"file_path": target}),
        (workspace / "sub", None, {"file_path": "../backend/src/main.py"}),
        (tmp_path, None, {"command": f"rm {target}"}),
        (workspace / "sub", None, {"command": "cd .. && echo x > backend/src/main.py"}),
    ]
    for cwd, project_dir, tool_input in cases:
        event = {"tool_name": "Bash" if "command" in tool_input else "Edit", "cwd": str(cwd), "tool_input": tool_input}
        out = verdict(answer(json.dumps(event), project_dir))
        assert out and out["permissionDecision"] == "deny", (cwd, tool_input)
        assert str(workspace / ".infra-orchestrator.yaml") in out["permissionDecisionReason"]
    elsewhere = {"tool_name": "Edit", "cwd": str(other), "tool_input": {"file_path": str(workspace / "k8s/x.yaml")}}
    assert answer(json.dumps(elsewhere), str(workspace)) == ""


def test_long_compound_commands_are_judged(workspace: Path) -> None:
    command = " && ".join(["cd k8s", "kubectl apply -f .", "cd ..", "cp -r /tmp/x backend", "rm backend/n*/x",
                           "for f in k8s/*; do sed -i s/a/b/ \"$f\"; done", "git -C backend checkout -- src"] * 5)
    event = json.dumps({"tool_name": "Bash", "cwd": str(workspace), "tool_input": {"command": command}})
    assert verdict(answer(event))["permissionDecision"] == "deny"


def test_shell_scripts_are_read_when_they_can_be(workspace: Path) -> None:
    (workspace / "deploy.sh").write_text("#!/bin/bash\nset -e\nkubectl apply -f k8s/\n")
    (workspace / "wipe.sh").write_text("#!/bin/bash\ncd backend\nrm -rf src\n")
    assert bash_decision(workspace, "bash deploy.sh") is None
    assert bash_decision(workspace, "bash wipe.sh") == "deny"
    assert bash_decision(workspace, ". ./wipe.sh") == "deny"
    assert bash_decision(workspace, "cp wipe.sh deploy.sh && bash deploy.sh") == "ask"  # rewritten first
    os.mkfifo(workspace / "fifo.sh")
    assert bash_decision(workspace, "bash fifo.sh") == "ask"  # never opened


def test_outer_workspaces_judge_too(workspace: Path, tmp_path: Path) -> None:
    (workspace / "backend/.infra-orchestrator.yaml").write_text("phase3:\n  protected: []\n")
    event = {"tool_name": "Write", "cwd": str(tmp_path), "tool_input": {"file_path": str(workspace / "backend/src/a.py")}}
    assert verdict(answer(json.dumps(event)))["permissionDecision"] == "deny"


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
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert {m.split(".")[0] for m in imported}.isdisjoint(HEAVY)
    assert "infra_orchestrator.cli" not in imported and "core.config" not in imported


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
