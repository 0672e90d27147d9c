"""`infra-orchestrator init`: idempotent, merges into existing Claude Code files, --dry-run writes nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from clirun import invoke

from infra_orchestrator.claude_init import FAIL_CLOSED, check_hook_command, hook_command, merge_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "todo-phase-iv"
WRITTEN = [".infra-orchestrator.yaml", ".claude/agents/infra-orchestrator.md", ".mcp.json", ".claude/settings.json"]


def _snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _copy(tmp_path: Path, drop_config: bool = False) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    if drop_config:
        (repo / ".infra-orchestrator.yaml").unlink()
    return repo


def test_init_twice_gives_identical_files(tmp_path):
    repo = _copy(tmp_path, drop_config=True)
    first = invoke("init", str(repo))
    assert first.returncode == 0, first.stderr
    after_first = _snapshot(repo)
    assert set(WRITTEN) <= set(after_first)
    second = invoke("init", str(repo))
    assert second.returncode == 0 and "nothing to do" in second.stderr
    assert _snapshot(repo) == after_first
    config = yaml.safe_load(after_first[".infra-orchestrator.yaml"])
    assert config["phase3"]["protected"] == ["backend/src/**", "frontend/src/**"]
    assert json.loads(after_first[".mcp.json"]) == {"mcpServers": {"infra-orchestrator": {"command": "infra-orchestrator",
                                                                                         "args": ["mcp"]}}}


def test_agent_file_front_matter(tmp_path):
    repo = _copy(tmp_path)
    invoke("init", str(repo))
    text = (repo / ".claude/agents/infra-orchestrator.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["name"] == "infra-orchestrator" and front["model"] == "sonnet"
    assert "Ready to move to implementation" in front["description"]
    tools = [t.strip() for t in front["tools"].split(",")]
    assert tools == ["mcp__infra-orchestrator__validate_change", "mcp__infra-orchestrator__approve_stage",
                     "mcp__infra-orchestrator__stage_status", "mcp__infra-orchestrator__check_manifests",
                     "mcp__infra-orchestrator__guard_check", "Read", "Grep", "Glob"]


def test_existing_files_keep_their_hooks_servers_and_config(tmp_path):
    repo = _copy(tmp_path)
    config_before = (repo / ".infra-orchestrator.yaml").read_text()
    other_hook = {"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint.sh"}]}
    settings = {"permissions": {"allow": ["Bash(ls)"]},
                "hooks": {"PreToolUse": [other_hook], "Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}}
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text(json.dumps(settings))
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"other": {"command": "o"}}}))
    assert invoke("init", str(repo)).returncode == 0
    merged = json.loads((repo / ".claude/settings.json").read_text())
    assert merged["permissions"] == settings["permissions"] and merged["hooks"]["Stop"] == settings["hooks"]["Stop"]
    pre = merged["hooks"]["PreToolUse"]
    assert pre[0] == other_hook
    assert pre[1] == {"matcher": "Edit|Write|MultiEdit|NotebookEdit|Bash",
                      "hooks": [{"type": "command", "command": hook_command(), "timeout": 10}]}
    assert set(json.loads((repo / ".mcp.json").read_text())["mcpServers"]) == {"other", "infra-orchestrator"}
    assert (repo / ".infra-orchestrator.yaml").read_text() == config_before
    before = _snapshot(repo)
    assert invoke("init", str(repo)).returncode == 0
    assert _snapshot(repo) == before


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path):
    repo = _copy(tmp_path)
    before = _snapshot(repo)
    res = invoke("init", str(repo), "--dry-run")
    assert res.returncode == 0
    assert _snapshot(repo) == before
    assert "--- /dev/null\n+++ b/.mcp.json\n" in res.stdout
    assert '+++ b/.claude/settings.json' in res.stdout and json.dumps(hook_command()) in res.stdout
    assert "b/.infra-orchestrator.yaml" not in res.stdout  # an existing config is never rewritten


def test_no_layout_means_no_config_and_a_note(tmp_path):
    (tmp_path / "k8s").mkdir()
    res = invoke("init", str(tmp_path))
    assert res.returncode == 0
    assert not (tmp_path / ".infra-orchestrator.yaml").exists()
    assert "not written" in res.stderr and (tmp_path / ".mcp.json").exists()


def test_broken_json_is_an_input_error(tmp_path):
    (tmp_path / ".mcp.json").write_text("{nope")
    res = invoke("init", str(tmp_path))
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr


def _command(repo: Path) -> str:
    settings = json.loads((repo / ".claude/settings.json").read_text())
    return settings["hooks"]["PreToolUse"][-1]["hooks"][0]["command"]


def test_the_written_hook_command_runs_without_path(tmp_path):
    repo = _copy(tmp_path)
    assert invoke("init", str(repo)).returncode == 0
    command = _command(repo)
    assert command.startswith("/") and command.endswith(" guard hook" + FAIL_CLOSED)
    event = {"tool_name": "Edit", "cwd": str(repo), "tool_input": {"file_path": str(repo / "backend/src/main.py")}}
    proc = subprocess.run(["/bin/sh", "-c", command], input=json.dumps(event), capture_output=True, text=True,
                          env={"PATH": "/nonexistent"}, cwd=repo, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_a_missing_executable_blocks_instead_of_failing_open():
    assert "exited 2" in check_hook_command("/nonexistent/infra-orchestrator guard hook" + FAIL_CLOSED)
    assert "exited 127" in check_hook_command("/nonexistent/infra-orchestrator guard hook")
    proc = subprocess.run(["/bin/sh", "-c", "/nonexistent/infra-orchestrator guard hook" + FAIL_CLOSED],
                          input="{}", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2  # Claude Code treats 2 as blocking; 127 would let the tool call through
    assert check_hook_command(hook_command()) is None
    assert check_hook_command(hook_command([sys.executable, "-P", "-m", "infra_orchestrator"])) is None


def test_a_bare_or_broken_hook_command_is_replaced_once(tmp_path):
    repo = _copy(tmp_path)
    (repo / ".claude").mkdir()
    for old in ("infra-orchestrator guard hook", "/gone/bin/infra-orchestrator guard hook" + FAIL_CLOSED):
        settings = {"hooks": {"PreToolUse": [{"matcher": "Edit|Write|MultiEdit|NotebookEdit|Bash",
                                              "hooks": [{"type": "command", "command": old, "timeout": 10}]}]}}
        (repo / ".claude/settings.json").write_text(json.dumps(settings))
        res = invoke("init", str(repo))
        assert res.returncode == 0 and f"replacing the guard hook command {old!r}" in res.stderr
        merged = json.loads((repo / ".claude/settings.json").read_text())
        assert len(merged["hooks"]["PreToolUse"]) == 1 and _command(repo) == hook_command()


def test_a_working_fail_closed_hook_command_is_kept():
    custom = hook_command([sys.executable, "-P", "-m", "infra_orchestrator"])
    data = {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": custom}]}]}}
    kept = merge_settings(data, hook_command(), works=lambda c: check_hook_command(c) is None)
    assert kept == data
    assert merge_settings(data, hook_command())["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == hook_command()
