"""The hook's hostile-input corpus: a workspace shaped like a Phase IV repository, Bash escapes read from
``fixtures/hooks/bash-escapes.tsv``, benign commands from ``bash-benign.txt``, and events that attack the
hook itself (its policy files, its config reader, its input)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "hooks"
CONFIG = (ROOT / "examples" / "todo-phase-iv" / ".infra-orchestrator.yaml").read_text()
PATCH = ("diff --git a/backend/src/main.py b/backend/src/main.py\n--- a/backend/src/main.py\n"
         "+++ b/backend/src/main.py\n@@ -1 +1 @@\n-app = None\n+app = 1\n")
FILES = {
    ".infra-orchestrator.yaml": CONFIG,
    "backend/src/main.py": "app = None\n",
    "backend/alembic/env.py": "x = 1\n",
    "backend/Dockerfile": "FROM python:3.12-slim\n",
    "frontend/src/app.tsx": "export default 1\n",
    "frontend/next.config.js": "module.exports = {};\n",
    "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
    "k8s/config.json": "{}\n",
    "k8s/benign.sh": "#!/bin/sh\nkubectl get pods\n",
    "k8s/evil.sh": "#!/bin/sh\nrm backend/src/main.py\n",
    "helm/todo/Chart.yaml": "apiVersion: v2\nname: todo\nversion: 0.1.0\n",
    "p": PATCH,
    "fix.mbox": "From 1a2b Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\n---\n" + PATCH,
    "phase3.lock": "{}\n",
    "history/approvals/ledger.jsonl": "",
    ".claude/settings.json": "{}\n",
    ".git/info/exclude": "",
}


def build_workspace(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    os.chmod(root / "k8s/evil.sh", 0o755)
    os.chmod(root / "k8s/benign.sh", 0o755)
    return root


def read_escapes() -> list[tuple[str, str]]:
    """(expected decision, command) per line of ``bash-escapes.tsv``."""
    out = []
    for line in (FIXTURES / "bash-escapes.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            decision, command = line.split("\t", 1)
            out.append((decision, command.replace("\\n", "\n")))
    return out


def read_benign() -> list[str]:
    return [line for line in (FIXTURES / "bash-benign.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _event(root: Path, tool: str, path: str) -> dict:
    key = "notebook_path" if tool == "NotebookEdit" else "file_path"
    return {"hook_event_name": "PreToolUse", "tool_name": tool, "cwd": str(root),
            "tool_input": {key: str(root / path), "content": "x"}}


def _config(text: str, tool: str = "Edit", path: str = "backend/main.py") -> Callable:
    def make(root: Path):
        (root / ".infra-orchestrator.yaml").write_text(text)
        return _event(root, tool, path), {}, None
    return make


def _write(tool: str, path: str) -> Callable:
    return lambda root: (_event(root, tool, path), {}, None)


def _fifo(root: Path):
    (root / ".infra-orchestrator.yaml").unlink()
    os.mkfifo(root / ".infra-orchestrator.yaml")
    return _event(root, "Write", "k8s/x.yaml"), {}, None


def _directory(root: Path):
    (root / ".infra-orchestrator.yaml").unlink()
    (root / ".infra-orchestrator.yaml").mkdir()
    return _event(root, "Write", "k8s/x.yaml"), {}, None


def _dangling(root: Path):
    (root / ".infra-orchestrator.yaml").unlink()
    (root / ".infra-orchestrator.yaml").symlink_to(root / "gone.yaml")
    return _event(root, "Write", "k8s/x.yaml"), {}, None


def _home(root: Path):
    home = root / "home"
    (home / ".claude").mkdir(parents=True)
    event = {"tool_name": "Write", "cwd": str(root), "tool_input": {"file_path": str(home / ".claude/settings.json")}}
    return event, {"HOME": str(home)}, None


def _raw(text: str) -> Callable:
    return lambda root: ({}, {}, text)


def edit_escapes() -> list[tuple[str, Callable]]:
    """(name, make(workspace) → (event, extra environment, raw stdin or None)) for attacks on the hook itself."""
    deep = "phase3:\n  protected: " + "[" * 100_000 + "]" * 100_000 + "\n"
    return [
        ("dot-slash glob", _config("phase3:\n  protected: [\"./backend/**\"]\n")),
        ("dot-dot-slash glob", _config("phase3:\n  protected: [\"././backend/**\"]\n")),
        ("config nested 10^5 deep", _config(deep)),
        ("config nested block 10^4 deep", _config("".join(" " * i + f"k{i}:\n" for i in range(10_000)))),
        ("unknown phase3 key", _config("phase3:\n  protectd: [\"backend/**\"]\n")),
        ("phase3 globs not a list", _config("phase3:\n  protected: backend/**\n")),
        ("config not UTF-8", lambda root: ((root / ".infra-orchestrator.yaml").write_bytes(b"\xff\xfe phase3: {}"),
                                           _event(root, "Write", "k8s/x.yaml"), {}, None)[1:]),
        ("config is a FIFO", _fifo),
        ("config is a directory", _directory),
        ("config is a dangling symlink", _dangling),
        ("Write .infra-orchestrator.yaml", _write("Write", ".infra-orchestrator.yaml")),
        ("Edit phase3.lock", _write("Edit", "phase3.lock")),
        ("Write .claude/settings.json", _write("Write", ".claude/settings.json")),
        ("Write .claude/settings.local.json", _write("Write", ".claude/settings.local.json")),
        ("Write the approval ledger", _write("Write", "history/approvals/ledger.jsonl")),
        ("Write .mcp.json", _write("Write", ".mcp.json")),
        ("Write a nested config", _write("Write", "k8s/.infra-orchestrator.yaml")),
        ("Write .git/config", _write("Write", ".git/config")),
        ("Write ~/.claude/settings.json", _home),
        ("MultiEdit protected", _write("MultiEdit", "backend/src/main.py")),
        ("NotebookEdit protected", _write("NotebookEdit", "backend/src/eda.ipynb")),
        ("empty stdin", _raw("")),
        ("JSON nested 10^5 deep", _raw("[" * 100_000 + "]" * 100_000)),
        ("not an object", _raw(json.dumps(["Write"]))),
        ("no tool_input", _raw(json.dumps({"tool_name": "Write"}))),
        ("cwd not a string", _raw(json.dumps({"tool_name": "Bash", "cwd": 3, "tool_input": {"command": "ls"}}))),
    ]
