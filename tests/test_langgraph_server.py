"""The review graph on LangGraph's own server runtime: ``langgraph dev`` (in memory) started on loopback from the
repository's ``langgraph.json``, driven through the official ``langgraph_sdk`` client over HTTP (threads, streaming,
the clarification ``interrupt()`` resumed with ``Command(resume=...)``), then stopped.

The served graph is also run in this process (same factory, an in-memory checkpointer), so its contract is tested
where the server packages are missing; the HTTP tests skip only then (the ``server`` extra / dev group has them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clirun import ROOT
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

EXAMPLE = ROOT / "examples" / "todo-phase-iv"
PATCH = ROOT / "examples" / "fix-todo-phase-iv.patch"
QUESTION_PATH = "frontend/next.config.js"  # needs_approval in the example's policy


def _copy(dest: Path, fixed: bool) -> Path:
    shutil.copytree(EXAMPLE, dest)
    if fixed:
        subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
        subprocess.run(["git", "apply", str(PATCH)], cwd=dest, check=True)
    return dest


@pytest.fixture(autouse=True)
def served_roots(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The operator serves this session's temporary directories (in-process runs read the variable here)."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("INFRA_ORCH_WORKSPACES", str(base))
    return base


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    """A copy of the README's example as shipped (REJECTED)."""
    return _copy(tmp_path / "todo", fixed=False)


@pytest.fixture()
def fixed(tmp_path: Path) -> Path:
    """The example with its fix applied (APPROVED; a change to next.config.js asks)."""
    return _copy(tmp_path / "todo-fixed", fixed=True)


def _change(workspace: Path, *paths: str) -> dict:
    return {"request": {"kind": "change", "workspace": str(workspace), "paths": list(paths)}}


# ---- the served graph in this process -------------------------------------------------------------------------


def test_served_graph_returns_the_decision_and_its_text(example: Path):
    from graph.serve import build_served_graph

    graph = build_served_graph(InMemorySaver())
    out = graph.invoke(_change(example), {"configurable": {"thread_id": "a"}}, context={"record": False})
    assert set(out) == {"decision", "text"}
    assert out["text"].startswith("[CHANGE VALIDATION: REJECTED]\n")
    assert out["decision"]["outcome"] == "REJECTED"
    assert "sk-example" not in json.dumps(out)  # the secret value never leaves the server


def test_a_caller_cannot_pass_its_own_policy(example: Path):
    """Only ``request`` is read from the caller: a permissive config in the input is not the policy."""
    from graph.serve import build_served_graph

    graph = build_served_graph(InMemorySaver())
    lax = {"policy": {"fail_on": "critical"}, "checks": {"disable": ["SEC-SECRET-COMMITTED"]}}
    out = graph.invoke({**_change(example), "config": lax, "config_path": "caller"},
                       {"configurable": {"thread_id": "b"}}, context={"record": False})
    assert out["decision"]["outcome"] == "REJECTED"
    assert "SEC-SECRET-COMMITTED" in {f["check_id"] for f in out["decision"]["findings"]}
    assert out["decision"]["metadata"]["config_file"] != "caller"


def test_served_graph_pauses_and_resumes_in_process(fixed: Path):
    from graph.serve import build_served_graph

    graph = build_served_graph(InMemorySaver())
    cfg = {"configurable": {"thread_id": "c"}}
    ctx = {"interactive": True, "record": False}
    paused = graph.invoke(_change(fixed, QUESTION_PATH), cfg, context=ctx)
    assert QUESTION_PATH in paused["__interrupt__"][0].value["question"]
    done = graph.invoke(Command(resume="n"), cfg, context=ctx)
    assert done["text"].startswith("[CHANGE VALIDATION: REJECTED]")
    assert "PHASE3-APPROVAL-DECLINED" in {f["check_id"] for f in done["decision"]["findings"]}


def test_served_graph_approves_a_stage_request(fixed: Path):
    from graph.serve import build_served_graph

    graph = build_served_graph(InMemorySaver())
    req = {"request": {"kind": "stage", "workspace": str(fixed), "feature": "001-k8s-deployment", "target": "tasks"}}
    out = graph.invoke(req, {"configurable": {"thread_id": "s"}}, context={"record": False})
    assert out["text"].startswith("[STAGE APPROVAL DECISION: APPROVED]"), out["text"]
    assert "- Spec-Kit Plus Compliance: PASS" in out["text"]


def test_a_second_run_on_a_thread_starts_afresh(example: Path, fixed: Path):
    """The policy node resets what the previous run left in the reducer channels (verdicts, timings, answers)."""
    from graph.serve import build_served_graph

    graph = build_served_graph(InMemorySaver())
    cfg = {"configurable": {"thread_id": "r"}}
    graph.invoke(_change(example), cfg, context={"record": False})
    first = graph.get_state(cfg).values
    out = graph.invoke(_change(fixed), cfg, context={"record": False})
    second = graph.get_state(cfg).values
    assert out["decision"]["outcome"] == "APPROVED"
    assert len(second["verdicts"]) == len(first["verdicts"]) > 0
    assert out["decision"]["metadata"]["workspace"] == str(fixed)


def test_the_model_is_the_server_operators(fixed: Path, monkeypatch: pytest.MonkeyPatch):
    """The server's environment names the model; a run's context cannot choose one, and the repository's
    ``provider.base_url`` does not redirect the calls."""
    from fakes.anthropic_server import FakeModelServer

    from graph.serve import ServedContext, build_served_graph

    assert "provider" not in {f.name for f in dataclasses.fields(ServedContext)}
    config = fixed / ".infra-orchestrator.yaml"
    config.write_text(config.read_text() + "provider:\n  name: offline\n  base_url: http://127.0.0.1:9/v1\n")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setenv("INFRA_ORCH_PROVIDER", "anthropic")
    with FakeModelServer() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        graph = build_served_graph(InMemorySaver())
        out = graph.invoke(_change(fixed), {"configurable": {"thread_id": "m"}}, context={"record": False})
    assert {c.agent for c in fake.calls} >= {"supervisor"}
    assert out["decision"]["metadata"]["provider"] == "anthropic"
    assert out["decision"]["outcome"] == "APPROVED", out["text"]


def test_an_operator_file_names_the_servers_model(tmp_path: Path):
    from graph.serve import served_provider

    operator = tmp_path / "operator.yaml"
    operator.write_text("provider:\n  name: anthropic\n  base_url: http://127.0.0.1:8/v1\n")
    provider = served_provider({"INFRA_ORCH_CONFIG": str(operator), "ANTHROPIC_API_KEY": "test"})
    assert provider.name == "anthropic"
    assert served_provider({}).name == "offline"


def test_langgraph_json_names_the_served_graph():
    spec = json.loads((ROOT / "langgraph.json").read_text())
    module, _, attr = spec["graphs"]["review"]["path"].partition(":")
    assert (module, attr) == ("graph.serve", "review")
    assert spec["dependencies"] == ["."]
    assert "checkpointer" not in spec  # the runtime's own
    try:
        from langgraph_cli.config import validate_config_file
    except ImportError:  # the server extra is not installed: the file is still read as JSON above
        return
    assert validate_config_file(ROOT / "langgraph.json")["graphs"]["review"]["path"] == "graph.serve:review"


# ---- over HTTP: langgraph dev and the SDK ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _langgraph_cli() -> str | None:
    local = Path(sys.executable).with_name("langgraph")
    return str(local) if local.exists() else shutil.which("langgraph")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``langgraph dev`` on a free loopback port, offline (no tracing, no analytics, the offline model), its
    in-memory state under a temporary directory; stopped with its whole process group."""
    for name in ("langgraph_sdk", "langgraph_api", "langgraph_runtime_inmem", "langgraph_cli"):
        pytest.importorskip(name, reason="the server packages (the 'server' extra) are not installed")
    cli = _langgraph_cli()
    if cli is None:
        pytest.skip("the langgraph command (the 'server' extra) is not installed")
    port = _free_port()
    cwd = tmp_path_factory.mktemp("langgraph-dev")  # langgraph dev keeps .langgraph_api/ in its working directory
    drop = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "INFRA_ORCH_CONFIG", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY",
            "LANGSMITH_ENDPOINT", "LANGGRAPH_CLOUD_LICENSE_KEY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false", "LANGGRAPH_CLI_NO_ANALYTICS": "1",
                "INFRA_ORCH_PROVIDER": "offline", "INFRA_ORCH_NO_PROGRESS": "1",
                "INFRA_ORCH_WORKSPACES": str(tmp_path_factory.getbasetemp())})
    log = (cwd / "server.log").open("w")
    proc = subprocess.Popen([cli, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port),
                             "--config", str(ROOT / "langgraph.json")],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited {proc.returncode}:\n{(cwd / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev not healthy:\n{(cwd / 'server.log').read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def _run(coro):
    return asyncio.run(coro)


def test_review_over_http(server: str, example: Path):
    from langgraph_sdk import get_client

    async def go():
        client = get_client(url=server)
        assistants = await client.assistants.search(graph_id="review")
        thread = await client.threads.create()
        out = await client.runs.wait(thread["thread_id"], "review", input=_change(example),
                                     context={"record": False})
        state = await client.threads.get_state(thread["thread_id"])
        return assistants, out, state

    assistants, out, state = _run(go())
    assert assistants, "langgraph.json's review graph is not served"
    assert out["text"].splitlines()[0] == "[CHANGE VALIDATION: REJECTED]"
    decision = out["decision"]
    assert decision["outcome"] == "REJECTED"
    assert ("SEC-SECRET-COMMITTED", "k8s/secret.yaml") in {(f["check_id"], f["file"]) for f in decision["findings"]}
    assert state["values"]["decision"]["outcome"] == "REJECTED" and not state["next"]  # the thread kept it


def test_streamed_review_over_http_names_each_step(server: str, fixed: Path):
    from langgraph_sdk import get_client

    async def go():
        client = get_client(url=server)
        thread = await client.threads.create()
        parts = [p async for p in client.runs.stream(thread["thread_id"], "review", input=_change(fixed),
                                                      context={"record": False}, stream_mode="updates")]
        state = await client.threads.get_state(thread["thread_id"])
        return parts, state

    parts, state = _run(go())
    steps = [next(iter(p.data)) for p in parts if p.event == "updates"]
    assert steps[0] == "policy" and steps[-1] == "render"
    assert {"intake", "deterministic", "supervisor", "specialist", "merge", "finish", "record"} <= set(steps)
    assert steps.count("merge") == 1
    assert state["values"]["text"].startswith("[CHANGE VALIDATION: APPROVED]")


def test_clarification_pauses_and_resumes_over_http(server: str, fixed: Path):
    """An interactive run touching a needs_approval path pauses on the question; ``Command(resume="y")`` through
    the SDK settles it on the same thread; the answer is in the decision."""
    from langgraph_sdk import get_client

    ctx = {"interactive": True, "record": False}

    async def go():
        client = get_client(url=server)
        thread = await client.threads.create()
        tid = thread["thread_id"]
        paused = await client.runs.wait(tid, "review", input=_change(fixed, QUESTION_PATH), context=ctx)
        waiting = await client.threads.get_state(tid)
        done = await client.runs.wait(tid, "review", command={"resume": "y"}, context=ctx)
        return paused, waiting, done

    paused, waiting, done = _run(go())
    assert "decision" not in paused  # nothing decided while the question is open
    assert waiting["next"] == ["merge"]
    question = waiting["tasks"][0]["interrupts"][0]["value"]["question"]
    assert QUESTION_PATH in question and "[y/N]" in question
    assert done["text"].splitlines()[0] == "[CHANGE VALIDATION: APPROVED]"
    assert done["decision"]["metadata"]["extra"]["answers"] == {question: "y"}


def test_without_a_person_the_server_asks_instead_of_pausing(server: str, fixed: Path):
    from langgraph_sdk import get_client

    async def go():
        client = get_client(url=server)
        thread = await client.threads.create()
        return await client.runs.wait(thread["thread_id"], "review", input=_change(fixed, QUESTION_PATH),
                                      context={"record": False})

    out = _run(go())
    assert out["text"].startswith("[CHANGE VALIDATION: REQUIRES CLARIFICATION]")


def test_an_invalid_request_fails_the_run(server: str):
    """Fail closed: a request the models reject is a failed run, never a decision."""
    from langgraph_sdk import get_client

    async def go():
        client = get_client(url=server)
        thread = await client.threads.create()
        await client.runs.wait(thread["thread_id"], "review", input={"request": {"kind": "change"}})

    with pytest.raises(Exception, match="workspace"):
        _run(go())


def test_a_workspace_outside_the_operators_list_is_refused(example: Path, tmp_path: Path, monkeypatch):
    from graph.serve import build_served_graph

    graph = build_served_graph(InMemorySaver())
    monkeypatch.setenv("INFRA_ORCH_WORKSPACES", str(tmp_path / "elsewhere"))
    with pytest.raises(ValueError, match="outside the served directories"):
        graph.invoke(_change(example), {"configurable": {"thread_id": "t-out"}})
    monkeypatch.delenv("INFRA_ORCH_WORKSPACES")
    with pytest.raises(ValueError, match="no workspace is served"):
        graph.invoke(_change(example), {"configurable": {"thread_id": "t-none"}})
