"""``infra-orchestrator init``: set a repository up for Claude Code.

Plans four files and merges into what exists, never clobbering it:

- ``.infra-orchestrator.yaml`` — only when missing, and only when :func:`tools.layout.detect_layout`
  proposes exactly one Phase III layout (otherwise it says why and writes nothing there);
- ``.claude/agents/infra-orchestrator.md`` — the subagent (kept as is when it already exists);
- ``.mcp.json`` — registers the MCP server (other servers kept; an existing entry of ours kept);
- ``.claude/settings.json`` — the PreToolUse guard hook (other hooks and settings kept).

Planning is pure (:func:`plan_init`); a second run plans no change.
"""

from __future__ import annotations

import difflib
import json
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
HOOK_COMMAND = "infra-orchestrator guard hook"
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


def _has_hook(entries: list[Any]) -> bool:
    return any(isinstance(e, dict) and any(isinstance(h, dict) and h.get("command") == HOOK_COMMAND
                                           for h in e.get("hooks") or []) for e in entries)


def merge_settings(data: dict[str, Any]) -> dict[str, Any]:
    """``.claude/settings.json`` with the PreToolUse guard hook added (other hooks and keys kept)."""
    hooks = dict(data.get("hooks") or {})
    pre = list(hooks.get("PreToolUse") or [])
    if not _has_hook(pre):
        pre.append({"matcher": HOOK_MATCHER, "hooks": [{"type": "command", "command": HOOK_COMMAND, "timeout": 10}]})
    hooks["PreToolUse"] = pre
    return {**data, "hooks": hooks}


def _read(root: Path, rel: str) -> str | None:
    path = root / rel
    return path.read_text(encoding="utf-8") if path.is_file() else None


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


def plan_init(root: Path) -> InitPlan:
    """What ``init`` would write in ``root`` (pure: reads only)."""
    plan = InitPlan()
    config = _config_file(root, plan.notes)
    if config:
        plan.files.append(config)
    agent_old = _read(root, AGENT_FILE)
    if agent_old is not None and agent_old != agent_file():
        plan.notes.append(f"{AGENT_FILE} exists and differs from the generated one; left as is")
    plan.files.append(Planned(AGENT_FILE, agent_old, agent_old if agent_old is not None else agent_file()))
    plan.files.append(_json_file(root, MCP_FILE, merge_mcp))
    plan.files.append(_json_file(root, SETTINGS_FILE, merge_settings))
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
