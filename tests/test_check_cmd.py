"""`infra-orchestrator check`: lint-style output formats, exit codes, SARIF 2.1.0, start-up cost, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from core.config import Config
from tests.clirun import ROOT, invoke
from tools.checks import registry

CHARTS = Path(__file__).parent / "fixtures" / "charts"

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    infra-orchestrator.io/ignore: "REL-LIVENESS-PROBE: liveness is handled by the mesh"
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web:latest
"""
BAD = """apiVersion: v1
kind: ConfigMap
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: [not, a, map]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dup, namespace: shop}
data: {a: "1", a: "2"}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
"""
DOCKERFILE = "FROM python:3.12-slim\nRUN pip install flask\nCMD python app.py\n"

# The parts of the OASIS SARIF 2.1.0 schema (sarif-schema-2.1.0.json) that our output uses: required
# properties, enums and types as the official schema states them (tests/test_sarif.py validates the whole file).
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"enum": ["2.1.0"]},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "version": {"type": "string"},
                        "rules": {"type": "array", "uniqueItems": True, "items": {
                            "type": "object", "required": ["id"], "properties": {
                                "id": {"type": "string"},
                                "shortDescription": {"$ref": "#/$defs/message"},
                                "fullDescription": {"$ref": "#/$defs/message"},
                                "help": {"$ref": "#/$defs/message"},
                                "defaultConfiguration": {"type": "object", "properties": {
                                    "level": {"enum": ["none", "note", "warning", "error"]}}},
                                "properties": {"type": "object"}}}}}}}},
                "originalUriBaseIds": {"type": "object"},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message"], "properties": {
                        "ruleId": {"type": "string"},
                        "ruleIndex": {"type": "integer", "minimum": -1},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"$ref": "#/$defs/message"},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "properties": {
                                "artifactLocation": {"type": "object", "properties": {
                                    "uri": {"type": "string"}, "uriBaseId": {"type": "string"}}},
                                "region": {"type": "object", "properties": {
                                    "startLine": {"type": "integer", "minimum": 1}}}}},
                            "logicalLocations": {"type": "array", "items": {"type": "object"}}}}},
                        "suppressions": {"type": "array", "uniqueItems": True, "items": {
                            "type": "object", "required": ["kind"], "properties": {
                                "kind": {"enum": ["inSource", "external"]},
                                "status": {"enum": ["accepted", "underReview", "rejected"]},
                                "justification": {"type": "string"}}}},
                        "properties": {"type": "object"}}}},
            }}},
    },
    "$defs": {"message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
                          "properties": {"text": {"type": "string"}}}},
}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_text_output_is_one_line_per_finding_and_exit_1_at_fail_on(repo, monkeypatch):
    monkeypatch.chdir(repo.parent)
    result = invoke("check", repo.name, "--fail-on", "high")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert f"{repo.name}/k8s/app.yaml:1: high SEC-IMAGE-TAG container 'web' image 'web:latest' uses the mutable " \
           "':latest' tag" in lines
    assert f"{repo.name}/Dockerfile:3: medium DOCKER-SHELL-FORM CMD is in shell form: signals are not forwarded " \
           "to the process" in lines
    assert not any("REL-LIVENESS-PROBE" in line for line in lines)  # suppressed: counted, not listed
    assert lines[-1].endswith("1 suppressed; fail-on high")


def test_fail_on_and_quiet(repo, monkeypatch):
    monkeypatch.chdir(repo)
    default = invoke("check")
    assert default.stdout.splitlines()[-1].endswith(f"fail-on {Config().policy.fail_on.value}")
    assert invoke("check", "--fail-on", "critical").returncode == 0
    quiet = invoke("check", "k8s/app.yaml", "Dockerfile", "-q", "--fail-on", "high")
    assert quiet.returncode == 1
    assert quiet.stdout.splitlines() and all(" high " in line or " critical " in line
                                             for line in quiet.stdout.splitlines())


def test_json_output_has_findings_and_summary(repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = invoke("check", ".", "--format", "json", "--fail-on", "medium")
    data = json.loads(result.stdout)
    assert result.returncode == 1 and data["summary"]["failed"] and data["summary"]["fail_on"] == "medium"
    suppressed = [f for f in data["findings"] if f["suppressed"]]
    assert [f["check_id"] for f in suppressed] == ["REL-LIVENESS-PROBE"]
    assert data["summary"]["suppressed"] == 1


def test_sarif_output_validates_and_carries_rules_locations_and_suppressions(repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = invoke("check", "--format", "sarif")
    log = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SARIF_SUBSET, format_checker=jsonschema.FormatChecker()).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [r["id"] for r in rules]
    assert set(rule_ids) >= {spec.id for spec in registry()} and len(rule_ids) == len(set(rule_ids))
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    tag = next(r for r in run["results"] if r["ruleId"] == "SEC-IMAGE-TAG")
    assert tag["level"] == "error"
    assert tag["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "k8s/app.yaml",
                                                                            "uriBaseId": "%SRCROOT%"},
                                                       "region": {"startLine": 1}}
    probe = next(r for r in run["results"] if r["ruleId"] == "REL-LIVENESS-PROBE")
    [suppression] = probe["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["justification"].endswith("handled by the mesh")


def test_bad_input_becomes_schema_findings_and_the_scan_goes_on(tmp_path, monkeypatch):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "bad.yaml").write_text(BAD)
    (tmp_path / "k8s" / "app.yaml").write_text(DEPLOYMENT)
    shutil.copytree(CHARTS / "broken", tmp_path / "helm" / "broken")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--format", "json", "--profile", "strict")
    assert result.returncode == 1, result.stderr
    found = {(f["check_id"], f["file"]) for f in json.loads(result.stdout)["findings"]}
    assert {("SCH-DUPLICATE-KEY", "k8s/bad.yaml"), ("SCH-SCHEMA-VALID", "k8s/bad.yaml"),
            ("SCH-RENDER-FAILED", "helm/broken/templates/cm.yaml"), ("SEC-IMAGE-TAG", "k8s/app.yaml")} <= found
    schema = [f for f in json.loads(result.stdout)["findings"] if f["check_id"] == "SCH-SCHEMA-VALID"]
    assert {f["severity"] for f in schema} == {"high", "info"} and all(f["line"] for f in schema)


def test_usage_errors_exit_2_with_one_line(repo, monkeypatch):
    monkeypatch.chdir(repo)
    for args in (("--profile", "paranoid"), ("does-not-exist",), ("--config", "missing.yaml")):
        result = invoke("check", *args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_config_file_and_profile_select_checks(repo, monkeypatch):
    monkeypatch.chdir(repo)
    (repo / "lint.yaml").write_text("checks:\n  disabled: [SEC-IMAGE-TAG]\n")
    (repo / "k8s" / "priv.yaml").write_text(DEPLOYMENT.replace("name: web\n", "name: priv\n", 1)
                                            + "          securityContext: {privileged: true}\n")
    data = json.loads(invoke("check", "k8s", "--config", "lint.yaml", "--format", "json").stdout)
    assert "SEC-IMAGE-TAG" not in {f["check_id"] for f in data["findings"]}
    baseline = json.loads(invoke("check", "k8s", "--profile", "pss-baseline", "--format", "json").stdout)
    registered = {spec.id for spec in registry()}
    reported = {f["check_id"] for f in baseline["findings"]} & registered
    assert reported and reported <= {spec.id for spec in registry() if spec.pss == "baseline"}


def test_check_never_imports_langgraph_or_anthropic():
    code = ("import sys\nfrom infra_orchestrator.cli import main\n"
            "try:\n    main(['check', 'examples/todo-phase-iv', '-q'])\nexcept SystemExit as e:\n    code = e.code\n"
            "print(code, 'langgraph' in sys.modules, 'anthropic' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[-1].split() == ["1", "False", "False"], proc.stderr
