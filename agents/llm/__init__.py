"""Providers of agent opinions. ``make_provider`` picks one from config and the environment.

Model-backed providers are imported lazily, so offline runs (and ``check``-style commands) never import an SDK.
Credentials follow the operator (:mod:`agents.llm.credentials`): the environment beats the repository's config for
the provider, the base URL and the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from agents.llm.base import OfflineProvider, Provider
from agents.llm.credentials import provider_name, resolve_endpoint
from core.config import Config
from core.errors import ConfigError


def resolve_provider_name(config: Config, env: Mapping[str, str] | None = None) -> str:
    """``INFRA_ORCH_PROVIDER``, else ``provider.name``; ``auto`` means anthropic when ``ANTHROPIC_API_KEY`` is set."""
    return provider_name(config.provider, env)


def make_provider(config: Config, env: Mapping[str, str] | None = None, *, config_trusted: bool = False) -> Provider:
    """The provider to use, its endpoint and key resolved from the operator's environment.

    ``config_trusted``: ``config`` is an operator file (``--config`` outside the repository), so its
    ``provider.base_url`` needs no approval. A repository's config never is."""
    env = os.environ if env is None else env
    name = resolve_provider_name(config, env)
    if name == "offline":
        return OfflineProvider()
    if name == "anthropic":
        from agents.llm.anthropic import AnthropicProvider

        return AnthropicProvider(config.provider, endpoint=resolve_endpoint(config.provider, name, env,
                                                                            config_trusted=config_trusted))
    if name == "openai":
        from agents.llm.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(config.provider, endpoint=resolve_endpoint(config.provider, name, env,
                                                                               config_trusted=config_trusted))
    raise ConfigError(f"provider '{name}' is not available in this build; use provider.name: offline")
