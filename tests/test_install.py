"""The wheel as users install it: its contents, an install of its own, and the shadowed-package check.

The wheel is built from this checkout and installed with uv into a fresh virtual environment (offline from uv's
cache when it can; from the package index otherwise; skipped when neither works). A second distribution that
ships a top-level ``agents`` (as openai-agents does) installed after it must make every command exit 2 with a
message naming the isolated install, the guard hook included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra_orchestrator import shadow
from tests.clirun import ROOT, run_cli

UV = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
OTHER_AGENTS = '"""Another distribution\'s agents package."""\nfrom .agent import Agent  # noqa\n'


def uv(*args: str, cwd: Path | None = None, extra_env: dict | None = None) -> subprocess.CompletedProcess[str]:
    """``uv ARGS`` offline from the cache first, then with the index; skips the test when both fail to fetch."""
    if UV is None:
        pytest.skip("uv is not installed")
    for offline in ("1", ""):
        base = {k: v for k, v in os.environ.items() if k != "UV_OFFLINE"} | (extra_env or {})
        env = {**base, "UV_OFFLINE": offline} if offline else base
        proc = subprocess.run([UV, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode == 0:
            return proc
    if any(word in proc.stderr.lower() for word in ("network", "dns", "connect", "fetch", "not found in the cache")):
        pytest.skip(f"uv could not fetch a package (no index reachable): {proc.stderr.strip()[-300:]}")
    raise AssertionError(f"uv {' '.join(args)} failed: {proc.stderr}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    uv("build", "--wheel", "--out-dir", str(out), str(ROOT))
    [built] = out.glob("infra_orchestrator-*.whl")
    return built


def make_venv(where: Path, wheel: Path) -> Path:
    env = where / "env"
    uv("venv", "--quiet", "--python", sys.executable, str(env))
    uv("pip", "install", "--quiet", "--python", str(env / "bin" / "python"), str(wheel))
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv"), wheel)


def test_wheel_carries_the_packages_the_eval_suite_and_the_schemas(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"infra_orchestrator", "core", "agents", "graph", "tools", "prompts"}
    for package in shadow.PACKAGES:
        with zipfile.ZipFile(wheel).open(f"{package}/__init__.py") as handle:
            assert shadow.MARKER in handle.read().decode()
    bundled = "infra_orchestrator/_bundled/"
    scenarios = {n.split("/")[4] for n in names if n.startswith(bundled + "evals/scenarios/")}
    on_disk = {p.name for p in (ROOT / "evals" / "scenarios").iterdir() if (p / "scenario.yaml").is_file()}
    assert on_disk and scenarios >= on_disk
    assert any(n.startswith(bundled + "evals/fixtures/app/") for n in names)
    for schema in sorted(p.name for p in (ROOT / "docs").glob("*.schema.json")):
        assert bundled + "schemas/" + schema in names
    assert "prompts/supervisor.md" in names


def test_installed_tool_runs_and_finds_its_bundled_data(venv, tmp_path):
    exe = venv / "bin" / "infra-orchestrator"
    version = subprocess.run([str(exe), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("infra-orchestrator "), version.stderr
    code = ("import json; from infra_orchestrator import bundled as b; "
            "print(json.dumps([str(b.scenarios_dir()), str(b.schema_file('decision.schema.json')), "
            "str(b.schema_file('config.schema.json')), str(b.schema_file('scenario.schema.json'))]))")
    paths = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, capture_output=True,
                                      text=True, timeout=60, check=True).stdout)
    site = str(venv)
    assert all(p.startswith(site) and "_bundled" in p and Path(p).exists() for p in paths), paths
    assert json.loads(Path(paths[1]).read_text())["title"]


def test_uv_tool_install_from_a_local_checkout(tmp_path):
    """The README's isolated install: `uv tool install <checkout>` puts a working console script on PATH."""
    dirs = {"UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    uv("tool", "install", "--quiet", str(ROOT), extra_env=dirs)
    exe = tmp_path / "bin" / "infra-orchestrator"
    result = subprocess.run([str(exe), "check", str(ROOT / "examples" / "todo-phase-iv"), "-q"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "SEC-IMAGE-TAG" in result.stdout, result.stderr
    assert exe.resolve().is_relative_to(tmp_path / "tools")  # its own environment, not this checkout's


def test_another_distribution_overwriting_agents_stops_every_command(wheel, tmp_path):
    venv = make_venv(tmp_path, wheel)
    other = tmp_path / "other"
    (other / "agents").mkdir(parents=True)
    (other / "agents" / "__init__.py").write_text(OTHER_AGENTS)
    (other / "pyproject.toml").write_text('[project]\nname = "other-agents"\nversion = "1.0"\n'
                                          '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
                                          '[tool.hatch.build.targets.wheel]\npackages = ["agents"]\n')
    uv("build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(other))
    [built] = (tmp_path / "dist").glob("other_agents-*.whl")
    uv("pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(built))
    exe = str(venv / "bin" / "infra-orchestrator")
    for args, stdin in ((["--version"], None), (["check", "."], None), (["guard", "hook"], "{}")):
        proc = subprocess.run([exe, *args], cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "'agents'" in proc.stderr and "overwritten" in proc.stderr and "uv tool install" in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_package_earlier_on_the_path_is_reported_with_its_location(tmp_path):
    (tmp_path / "fake" / "agents").mkdir(parents=True)
    (tmp_path / "fake" / "agents" / "__init__.py").write_text(OTHER_AGENTS)
    result = run_cli("--version", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "fake")})
    assert result.returncode == 2 and result.stdout == ""
    assert str(tmp_path / "fake" / "agents" / "__init__.py") in result.stderr
    assert "openai-agents" in result.stderr and "environment of its own" in result.stderr
    assert run_cli("--version").returncode == 0


def test_problem_names_each_way_a_package_can_be_someone_elses(tmp_path, monkeypatch):
    assert [shadow.problem(name) for name in shadow.PACKAGES] == [None] * len(shadow.PACKAGES)
    home = tmp_path / "site"
    for name in ("core", "tools"):
        shutil.copytree(ROOT / name, home / name)
        monkeypatch.delitem(sys.modules, name, raising=False)  # find_spec answers a loaded module's own spec
    (home / "tools" / "__init__.py").write_text("")  # overwritten by a distribution with an empty __init__
    (tmp_path / "ns" / "zz_portion").mkdir(parents=True)  # a directory without __init__: a namespace package
    monkeypatch.syspath_prepend(str(tmp_path / "ns"))
    monkeypatch.syspath_prepend(str(home))
    assert shadow.problem("core", str(home)) is None
    assert "overwritten" in shadow.problem("tools", str(home))
    assert "not to the copy installed beside" in shadow.problem("core")
    assert "not a regular package" in shadow.problem("zz_portion")
    assert shadow.problem("no_such_package_anywhere") == "is not installed (a broken installation)"
