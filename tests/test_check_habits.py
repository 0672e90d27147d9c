"""`check` as linters are used: the closest config up the tree, stdin, --output-file, --exit-zero,
--format github, --in-context and colour."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra_orchestrator.commands.check_output import ColorMode, use_color
from tests.clirun import ROOT, invoke, run_cli
from tests.gitrepo import git

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web:latest
"""
SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""
DOCKERFILE = "FROM python:3.12-slim\nRUN pip install flask\nCMD python app.py\n"
CONFIG = "kubernetes:\n  paths: ['deploy/k8s/**', '**/Dockerfile']\nchecks:\n  disabled: [REL-ANTI-AFFINITY]\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository whose config sits at its root and whose manifests live two levels down."""
    root = tmp_path / "repo"
    (root / "deploy" / "k8s").mkdir(parents=True)
    (root / "deploy" / "k8s" / "deployment.yaml").write_text(DEPLOYMENT)
    (root / "deploy" / "k8s" / "service.yaml").write_text(SERVICE)
    (root / "deploy" / "values.yaml").write_text("not: [a, manifest]\n")  # outside kubernetes.paths
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / ".infra-orchestrator.yaml").write_text(CONFIG)
    git(root, "init", "--quiet")
    return root


def ids(result) -> set[str]:
    return {f["check_id"] for f in json.loads(result.stdout)["findings"]}


def test_a_subdirectory_is_checked_with_the_repository_config(repo, monkeypatch):
    monkeypatch.chdir(repo / "deploy" / "k8s")
    here = invoke("check", "--format", "json")
    assert here.returncode == 1, here.stderr
    found = json.loads(here.stdout)["findings"]
    assert "REL-ANTI-AFFINITY" not in ids(here) and "SEC-IMAGE-TAG" in ids(here)  # checks.disabled applies
    assert {f["file"] for f in found} == {"deployment.yaml"}  # relative to the current directory
    monkeypatch.chdir(repo)
    sub = invoke("check", "deploy", "--format", "json")
    assert {f["file"] for f in json.loads(sub.stdout)["findings"]} == {"deploy/k8s/deployment.yaml"}
    assert invoke("check", "deploy/k8s/deployment.yaml", "--format", "json").stdout.count('"REL-ANTI-AFFINITY"') == 0


def test_the_search_stops_at_the_git_root_and_config_overrides_it(tmp_path, monkeypatch):
    (tmp_path / ".infra-orchestrator.yaml").write_text("checks:\n  disabled: [SEC-IMAGE-TAG]\n")
    inner = tmp_path / "inner"
    (inner / "k8s").mkdir(parents=True)
    (inner / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    git(inner, "init", "--quiet")
    monkeypatch.chdir(inner / "k8s")
    assert "SEC-IMAGE-TAG" in ids(invoke("check", "--format", "json"))  # the config above the git root is not read
    explicit = invoke("check", "--format", "json", "--config", str(tmp_path / ".infra-orchestrator.yaml"))
    assert explicit.returncode == 1 and "SEC-IMAGE-TAG" not in ids(explicit) and ids(explicit)


def test_a_broken_config_up_the_tree_is_an_error_not_defaults(repo, monkeypatch):
    (repo / ".infra-orchestrator.yaml").write_text("checks:\n  disabld: []\n")
    monkeypatch.chdir(repo / "deploy" / "k8s")
    result = invoke("check")
    assert result.returncode == 2 and ".infra-orchestrator.yaml" in result.stderr and "disabld" in result.stderr


def test_output_file_and_exit_zero(repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = invoke("check", "--format", "sarif", "-o", "reports/check.sarif", "--exit-zero")
    assert result.returncode == 0 and result.stdout == ""
    log = json.loads((repo / "reports" / "check.sarif").read_text())
    assert {r["ruleId"] for r in log["runs"][0]["results"]} >= {"SEC-IMAGE-TAG", "DOCKER-SHELL-FORM"}
    assert invoke("check", "-o", "reports/check.txt").returncode == 1  # findings still fail without --exit-zero
    assert (repo / "reports" / "check.txt").read_text().splitlines()[-1].endswith("fail-on medium")
    (repo / "blocked").write_text("a file, not a directory")
    unwritable = invoke("check", "-o", "blocked/out.txt", "--exit-zero")
    assert unwritable.returncode == 2 and "blocked/out.txt" in unwritable.stderr
    assert invoke("check", "--profile", "nope", "--exit-zero").returncode == 2  # errors are never zeroed


def test_stdin_is_checked_under_the_name_it_stands_for(repo, monkeypatch):
    monkeypatch.chdir(repo / "deploy" / "k8s")
    manifest = run_cli("check", "-", "--stdin-filename", "deployment.yaml", "--format", "json", cwd=Path.cwd(),
                       input=DEPLOYMENT)
    assert manifest.returncode == 1, manifest.stderr
    found = json.loads(manifest.stdout)["findings"]
    assert {f["file"] for f in found} == {"deployment.yaml"} and "REL-ANTI-AFFINITY" not in ids(manifest)
    docker = run_cli("check", "--stdin-filename", "../../Dockerfile", cwd=Path.cwd(), input=DOCKERFILE)
    assert "../../Dockerfile:3: medium DOCKER-SHELL-FORM" in docker.stdout.replace(":3:1:", ":3:")
    plain = run_cli("check", "-", cwd=repo, input="apiVersion: v1\nkind: [\n")
    assert plain.returncode == 1 and plain.stdout.startswith("-:") and "SCH-YAML-INVALID" in plain.stdout
    outside = run_cli("check", "-", "--stdin-filename", "deploy/values.yaml", cwd=repo, input="a: 1\n")
    assert outside.returncode == 2 and "kubernetes.paths" in outside.stderr
    assert run_cli("check", "-", "Dockerfile", cwd=repo, input="").returncode == 2
    binary = subprocess.run([sys.executable, "-m", "infra_orchestrator", "check", "-"], cwd=repo, input=b"\xff\xfe\x00",
                            capture_output=True, timeout=120)
    assert binary.returncode == 2 and b"UTF-8" in binary.stderr
    huge = run_cli("check", "-", cwd=repo, input="# padding\n" * 600_000)
    assert huge.returncode == 2 and "byte limit" in huge.stderr


def test_github_format_emits_workflow_annotations(repo, monkeypatch):
    (repo / "deploy" / "k8s" / "deployment.yaml").write_text(DEPLOYMENT.replace(
        "metadata: {name: web, namespace: shop}", "metadata:\n  name: web\n  namespace: shop\n  annotations:\n"
        "    infra-orchestrator.io/ignore: 'REL-LIVENESS-PROBE: the mesh probes it, 100%'"))
    monkeypatch.chdir(repo)
    result = invoke("check", "--format", "github", "--fail-on", "high")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    tag = next(line for line in commands if "SEC-IMAGE-TAG" in line)
    assert tag.startswith("::error file=deploy/k8s/deployment.yaml,line=")
    props, message = tag[len("::error "):].split("::", 1)
    assert props.split(",")[-1] == "title=SEC-IMAGE-TAG (high)" and "%0AFix: " in message and "\n" not in message
    shell = next(line for line in commands if "DOCKER-SHELL-FORM" in line)
    assert shell.startswith("::warning file=Dockerfile,line=3")  # medium, below --fail-on high
    assert not any("REL-LIVENESS-PROBE" in line for line in commands)  # suppressed findings are not annotated
    assert lines[-1].endswith("fail-on high") and not lines[-1].startswith("::")
    assert all(line.split(" ", 1)[0] in ("::error", "::warning", "::notice") for line in commands)


def test_github_format_escapes_what_would_break_the_command():
    from core.models import Category, Finding, Severity
    from infra_orchestrator.commands.check_output import github

    finding = Finding(check_id="X-Y", severity=Severity.low, category=Category.security, file="a,b:c.yaml",
                      line=4, message="100% wrong\r\nsecond line", remediation="do: this, then that")
    [line, summary] = github([finding], Severity.medium, "summary").splitlines()
    assert line == "::warning file=a%2Cb%3Ac.yaml,line=4,title=X-Y (low)::100%25 wrong%0D%0Asecond line%0AFix: " \
                   "do: this, then that"
    assert summary == "summary"


def test_in_context_sees_other_files_and_reports_only_the_named_ones(repo, monkeypatch):
    monkeypatch.chdir(repo)
    alone = invoke("check", "deploy/k8s/service.yaml", "--format", "json")
    assert "REL-SERVICE-TARGET" not in ids(alone)  # cross-object checks see the workspace's other manifests
    context = invoke("check", "deploy/k8s/service.yaml", "--in-context", "--format", "json", "--fail-on", "info")
    assert context.returncode == 0 and json.loads(context.stdout)["findings"] == []
    named = invoke("check", "deploy/k8s/deployment.yaml", "--in-context", "--format", "json")
    assert {f["file"] for f in json.loads(named.stdout)["findings"]} == {"deploy/k8s/deployment.yaml"}


def test_in_context_reports_a_chart_through_any_of_its_files(tmp_path, monkeypatch):
    chart = tmp_path / "helm" / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("tag: latest\n")
    (chart / "templates" / "deployment.yaml").write_text(DEPLOYMENT.replace("web:latest", "web:{{ .Values.tag }}"))
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "helm/web/values.yaml", "--in-context", "--format", "json")
    files = {f["file"] for f in json.loads(result.stdout)["findings"]}
    assert files and all(f.startswith("helm/web/") for f in files), result.stdout + result.stderr


def test_colour_follows_the_option_then_no_color_then_force_color_then_the_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    assert use_color(ColorMode.auto, tty, {}) and not use_color(ColorMode.auto, pipe, {})
    assert not use_color(ColorMode.auto, tty, {"NO_COLOR": "1"})
    assert use_color(ColorMode.auto, tty, {"NO_COLOR": ""})  # empty: not set (no-color.org)
    assert use_color(ColorMode.auto, pipe, {"FORCE_COLOR": "1"})
    assert not use_color(ColorMode.auto, pipe, {"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not use_color(ColorMode.auto, tty, {"TERM": "dumb"})
    assert use_color(ColorMode.always, pipe, {"NO_COLOR": "1"}) and not use_color(ColorMode.never, tty, {})


def test_colour_on_the_command_line(repo, monkeypatch):
    monkeypatch.chdir(repo)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = invoke("check", "--color", "always")
    assert "\x1b[" in coloured.stdout and "\x1b[31mhigh\x1b[0m" in coloured.stdout
    plain = [line for line in invoke("check").stdout.splitlines() if "SEC-IMAGE-TAG" in line]
    assert plain and "\x1b[" not in plain[0]
    stripped = [line for line in coloured.stdout.replace("\x1b[0m", "").replace("\x1b[1m", "").replace(
        "\x1b[31m", "").replace("\x1b[33m", "").replace("\x1b[36m", "").replace("\x1b[1;31m", "").replace(
        "\x1b[2m", "").replace("\x1b[32m", "").splitlines() if "SEC-IMAGE-TAG" in line]
    assert stripped == plain  # colour adds escapes, never changes the text
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in invoke("check").stdout
    assert "\x1b[" not in invoke("check", "--format", "json").stdout
    assert "\x1b[" not in invoke("check", "--color", "never").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in invoke("check").stdout


def test_new_options_keep_check_free_of_langgraph_and_anthropic(repo):
    code = ("import sys\nfrom infra_orchestrator.cli import main\n"
            "try:\n    main(['check', '--format', 'github', '--in-context', 'deploy/k8s/service.yaml'])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print(code, 'langgraph' in sys.modules, 'anthropic' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.stderr.splitlines()[-1].split() == ["0", "False", "False"], proc.stderr
