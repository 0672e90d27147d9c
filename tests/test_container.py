"""The container image: the Dockerfile passes the tool's own `check`, and its build recipe works.

Docker is rarely available where the tests run, so the build stage's recipe (its COPY sources, its `uv sync`
commands and its ENV) is also replayed without Docker into a temporary environment; the real `docker build`
runs when a Docker daemon answers.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest

from tests.clirun import ROOT, invoke
from tools.checks.dockerfile import parse, stages

DOCKERFILE = (ROOT / "Dockerfile").read_text()
UV = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def test_the_dockerfile_passes_its_own_check(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("check", "Dockerfile", "--format", "json", "--fail-on", "medium")
    findings = [f for f in json.loads(result.stdout)["findings"] if not f["suppressed"]]
    assert result.returncode == 0, findings
    # a CLI image: nothing to probe; git from Debian's archive stays unpinned (a pinned Debian version leaves the
    # archive at the next point release and the image stops building) - both low
    assert {f["check_id"] for f in findings} <= {"DOCKER-HEALTHCHECK", "DOCKER-PKG-UNPINNED"}
    assert all(f["severity"] in ("low", "info") for f in findings), findings


def test_the_image_is_multi_stage_pinned_non_root_with_the_cli_as_entrypoint():
    built = stages(DOCKERFILE)
    assert len(built) >= 2
    for stage in built:
        image = stage[0].args.split()[0]
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image), image
    final = built[-1]
    user = [ins.args for ins in final if ins.keyword == "USER"]
    assert user and user[-1].split(":")[0].isdigit() and user[-1].split(":")[0] != "0"
    entrypoint = [ins.args for ins in final if ins.keyword == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoint] == [["infra-orchestrator"]]
    assert not any(ins.keyword == "HEALTHCHECK" for ins in parse(DOCKERFILE))
    assert not any(ins.keyword == "COPY" and "--from" not in ins.args for ins in final)  # only the built env


def _build_copies() -> list[str]:
    return [src for ins in stages(DOCKERFILE)[0] if ins.keyword == "COPY" for src in shlex.split(ins.args)[:-1]]


def test_dockerignore_keeps_what_the_build_copies_and_drops_secrets():
    ignored = pathspec.GitIgnoreSpec.from_lines((ROOT / ".dockerignore").read_text().splitlines())
    for src in _build_copies():
        matches = list(ROOT.glob(src.rstrip("/"))) if any(c in src for c in "*?[") else [ROOT / src.rstrip("/")]
        assert matches, f"COPY {src}: nothing to copy"
        for path in matches:
            assert not ignored.match_file(path.relative_to(ROOT).as_posix()), f"COPY {src} is in .dockerignore"
    for secret in (".env", "k8s/.env.local", ".venv/bin/python", "tests/test_x.py", ".git/config"):
        assert ignored.match_file(secret), secret


def _env(stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in stage:
        if ins.keyword == "ENV":
            for word in shlex.split(ins.args.replace("\\\n", " ")):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def test_the_build_stage_recipe_installs_a_working_tool_without_docker(tmp_path):
    """COPY the sources the build stage copies, run its `uv sync` lines with its ENV (offline, from uv's cache,
    without the helm extra), then run the installed console script as the final image would."""
    if UV is None:
        pytest.skip("uv is not installed")
    src, prefix = tmp_path / "src", tmp_path / "opt"
    for pattern in _build_copies():
        for path in (ROOT.glob(pattern) if "*" in pattern else [ROOT / pattern.rstrip("/")]):
            dest = src / path.relative_to(ROOT)
            if path.is_dir():
                shutil.copytree(path, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
    build = stages(DOCKERFILE)[0]
    env = {**os.environ, **_env(build), "UV_PROJECT_ENVIRONMENT": str(prefix), "UV_OFFLINE": "1",
           "PATH": f"{Path(UV).parent}{os.pathsep}{os.environ.get('PATH', '')}", "EXTRAS": ""}
    for name in ("UV_NO_CACHE", "UV_LINK_MODE", "VIRTUAL_ENV"):
        env.pop(name, None)
    for ins in build:
        if ins.keyword == "RUN" and "uv sync" in ins.args:
            command = ins.args.replace("/opt/infra-orchestrator", str(prefix))
            proc = subprocess.run(["sh", "-c", command], cwd=src, env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode and "not found in the cache" in proc.stderr:
                pytest.skip(f"uv's cache lacks a locked package: {proc.stderr.strip()[-200:]}")
            assert proc.returncode == 0, proc.stderr
    exe = prefix / "bin" / "infra-orchestrator"
    result = subprocess.run([str(exe), "check", str(ROOT / "examples" / "todo-phase-iv"), "-q"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "SEC-IMAGE-TAG" in result.stdout, result.stderr
    [site] = prefix.glob("lib/python*/site-packages")
    assert (site / "infra_orchestrator" / "_bundled" / "evals" / "scenarios").is_dir()  # a wheel, not editable


def _docker_works() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _docker_works(), reason="no Docker daemon answers `docker info`")
def test_the_image_builds_and_checks_a_mounted_repository(tmp_path):
    tag = "infra-orchestrator:test"
    build = subprocess.run(["docker", "build", "--build-arg", "EXTRAS=", "-t", tag, str(ROOT)], capture_output=True,
                           text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run(["docker", "run", "--rm", "-v", f"{ROOT / 'examples' / 'todo-phase-iv'}:/work:ro", tag,
                          "check", ".", "-q"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "SEC-IMAGE-TAG" in run.stdout, run.stderr
    whoami = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True,
                            text=True, timeout=120)
    assert whoami.stdout.strip() == "10001"
