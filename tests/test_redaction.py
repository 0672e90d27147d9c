"""Redaction before sending: no secret string of the fixtures ever reaches the (fake) model."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.anthropic_server import FakeModelServer

from graph.runner import run_request
from infra_orchestrator.config import Config, Phase3Config, ProviderConfig
from infra_orchestrator.models import ChangeRequest
from infra_orchestrator.providers import make_provider
from infra_orchestrator.providers.redact import placeholder, redact, redact_text

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----"
SECRETS = {
    "secret-data": "c3VwZXItc2VjcmV0LXZhbHVl",
    "string-data": "plain-db-password-42",
    "env": "hunter2-literal-password",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "aws-secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack": "xoxb-123456789012-abcdefghijkl",
    "anthropic": "sk-ant-api03-abcdefghijklmnopqrstuvwx",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "url-password": "s3cr3tPa55",
    "pem": "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
}

MANIFESTS = f"""apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
data: {{password: {SECRETS['secret-data']}}}
stringData: {{url: {SECRETS['string-data']}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: shop
  annotations: {{ci/token: "{SECRETS['github']}", note: "slack {SECRETS['slack']}"}}
data:
  DATABASE_URL: "postgresql://app:{SECRETS['url-password']}@db:5432/app"
  aws: "aws_secret_access_key = {SECRETS['aws-secret']}"
  tls.key: |
{chr(10).join('    ' + line for line in PEM.splitlines())}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.2.3
          env:
            - {{name: DB_PASSWORD, value: {SECRETS['env']}}}
            - {{name: AWS_ACCESS_KEY_ID, value: {SECRETS['aws']}}}
            - {{name: CLAUDE, value: {SECRETS['anthropic']}}}
            - {{name: SESSION, value: "{SECRETS['jwt']}"}}
            - {{name: DB_PASSWORD_FILE, value: /run/secrets/db}}
"""


def test_placeholders_are_stable_and_typed():
    assert redact_text(f"key {SECRETS['aws']}") == f"key {placeholder('aws-key', SECRETS['aws'])}"
    assert placeholder("env", "x") == placeholder("env", "x") != placeholder("env", "y")
    assert placeholder("env", "x").startswith("<redacted:env:") and len(placeholder("env", "x")) == len("<redacted:env:>") + 8


def test_references_and_pointers_are_kept():
    env = [{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}, {"name": "TOKEN", "value": "$(TOKEN)"},
           {"name": "LOG_LEVEL", "value": "info"}, {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "s"}}}]
    assert redact(env) == env
    assert redact_text("postgresql://app:$(DB_PASSWORD)@db/app") == "postgresql://app:$(DB_PASSWORD)@db/app"


def test_no_secret_string_reaches_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(MANIFESTS)
    with FakeModelServer() as fake:
        config = Config(phase3=Phase3Config(protected=["app/src/**"]),
                        provider=ProviderConfig(name="anthropic", base_url=fake.base_url))
        decision, _ = run_request(ChangeRequest(workspace=str(tmp_path), intent=f"rotate {SECRETS['github']}"),
                                  config=config, provider=make_provider(config))
    sent = "\n".join(c.text for c in fake.calls)
    assert len(fake.calls) == 5 and "ConfigMap" in sent and "redacted:" in sent  # the objects did go out
    leaks = {kind: s for kind, s in SECRETS.items() if s in sent}
    assert leaks == {}
    assert "/run/secrets/db" in sent  # a pointer to a secret is not one
