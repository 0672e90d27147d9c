"""`.pre-commit-hooks.yaml`: `pre-commit try-repo <a copy of this checkout> <hook>` on a sample repository.

The sample is the bundled example with its fix applied (a real Phase IV layout: manifests split one object per
file, a Helm chart, Dockerfiles, a frontend's package.json), plus a GitHub workflow YAML that is not a
Kubernetes object. The `-system` hooks run this checkout's console script from PATH (no environment to build);
the `python` hook builds its environment as a user's pre-commit does (with uv, through pre-commit-uv): offline
from uv's cache when it can, else from the package index, and the test is skipped when neither is possible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.checkout import snapshot
from tests.clirun import ROOT
from tests.gitrepo import GIT_ENV, commit, git

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
EXAMPLE = ROOT / "examples" / "todo-phase-iv"
WORKFLOW = """name: build
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""
NETWORK_ERRORS = ("network", "dns", "connect", "fetch", "timed out", "not found in the cache")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    if not PRE_COMMIT.exists():
        pytest.skip("pre-commit is not installed in this environment (a dev dependency: uv sync)")
    return snapshot(tmp_path_factory.mktemp("hook-repo"))


@pytest.fixture()
def sample(tmp_path: Path) -> Path:
    repo = tmp_path / "sample"
    shutil.copytree(EXAMPLE, repo)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "apply", str(ROOT / "examples" / "fix-todo-phase-iv.patch"))
    commit(repo, {".github/workflows/build.yml": WORKFLOW}, "Phase IV, fixed")
    return repo


def _path(with_checkout: bool) -> str:
    """PATH with this checkout's environment first (the `-system` hooks find its console script) or without it
    (the `python` hook can then only run from the environment pre-commit builds)."""
    own = str(Path(sys.executable).parent)
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != own]
    return os.pathsep.join([own, *rest] if with_checkout else rest)


def try_repo(hook_repo: Path, sample: Path, hook: str, *args: str, env: dict | None = None,
             home: Path | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home or sample.parent / "pre-commit-home"),
            "PATH": _path(with_checkout=hook.endswith("-system")), **(env or {})}
    full.pop("PRE_COMMIT_COLOR", None)
    return subprocess.run([str(PRE_COMMIT), "try-repo", str(hook_repo), hook, *args, "--color", "never"],
                          cwd=sample, env=full, capture_output=True, text=True, timeout=600)


def test_the_hooks_file_declares_check_and_review_hooks():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"infra-orchestrator-check", "infra-orchestrator-review",
                          "infra-orchestrator-check-system", "infra-orchestrator-review-system"}
    for hook_id in ("infra-orchestrator-check", "infra-orchestrator-check-system"):
        check = hooks[hook_id]
        assert check["types_or"] == ["yaml", "json", "dockerfile"] and check["require_serial"] is True
        assert check["entry"].split()[:2] == ["infra-orchestrator", "check"] and "--in-context" in check["entry"]
    for hook_id in ("infra-orchestrator-review", "infra-orchestrator-review-system"):
        review = hooks[hook_id]
        assert review["entry"] == "infra-orchestrator review --worktree" and review["pass_filenames"] is False
    assert {h["language"] for h in hooks.values()} == {"python", "system"}


def test_check_hook_passes_on_the_fixed_example_and_fails_on_a_mutable_tag(hook_repo, sample):
    clean = try_repo(hook_repo, sample, "infra-orchestrator-check-system", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "infra-orchestrator check (installed)" in clean.stdout and "Passed" in clean.stdout

    deployment = sample / "k8s" / "backend-deployment.yaml"
    text = deployment.read_text()
    image = next(line for line in text.splitlines() if "image:" in line)
    deployment.write_text(text.replace(image, image.split("image:")[0] + "image: todo-backend:latest"))
    git(sample, "add", "--all")
    broken = try_repo(hook_repo, sample, "infra-orchestrator-check-system", "--all-files")
    assert broken.returncode == 1 and "Failed" in broken.stdout, broken.stdout + broken.stderr
    [line] = [line for line in broken.stdout.splitlines() if " SEC-IMAGE-TAG " in line]
    assert line.startswith("k8s/backend-deployment.yaml:") and "todo-backend:latest" in line
    assert not [line for line in broken.stdout.splitlines() if line.startswith(".github/")]  # not a k8s object


def test_check_hook_judges_one_committed_file_within_its_workspace(hook_repo, sample):
    """Only the Service is committed: its selector still sees the Deployment in another file (no false
    'matches no pod template'), and a finding in a file not committed is not reported."""
    (sample / "k8s" / "frontend-service.yaml").write_text(
        (sample / "k8s" / "frontend-service.yaml").read_text() + "# touched\n")
    result = try_repo(hook_repo, sample, "infra-orchestrator-check-system", "--files", "k8s/frontend-service.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REL-SERVICE-TARGET" not in result.stdout


def test_review_hook_validates_the_staged_change(hook_repo, sample):
    (sample / "k8s" / "configmap.yaml").write_text((sample / "k8s" / "configmap.yaml").read_text() + "# reviewed\n")
    git(sample, "add", "--all")
    result = try_repo(hook_repo, sample, "infra-orchestrator-review-system", "--verbose")  # output on success
    assert "[CHANGE VALIDATION: APPROVED]" in result.stdout and result.returncode == 0, result.stdout + result.stderr
    (sample / "backend" / "src" / "main.py").write_text("# frozen Phase III code, edited\n")
    git(sample, "add", "--all")
    frozen = try_repo(hook_repo, sample, "infra-orchestrator-review-system")
    assert frozen.returncode == 1 and "[CHANGE VALIDATION: REJECTED]" in frozen.stdout, frozen.stdout


def test_python_hook_builds_its_environment_and_runs(hook_repo, sample, tmp_path):
    """The hook as users get it: pre-commit installs this repository into an environment of its own."""
    home = tmp_path / "home"
    result = try_repo(hook_repo, sample, "infra-orchestrator-check", "--all-files", env={"UV_OFFLINE": "1"},
                      home=home)
    if "An unexpected error has occurred" in result.stdout + result.stderr:  # uv's cache lacks a package
        shutil.rmtree(home, ignore_errors=True)
        result = try_repo(hook_repo, sample, "infra-orchestrator-check", "--all-files", home=home)
        output = (result.stdout + result.stderr).lower()
        if "an unexpected error has occurred" in output and any(word in output for word in NETWORK_ERRORS):
            pytest.skip("pre-commit could not build the hook's environment: no package index reachable and "
                        "uv's cache lacks a package")
    assert result.returncode == 0, result.stdout + result.stderr  # PATH has no other infra-orchestrator
    assert "Installing environment" in result.stdout and "infra-orchestrator check" in result.stdout
    assert "Passed" in result.stdout
