"""Credentials follow the operator: where a model provider sends requests, and with which key.

The environment is the operator's; the repository configuration (``provider.*`` in ``.infra-orchestrator.yaml``)
is the reviewed change's. So:

* **Provider name**: ``INFRA_ORCH_PROVIDER`` beats ``provider.name`` (``auto`` = anthropic when
  ``ANTHROPIC_API_KEY`` is set, else offline).
* **Base URL**: ``ANTHROPIC_BASE_URL`` / ``OPENAI_BASE_URL`` beat ``provider.base_url``. A base URL from the
  repository is used only when the operator approved it: the vendor's official host, or one listed in
  ``INFRA_ORCH_ALLOWED_BASE_URLS`` (comma or space separated). Any other is a :class:`ConfigError`, before a
  single request. An operator config file (``--config`` outside the repository) is the operator's: its base
  URL is trusted.
* **Key**: from the environment only (``ANTHROPIC_API_KEY``, ``OPENAI_API_KEY``), and only to a base URL the
  operator chose or approved. The OpenAI-compatible default (a local Ollama) gets no key unless the operator
  names it in ``OPENAI_BASE_URL`` or the allowed list.

No key is ever sent to a host the repository alone chose.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import ProviderConfig
from core.errors import ConfigError

PROVIDER_ENV = "INFRA_ORCH_PROVIDER"
ALLOWED_ENV = "INFRA_ORCH_ALLOWED_BASE_URLS"
NAMES = ("auto", "offline", "anthropic", "openai")
OFFICIAL = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}
"""The vendors' own endpoints: approved without being listed."""
DEFAULT = {"anthropic": "https://api.anthropic.com", "openai": "http://localhost:11434/v1"}
BASE_URL_ENV = {"anthropic": "ANTHROPIC_BASE_URL", "openai": "OPENAI_BASE_URL"}
KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


@dataclass(frozen=True)
class Endpoint:
    """Where one provider talks to, with which key, and who chose the URL."""

    provider: str
    base_url: str
    api_key: str | None
    chosen_by: str
    """``ANTHROPIC_BASE_URL`` (the variable), ``operator config``, ``provider.base_url (approved)``, ``default``,
    or what a caller named in :func:`operator_endpoint`."""

    def __repr__(self) -> str:  # never print a key
        key = "set" if self.api_key else "none"
        return f"Endpoint({self.provider}, {self.base_url}, key={key}, chosen by {self.chosen_by})"


def normalize_url(url: str) -> str:
    """``scheme://host[:port]/path`` lower-cased scheme and host, default port and trailing slash dropped."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port and (scheme, port) not in (("https", 443), ("http", 80)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def allowed_urls(name: str, env: Mapping[str, str]) -> set[str]:
    """The base URLs a repository may choose for provider ``name``: the official one plus the operator's list."""
    listed = [u for u in re.split(r"[\s,]+", env.get(ALLOWED_ENV, "")) if u]
    return {normalize_url(u) for u in [OFFICIAL[name], *listed]}


def provider_name(config: ProviderConfig, env: Mapping[str, str] | None = None) -> str:
    """The provider to build: ``INFRA_ORCH_PROVIDER`` if set, else ``provider.name``; ``auto`` resolved."""
    env = os.environ if env is None else env
    name = (env.get(PROVIDER_ENV) or "").strip().lower() or config.name
    if name not in NAMES:
        raise ConfigError(f"{PROVIDER_ENV}={name!r}: unknown provider; use one of {', '.join(NAMES)}")
    if name == "auto":
        return "anthropic" if env.get(KEY_ENV["anthropic"]) else "offline"
    return name


def resolve_endpoint(config: ProviderConfig, name: str, env: Mapping[str, str] | None = None, *,
                     config_trusted: bool = False) -> Endpoint:
    """The endpoint of provider ``name`` (``anthropic`` or ``openai``) under the rules of the module text.

    ``config_trusted``: ``config`` is the operator's own (an operator config file), not the repository's."""
    env = os.environ if env is None else env
    key = env.get(KEY_ENV[name]) or None
    from_env = (env.get(BASE_URL_ENV[name]) or "").strip()
    if from_env:
        return Endpoint(name, from_env, key, BASE_URL_ENV[name])
    if config.base_url:
        if config_trusted:
            return Endpoint(name, config.base_url, key, "operator config")
        if normalize_url(config.base_url) in allowed_urls(name, env):
            return Endpoint(name, config.base_url, key, "provider.base_url (approved)")
        raise ConfigError(
            f"provider.base_url {config.base_url!r} comes from the repository configuration and is not an "
            f"operator-approved base URL, so no request (and no key) goes there. Set {BASE_URL_ENV[name]} to "
            f"choose the endpoint, or add it to {ALLOWED_ENV}")
    approved = normalize_url(DEFAULT[name]) in allowed_urls(name, env)
    return Endpoint(name, DEFAULT[name], key if approved else None, "default")


def operator_endpoint(name: str, base_url: str, chosen_by: str, env: Mapping[str, str] | None = None) -> Endpoint:
    """An endpoint that the calling code chose itself (a replay server, a benchmark's fake), with the
    operator's key from the environment."""
    env = os.environ if env is None else env
    return Endpoint(name, base_url, env.get(KEY_ENV[name]) or None, chosen_by)
