"""Checks for secret material committed to manifests. Messages name keys, never values."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import WORKLOAD_KINDS, as_dict, containers

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
_NOT_A_VALUE_SUFFIXES = ("_FILE", "_PATH", "_NAME")
"""``DB_PASSWORD_FILE=/run/secrets/db`` points at a secret; it is not one."""
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:(?P<password>[^/\s@]+)@")
ENV_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")
CREDENTIAL_CONTENT = {
    "a private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "a password assignment": re.compile(r"(?im)^\s*[\w.-]{0,120}(password|passwd|secret|api_?key|token)[\w.-]{0,120}\s*[=:]\s*"
                                        r"(?![\s\"']*$)(?![\s\"']*\$[({])[^\s#]+"),
}


def literal_secret(name: str, value: object) -> str | None:
    """Why the literal env ``value`` of ``name`` looks like a secret, or None."""
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        return None
    text = str(value)
    url = _URL_CREDENTIALS.search(text)
    if url and not ENV_REFERENCE.fullmatch(url.group("password")):
        return "a URL with an embedded password"
    if (_SECRET_NAME.search(name) and not name.upper().endswith(_NOT_A_VALUE_SUFFIXES)
            and not ENV_REFERENCE.fullmatch(text)):
        return "a literal value although its name says it is a secret"
    return None


@check(id="SEC-SECRET-ENV-LITERAL", category=Category.security, severity=Severity.critical,
       kinds=WORKLOAD_KINDS,
       title="Secret literal in an environment variable",
       description="An env var whose name looks like a secret (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, "
                   "CREDENTIALS) or whose value is a URL with user:password@ carries a literal value: the secret "
                   "is in Git and in every `kubectl get -o yaml`.",
       remediation="Move the value into a Secret (managed by External Secrets, Sealed Secrets or SOPS) and "
                   "reference it with valueFrom.secretKeyRef; rotate the exposed value.",
       peers={"kube-linter": "env-var-secret", "polaris": "sensitiveContainerEnvVar"})
def secret_env_literal(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        for where, env in c.entries("env"):
            name = str(env.get("name") or "")
            why = literal_secret(name, env.get("value"))
            if why:
                yield c.hit(f"sets env {name or '<unnamed>'} to {why}", f"{where}.value")


@check(id="SEC-SECRET-COMMITTED", category=Category.security, severity=Severity.high,
       kinds={"Secret"},
       title="Secret with committed data",
       description="A Secret manifest with data or stringData puts the secret values in Git; base64 is an "
                   "encoding, not encryption.",
       remediation="Keep secret values out of Git: use External Secrets Operator, Sealed Secrets or SOPS-encrypted "
                   "files, and rotate any value that was committed.")
def secret_committed(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind != "Secret":
        return
    data, string_data = as_dict(obj.body.get("data")), as_dict(obj.body.get("stringData"))
    if data or string_data:
        yield Hit(f"Secret '{obj.name or '<unnamed>'}' commits {len(data) + len(string_data)} value(s) in "
                  "data/stringData; base64 is not encryption — anyone who can read the repository can decode them "
                  "(use External Secrets, Sealed Secrets or SOPS)", field="data" if data else "stringData")


def configmap_secret(key: str, value: object) -> str | None:
    """Why the ConfigMap entry ``key`` looks like a credential, or None."""
    text = value if isinstance(value, str) else ""
    why = literal_secret(key.replace("-", "_").replace(".", "_"), value)
    if why:
        return why.replace("its name", "its key")
    return next((label for label, pattern in CREDENTIAL_CONTENT.items() if pattern.search(text[:1_000_000])), None)


@check(id="SEC-SECRET-IN-CONFIGMAP", category=Category.security, severity=Severity.high,
       kinds={"ConfigMap"},
       title="Credential in a ConfigMap",
       description="A ConfigMap key named like a secret (password, token, api_key, ...) with a literal value, or "
                   "content holding a private key, cloud access key, token or password assignment: ConfigMaps are "
                   "readable by anyone with view rights and are not encrypted at rest.",
       remediation="Move the value into a Secret managed by External Secrets, Sealed Secrets or SOPS; rotate it.",
       peers={"polaris": "sensitiveConfigmapContent"})
def secret_in_configmap(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind != "ConfigMap":
        return
    for key, value in as_dict(obj.body.get("data")).items():
        why = configmap_secret(str(key), value)
        if why:
            yield Hit(f"ConfigMap '{obj.name or '<unnamed>'}' key '{key}' holds {why}",
                      field=fieldpath.key("data", key))
