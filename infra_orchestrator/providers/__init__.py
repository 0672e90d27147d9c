"""Providers of agent opinions. ``make_provider`` picks one from config and the environment."""

from __future__ import annotations

import os

from infra_orchestrator.config import Config
from infra_orchestrator.errors import ConfigError
from infra_orchestrator.providers.base import OfflineProvider, Provider

_HAS_ANTHROPIC = False  # set when the Claude-backed provider ships


def resolve_provider_name(config: Config) -> str:
    """``auto`` means anthropic when ``ANTHROPIC_API_KEY`` is set, else offline."""
    name = config.provider.name
    if name == "auto":
        return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") and _HAS_ANTHROPIC else "offline"
    return name


def make_provider(config: Config) -> Provider:
    name = resolve_provider_name(config)
    if name == "offline":
        return OfflineProvider()
    raise ConfigError(f"provider '{name}' is not available in this build; use provider.name: offline")
