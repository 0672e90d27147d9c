"""`action.yml`: the composite GitHub Action's `run:` steps, executed locally with bash as a runner would.

Each step's `env:` and `working-directory` are evaluated (`${{ inputs.* }}`, `${{ github.action_path }}`,
`${{ steps.<id>.outputs.* }}`) and its script runs with `GITHUB_OUTPUT`, `GITHUB_PATH` and `GITHUB_WORKSPACE`
set; a `uses:` step (the SARIF upload) is reported as skipped. The tool comes from this checkout
(`version` empty: the action's own copy), through `uv tool run`, offline from uv's cache when it can.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.clirun import ROOT
from tests.gitrepo import git

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
FETCH_ERRORS = ("not found in the cache", "network", "dns", "failed to fetch")


@dataclass
class Run:
    code: int
    log: str
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def evaluate(text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]], action_path: Path) -> str:
    def value(match: re.Match) -> str:
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        if expr == "github.action_path":
            return str(action_path)
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"the local runner does not evaluate '{expr}'")
    return EXPR.sub(value, str(text))


def run_action(workspace: Path, extra_env: dict[str, str] | None = None, **given: str) -> Run:
    declared = ACTION["inputs"]
    unknown = set(given) - {k.replace("-", "_") for k in declared}
    assert not unknown, f"not inputs of action.yml: {unknown}"
    inputs = {k: given.get(k.replace("-", "_"), spec.get("default", "")) for k, spec in declared.items()}
    env = {**{k: v for k, v in os.environ.items() if k != "UV_OFFLINE"}, **(extra_env or {}),
           "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(workspace.parent)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # uv, as setup-uv would
    result = Run(code=0, log="")
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step:
            result.skipped.append(step["name"])
            continue
        assert "if" not in step, f"step '{step['name']}': a run step's `if:` is not evaluated locally"
        assert step["shell"] == "bash"
        files = {name: workspace.parent / f"{name}-{index}" for name in ("GITHUB_OUTPUT", "GITHUB_PATH")}
        for path in files.values():
            path.write_text("")
        step_env = {k: evaluate(v, inputs, result.outputs, ROOT) for k, v in (step.get("env") or {}).items()}
        cwd = workspace / evaluate(step.get("working-directory", "."), inputs, result.outputs, ROOT)
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]], cwd=cwd,
                              env={**env, **step_env, **{k: str(v) for k, v in files.items()}},
                              capture_output=True, text=True, timeout=600)
        result.log += proc.stdout + proc.stderr
        if "id" in step:
            result.outputs[step["id"]] = _outputs(files["GITHUB_OUTPUT"])
        extra_path = files["GITHUB_PATH"].read_text().split()
        if extra_path:
            env["PATH"] = os.pathsep.join([*extra_path, env["PATH"]])
        if proc.returncode != 0:
            result.code = proc.returncode
            break
    return result


def run_offline_first(workspace: Path, **given: str) -> Run:
    result = run_action(workspace, {"UV_OFFLINE": "1"}, **given)
    if result.code == 2 and any(e in result.log.lower() for e in FETCH_ERRORS):
        result = run_action(workspace, **given)
        if result.code == 2 and any(e in result.log.lower() for e in FETCH_ERRORS):
            pytest.skip("uv could not build the tool's environment: no package index and an incomplete cache")
    return result


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository holding the bundled example twice: as shipped, and with its fix applied."""
    repo = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples", repo / "examples")
    shutil.copytree(repo / "examples" / "todo-phase-iv", repo / "fixed")
    git(repo / "fixed", "init", "--quiet")
    git(repo / "fixed", "apply", str(ROOT / "examples" / "fix-todo-phase-iv.patch"))
    shutil.rmtree(repo / "fixed" / ".git")
    return repo


def test_the_action_declares_the_inputs_and_runs_the_tool_with_uv_or_pipx():
    assert {"paths", "format", "version", "config", "fail-on", "upload-sarif"} <= set(ACTION["inputs"])
    assert ACTION["runs"]["using"] == "composite"
    scripts = "\n".join(step.get("run", "") for step in ACTION["runs"]["steps"])
    assert "uv tool run --from" in scripts and "pipx run --spec" in scripts
    for step in ACTION["runs"]["steps"]:  # inputs reach scripts through env, never pasted into the script
        assert "${{" not in step.get("run", ""), step["name"]


def test_github_format_annotates_the_example_and_fails(workspace):
    result = run_offline_first(workspace, paths="examples/todo-phase-iv")
    assert result.code == 1, result.log
    annotations = [line for line in result.log.splitlines() if line.startswith("::error file=")]
    assert any(line.startswith("::error file=examples/todo-phase-iv/k8s/backend-deployment.yaml,line=")
               and "title=SEC-IMAGE-TAG (high)" in line for line in annotations), result.log
    assert result.outputs["check"]["exit-code"] == "1"
    assert "findings at or above fail-on (exit 1)" in result.log
    assert result.skipped == ["Upload the SARIF log to code scanning"]


def test_the_fixed_example_passes_and_fail_on_is_honoured(workspace):
    clean = run_offline_first(workspace, paths="fixed")
    assert clean.code == 0 and clean.outputs["check"]["exit-code"] == "0", clean.log
    lenient = run_offline_first(workspace, paths="examples/todo-phase-iv\n", **{"fail_on": "critical"},
                                config="")
    assert lenient.code == 1 and "::error file=" in lenient.log  # the literal API key is critical


@pytest.mark.skipif(shutil.which("pipx") is None, reason="pipx is not installed (the action's other installer)")
def test_pipx_runs_the_same_check(workspace):
    result = run_offline_first(workspace, paths="examples/todo-phase-iv", installer="pipx")
    assert result.code == 1 and "title=SEC-IMAGE-TAG (high)" in result.log, result.log


def test_sarif_format_writes_the_log_and_fails_after_it(workspace):
    result = run_offline_first(workspace, paths="examples/todo-phase-iv fixed", format="sarif",
                               output_file="reports/io.sarif", working_directory=".")
    assert result.code == 1, result.log
    assert result.outputs["check"]["sarif-file"] == "reports/io.sarif"
    log = json.loads((workspace / "reports" / "io.sarif").read_text())
    assert log["version"] == "2.1.0"
    errors = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
              for r in log["runs"][0]["results"] if r.get("locations") and r.get("level") == "error"}
    assert errors and all(uri.startswith("examples/todo-phase-iv/") for uri in errors)  # the fixed copy has none


def test_bad_inputs_stop_the_action_with_exit_2(workspace):
    wrong_format = run_action(workspace, format="junit")
    assert wrong_format.code == 2 and "format must be github or sarif" in wrong_format.log
    wrong_installer = run_action(workspace, installer="conda")
    assert wrong_installer.code == 2 and "installer must be auto, uv or pipx" in wrong_installer.log
    missing = run_offline_first(workspace, paths="no/such/dir")
    assert missing.code == 2 and "does not exist" in missing.log and "could not run (exit 2)" in missing.log


def test_an_install_failure_is_exit_2_and_never_reported_as_findings(workspace, tmp_path):
    missing = tmp_path / "no-such-project"
    result = run_action(workspace, {"UV_OFFLINE": "1"}, paths="examples/todo-phase-iv", version=str(missing))
    assert result.code == 2, result.log
    assert "could not install the tool" in result.log
    assert "findings at or above fail-on" not in result.log
