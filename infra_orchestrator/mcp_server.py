"""The MCP server (``infra-orchestrator mcp``, stdio): the gatekeeper's tools for Claude Code.

Every tool returns the decision (or report) text as content plus structured JSON. A question the tool
cannot decide comes back as a REQUIRES CLARIFICATION decision carrying the question (tool runs are not
interactive). Every path argument is confined to the workspace root: ``..``, absolute paths elsewhere and
symlinks leaving it are tool errors. Nothing is printed to stdout outside the protocol; logs go to stderr.
"""

from __future__ import annotations

import logging
import sys
import threading
from functools import wraps
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent

from core.config import STAGES, load_config
from core.errors import OrchestratorError
from core.gcpause import paused_gc
from core.models import ChangeRequest, ChangeSet, FileChange, Finding, StageRequest
from core.render import finding_line, render_text
from tools.workspace import resolve_inside

SERVER_NAME = "infra-orchestrator"
TOOL_NAMES = ("validate_change", "approve_stage", "stage_status", "check_manifests", "guard_check")
INSTRUCTIONS = (
    "Infrastructure gatekeeper. validate_change and approve_stage return a decision "
    "(APPROVED / REJECTED / REQUIRES CLARIFICATION) in a fixed text format: relay it verbatim. "
    "A REQUIRES CLARIFICATION lists the question to put to the user."
)
log = logging.getLogger("infra_orchestrator.mcp")


def inside(root: Path, rel: str) -> str:
    """``rel`` as a workspace-relative posix path; :class:`ToolError` when it leaves ``root``."""
    try:
        real = resolve_inside(root, rel)
    except OrchestratorError as exc:
        raise ToolError(str(exc)) from None
    return real.relative_to(root.resolve()).as_posix()


def result(text: str, data: dict[str, Any]) -> CallToolResult:
    """A tool result: ``text`` for the reader, ``data`` as structured content."""
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def finding_lines(findings: list[Finding]) -> str:
    """One line per finding (:func:`core.render.finding_line`), or ``no findings``."""
    return "\n".join(finding_line(f) for f in findings) if findings else "no findings"


def findings_result(findings: list[Finding], **data: Any) -> CallToolResult:
    """A report tool's result: the finding lines, and the findings with ``data`` as structured content."""
    return result(finding_lines(findings), {**data, "findings": [f.model_dump(mode="json") for f in findings]})


_graph_lock = threading.Lock()
_graph: list[Any] = []


def compiled_graph() -> Any:
    """The decision graph, compiled on the first decision and shared by every later call (a compiled graph
    without a checkpointer keeps no state between runs; compiling costs more than a warm review)."""
    with _graph_lock:
        if not _graph:
            from graph.builder import build_graph

            _graph.append(build_graph())
        return _graph[0]


def _decide(req: ChangeRequest | StageRequest) -> CallToolResult:
    from graph.runner import review

    # the base revision's config, or the operator's (INFRA_ORCH_CONFIG)
    decision = review(req, graph=compiled_graph())
    return result(render_text(decision), decision.model_dump(mode="json"))


def _guarded(fn):
    """Turn the product's user errors (bad feature, bad ref, bad config) into tool errors; the cyclic garbage
    collector is paused during the call."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with paused_gc():  # one tool call is one batch analysis (core.gcpause)
                return fn(*args, **kwargs)
        except OrchestratorError as exc:
            raise ToolError(str(exc)) from None

    return wrapper


def build_server(root: Path) -> MCPServer:
    """The server with its five tools, confined to the workspace ``root``."""
    root = root.resolve()
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS)

    @server.tool(description="Validate a change: a git range (base..head), a set of paths, or a directory as a "
                 "whole, with a sentence of intent. Returns [CHANGE VALIDATION: ...].")
    @_guarded
    def validate_change(path: str = ".", base: str | None = None, head: str | None = None,
                        paths: list[str] | None = None, intent: str = "") -> CallToolResult:
        repo = root / inside(root, path)
        rel_paths = [inside(repo, p) for p in paths or []]
        return _decide(ChangeRequest(workspace=str(repo), base=base, head=head, paths=rel_paths, intent=intent))

    @server.tool(description="Approve a Spec-Kit Plus stage transition of a feature under specs/NNN-name/ "
                 f"(target: {', '.join(STAGES)}). Returns [STAGE APPROVAL DECISION: ...].")
    @_guarded
    def approve_stage(feature: str, target: str) -> CallToolResult:
        if target not in STAGES:
            raise ToolError(f"unknown stage '{target}'; stages are: {', '.join(STAGES)}")
        return _decide(StageRequest(workspace=str(root), feature=feature, target=target))

    @server.tool(description="Each stage's gates for a feature (pass / fail / not started).")
    @_guarded
    def stage_status(feature: str) -> CallToolResult:
        from tools.workflow import stage_table

        rows = stage_table(root, feature, load_config(root).config.workflow)
        text = "\n".join(f"{r.stage}: {r.status}" + (f" (failing: {', '.join(r.failing)})" if r.failing else "")
                         for r in rows)
        return result(text, {"feature": feature, "stages": [r.model_dump(mode="json") for r in rows]})

    @server.tool(description="Run the engine's checks (the check catalog, API-schema validation, Dockerfile "
                 "checks) on manifest files, charts or directories, as `infra-orchestrator check` does (no agents).")
    @_guarded
    def check_manifests(paths: list[str]) -> CallToolResult:
        from tools import engine

        analysis = engine.check_paths(root, [inside(root, p) for p in paths], load_config(root).config)
        return findings_result(analysis.findings, files=analysis.collected.scope,
                               objects=len(analysis.collected.objects))

    @server.tool(description="Phase III guard: would changing these paths touch frozen application code?")
    @_guarded
    def guard_check(paths: list[str]) -> CallToolResult:
        from tools import engine

        rels = [inside(root, p) for p in paths]  # confinement first: a path leaving the workspace is a tool error
        existing = [r for r in rels if (root / r).exists()]  # directories expand to their files
        planned = [FileChange(path=r, status="added") for r in rels if r not in existing]
        changes = ChangeSet(mode="paths", files=engine.explicit_changes(root, existing).files + planned)
        findings = engine.guard_findings(changes, load_config(root).config, root)
        return findings_result(findings, paths=[f.path for f in changes.files])

    return server


def serve(root: Path) -> None:
    """Serve on stdio until the client disconnects; logs go to stderr."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    log.info("serving %s", root)
    build_server(root).run("stdio")
