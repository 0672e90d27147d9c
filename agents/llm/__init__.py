"""Providers of agent opinions. ``make_provider`` picks one from config and the environment.

Model-backed providers are imported lazily, so offline runs (and ``check``-style commands) never import an SDK.
"""

from __future__ import annotations

import os

from agents.llm.base import OfflineProvider, Provider
from core.config import Config
from core.errors import ConfigError

_HAS_ANTHROPIC = True  # the Claude-backed provider ships (agents.llm.anthropic)


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
        from agents.llm.anthropic import AnthropicProvider

        return AnthropicProvider(config.provider)
    if name == "openai":
        from agents.llm.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(config.provider)
    raise ConfigError(f"provider '{name}' is not available in this build; use provider.name: offline")
