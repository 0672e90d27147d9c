"""Offline API-schema validation (tools/schema.py): severities, unknown kinds, version fallback, bad input."""

from __future__ import annotations

import time

from core.models import Severity
from tools import schema
from tools.manifests import load_manifest_text
from tools.schema import SCHEMA_ID, resolve_version, schema_file, validate_objects

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: web:1.0
          ports: [{{containerPort: 8080, name: http}}]
          readinessProbe: {{httpGet: {{path: /ready, port: http}}}}
          {extra}
"""


def objects(text: str):
    found, problems = load_manifest_text(text, "k8s/app.yaml")
    assert not [p for p in problems if p.severity.at_least("medium")]
    return found


def findings(text: str, version: str = "1.31"):
    return validate_objects(objects(text), version)


def test_a_valid_deployment_has_no_finding():
    assert findings(DEPLOYMENT.format(replicas=2, extra="")) == []


def test_wrong_type_is_high_and_unknown_field_is_medium_with_file_and_line():
    result = findings("---\n" + DEPLOYMENT.format(replicas="two", extra="colour: blue"))
    by_severity = {f.severity: f for f in result}
    assert set(by_severity) == {Severity.high, Severity.medium}
    assert "spec.replicas: wrong type, expected integer" in by_severity[Severity.high].message
    assert "'colour' was unexpected" in by_severity[Severity.medium].message
    assert all(f.check_id == SCHEMA_ID and f.category.value == "schema" for f in result)
    assert {(f.file, f.object_line) for f in result} == {("k8s/app.yaml", 2)}
    assert (by_severity[Severity.high].field, by_severity[Severity.high].line) == ("spec.replicas", 6)
    assert (by_severity[Severity.medium].field, by_severity[Severity.medium].line,
            by_severity[Severity.medium].column) == ("spec.template.spec.containers[0].colour", 16, 11)


def test_missing_required_field_is_high():
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template: {}\n"
    [finding] = findings(text)
    assert finding.severity is Severity.high and "'selector' is a required property" in finding.message


def test_bad_input_becomes_findings_never_an_exception():
    text = """apiVersion: v1
kind: Pod
---
apiVersion: v1
kind: Pod
metadata: [a, b]
spec: {containers: {name: x}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: big}
data: {blob: "%s"}
""" % ("x" * 10_000_000)
    result = findings(text)
    messages = [f.message for f in result]
    assert any("metadata: wrong type, expected object" in m for m in messages)
    assert any("spec.containers: wrong type, expected array" in m for m in messages)
    assert all(f.line for f in result)


def test_a_value_is_never_quoted_in_a_message():
    result = findings(DEPLOYMENT.format(replicas='"s3cr3t-value"', extra=""))
    assert result and all("s3cr3t" not in f.message for f in result)


def test_custom_resources_get_one_info_finding_per_kind():
    text = "\n---\n".join(f"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {{name: m{i}}}"
                          for i in range(3))
    text += "\n---\napiVersion: apps.example.com/v1\nkind: Deployment\nmetadata: {name: lookalike}\n"
    result = findings(text)
    assert [(f.severity, f.resource.kind, f.resource.api_version) for f in result] == [
        (Severity.info, "ServiceMonitor", "monitoring.coreos.com/v1"),
        (Severity.info, "Deployment", "apps.example.com/v1"),
    ]


def test_schema_file_maps_only_built_in_groups():
    assert schema_file("v1", "Service") == "service-v1.json"
    assert schema_file("rbac.authorization.k8s.io/v1", "Role") == "role-rbac-v1.json"
    assert schema_file("networking.k8s.io/v1", "NetworkPolicy") == "networkpolicy-networking-v1.json"
    assert schema_file("apps.example.com/v1", "Deployment") is None


def test_unknown_version_falls_back_to_the_nearest_and_says_so_once():
    assert resolve_version("1.31") == ("1.31", None)
    used, note = resolve_version("1.99")
    assert used == resolve_version("1.99")[0] and used != "1.99" and "nearest available" in note
    old, _ = resolve_version("1.10")
    assert old == "1.25"
    result = findings(DEPLOYMENT.format(replicas=2, extra="") * 1 + "---\n" + DEPLOYMENT.format(replicas=3, extra=""),
                      "1.10")
    assert [f.message for f in result] == [f"Kubernetes 1.10 has no bundled schemas; objects are validated against "
                                           f"{old}, the nearest available"]


def test_each_schema_is_compiled_once_and_validation_is_fast():
    objs = objects("\n---\n".join(DEPLOYMENT.format(replicas=i, extra="") for i in range(300)))
    validate_objects(objs[:1], "1.31")
    before = schema.compiled_validator.cache_info().misses
    started = time.perf_counter()
    assert validate_objects(objs, "1.31") == []
    elapsed = time.perf_counter() - started
    assert schema.compiled_validator.cache_info().misses == before
    assert elapsed < 1.0, f"300 objects took {elapsed:.2f}s (the naive validator takes ~6s)"
