"""Start-up cost, asserted as what each command imports (never as time): ``--version``, ``check`` and the hook.

Each command runs in a fresh interpreter through the console script's entry point; the modules loaded by the
time it exits are compared with what it must not need.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
sys.argv = ["infra-orchestrator", *json.loads(sys.argv[1])]
from infra_orchestrator.entry import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""

HEAVY = {"langgraph", "langchain_core", "langsmith", "anthropic", "openai", "mcp", "httpx", "prompt_toolkit",
         "langgraph_api", "langgraph_sdk", "langgraph_cli", "langgraph_runtime_inmem"}  # the server extra
"""Never imported by a lint-style command or the hook."""

VALID_SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{port: 80}]\n"


def run(args: list[str], cwd: Path, stdin: str = "", cache: Path | None = None) -> tuple[int, set[str], str]:
    """Exit code, imported modules and stdout of ``infra-orchestrator ARGS`` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    if cache is not None:
        env["INFRA_ORCH_CACHE_DIR"] = str(cache)
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], cwd=cwd, input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    data = json.loads(line.removeprefix("MODULES "))
    return data["code"], set(data["modules"]), proc.stdout


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_imports_no_cli_library_no_models_and_no_engine(tmp_path):
    code, modules, out = run(["--version"], tmp_path)
    assert code == 0 and out.startswith("infra-orchestrator ")
    loaded = tops(modules)
    assert not loaded & (HEAVY | {"typer", "click", "rich", "pydantic", "pydantic_core", "yaml", "jsonschema",
                                  "fastjsonschema", "tools", "agents", "graph"})


def test_version_through_the_cli_says_the_same(tmp_path):
    fast = run(["--version"], tmp_path)[2]
    slow = subprocess.run([sys.executable, "-c", "from infra_orchestrator.cli import main; main(['--version'])"],
                          cwd=ROOT, capture_output=True, text=True, check=False).stdout
    assert fast == slow


@pytest.fixture
def workspace(tmp_path) -> Path:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "svc.yaml").write_text(VALID_SERVICE, encoding="utf-8")
    return tmp_path


def test_check_one_file_imports_no_agents_graph_llm_sdk_or_terminal_ui(workspace, tmp_path):
    code, modules, out = run(["check", "k8s/svc.yaml", "--format", "json"], workspace, cache=tmp_path / "cache")
    assert code in (0, 1) and json.loads(out)["findings"] is not None
    loaded = tops(modules)
    assert not loaded & (HEAVY | {"agents", "graph", "rich"}), "check must stay lint-style and silent off a terminal"
    assert "jsonschema" not in loaded, "jsonschema is for explaining invalid objects only"
    assert "kubernetes_validate" not in loaded, "the schema files are read without importing the package"
    assert not {m for m in modules if m.startswith(("tools.workflow", "tools.ledger", "infra_orchestrator.chat"))}


NOT_FOR_PLAIN_MANIFESTS = {
    "tools.rendering", "tools.helmchart", "tools.helmorigin", "tools.helmvalues", "tools.helm_locations",  # charts
    "tools.contract", "tools.appsource", "tools.platformenv",  # the runtime contract (review only)
    "tools.git", "tools.git_worktree", "tools.git_tree", "tools.head_tree",  # a git range or work tree
    "tools.guard", "tools.lock", "tools.policy_changes", "tools.policy_source", "tools.ledger",  # Phase III, policy
    "core.decisions",  # agent verdicts and the decision: `check` decides nothing
}
"""What ``check`` of a directory of plain manifests (no chart, no kustomization, no git range) never needs."""


def test_check_of_plain_manifests_imports_no_renderer_git_contract_policy_or_decision_models(workspace, tmp_path):
    code, modules, out = run(["check", ".", "--format", "json"], workspace, cache=tmp_path / "cache")
    assert code in (0, 1) and json.loads(out)["findings"] is not None
    assert not modules & NOT_FOR_PLAIN_MANIFESTS, sorted(modules & NOT_FOR_PLAIN_MANIFESTS)
    assert not tops(modules) & (HEAVY | {"agents", "graph", "rich"})
    others = {m for m in modules if m.startswith("infra_orchestrator.commands.")} - {
        "infra_orchestrator.commands.check", "infra_orchestrator.commands.check_output",
        "infra_orchestrator.commands.check_targets"}
    assert not others, f"only the command run is imported, not the others: {sorted(others)}"


def test_check_of_a_chart_loads_the_renderer(workspace, tmp_path):
    """The other side of the test above: a Helm chart in scope does load :mod:`tools.rendering`."""
    chart = workspace / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n", encoding="utf-8")
    (chart / "values.yaml").write_text("replicas: 1\n", encoding="utf-8")
    (chart / "templates" / "svc.yaml").write_text(VALID_SERVICE, encoding="utf-8")
    code, modules, out = run(["check", ".", "--format", "json"], workspace, cache=tmp_path / "cache")
    assert code in (0, 1) and json.loads(out)["findings"] is not None
    assert "tools.rendering" in modules


def test_the_models_of_a_decision_stay_importable_from_core_models():
    code = ("import sys, core.models as m\nassert 'core.decisions' not in sys.modules\n"
            "from core.models import AgentVerdict, Decision\nimport core.decisions as d\n"
            "assert Decision is d.Decision and m.Conflict is d.Conflict and 'Claim' in dir(m)\n"
            "print(AgentVerdict.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "AgentVerdict", proc.stderr


def test_check_of_an_invalid_object_explains_it_with_jsonschema(workspace, tmp_path):
    (workspace / "k8s" / "svc.yaml").write_text(VALID_SERVICE.replace("port: 80", "port: eighty"), encoding="utf-8")
    code, modules, out = run(["check", "k8s/svc.yaml", "--format", "json"], workspace, cache=tmp_path / "cache")
    assert code == 1 and "SCH-SCHEMA-VALID" in out
    assert "jsonschema" in tops(modules) and not tops(modules) & HEAVY


def test_guard_hook_imports_no_models_cli_library_or_llm_sdk(workspace):
    event = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"},
             "cwd": str(workspace)}
    code, modules, out = run(["guard", "hook"], workspace, stdin=json.dumps(event))
    assert code == 0
    loaded = tops(modules)
    assert not loaded & (HEAVY | {"typer", "click", "rich", "pydantic", "pydantic_core", "jsonschema",
                                  "fastjsonschema", "agents", "graph"})
