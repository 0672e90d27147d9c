"""Map the fields of objects rendered from a Helm chart back to the template lines that produced them, and to
the values file lines that set them.

The loader records where every field sits in the *rendered* output (:mod:`tools.fieldpath`); a reader needs the
template. Rendered and template lines drift apart (``include``/``toYaml`` expand into many lines, ``range``
repeats its body, ``if`` drops lines), so lines are not aligned by number. Instead each template document is
read as an indentation tree of its keys and sequence items — control actions (``if``/``range``/``with``/
``end``) are skipped, so a ``range`` body is the template of every item it renders — and each rendered field
path is followed down that tree:

* a key follows the template key of the same name (a templated key, ``{{ $k }}:``, matches any name);
* a sequence item follows the template item that looks most like it (same ``name:``, most keys in common,
  then the nearest position);
* a field the template does not spell out (it comes from ``toYaml .Values.x | nindent``, ``include`` or
  ``tpl``) stops at the line of that action; a field found in neither way stops at its closest template
  parent.

A template line that reads ``.Values.a.b`` (directly, through ``$.Values``, or ``.b`` inside
``{{ with .Values.a }}``) names the values behind the field; the field's path below an expanded ``toYaml``
extends it. The value is looked up in the chart's ``values.yaml`` and the configured values files (the last
file defining it wins) and recorded as ``value_sources[field] = ".Values.path at file:line"``.

Fallback: when the template file cannot be read (a packaged subchart) or has no document of the object's kind,
the object keeps its rendered line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from core.models import K8sObject
from core.yamlsafe import KUBE_LOADER, YamlTooDeep, check_depth
from tools import fieldpath
from tools.workspace import read_text

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_ONLY_ACTIONS = re.compile(r"^(\{\{.*?\}\}\s*)+$")
_CONTROL = frozenset({"if", "else", "end", "range", "with", "define", "block"})
_KEY = re.compile(r"""(?P<key>"(?:[^"\\]|\\.)*"|'[^']*'|\{\{.*?\}\}|[^\s"'#{\-][^:]*?|-[^\s:][^:]*?)\s*:(?=\s|$)""")
_DASH = re.compile(r"-(?:\s+|$)")
_BLOCK_SCALAR = re.compile(r"^[|>][-+0-9]*\s*(#.*)?$")
_VALUES = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")
_DOT_PATH = re.compile(r"(?<![\w$\])}.])\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_BARE_DOT = re.compile(r"(?:^|[\s(|])\.(?=$|[\s)|])")
_SEPARATOR = re.compile(r"^---(\s|$)")
_ASSIGNMENT = re.compile(r"^\$\w+\s*:?=")
"""``{{- $name := include "x" . }}`` sets a variable and renders nothing."""
_VALUE_VARIABLE = re.compile(r"^\$(\w+)\s*:?=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*$")
_VARIABLE = re.compile(r"\$(\w+)")
_BUILTINS = ("Values", "Release", "Chart", "Capabilities", "Files", "Template")


@dataclass
class TNode:
    """A template key, sequence item or expanding action: its 1-based line and column, and the values it reads."""

    kind: str  # "root", "key", "item" or "expand"
    line: int
    col: int
    key: str | None = None
    value: str = ""
    """The text after ``key:`` on the key's line."""
    refs: list[str] = field(default_factory=list)
    inline: bool = False
    content_col: int | None = None
    """Items: the column of the item's content (after ``- ``), which the loader reports for an item."""
    children: list[TNode] = field(default_factory=list)

    def keys(self) -> set[str]:
        return {c.key for c in self.children if c.kind == "key" and c.key}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


@dataclass(frozen=True)
class _Block:
    """An open ``with``/``range``/``if``/``define`` block: the values path ``.`` stands for (``with``/``range``
    over ``.Values.x``), and a ``range``'s variables."""

    word: str
    path: str | None = None
    variables: tuple[str, ...] = ()


_RANGE_VARS = re.compile(r"^range\s+(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=")
MATCH = "~"
"""Prefix of a ref to a collection whose member is found by value (a ``range`` item)."""


def _line_refs(text: str, blocks: list[_Block], variables: dict[str, str]) -> list[str]:
    """The values paths a line reads: ``.Values.a.b``; a variable set to one (``$port := .Values.a.b``);
    ``.b`` / ``.`` inside ``{{ with .Values.a }}``; a ``range`` item over ``.Values.a`` (``$v``, ``.`` or
    ``.field``) as ``~a`` or ``~a|field`` (the member is found by the rendered value)."""
    refs: list[str] = []
    inner = next((b for b in reversed(blocks) if b.word in ("with", "range")), None)
    for action in _ACTION.findall(text):
        refs += [m[1:] for m in _VALUES.findall(action)]
        refs += [variables[v] for v in _VARIABLE.findall(action) if v in variables]
        if inner is None or inner.path is None:
            continue
        if inner.word == "with":
            refs += [f"{inner.path}.{m}" for m in _DOT_PATH.findall(action) if m.split(".")[0] not in _BUILTINS]
            if _BARE_DOT.search(action):
                refs.append(inner.path)
        elif inner.word == "range" and (any(re.search(rf"\{v}\b", action) for v in inner.variables)
                                        or (not inner.variables and _BARE_DOT.search(action))):
            refs.append(MATCH + inner.path)
        elif inner.word == "range" and not inner.variables:
            refs += [f"{MATCH}{inner.path}|{m}" for m in _DOT_PATH.findall(action) if m.split(".")[0] not in _BUILTINS]
    return list(dict.fromkeys(refs))


def _control(action: str, blocks: list[_Block], variables: dict[str, str]) -> None:
    words = action.split()
    word = words[0] if words else ""
    assigned = _VALUE_VARIABLE.match(action)
    if assigned:
        variables[assigned.group(1)] = assigned.group(2)[1:]
    if word == "end" and blocks:
        blocks.pop()
    elif word in ("with", "range"):
        match = _VALUES.search(action)
        variables = _RANGE_VARS.match(action)
        blocks.append(_Block(word, match.group(1)[1:] if match else None,
                             tuple(v for v in variables.groups() if v) if variables else ()))
    elif word in ("if", "define", "block"):
        blocks.append(_Block(word))


def _attach(stack: list[TNode], node: TNode) -> None:
    """Put ``node`` under the nearest open node that can own it (YAML block indentation rules)."""
    while len(stack) > 1:
        top = stack[-1]
        if node.kind == "item":
            if top.col < node.col or (top.col == node.col and top.kind == "key"):
                break
        elif top.col < node.col:
            break
        stack.pop()
    stack[-1].children.append(node)
    stack.append(node)


def parse_template(lines: list[str], start: int = 0) -> TNode:
    """The key tree of one template document (``lines``; ``start`` is the number of lines before them)."""
    root = TNode("root", start + 1, 1)
    stack: list[TNode] = [root]
    blocks: list[_Block] = []
    variables: dict[str, str] = {}
    block_indent: int | None = None
    for number, raw in enumerate(lines, start + 1):
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        if not stripped or stripped.startswith("#") or stripped.startswith("{{/*") or stripped.startswith("{{- /*"):
            continue
        if _ONLY_ACTIONS.match(stripped):
            actions = _ACTION.findall(stripped)
            if actions and all((a.split() or [""])[0] in _CONTROL or _ASSIGNMENT.match(a) for a in actions):
                for action in actions:
                    _control(action, blocks, variables)
                continue
            expand = TNode("expand", number, indent + 1, refs=_line_refs(stripped, blocks, variables))
            owner = next((n for n in reversed(stack) if n.col < expand.col or n.kind == "root"), root)
            owner.children.append(expand)
            continue
        col, rest = indent, raw[indent:]
        while (dash := _DASH.match(rest)) is not None:
            after = len(dash.group(0))
            _attach(stack, TNode("item", number, col + 1, content_col=col + 1 + after))
            col, rest = col + after, rest[after:]
        match = _KEY.match(rest)
        if match:
            value = rest[match.end():].strip()
            node = TNode("key", number, col + 1, key=_unquote(match.group("key").strip()), value=value,
                         refs=_line_refs(value, blocks, variables), inline=bool(value) and not _BLOCK_SCALAR.match(value))
            _attach(stack, node)
            if _BLOCK_SCALAR.match(value):
                block_indent = col
    return root


def _score(candidate: TNode, index: int, position: int, rendered: Any) -> tuple:
    keys = set(rendered) if isinstance(rendered, dict) else set()
    own = candidate.keys()
    overlap = len(keys & own) / len(keys | own) if keys | own else 0.0
    name = next((c for c in candidate.children if c.kind == "key" and c.key == "name"), None)
    same_name = 0
    if name is not None and isinstance(rendered, dict) and isinstance(rendered.get("name"), str):
        same_name = 1 if _unquote(name.value.split(" #")[0].strip()) == rendered["name"] else 0
    return same_name, overlap, -abs(position - index)


def _step(node: TNode, part: str | int, rendered: Any) -> TNode | None:
    """The template child of ``node`` that produced the rendered ``part`` (a key or an item index)."""
    if isinstance(part, int):
        items = [c for c in node.children if c.kind == "item"]
        if not items:
            return None
        return max(((c, i) for i, c in enumerate(items)), key=lambda ci: _score(ci[0], part, ci[1], rendered))[0]
    keys = [c for c in node.children if c.kind == "key"]
    exact = next((c for c in keys if c.key == part), None)
    return exact or next((c for c in keys if c.key and "{{" in c.key), None)


def _expansion(node: TNode) -> TNode | None:
    return next((c for c in node.children if c.kind == "expand"), None)


@dataclass
class _Resolved:
    node: TNode
    rest: tuple[str | int, ...]
    value: Any


def _follow(parent: _Resolved, part: str | int) -> _Resolved:
    value = parent.value
    child_value = (value.get(part) if isinstance(value, dict) else
                   value[part] if isinstance(value, list) and isinstance(part, int) and part < len(value) else None)
    if parent.rest or parent.node.kind == "expand":
        return _Resolved(parent.node, (*parent.rest, part), child_value)
    child = _step(parent.node, part, child_value)
    if child is not None:
        return _Resolved(child, (), child_value)
    expand = _expansion(parent.node)
    return _Resolved(expand or parent.node, (part,), child_value)


def _refs(resolved: _Resolved, values: ValuesIndex) -> list[str]:
    """Values paths behind a resolved field (the rest of the path extends an expanded value)."""
    node = resolved.node
    refs = node.refs
    if not refs and node.kind == "key" and not node.inline:
        expand = _expansion(node)
        refs = expand.refs if expand is not None else []
    refs = [values.member(ref[1:], resolved.value) if ref.startswith(MATCH) else ref for ref in refs]
    return [fieldpath.build(list(resolved.rest), ref) for ref in refs]


class ValuesIndex:
    """Where each value is defined across the chart's values files (later files override earlier ones)."""

    def __init__(self, root: Path, files: list[str]):
        self.files: list[tuple[str, fieldpath.Marks]] = []
        self.merged: dict[str, Any] = {}
        for rel in files:
            text, problem = read_text(root, rel) if (root / rel).is_file() else (None, None)
            if text is None or problem is not None:
                continue
            try:
                check_depth(text, rel)
                node = yaml.compose(text, Loader=KUBE_LOADER)
                data = yaml.load(text, Loader=KUBE_LOADER)
            except (yaml.YAMLError, YamlTooDeep, ValueError, TypeError):
                continue
            if node is not None:
                self.files.append((rel, fieldpath.record(node)))
            if isinstance(data, dict):
                self.merged = _merge(self.merged, data)

    def member(self, ref: str, rendered: Any) -> str:
        """The member of the collection a ``range`` item came from: ``ref`` is ``path`` (the item itself: found
        by its key, or by its value) or ``path|field`` (a field of the item: found by that field's value);
        the collection's path when nothing matches."""
        path, _, sub = ref.partition("|")
        collection: Any = self.merged
        for part in path.split("."):
            collection = collection.get(part) if isinstance(collection, dict) else None
        if isinstance(rendered, (dict, list)) or rendered is None:
            return path
        text = str(rendered)

        def value(member: Any) -> Any:
            for part in sub.split(".") if sub else []:
                member = member.get(part) if isinstance(member, dict) else None
            return member

        def same(member: Any) -> bool:
            found = value(member)
            return not isinstance(found, (dict, list)) and found is not None and str(found) == text

        suffix = f".{sub}" if sub else ""
        if isinstance(collection, dict):
            found = (None if sub else next((k for k in collection if str(k) == text), None)) or \
                next((k for k, v in collection.items() if same(v)), None)
            return fieldpath.key(path, found) + suffix if found is not None else path
        if isinstance(collection, list):
            index = next((i for i, v in enumerate(collection) if same(v)), None)
            return fieldpath.item(path, index) + suffix if index is not None else path
        return path

    def where(self, path: str) -> str | None:
        """``.Values.path at file:line`` for the deepest defined part of ``path`` (None when no file has any)."""
        best: tuple[int, str, str, int] | None = None
        for rel, marks in self.files:
            found, mark = fieldpath.locate(marks, path)
            if found and mark and (best is None or len(found) >= best[0]):
                best = (len(found), rel, found, mark[0])
        return None if best is None else f".Values.{best[2]} at {best[1]}:{best[3]}"


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _documents(lines: list[str]) -> list[TNode]:
    docs: list[TNode] = []
    start = 0
    for i, raw in enumerate([*lines, "---"]):
        if _SEPARATOR.match(raw):
            doc = parse_template(lines[start:i], start)
            if doc.children:
                docs.append(doc)
            start = i + 1
    return docs


def _kind(doc: TNode) -> str | None:
    node = next((c for c in doc.children if c.kind == "key" and c.key == "kind"), None)
    return _unquote(node.value) if node is not None and node.value and "{{" not in node.value else None


def relocate_object(obj: K8sObject, doc: TNode, values: ValuesIndex) -> None:
    """Rewrite ``obj.marks`` (and ``obj.line``) from rendered positions to template positions of ``doc`` and
    fill ``obj.value_sources``."""
    first = next((c for c in doc.children if c.kind in ("key", "expand")), None)
    resolved: dict[str, _Resolved] = {"": _Resolved(doc, (), obj.body)}
    marks: fieldpath.Marks = {"": (first.line, first.col) if first else (doc.line, 1)}
    sources: dict[str, str] = {}
    for path in obj.marks:
        if not path:
            continue
        above = fieldpath.parent(path) or ""
        if above not in resolved:
            continue
        here = _follow(resolved[above], fieldpath.segments(path)[-1])
        resolved[path] = here
        node = here.node
        marks[path] = (node.line, node.content_col or node.col)
        where = [w for w in (values.where(ref) for ref in _refs(here, values)) if w]
        if where:
            sources[path] = "; ".join(dict.fromkeys(where))
    obj.marks = marks
    obj.line = marks[""][0]
    obj.value_sources = sources


def _values_files(chart_dir: str, template: str, configured: list[str]) -> list[str]:
    """The values files behind ``template``: its own chart's values.yaml, plus the configured files for the
    top-level chart."""
    parts = PurePosixPath(template).parts
    owner = PurePosixPath(*parts[: parts.index("templates")]) if "templates" in parts else PurePosixPath(chart_dir)
    own = f"{owner.as_posix()}/values.yaml" if owner.as_posix() not in (".", "") else "values.yaml"
    is_top = owner == PurePosixPath(chart_dir)
    return [own, *configured] if is_top else [own]


def relocate(root: Path, chart_dir: str, objects: list[K8sObject], configured_values: list[str]) -> None:
    """Map every object rendered from the chart at ``chart_dir`` back to its template lines (in place)."""
    by_template: dict[str, list[K8sObject]] = {}
    for obj in objects:
        by_template.setdefault(obj.file, []).append(obj)
    indexes: dict[tuple[str, ...], ValuesIndex] = {}
    for template, rendered in by_template.items():
        text, problem = read_text(root, template) if (root / template).is_file() else (None, None)
        if text is None or problem is not None:
            continue
        docs = _documents(text.split("\n"))
        files = tuple(_values_files(chart_dir, template, configured_values))
        values = indexes.setdefault(files, ValuesIndex(root, list(files)))
        seen: dict[str, int] = {}
        for obj in rendered:
            candidates = [d for d in docs if _kind(d) == obj.kind] or [d for d in docs if _kind(d) is None]
            if not candidates:
                continue
            doc = candidates[min(seen.get(obj.kind, 0), len(candidates) - 1)]
            seen[obj.kind] = seen.get(obj.kind, 0) + 1
            relocate_object(obj, doc, values)
