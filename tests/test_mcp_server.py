"""`infra-orchestrator mcp` as a subprocess, driven by the mcp SDK's own stdio client."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "todo-phase-iv"
QUESTION = "frontend/next.config.js is build configuration of Phase III: approve this change as infrastructure-only?"
GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text().split("---\n")[0]
SCHEMA_BROKEN = GOOD.replace("spec:\n  selector:", 'spec:\n  replicas: "three"\n  selector:', 1).replace(
    "          image: registry.example/web:1.2.3\n", "          image: registry.example/web:1.2.3\n          resourcez: {}\n", 1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("mcp") / "repo"
    shutil.copytree(EXAMPLE, ws)
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.yaml").write_text("kind: Secret\n")
    (ws / "escape").symlink_to(outside)
    (ws / "k8s" / "schema-broken.yaml").write_text(SCHEMA_BROKEN)
    return ws


def _params(ws: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    return StdioServerParameters(command=sys.executable, args=["-m", "infra_orchestrator", "mcp", "-C", str(ws)],
                                 env=env, cwd=str(ROOT))


async def _session(ws: Path) -> dict:
    out: dict = {}
    async with Client(_params(ws)) as c:
        out["tools"] = sorted(t.name for t in (await c.list_tools()).tools)
        calls = {
            "review": ("validate_change", {"intent": "Phase IV manifests"}),
            "clarify": ("validate_change", {"paths": ["frontend/next.config.js"]}),
            "stage": ("approve_stage", {"feature": "001", "target": "plan"}),
            "status": ("stage_status", {"feature": "001"}),
            "manifests": ("check_manifests", {"paths": ["k8s"]}),
            "schema": ("check_manifests", {"paths": ["k8s/schema-broken.yaml"]}),
            "guard": ("guard_check", {"paths": ["backend/src/main.py", "k8s/new.yaml"]}),
            "guard_dir": ("guard_check", {"paths": ["backend"]}),
            "traversal": ("guard_check", {"paths": ["../../etc/passwd"]}),
            "symlink": ("check_manifests", {"paths": ["escape/secret.yaml"]}),
            "absolute": ("validate_change", {"path": "/etc"}),
        }
        for key, (name, args) in calls.items():
            out[key] = await c.call_tool(name, args)
    return out


@pytest.fixture(scope="module")
def session(workspace: Path) -> dict:
    return anyio.run(_session, workspace)


def text(res) -> str:
    return "".join(getattr(c, "text", "") for c in res.content)


def test_lists_the_five_tools(session):
    assert session["tools"] == ["approve_stage", "check_manifests", "guard_check", "stage_status", "validate_change"]


def test_decisions_come_back_as_text_and_json(session):
    review = session["review"]
    assert not review.is_error
    assert text(review).startswith("[CHANGE VALIDATION: REJECTED]")
    assert review.structured_content["outcome"] == "REJECTED"
    stage = session["stage"]
    assert text(stage).startswith("[STAGE APPROVAL DECISION: ")
    assert stage.structured_content["kind"] == "stage"


def test_clarification_carries_the_question(session):
    res = session["clarify"]
    assert text(res).startswith("[CHANGE VALIDATION: REQUIRES CLARIFICATION]")
    assert any(q.startswith(QUESTION) for q in res.structured_content["questions"])


def test_report_tools(session):
    assert [r["stage"] for r in session["status"].structured_content["stages"]][:2] == ["constitution", "specify"]
    checks = {f["check_id"] for f in session["manifests"].structured_content["findings"]}
    assert {"SEC-IMAGE-TAG", "SEC-SECRET-ENV-LITERAL"} <= checks
    guard = session["guard"].structured_content["findings"]
    assert [(f["check_id"], f["file"]) for f in guard] == [("PHASE3-PROTECTED-MODIFIED", "backend/src/main.py")]
    in_dir = session["guard_dir"].structured_content["findings"]  # a directory holding protected code
    assert ("PHASE3-PROTECTED-MODIFIED", "backend/src/main.py") in [(f["check_id"], f["file"]) for f in in_dir]


@pytest.mark.parametrize("key", ["traversal", "symlink", "absolute"])
def test_paths_outside_the_workspace_are_tool_errors(session, key):
    res = session[key]
    assert res.is_error
    assert "outside the workspace" in text(res)


def _schema_findings(findings: list[dict]) -> list[tuple]:
    return sorted((f["check_id"], f["file"], f["line"], f["severity"], f["message"]) for f in findings
                  if f["check_id"] == "SCH-SCHEMA-VALID")


def test_check_manifests_validates_api_schemas_like_check(session, workspace: Path, monkeypatch):
    """The tool and the CLI run one engine: a wrong type and an unknown field are reported by both, identically."""
    from clirun import invoke

    res = session["schema"]
    assert not res.is_error
    tool = _schema_findings(res.structured_content["findings"])
    messages = " ".join(m for *_, m in tool)
    assert "spec.replicas: wrong type" in messages and "'resourcez' was unexpected" in messages, tool
    monkeypatch.chdir(workspace)
    cli = invoke("check", "k8s/schema-broken.yaml", "--format", "json")
    assert tool == _schema_findings(json.loads(cli.stdout)["findings"])
    assert "k8s/schema-broken.yaml:" in text(res) and "SCH-SCHEMA-VALID" in text(res)
