"""Versions recorded in every decision's metadata."""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata

from core import __version__

_PACKAGES = ("langgraph", "anthropic", "pydantic", "kubernetes-validate", "mcp")


@cache
def versions() -> dict[str, str]:
    out = {"infra-orchestrator": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
