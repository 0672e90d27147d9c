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
from collections import deque

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Marks = dict[str, tuple[int, int]]

MAX_MARKS = 20_000
"""Fields recorded per object, shallowest first (a huge CRD schema stops there; deeper lookups use a parent)."""
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


def record(node: Node, line_offset: int = 0, limit: int = MAX_MARKS) -> Marks:
    """The 1-based ``(line, column)`` of the root and of every key and sequence item below ``node``.

    ``line_offset`` is the number of source lines before the text the node was composed from. Keys brought in
    by a merge (``<<: *base``) count where the anchor defines them, unless the mapping sets them itself.
    """
    marks: Marks = {"": (line_offset + node.start_mark.line + 1, node.start_mark.column + 1)}
    queue: deque[tuple[Node, str, bool]] = deque([(node, "", False)])
    while queue and len(marks) < limit:
        current, prefix, merged = queue.popleft()
        if isinstance(current, MappingNode):
            for k, v in current.value:
                if not isinstance(k, ScalarNode):
                    continue
                if k.tag == _MERGE_TAG:
                    sources = v.value if isinstance(v, SequenceNode) else [v]
                    queue.extend((s, prefix, True) for s in sources if isinstance(s, MappingNode))
                    continue
                path = key(prefix, k.value)
                mark = (line_offset + k.start_mark.line + 1, k.start_mark.column + 1)
                if merged:
                    marks.setdefault(path, mark)
                else:
                    marks[path] = mark
                if isinstance(v, (MappingNode, SequenceNode)):
                    queue.append((v, path, merged))
        elif isinstance(current, SequenceNode):
            for i, child in enumerate(current.value):
                path = item(prefix, i)
                mark = (line_offset + child.start_mark.line + 1, child.start_mark.column + 1)
                if merged:
                    marks.setdefault(path, mark)
                else:
                    marks[path] = mark
                if isinstance(child, (MappingNode, SequenceNode)):
                    queue.append((child, path, merged))
    return marks


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
