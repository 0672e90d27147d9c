"""YAML nesting limits: refuse a document nested deeper than :data:`MAX_DEPTH` before anything recursive runs.

libyaml's composer and the constructors recurse once per nesting level; a document nested 20,000 levels
deep crashes the interpreter (a segfault, not an exception), so no ``except`` can save a caller. The check
here never recurses:

1. a cheap upper bound from the text (indentation, leading ``- ``/``? `` indicators, flow brackets);
2. only when that bound passes the limit, libyaml's *event* parser (a state machine with explicit stacks)
   counts the real depth and stops at the first level past the limit.

Every YAML read of the product (manifests, values, the config, the hook's fast path) calls
:func:`check_depth` first, or :func:`load` which does.
"""

from __future__ import annotations

from typing import Any

import yaml

from core.errors import InputError

MAX_DEPTH = 200
"""Collection nesting levels a document may have. Real manifests (CRD schemas included) stay under ~40."""

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlTooDeep(InputError):
    """The text nests collections deeper than :data:`MAX_DEPTH`."""


def _upper_bound(text: str) -> int:
    """An over-estimate of the nesting depth: never below the real depth, exact enough to skip the event scan."""
    max_indent = max_dashes = 0
    flow = max_flow = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        dashes = 0
        while stripped[:2] in ("- ", "? ", "-\t") or stripped in ("-", "?"):
            dashes += 1
            stripped = stripped[2:].lstrip(" \t")
        max_indent = max(max_indent, indent)
        max_dashes = max(max_dashes, dashes)
        if "[" in line or "{" in line or flow:
            for ch in line:
                if ch in "[{":
                    flow += 1
                    max_flow = max(max_flow, flow)
                elif ch in "]}" and flow:
                    flow -= 1
    # a block level costs at least one column every two levels (a sequence may sit at its key's column)
    return 2 * (max_indent + max_dashes + 1) + max_flow


def depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether any document of ``text`` nests collections deeper than ``limit`` (syntax errors: no)."""
    if _upper_bound(text) <= limit:
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False  # the loader reports the syntax error itself, with its mark
    return False


def check_depth(text: str, what: str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`YamlTooDeep` naming ``what`` when ``text`` nests deeper than ``limit``."""
    if depth_exceeds(text, limit):
        raise YamlTooDeep(f"{what}: YAML nested deeper than {limit} levels; refused before parsing")


def load(text: str, what: str) -> Any:
    """``yaml.load`` with the safe C loader, after :func:`check_depth`."""
    check_depth(text, what)
    return yaml.load(text, Loader=LOADER)
