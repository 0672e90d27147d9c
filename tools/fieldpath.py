"""Field paths inside a Kubernetes object, and where each field sits in its source file.

A path names a field from the object's root: ``spec.template.spec.containers[1].image``. Sequence items are
``[index]``; a key that is not a plain name (letters, digits, ``_``, ``-``) is quoted in brackets:
``metadata.annotations["prometheus.io/port"]``. The root itself is ``""``.

While a document is loaded, :func:`record` walks its composed YAML nodes and keeps, for every mapping key and
sequence item, its 1-based ``(line, column)``: the start of the key (``image:``), or of the item (for a block
mapping in a sequence, its first key: the line of ``- name:``). The map is small and JSON-able (path ->
two integers), so it survives graph checkpoints with the object. :func:`locate` resolves a path to the field,
or, for a field that does not exist, to its closest existing parent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.models import FieldMarks

Marks = Mapping[str, tuple[int, int]]

MAX_MARKS = 20_000
"""Fields recorded per object (a huge CRD schema stops there; a lookup below uses a recorded parent)."""
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LAST = re.compile(r'(\[\d+\]|\["(?:[^"\\]|\\.)*"\]|\.?[A-Za-z_][A-Za-z0-9_-]*)$')


def key(prefix: str, name: object) -> str:
    """The path of the mapping entry ``name`` under ``prefix``."""
    text = str(name)
    if _PLAIN.match(text):
        return f"{prefix}.{text}" if prefix else text
    return f"{prefix}[{json.dumps(text)}]"


def item(prefix: str, index: int) -> str:
    """The path of item ``index`` of the sequence at ``prefix``."""
    return f"{prefix}[{index}]"


def join(prefix: str, relative: str) -> str:
    """``relative`` (a path written from ``prefix``, e.g. ``securityContext.privileged`` or ``[0]``) under
    ``prefix``."""
    if not relative:
        return prefix
    if not prefix or relative.startswith("["):
        return f"{prefix}{relative}"
    return f"{prefix}.{relative}"


_SEGMENT = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def segments(path: str) -> list[str | int]:
    """The keys (str) and indices (int) of ``path``: ``a.b[0]["x.y"]`` -> ``["a", "b", 0, "x.y"]``."""
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        if match is None:
            raise ValueError(f"not a field path: {path!r}")
        name, index, quoted = match.groups()
        out.append(name if name is not None else int(index) if index is not None else json.loads(quoted))
        pos = match.end()
    return out


def build(parts: list[str | int], prefix: str = "") -> str:
    """The path of ``parts`` (keys and indices) under ``prefix``; the inverse of :func:`segments`."""
    for part in parts:
        prefix = item(prefix, part) if isinstance(part, int) else key(prefix, part)
    return prefix


def parent(path: str) -> str | None:
    """The path one level up (``""`` for a top-level field); None for the root."""
    if not path:
        return None
    match = _LAST.search(path)
    return path[: match.start()] if match else ""


_SHARED_PATHS: dict[str, str] = {}
_SHARED_MARKS: dict[tuple[int, int], tuple[int, int]] = {}
_SEGMENTS: dict[str, str] = {}
_SHARED_LIMIT = 1 << 18
"""Paths and positions are shared across all loaded objects (the same fields recur in every manifest), so a
map costs little more than its dict entries; past the limit a table starts afresh."""


def _segment(name: str) -> str:
    """``.name`` or ``["na.me"]``: how a key extends a path (cached: manifests use few distinct key names)."""
    if len(_SEGMENTS) >= _SHARED_LIMIT:
        _SEGMENTS.clear()
    found = _SEGMENTS[name] = f".{name}" if _PLAIN.match(name) else f"[{json.dumps(name)}]"
    return found


def _share(table: dict, value):  # type: ignore[no-untyped-def]
    if len(table) >= _SHARED_LIMIT:
        table.clear()
    table[value] = value
    return value


def record(node: Node, line_offset: int = 0, limit: int = MAX_MARKS) -> dict[str, tuple[int, int]]:
    """The 1-based ``(line, column)`` of the root and of every key and sequence item below ``node``.

    ``line_offset`` is the number of source lines before the text the node was composed from. Keys brought in
    by a merge (``<<: *base``) count where the anchor defines them, unless the mapping sets them itself. A
    parent's path is always entered before its children's. Past ``limit`` fields the rest is not recorded.
    """
    base = line_offset + 1
    marks = {"": (base + node.start_mark.line, node.start_mark.column + 1)}
    stack: list[tuple[Node, str, bool]] = [(node, "", False)]
    pop, push = stack.pop, stack.append
    paths, positions, segments = _SHARED_PATHS, _SHARED_MARKS, _SEGMENTS
    while stack and len(marks) < limit:  # hot loop: one pass per node of every loaded object
        current, prefix, merged = pop()
        if type(current) is MappingNode:
            for k, v in current.value:
                if type(k) is not ScalarNode:
                    continue
                if k.tag == _MERGE_TAG:
                    for source in (v.value if type(v) is SequenceNode else [v]):
                        if type(source) is MappingNode:
                            push((source, prefix, True))
                    continue
                segment = segments.get(k.value) or _segment(k.value)
                path = prefix + segment if prefix or segment[0] == "[" else k.value
                path = paths.get(path) or _share(paths, path)
                position = (base + k.start_mark.line, k.start_mark.column + 1)
                position = positions.get(position) or _share(positions, position)
                if not merged or path not in marks:
                    marks[path] = position
                if type(v) is not ScalarNode:
                    push((v, path, merged))
        elif type(current) is SequenceNode:
            for i, child in enumerate(current.value):
                path = f"{prefix}[{i}]"
                path = paths.get(path) or _share(paths, path)
                position = (base + child.start_mark.line, child.start_mark.column + 1)
                position = positions.get(position) or _share(positions, position)
                if not merged or path not in marks:
                    marks[path] = position
                if type(child) is not ScalarNode:
                    push((child, path, merged))
    return marks


def object_marks(node: Node, line_offset: int, shared: dict) -> FieldMarks:
    """:func:`record` of an object's ``node``, as :class:`~core.models.FieldMarks`: the positions relative to the
    object's first line are kept once in ``shared`` (a table of the caller's, e.g. for one file) for all the
    objects laid out alike (ten Deployments of one template differ in their lines only)."""
    start = line_offset + 1 + node.start_mark.line
    layout = record(node, -1 - node.start_mark.line)  # the object's first line is line 0
    layout = shared.setdefault((FieldMarks, tuple(layout), tuple(layout.values())), layout)
    return FieldMarks(layout, start)


def locate(marks: Marks, path: str | None) -> tuple[str | None, tuple[int, int] | None]:
    """``(existing path, (line, column))`` for ``path``: the field itself when it was recorded, else its
    closest recorded parent; ``(None, None)`` when nothing is recorded (objects built without a source)."""
    current: str | None = path or ""
    while current is not None:
        found = marks.get(current)
        if found is not None:
            return current, (found[0], found[1])
        current = parent(current)
    return None, None


def missing_part(path: str, existing: str) -> str:
    """The part of ``path`` below its existing parent ``existing`` (``securityContext.privileged``)."""
    rest = path[len(existing):]
    return rest[1:] if rest.startswith(".") else rest
