"""The one normaliser of the ``phase3`` globs, shared by the config model and the hook's fast path.

Pure and pydantic-free: :class:`core.config.Phase3Config` validates its lists with :func:`normalize_globs`,
and the Claude Code hook, which must not import pydantic, reads the same block with :func:`phase3_globs`.
So a glob means the same thing to ``review`` and to ``guard hook`` (``./backend/**`` is ``backend/**`` for
both).
"""

from __future__ import annotations

from typing import Any

PHASE3_KEYS = ("protected", "needs_approval", "allowed", "app_roots")
"""The keys of the ``phase3`` block, in config order; any other key is an error (as in the config model)."""


def normalize_glob(glob: str) -> str:
    """``glob`` as a workspace-relative posix pattern; :class:`ValueError` for a form that would silently match
    nothing (empty, surrounding whitespace, ``\\``, a ``..`` component). Leading ``./`` are dropped."""
    if glob != glob.strip() or not glob:
        raise ValueError(f"glob {glob!r} is empty or has surrounding whitespace")
    if "\\" in glob:
        raise ValueError(f"glob {glob!r} uses '\\': write paths with '/'")
    parts = glob.lstrip("!/").split("/")
    if ".." in parts:
        raise ValueError(f"glob {glob!r} leaves the workspace ('..')")
    while glob.startswith("./"):
        glob = glob[2:]
    return glob


def normalize_globs(globs: list[str]) -> list[str]:
    """Every glob of ``globs`` through :func:`normalize_glob`."""
    return [normalize_glob(g) for g in globs]


def phase3_globs(block: Any) -> dict[str, list[str]]:
    """The normalised lists of a raw ``phase3`` mapping (None means an empty block).

    :class:`ValueError` naming the key when the block is not a mapping, has an unknown key, a list is not a
    list of strings, or a glob is malformed: the same inputs the config model refuses.
    """
    if block is None:
        block = {}
    if not isinstance(block, dict):
        raise ValueError(f"phase3 must be a mapping, got {type(block).__name__}")
    unknown = sorted(str(k) for k in block if k not in PHASE3_KEYS)
    if unknown:
        raise ValueError(f"phase3.{unknown[0]}: unknown key (expected {', '.join(PHASE3_KEYS)})")
    out: dict[str, list[str]] = {}
    for key in PHASE3_KEYS:
        value = block.get(key)
        value = [] if value is None else value
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise ValueError(f"phase3.{key}: globs must be lists of strings")
        try:
            out[key] = normalize_globs(value)
        except ValueError as exc:
            raise ValueError(f"phase3.{key}: {exc}") from None
    return out
