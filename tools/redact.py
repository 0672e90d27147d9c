"""Redaction of secret material before anything is sent to a model.

Every value a provider sends goes through :func:`redact`; every string in it goes through :func:`redact_text`.
Secret material becomes a stable placeholder ``<redacted:KIND:SHA8>`` — the same secret always hashes to the
same SHA8, so a model can still tell two values apart without seeing either. What is redacted:

* objects: Secret ``data``/``stringData``; ConfigMap ``data`` entries whose key looks secret or whose content
  the engine's own ``SEC-SECRET-IN-CONFIGMAP`` detection still flags after text redaction, and every
  ``binaryData`` value; copies of whole manifests (``kubectl.kubernetes.io/last-applied-configuration``);
* keys: the literal value of a secret-looking key (env var ``name``/``value`` pairs included: ``*_PASSWORD``,
  ``*_PW``, ``*_PWD``, ``*_PASS``, ``*_PASSPHRASE``, ``*_TOKEN``, ``*_APIKEY``, ``*_CREDS``, ``*_AUTH``, Docker's
  ``auths.*.auth`` and ``.dockerconfigjson``), every literal inside a list or mapping under such a key
  (``passwords: [...]``), and the argument after a secret-looking flag (``["--db-password", "..."]``). A key ending
  in ``name``/``ref``/``file``/``path`` keeps its value only when that value is clearly a pointer (an absolute
  path, or a plain name without secret entropy);
* text: PEM blocks, token shapes (AWS, GitHub, GitLab, Slack, Anthropic/OpenAI, Stripe, Google, npm, Hugging Face,
  PyPI, SendGrid, Telegram keys, JWTs, bearer tokens), webhook URLs (Slack, Discord, Teams) and signed or keyed
  query strings (``?token=``, ``&sig=``, ``?key=``, ``X-Amz-Signature=``), ``scheme://user:password@`` (the user
  possibly empty), passwords on command lines (``mysql -pX``, ``curl -u user:X``, ``sshpass -p X``), assignments
  ``password=...`` / ``"token": "..."`` / ``--api-key ...`` and statements ("the password is X") anywhere in a
  string, base64 runs whose decoded text holds a secret (a ``.dockerconfigjson``), and whatever the engine's
  credential patterns (:mod:`tools.checks.secrets`) still match; in prose (the intent, the supervisor's focus,
  annotations) also the word after a secret word (``rotate db password hunter4``).

The patterns live in :mod:`tools.redact_patterns`; the corpus of forms is ``tests/redaction_corpus.py``.
Only ``$(VAR)`` — the one form Kubernetes expands — counts as a reference; ``$VAR`` and ``${VAR}`` are values.
When unsure, redact: over-redaction costs the model some context, a leak costs a rotation. Pure: no I/O, no
provider imports.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from tools.checks.secrets import CREDENTIAL_CONTENT, ENV_REFERENCE, configmap_secret, literal_secret
from tools.redact_patterns import (
    ASSIGNMENTS,
    BASE64_MAX,
    BASE64_RUN,
    KEYWORD,
    PROSE,
    STOPWORDS,
    TOKEN_SHAPES,
    URL_PASSWORD,
)

SECRET_KEY = re.compile(KEYWORD, re.IGNORECASE)
"""Names of keys (env vars, data entries, flags) whose literal values are treated as secrets."""
_POINTER_KEY = re.compile(r"(name|ref|file|path)[\"']?$", re.IGNORECASE)
"""``secretName``, ``secretKeyRef``, ``TOKEN_FILE`` may point at a secret — if their value is a pointer."""
_ABSOLUTE_PATH = re.compile(r"/[\w.@+/-]*")
_PLAIN_NAME = re.compile(r"(?:[a-z]+|[A-Z]+|[0-9]+)(?:[-._](?:[a-z]+|[A-Z]+|[0-9]+))*")
"""A name without secret entropy: words of one case, or digits, joined by ``-._`` (``db-creds``, ``DB_PASS``)."""
_MANIFEST_COPY = re.compile(r"last-applied-configuration$|^kapp\.k14s\.io/original$")
"""Annotations holding a whole copy of an object (a Secret's data included): replaced wholesale."""
PROSE_KEYS = frozenset({"intent", "focus", "annotations"})
"""Free text written by people (or the supervisor): also redact the word after a secret word."""

_PLACEHOLDER = re.compile(r"(<redacted:[a-z0-9-]+:[0-9a-f]{8}>)")
_EMBEDDED_SECRET = re.compile(r"""["']?kind["']?\s*[:=]\s*["']?Secret\b(?!["']?\w)""")
"""A Secret manifest inside a string (YAML or JSON): its data keys need not look secret, so it goes whole."""
_URLSAFE = str.maketrans("-_", "+/")
_CONTENT_SHAPES = tuple(p for label, p in CREDENTIAL_CONTENT.items() if "assignment" not in label)
"""The engine's credential shapes, checked again after redaction. Its assignment pattern (a superset of ours
but for pointers, and quadratic on long runs of word characters) is left to ConfigMap data, as in the engine."""
_SECRET_FLAG = re.compile(r"--?[A-Za-z][\w.-]*")


def placeholder(kind: str, value: str) -> str:
    """The stable placeholder of ``value``: ``<redacted:KIND:SHA8>``."""
    return f"<redacted:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:8]}>"


def _outside_placeholders(text: str, fn) -> str:
    """Apply ``fn`` to the parts of ``text`` that are not placeholders already (never redact a placeholder)."""
    parts = _PLACEHOLDER.split(text)
    return "".join(part if i % 2 else fn(part) for i, part in enumerate(parts))


def _neutral(text: str) -> str:
    """``text`` with each placeholder as ``$(REDACTED)``, which the engine's checks treat as a reference."""
    return _PLACEHOLDER.sub("$(REDACTED)", text)


def _secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key))


def _pointer(key: str, value: str) -> bool:
    """True when ``value`` of the pointer-named ``key`` (``*File``, ``*Path``, ``*Name``, ``*Ref``) is clearly a
    pointer: an absolute path or a plain name. Any other value under such a name is a value."""
    return bool(_POINTER_KEY.search(key)) and bool(_ABSOLUTE_PATH.fullmatch(value) or _PLAIN_NAME.fullmatch(value))


def _reference(value: str) -> bool:
    """``$(VAR)`` (expanded by Kubernetes) or a placeholder; ``$VAR`` and ``${VAR}`` are literal values."""
    return bool(ENV_REFERENCE.fullmatch(value) or _PLACEHOLDER.fullmatch(value))


def _literal(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip() != "" \
        and not _reference(str(value))


def _keeps(key: str, value: str) -> bool:
    """True when the literal ``value`` of the secret-looking ``key`` may stay in clear."""
    return not value.strip() or _reference(value) or _pointer(key, value)


def _assignment(m: re.Match[str], kind: str) -> str:
    """Replace the value of a ``key=value`` match (only the value: the key stays, for context)."""
    group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
    value = m.group(group)
    if _keeps(m.group("key").lstrip("-"), value) or (kind == "prose" and value.lower().strip(",.;:!?)") in STOPWORDS):
        return m.group(0)
    start, end = m.start(group) - m.start(), m.end(group) - m.start()
    return m.group(0)[:start] + placeholder(kind, value) + m.group(0)[end:]


def _shape(m: re.Match[str], kind: str) -> str:
    """Replace the match, or only its ``s`` group (the secret after a key name) when the pattern has one."""
    if "s" not in m.re.groupindex:
        return placeholder(kind, m.group(0))
    if _reference(m.group("s")):
        return m.group(0)
    start, end = m.start("s") - m.start(), m.end("s") - m.start()
    return m.group(0)[:start] + placeholder(kind, m.group("s")) + m.group(0)[end:]


def _base64_text(blob: str) -> str | None:
    """The text a base64 or base64url ``blob`` encodes, or None when it is not printable UTF-8."""
    body = blob.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(body.translate(_URLSAFE) + "=" * (-len(body) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if all(c.isprintable() or c in "\n\r\t" for c in text) else None


def _encoded(m: re.Match[str]) -> str:
    """A base64 run, replaced whole when what it encodes holds a secret (``.dockerconfigjson``, ``user:pw``)."""
    blob = m.group(0)
    if len(blob) > BASE64_MAX:
        return placeholder("encoded-blob", blob)
    text = _base64_text(blob)
    if text is None or not (_EMBEDDED_SECRET.search(text) or _redact_plain(text, prose=True) != text
                            or any(pattern.search(text) for pattern in _CONTENT_SHAPES)):
        return blob
    return placeholder("encoded-secret", blob)


def _redact_plain(text: str, *, prose: bool) -> str:
    """Token shapes, URL passwords and assignments (and with ``prose`` the word after a secret word)."""
    out = text
    for kind, pattern in TOKEN_SHAPES:
        out = _outside_placeholders(out, lambda t, p=pattern, k=kind: p.sub(lambda m: _shape(m, k), t))
    out = _outside_placeholders(out, lambda t: URL_PASSWORD.sub(
        lambda m: m.group("head") + (m.group("password") if _reference(m.group("password"))
                                     else placeholder("url-password", m.group("password"))), t))
    for kind, pattern in ASSIGNMENTS + ((("prose", PROSE),) if prose else ()):
        out = _outside_placeholders(out, lambda t, p=pattern, k=kind: p.sub(lambda m: _assignment(m, k), t))
    return out


def redact_text(text: str, *, prose: bool = False) -> str:
    """Redact secrets inside free text: PEM blocks, token shapes (webhook URLs and signed query strings included),
    URL passwords, ``key=value`` assignments, flag arguments of secret-looking keys and statements such as "the
    password is X"; base64 runs whose decoded text holds a secret; with ``prose``, also the word after a secret
    word. A string that embeds a Secret manifest, or that the engine's credential patterns still match
    afterwards, goes whole."""
    if _EMBEDDED_SECRET.search(text):
        return placeholder("embedded-secret", text)
    out = _redact_plain(text, prose=prose)
    out = _outside_placeholders(out, lambda t: BASE64_RUN.sub(_encoded, t))
    if any(pattern.search(_neutral(out)) for pattern in _CONTENT_SHAPES):
        return placeholder("credential", text)  # the engine would still flag it: defence in depth
    return out


def _configmap_entry(key: str, value: Any) -> Any:
    """A ConfigMap ``data`` value: whole when its key looks secret or the engine still flags what is left."""
    if not _literal(value):
        return _redact(value, False, False)
    text = str(value)
    if _secret_key(key) and not _keeps(key, text):
        return placeholder("configmap", text)
    out = redact_text(text)
    if configmap_secret(key, _neutral(out)):
        return placeholder("configmap", text)
    return out


def _redact_mapping(data: dict[str, Any], in_secret: bool, prose: bool) -> dict[str, Any]:
    kind = data.get("kind")
    secret_kind = isinstance(kind, str) and "secret" in kind.lower()
    pair_name = data.get("name", data.get("key"))
    pair_name = pair_name if isinstance(pair_name, str) else None
    out: dict[str, Any] = {}
    for key, value in data.items():
        skey = key if isinstance(key, str) else ""
        new_key = redact_text(key) if isinstance(key, str) else key
        if secret_kind and skey in ("data", "stringData", "encryptedData") and value is not None:
            out[new_key] = ({redact_text(str(k)): placeholder("secret-data", str(v)) for k, v in value.items()}
                            if isinstance(value, dict) else placeholder("secret-data", str(value)))
        elif kind == "ConfigMap" and skey == "binaryData" and isinstance(value, dict):
            out[new_key] = {redact_text(str(k)): placeholder("configmap", str(v)) for k, v in value.items()}
        elif kind == "ConfigMap" and skey == "data" and isinstance(value, dict):
            out[new_key] = {redact_text(str(k)): _configmap_entry(str(k), v) for k, v in value.items()}
        elif _MANIFEST_COPY.search(skey) and value is not None:
            out[new_key] = placeholder("manifest-copy", str(value))
        elif skey == "value" and pair_name is not None and _secret_key(pair_name) and _literal(value) \
                and not _keeps(pair_name, str(value)):
            out[new_key] = placeholder("env", str(value))
        elif skey and _secret_key(skey) and not (_literal(value) and _keeps(skey, str(value))):
            out[new_key] = placeholder("value", str(value)) if _literal(value) else _redact(value, True, prose)
        elif in_secret and _literal(value) and not _pointer(skey, str(value)):
            out[new_key] = placeholder("value", str(value))
        else:
            out[new_key] = _redact(value, in_secret, prose or skey in PROSE_KEYS)
    value = out.get("value")
    if pair_name is not None and isinstance(value, str) and literal_secret(pair_name, _neutral(value)):
        out["value"] = placeholder("env", str(data["value"]))  # the engine's SEC-SECRET-ENV-LITERAL still fires
    return out


def _redact_list(items: list[Any], in_secret: bool, prose: bool) -> list[Any]:
    out: list[Any] = []
    flag: str | None = None  # the previous item, when it is a secret-looking flag: ["--db-password", "x"]
    for item in items:
        if (in_secret or flag) and _literal(item) and not (flag and _keeps(flag.lstrip("-"), str(item))):
            out.append(placeholder("value" if in_secret else "flag", str(item)))
        else:
            out.append(_redact(item, in_secret, prose))
        flag = item if isinstance(item, str) and _SECRET_FLAG.fullmatch(item) and _secret_key(item) else None
    return out


def _redact(value: Any, in_secret: bool, prose: bool) -> Any:
    if isinstance(value, dict):
        return _redact_mapping(value, in_secret, prose)
    if isinstance(value, list):
        return _redact_list(value, in_secret, prose)
    if isinstance(value, str):
        return redact_text(value, prose=prose)
    return value


def redact(value: Any) -> Any:
    """Redact a JSON-able value recursively (dicts, lists, strings); other scalars pass through."""
    return _redact(value, False, False)
