"""Checks for secret material committed to manifests. Messages name keys, never values.

A value that cannot be a credential is not reported as one: an empty value (a Secret shell whose values are
set at install time, a Helm ``{{ .Values.x }}`` that renders empty) is ``SEC-SECRET-EMPTY`` (low: pods start
without credentials), a placeholder (``changeme``, ``<your-key>``, ``${VAR}``, ``REPLACE_ME``...) is
``SEC-SECRET-PLACEHOLDER`` (info). The redaction layer (:mod:`tools.redact`) still treats both as secrets:
hiding a placeholder costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools.checks.core import check
from tools.checks.podspec import WORKLOAD_KINDS, as_dict, as_list, containers

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
_NOT_A_VALUE_SUFFIXES = ("_FILE", "_PATH", "_NAME")
"""``DB_PASSWORD_FILE=/run/secrets/db`` points at a secret; it is not one."""
_URL_CREDENTIALS = re.compile(r"://[^/\s:@]*:(?P<password>[^/\s@]+)@")
"""``scheme://user:password@``, the user possibly empty (``redis://:password@host``)."""
ENV_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")
CREDENTIAL_CONTENT = {
    "a private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "a password assignment": re.compile(r"(?im)^\s*[\w.-]{0,120}(password|passwd|secret|api_?key|token)[\w.-]{0,120}\s*[=:]\s*"
                                        r"(?![\s\"']*$)(?![\s\"']*\$[({])[^\s#]+"),
}


PLACEHOLDER = re.compile(
    r"(?ix)^(?:change[-_ ]?me\w{0,3}|replace[-_ ]?me|to[-_ ]?do|tbd|fixme|x{3,}|\*{3,}|\.{3}|placeholder|dummy|"
    r"none|null|nil|undefined|"
    r"(?:your|my|put|insert|enter|add|set)[-_ ][\w .-]*|[\w.-]*[-_](?:here|goes[-_]here|placeholder)|"
    r"<[^<>\n]+>|\$\{[^}\n]+\}|\$\([^)\n]+\)|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_]+%|\{\{[^}\n]*\}\}|"
    r"sk-(?:x+|\.+|\*+))$")
"""Values that stand for a credential without being one."""


def is_placeholder(value: object) -> bool:
    """True for a value that only stands for a credential (``changeme``, ``<your-key>``, ``${VAR}``...)."""
    text = str(value).strip().strip("\"'") if isinstance(value, (str, int, float)) else ""
    if not text:
        return False
    url = _URL_CREDENTIALS.search(text)
    if url and PLACEHOLDER.match(url.group("password")):
        return True
    return bool(PLACEHOLDER.match(text))


def _secret_value(value: object, encoded: bool) -> str | None:
    """The text of a Secret value (``data`` is base64); None when it does not decode as text (a real value)."""
    if value is None:
        return ""
    text = str(value)
    if not encoded:
        return text
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def classify_secret(obj: K8sObject) -> dict[str, list[str]]:
    """Keys of a Secret's ``data``/``stringData`` by kind of value: ``real``, ``empty``, ``placeholder``."""
    out: dict[str, list[str]] = {"real": [], "empty": [], "placeholder": []}
    for section, encoded in (("data", True), ("stringData", False)):
        for key, value in as_dict(obj.body.get(section)).items():
            text = _secret_value(value, encoded)
            kind = "real" if text is None else "empty" if not text.strip() else \
                "placeholder" if is_placeholder(text) else "real"
            out[kind].append(str(key))
    return out


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
def secret_env_literal(obj: K8sObject) -> Iterator[str]:
    for c in containers(obj):
        for env in as_list(c.spec.get("env")):
            name = str(as_dict(env).get("name") or "")
            value = as_dict(env).get("value")
            why = literal_secret(name, value)
            if why and not is_placeholder(value):
                yield c.hit(f"sets env {name or '<unnamed>'} to {why}")


@check(id="SEC-SECRET-COMMITTED", category=Category.security, severity=Severity.high,
       kinds={"Secret"},
       title="Secret with committed data",
       description="A Secret manifest with data or stringData puts the secret values in Git; base64 is an "
                   "encoding, not encryption. Empty values and placeholders are not counted (SEC-SECRET-EMPTY, "
                   "SEC-SECRET-PLACEHOLDER).",
       remediation="Keep secret values out of Git: use External Secrets Operator, Sealed Secrets or SOPS-encrypted "
                   "files, and rotate any value that was committed.")
def secret_committed(obj: K8sObject) -> Iterator[str]:
    if obj.kind != "Secret":
        return
    real = classify_secret(obj)["real"]
    if real:
        yield (f"Secret '{obj.name or '<unnamed>'}' commits {len(real)} value(s) in data/stringData "
               f"({', '.join(real[:5])}); base64 is not encryption — anyone who can read the repository can decode "
               "them (use External Secrets, Sealed Secrets or SOPS)")


@check(id="SEC-SECRET-EMPTY", category=Category.security, severity=Severity.low,
       kinds={"Secret"},
       title="Secret with empty values",
       description="A Secret whose data/stringData values are empty (a shell filled at install time, or a Helm value "
                   "left empty): nothing leaks, but pods that read it start without credentials unless the values "
                   "are provided when the release is installed.",
       remediation="Provide the values at install time (`--set`/a values file kept out of Git), or create the Secret "
                   "out of band (External Secrets, Sealed Secrets) and reference it (existingSecret).")
def secret_empty(obj: K8sObject) -> Iterator[str]:
    if obj.kind != "Secret":
        return
    empty = classify_secret(obj)["empty"]
    if empty:
        yield (f"empty Secret values: pods start without credentials — Secret '{obj.name or '<unnamed>'}' has "
               f"{len(empty)} empty key(s) ({', '.join(empty[:5])})")


def _placeholders(obj: K8sObject) -> Iterator[str]:
    if obj.kind == "Secret":
        keys = classify_secret(obj)["placeholder"]
        if keys:
            yield f"Secret '{obj.name or '<unnamed>'}' holds placeholder values, not credentials ({', '.join(keys[:5])})"
    elif obj.kind == "ConfigMap":
        for key, value in as_dict(obj.body.get("data")).items():
            if literal_secret(str(key).replace("-", "_").replace(".", "_"), value) and is_placeholder(value):
                yield f"ConfigMap '{obj.name or '<unnamed>'}' key '{key}' holds a placeholder, not a credential"


@check(id="SEC-SECRET-PLACEHOLDER", category=Category.security, severity=Severity.info,
       kinds={*WORKLOAD_KINDS, "Secret", "ConfigMap"},
       title="Placeholder where a secret belongs",
       description="A secret-named env var, Secret key or ConfigMap key holds a placeholder (changeme, <your-key>, "
                   "${VAR}, REPLACE_ME...): not a leak, but the workload runs with a dummy credential unless it is "
                   "replaced at deploy time.",
       remediation="Replace the placeholder at deploy time with a reference to a real Secret (valueFrom.secretKeyRef, "
                   "existingSecret), never with a literal in Git.")
def secret_placeholder(obj: K8sObject) -> Iterator[str]:
    yield from _placeholders(obj)
    for c in containers(obj) if obj.kind in WORKLOAD_KINDS else []:
        for env in as_list(c.spec.get("env")):
            name = str(as_dict(env).get("name") or "")
            value = as_dict(env).get("value")
            if literal_secret(name, value) and is_placeholder(value):
                yield c.hit(f"sets env {name or '<unnamed>'} to a placeholder, not a credential")


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
def secret_in_configmap(obj: K8sObject) -> Iterator[str]:
    if obj.kind != "ConfigMap":
        return
    for key, value in as_dict(obj.body.get("data")).items():
        why = configmap_secret(str(key), value)
        if why and not is_placeholder(value):
            yield f"ConfigMap '{obj.name or '<unnamed>'}' key '{key}' holds {why}"
