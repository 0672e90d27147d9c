"""Secrets as they are: an empty value is not a leak, a placeholder is not a credential, a real value is both."""

from __future__ import annotations

import pytest

from tools.checks import run_checks
from tools.checks.secrets import is_placeholder, literal_secret
from tools.manifests import load_manifest_text
from tools.redact import redact


def findings(text: str) -> list[tuple[str, str, str]]:
    objects, problems = load_manifest_text(text, "k8s/x.yaml")
    assert problems == []
    return sorted((f.check_id, f.severity.value, f.message) for f in run_checks(objects)
                  if f.check_id.startswith("SEC-SECRET"))


def secret(data: str) -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata: {{name: app, namespace: shop}}\ntype: Opaque\n{data}\n"


def test_a_secret_with_empty_values_is_low_and_says_pods_start_without_credentials():
    [(check, severity, message)] = findings(secret('stringData: {DATABASE_URL: "", JWT_SECRET: ""}\ndata: {KEY: ""}'))
    assert (check, severity) == ("SEC-SECRET-EMPTY", "low")
    assert message.startswith("empty Secret values: pods start without credentials") and "decode" not in message


def test_placeholders_are_info_not_leaks():
    found = findings(secret("stringData: {OPENAI_API_KEY: <your-openai-key>, TOKEN: REPLACE_ME}\n"
                            "data: {JWT_SECRET: Y2hhbmdlbWU=}"))  # "changeme"
    assert [(c, s) for c, s, _ in found] == [("SEC-SECRET-PLACEHOLDER", "info")]


def test_a_mixed_secret_counts_only_its_real_values_as_committed():
    found = findings(secret('stringData: {DB_PASSWORD: "s3cr3t-Prod-2024", API_KEY: ""}'))
    assert [(c, s) for c, s, _ in found] == [("SEC-SECRET-COMMITTED", "high"), ("SEC-SECRET-EMPTY", "low")]
    committed = found[0][2]
    assert "1 value(s)" in committed and "DB_PASSWORD" in committed and "s3cr3t" not in committed


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: shop}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:1.0
          env:
            - {{name: {name}, value: "{value}"}}
"""


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("DB_PASSWORD", "changeme", ("SEC-SECRET-PLACEHOLDER", "info")),
    ("API_TOKEN", "${API_TOKEN}", ("SEC-SECRET-PLACEHOLDER", "info")),
    ("OPENAI_API_KEY", "your-openai-api-key", ("SEC-SECRET-PLACEHOLDER", "info")),
    ("DATABASE_URL", "postgres://app:changeme@db:5432/app", ("SEC-SECRET-PLACEHOLDER", "info")),
    ("DB_PASSWORD", "hunter2-prod", ("SEC-SECRET-ENV-LITERAL", "critical")),
    ("DATABASE_URL", "postgres://user:pass@db/todo", ("SEC-SECRET-ENV-LITERAL", "critical")),
])
def test_env_placeholders_are_not_critical(name, value, expected):
    assert [(c, s) for c, s, _ in findings(DEPLOYMENT.format(name=name, value=value))] == [expected]


def test_placeholders_in_a_configmap_are_info():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {API_KEY: <api-key>}\n"
    assert [(c, s) for c, s, _ in findings(text)] == [("SEC-SECRET-PLACEHOLDER", "info")]


@pytest.mark.parametrize("value", ["changeme", "CHANGE_ME", "<your-key>", "${VAR}", "REPLACE_ME", "xxxx", "TODO",
                                   "{{ .Values.apiKey }}", "put_your_key_here", "sk-xxxx"])
def test_placeholder_forms(value):
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["hunter2", "sk-proj-abc123def456", "example-db-password-123", "dev-secret", "",
                                   "password1"])
def test_values_that_are_not_placeholders(value):
    assert not is_placeholder(value)


def test_redaction_still_hides_placeholders():
    assert literal_secret("DB_PASSWORD", "changeme")  # the redaction layer keeps treating it as a secret
    assert "changeme" not in str(redact([{"name": "DB_PASSWORD", "value": "changeme"}]))
