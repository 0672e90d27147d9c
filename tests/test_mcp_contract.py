"""The MCP contract an LLM caller relies on, through the mcp SDK's own clients (stdio and in-memory): the workspace
(CLAUDE_PROJECT_DIR, a subdirectory), schemas (descriptions, enums, outputSchema), annotations, strict arguments,
bounded output with paging, progress notifications, one compiled graph per server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import jsonschema
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from core import __version__
from core.config import STAGES
from infra_orchestrator.mcp_server import DEFAULT_LIMIT, build_server, start_dir, workspace_root

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "todo-phase-iv"
SEVERITIES = ["critical", "high", "medium", "low", "info"]
CLAUDE_CAP_CHARS = 80_000  # Claude Code's 25,000-token cap on a tool result, at ~3.2 characters a token

ANNOTATIONS = {  # (readOnly, destructive, idempotent, openWorld)
    "validate_change": (False, False, False, True),  # appends to the approval ledger; may consult a model
    "approve_stage": (False, False, False, True),
    "stage_status": (True, False, True, False),
    "check_manifests": (True, False, True, False),
    "guard_check": (True, False, True, False),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("contract") / "repo"
    shutil.copytree(EXAMPLE, ws)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    return ws


def text(res) -> str:
    return "".join(getattr(c, "text", "") for c in res.content)


def _params(cwd: Path, env_extra: dict[str, str], args: tuple[str, ...] = ()) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "CLAUDE_PROJECT_DIR")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return StdioServerParameters(command=sys.executable, args=["-m", "infra_orchestrator", "mcp", *args],
                                 env={**env, **env_extra}, cwd=str(cwd))


async def _stdio_session(params: StdioServerParameters) -> dict:
    out: dict = {"progress": []}

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        out["progress"].append((progress, total, message))

    async with Client(params) as c:
        out["server_info"] = c.server_info
        out["tools"] = (await c.list_tools()).tools
        out["guard"] = await c.call_tool("guard_check", {"paths": ["backend/src/main.py"]})
        out["status"] = await c.call_tool("stage_status", {"feature": "001"})
        out["review"] = await c.call_tool("validate_change", {"intent": "Phase IV manifests", "record": False},
                                          progress_callback=on_progress)
    return out


@pytest.fixture(scope="module")
def from_subdir(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The server as Claude Code starts it: CLAUDE_PROJECT_DIR names a subdirectory, the cwd is elsewhere."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    return anyio.run(_stdio_session, _params(elsewhere, {"CLAUDE_PROJECT_DIR": str(repo / "k8s")}))


# --- workspace -----------------------------------------------------------------------------------------------------

def test_claude_project_dir_in_a_subdirectory_still_sees_boundaries_and_features(from_subdir):
    guard = from_subdir["guard"]
    assert not guard.is_error, text(guard)
    assert [f["check_id"] for f in guard.structured_content["findings"]] == ["PHASE3-PROTECTED-MODIFIED"]
    status = from_subdir["status"]
    assert not status.is_error, text(status)
    assert [r["stage"] for r in status.structured_content["stages"]][:2] == ["constitution", "specify"]


def test_server_info_version_is_the_package_version(from_subdir):
    assert from_subdir["server_info"].name == "infra-orchestrator"
    assert from_subdir["server_info"].version == __version__ != ""


def test_workspace_root_resolution(repo: Path, tmp_path: Path):
    assert start_dir(None, {"CLAUDE_PROJECT_DIR": str(repo)}) == repo
    assert start_dir(tmp_path, {"CLAUDE_PROJECT_DIR": str(repo)}) == tmp_path  # an explicit --root wins
    assert start_dir(None, {}) == Path.cwd()
    assert workspace_root(repo / "k8s") == repo.resolve()  # the closest config up the tree
    bare = tmp_path / "bare"
    (bare / ".git").mkdir(parents=True)
    (bare / "a" / "b").mkdir(parents=True)
    assert workspace_root(bare / "a" / "b") == bare.resolve()  # no config: the git root
    lone = tmp_path / "lone"
    lone.mkdir()
    assert workspace_root(lone) == lone.resolve()


def test_cwd_in_a_subdirectory_without_the_variable(repo: Path):
    out = anyio.run(_stdio_session, _params(repo / "specs", {}))
    assert [f["check_id"] for f in out["guard"].structured_content["findings"]] == ["PHASE3-PROTECTED-MODIFIED"]


# --- schemas and annotations ---------------------------------------------------------------------------------------

def test_every_parameter_is_described_and_unknown_properties_are_refused(from_subdir):
    for tool in from_subdir["tools"]:
        schema = tool.input_schema
        assert schema.get("additionalProperties") is False, tool.name
        assert tool.description, tool.name
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"


def _enum(prop: dict) -> list | None:
    if "enum" in prop:
        return prop["enum"]
    for alt in prop.get("anyOf", []):
        if "enum" in alt:
            return alt["enum"]
    return None


def test_enums_for_stages_and_severities(from_subdir):
    tools = {t.name: t for t in from_subdir["tools"]}
    assert _enum(tools["approve_stage"].input_schema["properties"]["target"]) == list(STAGES)
    for name in ("validate_change", "approve_stage", "check_manifests", "guard_check"):
        assert _enum(tools[name].input_schema["properties"]["min_severity"]) == SEVERITIES, name
    for name in ("validate_change", "approve_stage"):
        assert _enum(tools[name].input_schema["properties"]["format"]) == ["text", "markdown"], name
    finding = tools["check_manifests"].output_schema["$defs"]["Finding"]["properties"]
    assert finding["severity"]["$ref"].endswith("/Severity")
    assert tools["check_manifests"].output_schema["$defs"]["Severity"]["enum"] == SEVERITIES


def test_annotations_are_honest(from_subdir):
    got = {t.name: (t.annotations.read_only_hint, t.annotations.destructive_hint, t.annotations.idempotent_hint,
                    t.annotations.open_world_hint) for t in from_subdir["tools"]}
    assert got == ANNOTATIONS


def test_every_tool_has_an_output_schema_its_results_validate_against(from_subdir):
    tools = {t.name: t for t in from_subdir["tools"]}
    assert all(t.output_schema and t.output_schema.get("type") == "object" for t in tools.values())
    for key, name in (("guard", "guard_check"), ("status", "stage_status"), ("review", "validate_change")):
        jsonschema.validate(from_subdir[key].structured_content, tools[name].output_schema)


# --- progress ------------------------------------------------------------------------------------------------------

def test_progress_per_stage_of_a_review(from_subdir):
    progress = from_subdir["progress"]
    values = [p for p, _, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values)  # always increasing
    stages = [m.split(":")[0] for _, _, m in progress]
    assert [s for s in ("collect", "checks", "agents", "decision") if s in stages] == \
        ["collect", "checks", "agents", "decision"]
    assert progress[-1][0] == progress[-1][1]  # the last one says done
    assert "agents: consulting security" in [m for _, _, m in progress]  # sent from LangGraph's worker threads


# --- in-memory: strict arguments, paging, the graph compiled once --------------------------------------------------

async def _memory(root: Path, calls) -> list:
    server = build_server(root)
    async with Client(server) as c:
        return [await call(c) for call in calls]


def memory(root: Path, *calls):
    return anyio.run(_memory, root, calls)


def test_unknown_arguments_are_tool_errors_naming_them(repo: Path):
    files, typo, cursor_mix = memory(
        repo,
        lambda c: c.call_tool("validate_change", {"files": ["k8s/backend-deployment.yaml"]}),
        lambda c: c.call_tool("check_manifests", {"paths": ["k8s"], "min_severty": "high"}),
        lambda c: c.call_tool("check_manifests", {"paths": ["k8s"], "cursor": "abc:1"}),
    )
    assert files.is_error  # never a review of the whole repository
    assert "'files'" in text(files) and "paths" in text(files) and "intent" in text(files)
    assert typo.is_error and "'min_severty'" in text(typo) and "min_severity" in text(typo)
    assert cursor_mix.is_error and "cursor" in text(cursor_mix)


def test_a_wrong_enum_value_is_a_tool_error(repo: Path):
    (res,) = memory(repo, lambda c: c.call_tool("approve_stage", {"feature": "001", "target": "deploy"}))
    assert res.is_error


def _many_objects(root: Path, files: int = 300, per_file: int = 5) -> None:
    (root / "k8s").mkdir(parents=True)
    for i in range(files):
        docs = [f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}-{j}, namespace: ns{i}}}\n"
                f"spec:\n  selector: {{matchLabels: {{app: a{i}-{j}}}}}\n  template:\n"
                f"    metadata: {{labels: {{app: a{i}-{j}}}}}\n    spec:\n      containers:\n"
                f"        - name: c\n          image: registry.example/app:latest\n" for j in range(per_file)]
        (root / "k8s" / f"app{i}.yaml").write_text("---\n".join(docs))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big")
    _many_objects(root)
    return root


def _size(res) -> int:
    return len(text(res)) + len(json.dumps(res.structured_content))


def test_check_manifests_on_1500_objects_is_bounded_and_pages(big: Path):
    async def pages(c):
        tools = {t.name: t for t in (await c.list_tools()).tools}
        first = await c.call_tool("check_manifests", {"paths": ["k8s"]})
        widest = await c.call_tool("check_manifests", {"paths": ["k8s"], "limit": 200})
        nxt = await c.call_tool("check_manifests", {"cursor": first.structured_content["page"]["next_cursor"]})
        high = await c.call_tool("check_manifests", {"paths": ["k8s"], "min_severity": "high", "limit": 5})
        return tools["check_manifests"].output_schema, first, widest, nxt, high

    (schema, first, widest, nxt, high), = memory(big, pages)
    data = first.structured_content
    assert data["objects"] == 1500
    assert data["summary"]["total"] > 5000 and data["page"]["returned"] == DEFAULT_LIMIT
    assert _size(first) < CLAUDE_CAP_CHARS and _size(widest) < CLAUDE_CAP_CHARS  # a page stops early
    assert 0 < widest.structured_content["page"]["returned"] <= 200
    body = text(first)
    assert body.startswith("check_manifests: 1500 objects in 300 files.\nFindings: ")  # the summary first
    assert f'cursor="{data["page"]["next_cursor"]}"' in body  # the text says how to get the next page
    for res in (first, widest, nxt, high):
        jsonschema.validate(res.structured_content, schema)
    assert nxt.structured_content["page"]["offset"] == DEFAULT_LIMIT
    seen = {json.dumps(f, sort_keys=True) for f in data["findings"]}
    assert not seen & {json.dumps(f, sort_keys=True) for f in nxt.structured_content["findings"]}
    assert {f["severity"] for f in high.structured_content["findings"]} <= {"critical", "high"}
    assert high.structured_content["summary"]["matching"] == sum(
        high.structured_content["summary"]["by_severity"][s] for s in ("critical", "high"))


def test_paging_walks_every_finding_exactly_once(repo: Path):
    async def walk(c):
        res = await c.call_tool("check_manifests", {"paths": ["k8s"], "limit": 4})
        got = list(res.structured_content["findings"])
        total = res.structured_content["summary"]["total"]
        while res.structured_content["page"]["next_cursor"]:
            res = await c.call_tool("check_manifests", {"cursor": res.structured_content["page"]["next_cursor"],
                                                        "limit": 4})
            got += res.structured_content["findings"]
        everything = await c.call_tool("check_manifests", {"paths": ["k8s"], "limit": 200})
        return total, got, everything.structured_content["findings"], text(res)

    (total, got, everything, last), = memory(repo, walk)
    assert len(got) == total == len(everything) > 4
    assert got == everything
    assert "more: call" not in last


def test_a_decision_pages_its_findings_without_reviewing_again(repo: Path, monkeypatch):
    import graph.builder

    built = []
    real = graph.builder.build_graph

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(graph.builder, "build_graph", counting)

    async def calls(c):
        first = await c.call_tool("validate_change", {"intent": "Phase IV", "record": False, "limit": 2})
        second = await c.call_tool("validate_change", {"cursor": first.structured_content["page"]["next_cursor"]})
        again = await c.call_tool("validate_change", {"intent": "Phase IV", "record": False, "min_severity": "high",
                                                      "format": "markdown"})
        return first, second, again

    (first, second, again), = memory(repo, calls)
    assert text(again).startswith("## [CHANGE VALIDATION: REJECTED]")
    assert "### Findings" not in text(again) and "Findings: " in text(again)  # the page lists them, bounded
    assert text(first).startswith("[CHANGE VALIDATION: REJECTED]")
    assert first.structured_content["summary"]["decision"] == "REJECTED"
    assert first.structured_content["page"]["returned"] == 2
    assert second.structured_content["page"]["offset"] == 2 and second.structured_content["outcome"] == "REJECTED"
    assert {f["severity"] for f in again.structured_content["findings"]} <= {"critical", "high"}
    assert len(built) == 1  # one compiled graph for the server's reviews


def test_an_unknown_cursor_is_a_tool_error(repo: Path):
    (res,) = memory(repo, lambda c: c.call_tool("guard_check", {"cursor": "deadbeef:10"}))
    assert res.is_error and "call guard_check again without cursor" in text(res)
