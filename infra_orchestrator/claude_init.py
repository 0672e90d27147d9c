"""``infra-orchestrator init``: set a repository up for Claude Code.

Plans four files and merges into what exists, never clobbering it:

- ``.infra-orchestrator.yaml`` — only when missing, and only when :func:`tools.layout.detect_layout`
  proposes exactly one Phase III layout (otherwise it says why and writes nothing there);
- ``.claude/agents/infra-orchestrator.md`` — the subagent (kept as is when it already exists);
- ``.mcp.json`` — registers the MCP server (other servers kept; an existing entry of ours kept);
- ``.claude/settings.json`` — the PreToolUse guard hook (other hooks and settings kept), as an absolute,
  fail-closed command (:func:`hook_command`) that ``init`` runs once before writing it.

Planning only reads (:func:`plan_init`); a second run plans no change.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.config import CONFIG_FILENAME
from core.errors import InputError
from infra_orchestrator.mcp_server import SERVER_NAME, TOOL_NAMES

AGENT_FILE = ".claude/agents/infra-orchestrator.md"
MCP_FILE = ".mcp.json"
SETTINGS_FILE = ".claude/settings.json"
FAIL_CLOSED = " || exit 2"
"""Appended to the hook command: Claude Code runs it with ``sh -c`` and lets a tool call through on any exit
code but 0 and 2, so a missing executable (127) or a crash (a signal) must become 2."""
OUR_HOOK = re.compile(r"infra[-_]orchestrator\b.*\bguard\s+hook\b")
HOOK_MATCHER = "Edit|Write|MultiEdit|NotebookEdit|Bash"
MCP_ENTRY = {"command": "infra-orchestrator", "args": ["mcp"]}

AGENT_DESCRIPTION = (
    "Use this agent when coordinating infrastructure changes, enforcing the Spec-Kit Plus workflow, validating "
    "Kubernetes configurations, or approving stage transitions. Invoke it at the start of any infrastructure work "
    "and before each stage progression.\n\nExamples:\n\n"
    "<example>\nuser: \"I need to update our Kubernetes deployment configuration to add a new service\"\n"
    "assistant: \"I'm going to use the Task tool to launch the infra-orchestrator agent to validate this "
    "infrastructure change.\"\n<commentary>Infrastructure changes go through the infra-orchestrator for workflow "
    "compliance and Phase III protection.</commentary>\n</example>\n\n"
    "<example>\nuser: \"We've completed the initial infrastructure specs. Ready to move to implementation.\"\n"
    "assistant: \"Let me use the Task tool to launch the infra-orchestrator agent to approve the stage "
    "transition.\"\n<commentary>Stage transitions need the infra-orchestrator's approval.</commentary>\n</example>\n\n"
    "<example>\nuser: \"Can you help me refactor the database configuration?\"\n"
    "assistant: \"I'll use the Task tool to launch the infra-orchestrator agent to validate this database "
    "infrastructure change.\"\n<commentary>Any infrastructure modification must go through the "
    "infra-orchestrator.</commentary>\n</example>"
)

AGENT_BODY = """You are the infrastructure gatekeeper for this repository: the authority that approves or rejects
infrastructure changes and Spec-Kit Plus stage transitions, and that protects the frozen Phase III application
code (declared in `.infra-orchestrator.yaml`).

You do not judge by yourself: the `infra-orchestrator` MCP server decides, and you relay its decision.

- To validate a change, call `validate_change` (a git range with `base`/`head`, the `paths` it touches, or the
  repository as a whole, plus one sentence of `intent`).
- To approve a stage transition, call `approve_stage` with the feature (`001`) and the target stage;
  `stage_status` shows where a feature stands.
- `check_manifests` runs the Kubernetes checks on files; `guard_check` tells whether paths are Phase III code.
- Use Read, Grep and Glob only to find what to pass to the tools (paths, feature numbers, refs).

Relay the decision text verbatim — `[CHANGE VALIDATION: ...]` or `[STAGE APPROVAL DECISION: ...]` with every
section — and never soften, reinterpret or override it. When the decision is REQUIRES CLARIFICATION, put its
question to the user word for word and do not proceed until they answer; never approve a change yourself.
Phase III code is immutable: a change that touches it is rejected, whatever the request says.
"""


@dataclass
class Planned:
    """One file ``init`` would write: ``old`` is None for a new file."""

    path: str
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self) -> str:
        """A unified diff of the change (``/dev/null`` for a new file)."""
        old = (self.old or "").splitlines(keepends=True)
        lines = difflib.unified_diff(old, self.new.splitlines(keepends=True),
                                     "/dev/null" if self.old is None else f"a/{self.path}", f"b/{self.path}")
        return "".join(lines)


@dataclass
class InitPlan:
    """Every file ``init`` considered, plus notes on what it left alone and why."""

    files: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def changes(self) -> list[Planned]:
        return [f for f in self.files if f.changed]


def agent_file() -> str:
    """The Claude Code subagent: front-matter (name, description, tools, model) and the system prompt."""
    tools = ", ".join([*(f"mcp__{SERVER_NAME}__{t}" for t in TOOL_NAMES), "Read", "Grep", "Glob"])
    front = [f"name: {SERVER_NAME}", f"description: {json.dumps(AGENT_DESCRIPTION)}", f"tools: {tools}",
             "model: sonnet"]
    return "---\n" + "\n".join(front) + "\n---\n\n" + AGENT_BODY


def merge_mcp(data: dict[str, Any]) -> dict[str, Any]:
    """``.mcp.json`` with our server registered (an existing entry under our name is kept as is)."""
    servers = dict(data.get("mcpServers") or {})
    servers.setdefault(SERVER_NAME, MCP_ENTRY)
    return {**data, "mcpServers": servers}


def installed_command() -> list[str]:
    """The absolute command that runs this installation: the console script next to the running interpreter
    (a venv's ``bin/``), else the one that was run, else the interpreter with ``-P -m infra_orchestrator``
    (``-P``: a ``core/`` or ``tools/`` directory in the workspace cannot shadow the package)."""
    exe = Path(sys.executable)
    script = exe.parent / ("infra-orchestrator.exe" if os.name == "nt" else "infra-orchestrator")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    argv0 = Path(sys.argv[0])
    if argv0.name == "infra-orchestrator" and argv0.is_file():
        return [str(argv0.resolve())]
    return [str(exe.absolute()), "-P", "-m", "infra_orchestrator"]


def hook_command(prefix: list[str] | None = None) -> str:
    """The guard hook's command line: absolute (it needs no ``PATH``) and fail-closed."""
    return shlex.join([*(prefix or installed_command()), "guard", "hook"]) + FAIL_CLOSED


def check_hook_command(command: str, env: dict[str, str] | None = None) -> str | None:
    """Run ``command`` once as Claude Code would (``sh -c``, a PreToolUse event on stdin) on a scratch
    workspace where the event must be denied; None when it is, else what went wrong."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / CONFIG_FILENAME).write_text("phase3:\n  protected: [\"app/**\"]\n", encoding="utf-8")
        event = {"hook_event_name": "PreToolUse", "tool_name": "Write", "cwd": str(root),
                 "tool_input": {"file_path": str(root / "app" / "main.py"), "content": ""}}
        try:
            proc = subprocess.run(["/bin/sh", "-c", command], input=json.dumps(event), capture_output=True,
                                  text=True, timeout=60, cwd=root, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"it could not be run ({type(exc).__name__}: {exc})"
    try:
        decision = json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"]
    except (ValueError, KeyError, TypeError):
        decision = None
    if proc.returncode == 0 and decision == "deny":
        return None
    detail = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1][:300]
    return f"it exited {proc.returncode} instead of denying a write into protected code ({detail})"


def merge_settings(data: dict[str, Any], command: str, works: Callable[[str], bool] = lambda c: False,
                   notes: list[str] | None = None) -> dict[str, Any]:
    """``.claude/settings.json`` with the PreToolUse guard hook registered as ``command`` (other hooks and keys
    kept). An existing guard hook is kept when it fails closed and ``works``; otherwise its command is replaced."""
    hooks = dict(data.get("hooks") or {})
    pre = [dict(e) if isinstance(e, dict) else e for e in hooks.get("PreToolUse") or []]
    ours = [(e, k) for e in pre if isinstance(e, dict) for k, h in enumerate(e.get("hooks") or [])
            if isinstance(h, dict) and isinstance(h.get("command"), str) and OUR_HOOK.search(h["command"])]
    for entry, k in ours:
        old = entry["hooks"][k]["command"]
        if old == command or (old.endswith(FAIL_CLOSED) and works(old)):
            continue
        entry["hooks"] = [*entry["hooks"][:k], {**entry["hooks"][k], "command": command}, *entry["hooks"][k + 1:]]
        if notes is not None:
            why = "it fails open when the command is missing or crashes" if not old.endswith(FAIL_CLOSED) \
                else "it does not run here"
            notes.append(f"{SETTINGS_FILE}: replacing the guard hook command {old!r} ({why}) with {command!r}")
    if not ours:
        pre.append({"matcher": HOOK_MATCHER, "hooks": [{"type": "command", "command": command, "timeout": 10}]})
    hooks["PreToolUse"] = pre
    return {**data, "hooks": hooks}


def _read(root: Path, rel: str) -> str | None:
    from core.confine import read_text_file

    path = root / rel
    return read_text_file(path) if os.path.lexists(path) else None


def _json_file(root: Path, rel: str, merge) -> Planned:
    old = _read(root, rel)
    try:
        data = json.loads(old) if old and old.strip() else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"{root / rel}: not valid JSON ({exc.msg} at line {exc.lineno}); fix it and re-run") from None
    if not isinstance(data, dict):
        raise InputError(f"{root / rel}: the top level must be a JSON object")
    merged = merge(data)
    return Planned(rel, old, old if merged == data and old is not None else json.dumps(merged, indent=2) + "\n")


def _config_file(root: Path, notes: list[str]) -> Planned | None:
    from tools.layout import detect_layout

    old = _read(root, CONFIG_FILENAME)
    if old is not None:
        return Planned(CONFIG_FILENAME, old, old)
    det = detect_layout(root)
    if det.problem or det.kind is None:
        notes.append(f"{CONFIG_FILENAME} not written: {det.problem}; declare phase3.protected yourself "
                     "(see `infra-orchestrator guard init`)")
        return None
    body = yaml.safe_dump({"version": 1, "phase3": det.phase3()}, sort_keys=False)
    header = f"# infra-orchestrator configuration, written by `infra-orchestrator init` (layout: {det.kind}).\n"
    return Planned(CONFIG_FILENAME, None, header + body)


def plan_init(root: Path, command: str | None = None, works: Callable[[str], bool] = lambda c: False) -> InitPlan:
    """What ``init`` would write in ``root`` (reads only): the guard hook registered as ``command``
    (:func:`hook_command` by default); ``works`` tells whether an existing fail-closed hook command runs."""
    plan = InitPlan()
    command = command or hook_command()
    config = _config_file(root, plan.notes)
    if config:
        plan.files.append(config)
    agent_old = _read(root, AGENT_FILE)
    if agent_old is not None and agent_old != agent_file():
        plan.notes.append(f"{AGENT_FILE} exists and differs from the generated one; left as is")
    plan.files.append(Planned(AGENT_FILE, agent_old, agent_old if agent_old is not None else agent_file()))
    plan.files.append(_json_file(root, MCP_FILE, merge_mcp))
    plan.files.append(_json_file(root, SETTINGS_FILE, lambda d: merge_settings(d, command, works, plan.notes)))
    return plan


def apply_plan(root: Path, plan: InitPlan) -> list[str]:
    """Write the changed files; returns their paths."""
    written = []
    for f in plan.changes():
        path = root / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.new, encoding="utf-8")
        written.append(f.path)
    return written
