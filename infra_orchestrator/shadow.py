"""Start-up check: the top-level packages installed with infra-orchestrator are its own.

The wheel installs ``core``, ``prompts``, ``tools``, ``agents`` and ``graph`` beside ``infra_orchestrator``.
Another distribution in the same environment may ship a package of the same name (``openai-agents`` ships
``agents``): installed later, it overwrites our ``__init__.py``; found earlier on ``sys.path``, it wins the
import. Either way the tool would run someone else's code or fail deep inside an import. This check finds each
package without importing it (``importlib.util.find_spec`` of a top-level name imports nothing) and requires
that it sits beside ``infra_orchestrator`` and that its ``__init__.py`` carries :data:`MARKER`. It costs five
spec look-ups and five small reads, and runs before anything else (the guard hook included: exit 2 blocks).
"""

from __future__ import annotations

import importlib.util
import os
import sys

PACKAGES = ("core", "prompts", "tools", "agents", "graph")
MARKER = '__distribution__ = "infra-orchestrator"'
"""The line every package of :data:`PACKAGES` has in its ``__init__.py``."""
KNOWN_OWNERS = {"agents": "openai-agents"}
"""Distributions known to ship a top-level package of the same name (named in the message)."""
INSTALL_HINT = ("uv tool install git+https://github.com/infra-orchestrator/infra-orchestrator  "
                "(or: pipx install <the same URL or a local checkout>)")
EXIT_SHADOWED = 2


def _home() -> str:
    """The directory holding ``infra_orchestrator`` (site-packages, or the source checkout)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def problem(name: str, home: str | None = None) -> str | None:
    """Why the top-level package ``name`` is not infra-orchestrator's own, or None when it is."""
    home = home or _home()
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        return f"cannot be looked up ({type(exc).__name__}: {exc})"
    if spec is None:
        return "is not installed (a broken installation)"
    if spec.origin is None or not spec.origin.endswith("__init__.py"):
        where = ", ".join(spec.submodule_search_locations or []) or spec.origin or "?"
        return f"resolves to {where}, which is not a regular package (expected {os.path.join(home, name)})"
    origin = os.path.realpath(spec.origin)
    if os.path.dirname(os.path.dirname(origin)) != home:
        return f"resolves to {origin}, not to the copy installed beside infra_orchestrator in {home}"
    try:
        with open(origin, encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError as exc:
        return f"cannot be read at {origin} ({exc.strerror or exc})"
    if MARKER not in text:
        return f"resolves to {origin}, which another distribution has overwritten (infra-orchestrator's marker is gone)"
    return None


def message(name: str, why: str) -> str:
    owner = KNOWN_OWNERS.get(name)
    other = f" ({owner} ships one)" if owner else ""
    return (f"error: infra-orchestrator cannot start: its top-level package '{name}' {why}.\n"
            f"  Another distribution in this Python environment installs a package named '{name}'{other}.\n"
            f"  Install infra-orchestrator in an environment of its own: {INSTALL_HINT}\n")


def exit_if_shadowed() -> None:
    """Exit 2 with a message naming the package and the isolated install when one of ours is not ours."""
    home = _home()
    for name in PACKAGES:
        why = problem(name, home)
        if why:
            sys.stderr.write(message(name, why))
            raise SystemExit(EXIT_SHADOWED)
