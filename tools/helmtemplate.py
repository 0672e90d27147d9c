"""A static reading of Helm (Go) templates: which ``.Values`` paths are used, and which uses are guarded.

A reference is *guarded* — it cannot render a missing value by mistake — when:

* its action applies a function that handles absence: ``default``, ``required``, ``coalesce``, ``ternary``,
  ``empty``, ``hasKey``, ``dig``, ``kindIs``/``typeIs``, ``eq``/``ne``, ``and``/``or``/``not``, ``index``;
* it is the condition of ``if``/``else if``/``with``/``range`` (an absent value is false or empty);
* it lies in a block whose condition tests the path or a parent of it (``{{ if .Values.a }}`` guards
  ``.Values.a.b``, ``hasKey .Values.a "b"`` guards ``.Values.a.b``), or a feature flag of its parent that is
  off in the values (``{{ if .Values.a.enabled }}`` with ``a.enabled: false`` guards ``.Values.a.*``);
* it lies in a ``define`` that nothing includes (directly or through another included template).

Every reference still counts as a *use* (for dead-key checks), including ``with``/``range`` targets, whose
whole subtree is used, and ``index .Values "a" "b"``. A template that hands over ``.Values`` itself
(``toYaml .Values``, ``$v := .Values``) uses everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_VALUES = r"(?:(?<![\w)\]$])\.|\$\w*\.)Values"
"""``.Values``, ``$.Values`` or ``$root.Values``, not ``.Foo.Values``."""
_REF = re.compile(_VALUES + r"((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_INDEX = re.compile(r"\bindex\s+\$?\w*\.Values((?:\.[A-Za-z_]\w*)*)((?:\s+\"[^\"]+\")+)")
_DIG = re.compile(r"\bdig\s+((?:\"[^\"]+\"\s+)+)\S+\s+\$?\w*\.Values((?:\.[A-Za-z_]\w*)*)(?![\w.])")
_HASKEY = re.compile(r"\bhasKey\s+\$?\w*\.Values((?:\.[A-Za-z_]\w*)*)\s+\"([^\"]+)\"")
_INCLUDE = re.compile(r"\b(?:include|template)\s+(\"[^\"]*\"|\S+)")
_DEFINE = re.compile(r"^(?:define|block)\s+\"([^\"]+)\"")
_GUARD_FUNCS = re.compile(r"\b(?:default|required|coalesce|ternary|empty|hasKey|dig|kindIs|typeIs|typeIsLike|eq|ne|"
                          r"and|or|not|index|lookup)\b")
FLAG_KEYS = {"enabled", "enable", "create", "install"}


@dataclass
class Reference:
    path: str
    file: str
    line: int
    guarded: bool
    flags: set[str] = field(default_factory=set)
    """Feature flags (``x.enabled``) of enclosing blocks that cover the path: guarded while the flag is off."""


@dataclass
class TemplateScan:
    """What a chart's templates reference."""

    refs: list[Reference] = field(default_factory=list)
    uses_everything: bool = False
    """Some template hands ``.Values`` over whole: every key may be used."""
    loose: set[str] = field(default_factory=set)
    """Paths seen anywhere in the text, actions or not (a template that does not parse still uses them)."""


@dataclass
class _Block:
    kind: str
    guards: set[str] = field(default_factory=set)
    define: str | None = None


def _clean(path: str) -> str:
    """``AsMap`` is a method of ``.Values``, not a key."""
    return path.removeprefix("AsMap").lstrip(".")


def _paths(text: str) -> list[str]:
    return [p for m in _REF.finditer(text) if (p := _clean(m.group(1)[1:]))]


def _guards(condition: str) -> set[str]:
    """Paths a block condition makes safe to dereference below it (``flag:x.enabled`` for a feature flag)."""
    out = set(_paths(condition))
    out |= {f"{_clean(m.group(1)[1:])}.{m.group(2)}".lstrip(".") for m in _HASKEY.finditer(condition)}
    out |= {f"flag:{p}" for p in list(out) if "." in p and p.rsplit(".", 1)[1] in FLAG_KEYS}
    return out


def _extra_uses(action: str) -> list[str]:
    """Paths reached with ``index``/``dig`` on ``.Values`` (string keys)."""
    out = []
    for m in _INDEX.finditer(action):
        out.append(".".join([*filter(None, m.group(1).split(".")), *re.findall(r"\"([^\"]+)\"", m.group(2))]))
    for m in _DIG.finditer(action):
        keys = re.findall(r"\"([^\"]+)\"", m.group(1))  # the default is the token before .Values
        out.append(".".join([*filter(None, _clean(m.group(2).lstrip(".")).split(".")), *keys]))
    return [p for p in out if p]


def _actions(text: str) -> list[tuple[str, int]]:
    """Each action's inner text and 1-based line; comments dropped. Linear: an unclosed ``{{`` ends the scan."""
    out = []
    pos, line, counted = 0, 1, 0
    while (start := text.find("{{", pos)) != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            break
        inner = text[start + 2:end].removeprefix("-").removesuffix("-").strip()
        line += text.count("\n", counted, start)
        counted = start
        if not inner.startswith("/*"):
            out.append((inner, line))
        pos = end + 2
    return out


def _included(texts: dict[str, str]) -> tuple[set[str], bool]:
    """Names of the defines that top-level template content reaches; True when an include is dynamic."""
    calls: dict[str | None, set[str]] = {}
    dynamic = False
    for text in texts.values():
        stack: list[str | None] = []
        for action, _ in _actions(text):
            head = action.split(None, 1)[0] if action else ""
            define = _DEFINE.match(action)
            if define:
                stack.append(define.group(1))
                continue
            if head in ("if", "with", "range"):
                stack.append(stack[-1] if stack else None)
            elif head == "end":
                if stack:
                    stack.pop()
            for name in _INCLUDE.findall(action):
                if name.startswith('"'):
                    calls.setdefault(stack[-1] if stack else None, set()).add(name.strip('"'))
                else:
                    dynamic = True
    reached: set[str] = set()
    todo = list(calls.get(None, ()))
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += list(calls.get(name, ()))
    return reached, dynamic


def scan_templates(texts: dict[str, str], shared: dict[str, str] | None = None) -> TemplateScan:
    """References of the chart's templates (``{workspace path: text}``), with their guards. ``shared``: the
    templates of the whole release (parent and subcharts share one namespace of defines)."""
    included, dynamic = _included({**(shared or {}), **texts})
    scan = TemplateScan()
    for file, text in sorted(texts.items()):
        scan.loose.update(_paths(text))
        stack: list[_Block] = []
        for action, line in _actions(text):
            head = action.split(None, 1)[0] if action else ""
            define = _DEFINE.match(action)
            condition = ""
            if define:
                stack.append(_Block("define", define=define.group(1)))
                if action.startswith("block"):
                    included.add(define.group(1))
            elif head in ("if", "with", "range"):
                condition = action[len(head):]
                stack.append(_Block(head, _guards(condition)))
            elif head == "else":
                condition = action[4:].strip().removeprefix("if").removeprefix("with")
                if stack:
                    stack[-1].guards = _guards(condition)
            elif head == "end":
                if stack:
                    stack.pop()
                continue
            dead = any(b.define is not None and b.define not in included and not dynamic for b in stack)
            guards = set().union(*(b.guards for b in stack)) if stack else set()
            safe_action = bool(condition) or bool(_GUARD_FUNCS.search(action))
            if re.search(_VALUES + r"(?![\w.])", action) and not _DIG.search(action) \
                    and not _INDEX.search(action):
                scan.uses_everything = True
            for path in [*_paths(action), *_extra_uses(action)]:
                guarded = safe_action or dead or any(path == g or path.startswith(g + ".") for g in guards)
                flags = {g[5:] for g in guards if g.startswith("flag:") and path.startswith(g[5:].rsplit(".", 1)[0] + ".")}
                scan.refs.append(Reference(path, file, line, guarded, flags))
    return scan


def used_paths(scan: TemplateScan) -> set[str]:
    return {r.path for r in scan.refs} | scan.loose


def unguarded(scan: TemplateScan, flag_on: Callable[[str], bool] = lambda _: True) -> dict[str, tuple[str, int]]:
    """Each path used somewhere without a guard, with its first such place. A reference inside a block of a
    feature flag (``{{ if .Values.x.enabled }}`` covers ``.Values.x.*``) counts only while ``flag_on(flag)``."""
    out: dict[str, tuple[str, int]] = {}
    for ref in scan.refs:
        if not ref.guarded and all(flag_on(f) for f in ref.flags):
            out.setdefault(ref.path, (ref.file, ref.line))
    return out
