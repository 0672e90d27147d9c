"""Redaction of secret material before anything is sent to a model.

Every value a provider sends goes through :func:`redact`: Secret ``data``/``stringData``, literal values of
secret-looking keys (env vars, ConfigMap entries), PEM blocks and token shapes (AWS keys, GitHub, Slack,
Anthropic and OpenAI tokens, JWTs, passwords in URLs) become stable placeholders
``<redacted:KIND:SHA8>`` — the same secret always maps to the same placeholder, so a model can still tell
two values apart without seeing either. Pure: no I/O, no provider imports.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|authorization", re.IGNORECASE)
"""Names of keys (env vars, data entries) whose literal values are treated as secrets."""
_NOT_A_VALUE = re.compile(r"(name|ref|file|path)$", re.IGNORECASE)
"""``secretName``, ``secretKeyRef``, ``TOKEN_FILE``: they point at a secret; they are not one."""

_TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pem", re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----", re.DOTALL)),
    ("aws-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{16,}")),
    ("api-key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("aws-secret", re.compile(r"(?i)aws_secret_access_key[\s:=\"']{1,4}(?P<s>[A-Za-z0-9/+]{40})")),
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<password>[^/\s@]+)(?=@)", re.IGNORECASE)
_ENV_REFERENCE = re.compile(r"\$\(?\{?[A-Za-z_][A-Za-z0-9_]*\}?\)?")


def placeholder(kind: str, value: str) -> str:
    """The stable placeholder of ``value``: ``<redacted:KIND:SHA8>``."""
    return f"<redacted:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:8]}>"


def _replace(m: re.Match[str], kind: str) -> str:
    """Replace the match, or only its ``s`` group (the secret after a key name) when the pattern has one."""
    if "s" not in m.re.groupindex:
        return placeholder(kind, m.group(0))
    start, end = m.start("s") - m.start(), m.end("s") - m.start()
    return m.group(0)[:start] + placeholder(kind, m.group("s")) + m.group(0)[end:]


def redact_text(text: str) -> str:
    """Replace PEM blocks, token shapes and URL passwords inside free text."""
    for kind, pattern in _TOKEN_SHAPES:
        text = pattern.sub(lambda m, k=kind: _replace(m, k), text)
    return _URL_PASSWORD.sub(
        lambda m: m.group("head") + (m.group("password") if _ENV_REFERENCE.fullmatch(m.group("password"))
                                     else placeholder("url-password", m.group("password"))),
        text,
    )


def _secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not _NOT_A_VALUE.search(key)


def _literal(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip() != "" \
        and not _ENV_REFERENCE.fullmatch(str(value)) and not str(value).startswith("<redacted:")


def _redact_mapping(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("kind") == "Secret":
        data = {**data, **{k: {key: placeholder("secret-data", str(v)) for key, v in data[k].items()}
                           for k in ("data", "stringData") if isinstance(data.get(k), dict)}}
    env_name = data.get("name")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "value" and isinstance(env_name, str) and _secret_key(env_name) and _literal(value):
            out[key] = placeholder("env", str(value))
        elif isinstance(key, str) and _secret_key(key) and _literal(value):
            out[key] = placeholder("value", str(value))
        else:
            out[key] = redact(value)
    return out


def redact(value: Any) -> Any:
    """Redact a JSON-able value recursively (dicts, lists, strings); other scalars pass through."""
    if isinstance(value, dict):
        return _redact_mapping(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
