"""Run-time data shipped outside the packages: the eval suite and the JSON schemas.

An installed wheel carries them under ``infra_orchestrator/_bundled/`` (``[tool.hatch.build.targets.wheel.
force-include]`` in pyproject.toml); a source checkout has them at ``evals/`` and ``docs/``. Each function
answers the installed copy first, then the checkout's, and None when neither exists.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_bundled"
_CHECKOUT = _PACKAGE.parent


def _first(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.exists()), None)


def evals_dir() -> Path | None:
    """The directory holding ``scenarios/`` and ``fixtures/`` of the bundled eval suite."""
    return _first(_BUNDLED / "evals", _CHECKOUT / "evals")


def scenarios_dir() -> Path | None:
    """The bundled scenarios (what ``eval`` runs when given no directory and ``./evals/scenarios`` is absent)."""
    root = evals_dir()
    return root / "scenarios" if root and (root / "scenarios").is_dir() else None


def schema_file(name: str) -> Path | None:
    """``decision.schema.json``, ``config.schema.json`` or ``scenario.schema.json``."""
    if name == "scenario.schema.json":
        root = evals_dir()
        return root / name if root and (root / name).is_file() else None
    return _first(_BUNDLED / "schemas" / name, _CHECKOUT / "docs" / name)
