"""Providers of agent opinions. ``make_provider`` picks one from config and the environment.

Model-backed providers are imported lazily, so offline runs (and ``check``-style commands) never import an SDK.
"""

from __future__ import annotations

import os

from infra_orchestrator.config import Config
from infra_orchestrator.errors import ConfigError
from infra_orchestrator.providers.base import OfflineProvider, Provider

_HAS_ANTHROPIC = True  # the Claude-backed provider ships (infra_orchestrator.providers.anthropic)


def resolve_provider_name(config: Config) -> str:
    """``auto`` means anthropic when ``ANTHROPIC_API_KEY`` is set, else offline."""
    name = config.provider.name
    if name == "auto":
        return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") and _HAS_ANTHROPIC else "offline"
    return name


def make_provider(config: Config) -> Provider:
    """The provider named by ``config.provider.name`` (``auto`` resolved from the environment)."""
    name = resolve_provider_name(config)
    if name == "offline":
        return OfflineProvider()
    if name == "anthropic":
        from infra_orchestrator.providers.anthropic import AnthropicProvider

        return AnthropicProvider(config.provider)
    if name == "openai":
        from infra_orchestrator.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(config.provider)
    raise ConfigError(f"provider '{name}' is not available in this build; use provider.name: offline")
