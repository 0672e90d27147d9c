"""The MCP server (``infra-orchestrator mcp``, stdio): the gatekeeper's tools for Claude Code.

The contract an LLM caller relies on:

- **Workspace.** The root is ``--root`` when given, else ``CLAUDE_PROJECT_DIR`` (set by Claude Code), else the
  working directory; from there the closest ``.infra-orchestrator.yaml`` up the tree (stopping at the git root),
  else the git root, is the workspace (:func:`workspace_root`), so a server started in a subdirectory still sees
  the repository's boundaries and features. Every path argument is confined to it: ``..``, absolute paths
  elsewhere and symlinks leaving it are tool errors.
- **Schemas.** Every parameter has a description; stages and severities are JSON-schema enums; unknown or
  misspelled arguments are a tool error naming them and the accepted ones (never silently dropped); every tool
  has an ``outputSchema`` and returns structured content that validates against it; tool annotations say
  honestly which tools only read.
- **Bounded output.** A result starts with a summary (the decision, counts by severity), then at most ``limit``
  findings (most severe first) at or above ``min_severity``; ``page.next_cursor`` (also named in the text)
  fetches the next page of the *same* result from the server's memory, without running the review again.
- **Progress.** When the client sends a progress token, a notification per stage of the run (collect, checks,
  agents, decision).

A question the tool cannot decide comes back as a REQUIRES CLARIFICATION decision carrying the question (tool
runs are not interactive). Nothing is printed to stdout outside the protocol; logs go to stderr. The review
graph is compiled once per server.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from core import __version__
from core.config import CONFIG_FILENAME, STAGES, load_config
from core.errors import OrchestratorError
from core.gcpause import paused_gc
from core.models import (
    ChangeRequest,
    ChangeSet,
    Decision,
    DecisionMetadata,
    FileChange,
    Finding,
    Outcome,
    Severity,
    StageRequest,
)
from core.render import finding_line, render_markdown, render_text
from tools.workflow.transition import StageRow
from tools.workspace import resolve_inside

SERVER_NAME = "infra-orchestrator"
TOOL_NAMES = ("validate_change", "approve_stage", "stage_status", "check_manifests", "guard_check")
INSTRUCTIONS = (
    "Infrastructure gatekeeper. validate_change and approve_stage return a decision "
    "(APPROVED / REJECTED / REQUIRES CLARIFICATION) in a fixed text format: relay it verbatim. "
    "A REQUIRES CLARIFICATION lists the question to put to the user. Findings come in pages: pass the "
    "result's next_cursor back (with the same tool) for the next page."
)
DEFAULT_LIMIT = 50
"""Findings per page by default: ~50 lines of text and their JSON stay far below a client's 25,000-token cap."""
MAX_LIMIT = 200
PAGE_BUDGET = 60_000
"""Characters of finding text and JSON one page may hold, whatever ``limit`` says: a page stops early rather than
pass a client's 25,000-token cap (its ``next_cursor`` continues where it stopped)."""
MAX_LISTED_PATHS = 200
"""Paths listed in a report's structured content; the count is always exact."""
CACHED_RESULTS = 16
"""Results kept for paging (least recently used dropped first)."""
PAGING_ARGS = frozenset({"cursor", "limit", "min_severity"})
SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}  # critical first
STAGE_OF_NODE = {"intake": "collect", "deterministic": "checks", "supervisor": "agents", "merge": "decision"}
RUN_STAGES = ("collect", "checks", "agents", "decision")
log = logging.getLogger("infra_orchestrator.mcp")

SeverityName = Literal["critical", "high", "medium", "low", "info"]
StageName = Literal[STAGES]  # type: ignore[valid-type]

Format = Annotated[Literal["text", "markdown"], Field(
    description="How the decision's text is written: 'text' (the fixed format to relay verbatim) or 'markdown'. "
                "The structured content is the same either way.")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Findings per page (1-{MAX_LIMIT}).")]
MinSeverity = Annotated[SeverityName, Field(description="Only findings at or above this severity are listed "
                                                        "(the summary still counts all).")]
Record = Annotated[bool, Field(description="Append the decision to the approval ledger when the workspace keeps one.")]
Cursor = Annotated[str | None, Field(description="next_cursor of an earlier result of this tool: returns its "
                                                 "next page without running again. Pass only cursor, limit and "
                                                 "min_severity with it.")]


# --- structured output -------------------------------------------------------------------------------------------

class Summary(BaseModel):
    """What a result holds, before paging."""

    total: int = Field(description="All findings of the result.")
    by_severity: dict[str, int] = Field(description="Findings per severity (critical, high, medium, low, info).")
    matching: int = Field(description="Findings at or above min_severity.")
    min_severity: SeverityName
    decision: Outcome | None = Field(None, description="The decision, for validate_change and approve_stage.")


class Page(BaseModel):
    """Which findings this result lists."""

    offset: int = Field(description="Index of the first listed finding among the matching ones.")
    limit: int
    returned: int
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page; null on the last page.")


class Paged(BaseModel):
    summary: Summary
    findings: list[Finding] = Field(description="This page's findings, most severe first.")
    page: Page


class DecisionResult(Paged):
    """validate_change / approve_stage: the decision (its text is the content) and a page of its findings."""

    outcome: Outcome
    kind: Literal["change", "stage"]
    title: str = ""
    analysis: str = ""
    reasoning: list[str] = Field(default_factory=list)
    issues: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list, description="Questions to put to the user.")
    validation_summary: dict[str, str] = Field(description="Each summary line's status and detail.")
    provider: str = Field(description="The model provider used ('offline': rules only).")
    specialists: list[str] = Field(default_factory=list)
    metadata: DecisionMetadata = Field(description="Versions, timings, usage, the policy's source (config_file).")


class CheckResult(Paged):
    """check_manifests: the engine's findings on the files named."""

    file_count: int
    files: list[str] = Field(description=f"The files analysed (the first {MAX_LISTED_PATHS}).")
    objects: int = Field(description="Kubernetes objects analysed.")


class GuardResult(Paged):
    """guard_check: the Phase III guard's findings on the paths named."""

    path_count: int
    paths: list[str] = Field(description=f"The paths judged, directories expanded (the first {MAX_LISTED_PATHS}).")


class StageStatusResult(BaseModel):
    feature: str
    stages: list[StageRow]


# --- helpers -----------------------------------------------------------------------------------------------------

def workspace_root(start: Path) -> Path:
    """The workspace a server started in ``start`` serves: the closest directory holding a
    ``.infra-orchestrator.yaml`` up the tree (stopping at the git root), else the git root, else ``start``."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / CONFIG_FILENAME).exists():
            return directory
        if (directory / ".git").exists():
            return directory
    return start


def start_dir(root: Path | None, env: dict[str, str] | None = None) -> Path:
    """Where the server starts looking: ``--root``, else ``CLAUDE_PROJECT_DIR``, else the working directory."""
    env = os.environ if env is None else env
    if root is not None:
        return root
    if env.get("CLAUDE_PROJECT_DIR"):
        return Path(env["CLAUDE_PROJECT_DIR"])
    return Path.cwd()


def inside(root: Path, rel: str) -> str:
    """``rel`` as a workspace-relative posix path; :class:`ToolError` when it leaves ``root``."""
    try:
        real = resolve_inside(root, rel)
    except OrchestratorError as exc:
        raise ToolError(str(exc)) from None
    return real.relative_to(root.resolve()).as_posix()


def _counts(findings: list[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def _counts_text(counts: dict[str, int]) -> str:
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    return ", ".join(parts) if parts else "none"


class Results:
    """The findings of recent results, for paging by cursor (``<id>:<offset>``)."""

    def __init__(self, size: int = CACHED_RESULTS) -> None:
        self._items: OrderedDict[str, tuple[str, dict[str, Any], list[Finding]]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, tool: str, data: dict[str, Any], findings: list[Finding]) -> str:
        key = uuid.uuid4().hex[:12]
        with self._lock:
            self._items[key] = (tool, data, findings)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return key

    def get(self, tool: str, cursor: str) -> tuple[str, dict[str, Any], list[Finding], int]:
        key, _, offset = cursor.partition(":")
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
        if item is None or item[0] != tool or not offset.isdigit():
            raise ToolError(f"unknown or expired cursor '{cursor}' for {tool}: call {tool} again without cursor")
        return key, item[1], item[2], int(offset)


def page_of(key: str, findings: list[Finding], offset: int, limit: int,
            min_severity: str) -> tuple[Summary, list[Finding], Page]:
    """The summary of ``findings`` and the page at ``offset`` of those at or above ``min_severity``."""
    floor = SEVERITY_RANK[Severity(min_severity)]
    matching = sorted((f for f in findings if SEVERITY_RANK[f.severity] <= floor),
                      key=lambda f: SEVERITY_RANK[f.severity])  # stable: the engine's order within a severity
    shown: list[Finding] = []
    spent = 0
    for f in matching[offset:offset + limit]:
        spent += len(finding_line(f)) + len(f.model_dump_json(exclude_none=True))
        if shown and spent > PAGE_BUDGET:
            break
        shown.append(f)
    end = offset + len(shown)
    nxt = f"{key}:{end}" if end < len(matching) else None
    summary = Summary(total=len(findings), by_severity=_counts(findings), matching=len(matching),
                      min_severity=min_severity)
    return summary, shown, Page(offset=offset, limit=limit, returned=len(shown), next_cursor=nxt)


def page_text(tool: str, summary: Summary, shown: list[Finding], page: Page) -> str:
    """The findings part of a result's text: counts, this page's lines, and how to get the next page."""
    head = f"Findings: {summary.total} ({_counts_text(summary.by_severity)})"
    if summary.min_severity != "info":
        head += f"; {summary.matching} at or above {summary.min_severity}"
    lines = [head]
    if shown:
        lines.append(f"Showing {page.offset + 1}-{page.offset + page.returned} of {summary.matching}, most severe "
                     "first:")
        lines += [finding_line(f) for f in shown]
    if page.next_cursor:
        rest = summary.matching - page.offset - page.returned
        lines.append(f"{rest} more: call {tool} with cursor=\"{page.next_cursor}\" for the next page "
                     "(limit and min_severity may change).")
    return "\n".join(lines)


def _result(text: str, data: BaseModel) -> CallToolResult:
    structured = data.model_dump(mode="json")
    if isinstance(data, Paged):  # a finding's unset fields are left out: the page stays small
        structured["findings"] = [f.model_dump(mode="json", exclude_none=True) for f in data.findings]
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def report_result(tool: str, model: type[Paged], headline: Callable[[dict[str, Any]], str]):
    """The page builder of a report tool (``check_manifests``, ``guard_check``): ``tool: headline`` over the
    page text, and ``model`` (the tool's outputSchema) as structured content."""
    def build(key: str, data: dict[str, Any], findings: list[Finding], offset: int, limit: int,
              min_severity: str) -> CallToolResult:
        summary, shown, page = page_of(key, findings, offset, limit, min_severity)
        out = model(**data, summary=summary, findings=shown, page=page)
        return _result(f"{tool}: {headline(data)}\n" + page_text(tool, summary, shown, page), out)
    return build


def _validation_summary(d: Decision) -> dict[str, str]:
    return {"spec_kit_compliance": d.spec_kit_compliance.render(), "phase3_protection": d.phase3_protection.render(),
            "k8s_best_practices": d.k8s_best_practices.render(), "agent_coordination": d.agent_coordination.render()}


def _bounded(items: list[str]) -> list[str]:
    return items[:MAX_LISTED_PATHS]


class Progress:
    """Progress notifications from the worker thread a run executes in: one per stage of the run (collect,
    checks, agents, decision), always increasing; nothing when the client sent no progress token."""

    def __init__(self, ctx: Context, stages: tuple[str, ...] = RUN_STAGES) -> None:
        self._ctx = ctx
        self._stages = stages
        self._value = -1.0
        self._lock = threading.Lock()
        self._token = anyio.lowlevel.current_token()  # specialists report from LangGraph's own worker threads

    def _send(self, value: float, message: str) -> None:
        with self._lock:
            if value <= self._value:
                return
            self._value = value
        try:
            anyio.from_thread.run(self._ctx.report_progress, value, float(len(self._stages)), message,
                                  token=self._token)
        except Exception:  # noqa: BLE001 - progress is cosmetic: a lost notification never fails the call
            log.debug("progress notification not sent", exc_info=True)

    def stage(self, name: str, detail: str = "") -> None:
        index = self._stages.index(name)
        self._send(float(index), f"{name}{': ' + detail if detail else ''}")

    def node(self, node: str) -> None:
        """The graph's progress callback: node names (``specialist:<agent>`` per consulted agent)."""
        if node.startswith("specialist:"):
            agent = node.split(":", 1)[1]
            self._send(round(min(self._value + 0.1, 2.9), 2) if self._value >= 2 else 2.0, f"agents: consulting {agent}")
        elif node in STAGE_OF_NODE:
            self.stage(STAGE_OF_NODE[node])

    def engine(self, phase: str, done: int, total: int) -> None:
        """The engine's listener (``tools.progress``): reading files is collect, running checks is checks."""
        if phase in ("rendering", "reading") and done == 0:
            self.stage("collect", f"{phase} {total} files")
        elif phase == "checking" and done == 0:
            self.stage("checks", f"{total} objects")

    def done(self) -> None:
        self._send(float(len(self._stages)), "done")


class GatekeeperServer(MCPServer):
    """:class:`MCPServer` with strict arguments: a call naming an argument the tool does not take is a tool error
    naming it and the accepted ones (the input schemas also say ``additionalProperties: false``)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context=None):
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            accepted = list(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - set(accepted))
            if unknown:
                raise ToolError(f"{name}: unknown argument{'s' if len(unknown) > 1 else ''} "
                                f"{', '.join(repr(u) for u in unknown)}; {name} accepts: {', '.join(accepted)}")
            if arguments.get("cursor") is not None and set(arguments) - PAGING_ARGS:
                others = ", ".join(sorted(set(arguments) - PAGING_ARGS))
                raise ToolError(f"{name}: cursor continues an earlier result; pass only cursor, limit and "
                                f"min_severity with it (got also: {others})")
        return await super().call_tool(name, arguments, context)


def _strict_schemas(server: MCPServer) -> None:
    for tool in server._tool_manager.list_tools():
        tool.parameters["additionalProperties"] = False


async def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a worker thread with the cyclic collector paused; the product's user errors (bad feature, bad
    ref, bad config) become tool errors."""

    def call():
        try:
            with paused_gc():  # one tool call is one batch analysis (core.gcpause)
                return fn()
        except OrchestratorError as exc:
            raise ToolError(str(exc)) from None

    return await anyio.to_thread.run_sync(call)


def build_server(root: Path) -> MCPServer:
    """The server with its five tools, confined to the workspace ``root``."""
    root = root.resolve()
    server = GatekeeperServer(SERVER_NAME, instructions=INSTRUCTIONS, version=__version__)
    results = Results()
    graph_lock = threading.Lock()
    compiled: list[Any] = []

    def graph():
        """The review graph, compiled on the first review and reused by every later one."""
        with graph_lock:
            if not compiled:
                from graph.builder import build_graph

                compiled.append(build_graph())
            return compiled[0]

    server.graph = graph  # type: ignore[attr-defined]  # tests check that it is compiled once

    def decision_result(tool: str, key: str, data: dict[str, Any], findings: list[Finding], offset: int,
                        limit: int, min_severity: str) -> CallToolResult:
        fields = {k: v for k, v in data.items() if k != "text"}
        summary, shown, page = page_of(key, findings, offset, limit, min_severity)
        summary.decision = Outcome(fields["outcome"])
        out = DecisionResult(**fields, summary=summary, findings=shown, page=page)
        return _result(data["text"] + "\n" + page_text(tool, summary, shown, page), out)

    async def decide(tool: str, ctx: Context, req: ChangeRequest | StageRequest, record: bool, limit: int,
                     min_severity: str, fmt: str) -> CallToolResult:
        progress = Progress(ctx)

        def run() -> Decision:
            from graph.runner import decide as run_graph
            from graph.runner import prepare

            progress.stage("collect")
            setup = prepare(req)  # the base revision's config, or the operator's (INFRA_ORCH_CONFIG)
            decision = run_graph(req, config=setup.loaded.config, config_path=setup.loaded.path,
                                 provider=setup.provider, progress=progress.node, graph=graph(),
                                 policy=setup.policy, record=record)
            progress.done()
            return decision

        decision = await _in_thread(run)
        data = decision.model_dump(mode="json", include={"outcome", "kind", "title", "analysis", "reasoning",
                                                         "issues", "next_steps", "questions", "metadata"})
        data.update(validation_summary=_validation_summary(decision), provider=decision.metadata.provider,
                    specialists=decision.metadata.specialists)
        # the findings are listed by the page that follows, never all at once
        data["text"] = render_text(decision) if fmt == "text" else \
            render_markdown(decision.model_copy(update={"findings": []}))
        return decision_result(tool, results.put(tool, data, decision.findings), data, decision.findings, 0, limit,
                               min_severity)

    def continued(tool: str, cursor: str, limit: int, min_severity: str, build) -> CallToolResult:
        key, data, findings, offset = results.get(tool, cursor)
        return build(key, data, findings, offset, limit, min_severity)

    # --- validate_change --------------------------------------------------------------------------------------

    @server.tool(
        title="Validate an infrastructure change",
        description="Validate a change: a git range (base..head), a set of paths, or a directory as a whole, with "
        "a sentence of intent. Returns [CHANGE VALIDATION: APPROVED|REJECTED|REQUIRES CLARIFICATION] in a fixed "
        "text format, then a page of findings. Appends the decision to the workspace's approval ledger "
        "(history/approvals/) when it keeps one and record is true. May consult the configured model provider.",
        annotations=ToolAnnotations(title="Validate an infrastructure change", read_only_hint=False,
                                    destructive_hint=False, idempotent_hint=False, open_world_hint=True),
    )
    async def validate_change(
        ctx: Context,
        path: Annotated[str, Field(description="Workspace-relative directory of the repository to review "
                                               "('.': the workspace root).")] = ".",
        base: Annotated[str | None, Field(description="Base git revision of the change (e.g. 'main'); with head, "
                                                      "the range base..head is reviewed.")] = None,
        head: Annotated[str | None, Field(description="Head git revision of the change (default: HEAD when base "
                                                      "is given).")] = None,
        paths: Annotated[list[str] | None, Field(description="Review only these workspace-relative files or "
                                                             "directories (changed or planned).")] = None,
        intent: Annotated[str, Field(description="One sentence: what the change is meant to do.")] = "",
        record: Record = True,
        format: Format = "text",  # noqa: A002 - the argument's name in the tool's schema
        limit: Limit = DEFAULT_LIMIT,
        min_severity: MinSeverity = "info",
        cursor: Cursor = None,
    ) -> Annotated[CallToolResult, DecisionResult]:
        if cursor:
            return continued("validate_change", cursor, limit, min_severity,
                             lambda *a: decision_result("validate_change", *a))
        repo = root / inside(root, path)
        rel_paths = [inside(repo, p) for p in paths or []]
        req = ChangeRequest(workspace=str(repo), base=base, head=head, paths=rel_paths, intent=intent)
        return await decide("validate_change", ctx, req, record, limit, min_severity, format)

    # --- approve_stage ----------------------------------------------------------------------------------------

    @server.tool(
        title="Approve a Spec-Kit Plus stage",
        description="Approve a Spec-Kit Plus stage transition of a feature under specs/NNN-name/. Returns "
        "[STAGE APPROVAL DECISION: APPROVED|REJECTED|REQUIRES CLARIFICATION], then a page of findings. Appends "
        "the decision to the approval ledger when the workspace keeps one and record is true.",
        annotations=ToolAnnotations(title="Approve a Spec-Kit Plus stage", read_only_hint=False,
                                    destructive_hint=False, idempotent_hint=False, open_world_hint=True),
    )
    async def approve_stage(
        ctx: Context,
        feature: Annotated[str | None, Field(description="The feature: its number ('001') or directory name "
                                                         "('001-todo-k8s') under specs/.")] = None,
        target: Annotated[StageName | None, Field(description="The stage to enter.")] = None,
        record: Record = True,
        format: Format = "text",  # noqa: A002 - the argument's name in the tool's schema
        limit: Limit = DEFAULT_LIMIT,
        min_severity: MinSeverity = "info",
        cursor: Cursor = None,
    ) -> Annotated[CallToolResult, DecisionResult]:
        if cursor:
            return continued("approve_stage", cursor, limit, min_severity,
                             lambda *a: decision_result("approve_stage", *a))
        if not feature or not target:
            raise ToolError("approve_stage needs feature and target (or a cursor)")
        req = StageRequest(workspace=str(root), feature=feature, target=target)
        return await decide("approve_stage", ctx, req, record, limit, min_severity, format)

    # --- stage_status -----------------------------------------------------------------------------------------

    @server.tool(
        title="Stage status of a feature",
        description="Each Spec-Kit Plus stage's gates for a feature: pass / ask / fail / stale / not started, with "
        "the ids of the gates that stop it and its recorded approval.",
        annotations=ToolAnnotations(title="Stage status of a feature", read_only_hint=True,
                                    destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    )
    async def stage_status(
        feature: Annotated[str, Field(description="The feature: its number ('001') or directory name under "
                                                  "specs/.")],
    ) -> Annotated[CallToolResult, StageStatusResult]:
        from tools.workflow import stage_table

        rows = await _in_thread(lambda: stage_table(root, feature, load_config(root).config.workflow))
        text = "\n".join(f"{r.stage}: {r.status}" + (f" (failing: {', '.join(r.failing)})" if r.failing else "")
                         for r in rows)
        return _result(text, StageStatusResult(feature=feature, stages=rows))

    # --- check_manifests --------------------------------------------------------------------------------------

    check_result = report_result("check_manifests", CheckResult,
                                 lambda d: f"{d['objects']} objects in {d['file_count']} files.")

    @server.tool(
        title="Check manifests",
        description="Run the engine's checks (the check catalog, API-schema validation, Dockerfile checks) on "
        "manifest files, charts or directories, as `infra-orchestrator check` does (no agents). Returns a summary "
        "(counts by severity) and a page of findings, most severe first.",
        annotations=ToolAnnotations(title="Check manifests", read_only_hint=True, destructive_hint=False,
                                    idempotent_hint=True, open_world_hint=False),
    )
    async def check_manifests(
        ctx: Context,
        paths: Annotated[list[str] | None, Field(description="Workspace-relative manifest files, Helm charts, "
                                                             "kustomizations or directories.")] = None,
        limit: Limit = DEFAULT_LIMIT,
        min_severity: MinSeverity = "info",
        cursor: Cursor = None,
    ) -> Annotated[CallToolResult, CheckResult]:
        if cursor:
            return continued("check_manifests", cursor, limit, min_severity, check_result)
        if not paths:
            raise ToolError("check_manifests needs paths (or a cursor)")
        from tools import engine
        from tools.progress import listening

        rels = [inside(root, p) for p in paths]
        progress = Progress(ctx, ("collect", "checks"))

        def run():
            with listening(progress.engine):
                analysis = engine.check_paths(root, rels, load_config(root).config)
            progress.done()
            return analysis

        analysis = await _in_thread(run)
        scope = list(analysis.collected.scope)
        data = {"file_count": len(scope), "files": _bounded(scope), "objects": len(analysis.collected.objects)}
        return check_result(results.put("check_manifests", data, analysis.findings), data, analysis.findings, 0,
                            limit, min_severity)

    # --- guard_check ------------------------------------------------------------------------------------------

    guard_result = report_result("guard_check", GuardResult, lambda d: f"{d['path_count']} paths.")

    @server.tool(
        title="Phase III guard",
        description="Phase III guard: would changing (or creating) these paths touch frozen application code? "
        "Returns the guard's findings.",
        annotations=ToolAnnotations(title="Phase III guard", read_only_hint=True, destructive_hint=False,
                                    idempotent_hint=True, open_world_hint=False),
    )
    async def guard_check(
        paths: Annotated[list[str] | None, Field(description="Workspace-relative paths about to be changed or "
                                                             "created (directories expand to their files).")] = None,
        limit: Limit = DEFAULT_LIMIT,
        min_severity: MinSeverity = "info",
        cursor: Cursor = None,
    ) -> Annotated[CallToolResult, GuardResult]:
        if cursor:
            return continued("guard_check", cursor, limit, min_severity, guard_result)
        if not paths:
            raise ToolError("guard_check needs paths (or a cursor)")
        from tools import engine

        rels = [inside(root, p) for p in paths]  # confinement first: a path leaving the workspace is a tool error

        def run():
            existing = [r for r in rels if (root / r).exists()]  # directories expand to their files
            planned = [FileChange(path=r, status="added") for r in rels if r not in existing]
            changes = ChangeSet(mode="paths", files=engine.explicit_changes(root, existing).files + planned)
            return changes, engine.guard_findings(changes, load_config(root).config, root)

        changes, findings = await _in_thread(run)
        judged = [f.path for f in changes.files]
        data = {"path_count": len(judged), "paths": _bounded(judged)}
        return guard_result(results.put("guard_check", data, findings), data, findings, 0, limit, min_severity)

    _strict_schemas(server)
    return server


def serve(root: Path) -> None:
    """Serve on stdio until the client disconnects; logs go to stderr."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    log.info("serving %s", root)
    build_server(root).run("stdio")
