r"""YAML nesting limits: refuse a document nested deeper than :data:`MAX_DEPTH` before anything recursive runs.

libyaml's composer and the constructors recurse once per nesting level; a document nested 20,000 levels
deep crashes the interpreter (a segfault, not an exception), so no ``except`` can save a caller. The check
here never recurses:

1. a cheap upper bound from the text (indentation, leading ``- ``/``? `` indicators, flow brackets);
2. only when that bound passes the limit, libyaml's *event* parser (a state machine with explicit stacks)
   counts the real depth and stops at the first level past the limit.

Every YAML read of the product (manifests, values, the config, the hook's fast path) calls
:func:`check_depth` first, or :func:`load` which does.

:data:`KUBE_LOADER` reads plain scalars the way Kubernetes does (``sigs.k8s.io/yaml``, which decodes with its
fork of go-yaml v2 into ``interface{}`` and converts to JSON), not as PyYAML's YAML 1.1 ``SafeLoader`` does:

* timestamps stay strings (``released: 2024-01-15`` is ``"2024-01-15"``, never a ``date``);
* no base-60 numbers (``window: 12:30`` is ``"12:30"``, not ``750``), no ``=`` value tag;
* booleans are go-yaml v2's: ``y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off
  Off OFF`` (YAML 1.1; ``y``/``n`` included, which PyYAML leaves as strings);
* integers are Go's ``strconv.ParseInt(s, 0, 64)`` after removing ``_``: ``0777`` and ``0o777`` are octal,
  ``0x``/``0b`` hex and binary; ``09`` is not an integer but a float (``9.0``);
* floats need a digit or ``.`` first and match ``[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?``
  (``1e3`` is ``1000.0``; PyYAML reads it as a string), plus ``.inf``/``.nan`` spellings;
* ``!!timestamp`` keeps the text, ``!!binary`` is decoded to text.

Manifests, Helm values and charts are read with it (the kube-apiserver, kubectl and Helm all decode this way);
tests keep PyYAML's ``SafeLoader`` as the reference and pin every difference.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from core.errors import InputError

MAX_DEPTH = 200
"""Collection nesting levels a document may have. Real manifests (CRD schemas included) stay under ~40."""

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's own safe loader (YAML 1.1): the product's own files (policy, config) and the tests' reference."""

_TAG = "tag:yaml.org,2002:"
STR_TAG, INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MERGE_TAG = _TAG + "merge"
_INF, _NAN = float("inf"), float("nan")
_KUBE_WORDS: dict[str, tuple[str, object]] = {
    **{w: (BOOL_TAG, True) for w in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
    **{w: (BOOL_TAG, False) for w in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")},
    **{w: (NULL_TAG, None) for w in ("", "~", "null", "Null", "NULL")},
    **{w: (FLOAT_TAG, _NAN) for w in (".nan", ".NaN", ".NAN")},
    **{w: (FLOAT_TAG, _INF) for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: (FLOAT_TAG, -_INF) for w in ("-.inf", "-.Inf", "-.INF")},
    "<<": (_MERGE_TAG, "<<"),
}
_INTERN_MAX = 64
_intern = sys.intern
_NUMBER_START = frozenset("+-0123456789")
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")  # Go's ParseFloat on a text starting with '.'


def kube_plain_tag(text: str) -> str:
    """The tag go-yaml v2 (as Kubernetes uses it) resolves an untagged plain scalar ``text`` to."""
    word = _KUBE_WORDS.get(text)
    if word is not None:
        return word[0]
    first = text[:1]
    if first in _NUMBER_START:
        plain = text.replace("_", "")
        if _GO_INT.fullmatch(plain):
            return INT_TAG
        if _GO_FLOAT.fullmatch(plain):
            return FLOAT_TAG
    elif first == "." and _DOT_FLOAT.fullmatch(text):
        return FLOAT_TAG
    return STR_TAG


def _go_int(text: str) -> int:
    plain = text.replace("_", "")
    if not _GO_INT.fullmatch(plain):
        raise ValueError(text)
    sign, digits = (-1, plain[1:]) if plain[:1] == "-" else (1, plain.lstrip("+"))
    if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xXoObB":
        return sign * int(digits, 8)
    return sign * int(digits, 0)


def _json_key(key: object) -> object:
    """A non-string mapping key as sigs.k8s.io/yaml writes it in JSON (``true``, ``null``, ``80``, ``1.5``)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        if key != key:
            return "NaN"
        if key in (_INF, -_INF):
            return "+Inf" if key > 0 else "-Inf"
        return format(key, "g")
    return key  # sequences/mappings as keys: left to the caller (not valid JSON either)


class KubeResolver(BaseResolver):
    """Plain scalars resolved as go-yaml v2 does (see the module docstring); quoted scalars are strings."""

    def resolve(self, kind, value, implicit):  # noqa: ANN001, ANN201 - PyYAML's signature
        if kind is ScalarNode and implicit[0]:  # hot: once per scalar of every manifest (kube_plain_tag, inlined)
            word = _KUBE_WORDS.get(value)
            if word is not None:
                return word[0]
            first = value[:1]
            if first in _NUMBER_START or first == ".":
                return kube_plain_tag(value)
            return STR_TAG
        return super().resolve(kind, value, implicit)


class KubeConstructor(SafeConstructor):
    """SafeConstructor building scalars with go-yaml v2's rules."""

    def _scalar(self, node) -> str:  # noqa: ANN001
        return self.construct_scalar(node)

    def construct_scalar(self, node):  # noqa: ANN001, ANN201
        """The text of a scalar, interned when short: keys and common values (``name``, ``TCP``, ``100m``) are
        one string for all the objects of a scan instead of one per occurrence (a third of the loaded bytes)."""
        if type(node) is ScalarNode:
            value = node.value
            return _intern(value) if len(value) <= _INTERN_MAX else value
        return super().construct_scalar(node)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
        mapping = super().construct_mapping(node, deep)
        for key in mapping:
            if type(key) is not str:  # JSON keys are text: sigs.k8s.io/yaml formats the others
                return {k if type(k) is str else _json_key(k): v for k, v in mapping.items()}
        return mapping

    def construct_yaml_bool(self, node):  # noqa: ANN001, ANN201
        word = _KUBE_WORDS.get(self._scalar(node))
        if word is None or word[0] != BOOL_TAG:
            raise ConstructorError(None, None, f"cannot decode {self._scalar(node)[:40]!r} as a !!bool",
                                   node.start_mark)
        return word[1]

    def construct_yaml_int(self, node):  # noqa: ANN001, ANN201
        try:
            return _go_int(self._scalar(node))
        except ValueError:
            raise ConstructorError(None, None, "cannot decode a value as an !!int", node.start_mark) from None

    def construct_yaml_float(self, node):  # noqa: ANN001, ANN201
        text = self._scalar(node)
        word = _KUBE_WORDS.get(text)
        if word is not None and word[0] == FLOAT_TAG:
            return word[1]
        plain = text.replace("_", "")
        if _GO_INT.fullmatch(plain):
            return float(_go_int(plain))  # an explicit !!float on an integer
        if _GO_FLOAT.fullmatch(plain) or _DOT_FLOAT.fullmatch(text):
            return float(plain)
        raise ConstructorError(None, None, "cannot decode a value as a !!float", node.start_mark)

    def construct_yaml_timestamp(self, node):  # noqa: ANN001, ANN201
        text = self._scalar(node)
        if not self.timestamp_regexp.match(text):
            raise ConstructorError(None, None, "cannot decode a value as a !!timestamp", node.start_mark)
        return text  # go-yaml v2 keeps timestamps as text when decoding into interface{}

    def construct_yaml_binary(self, node):  # noqa: ANN001, ANN201
        try:
            return base64.b64decode("".join(self._scalar(node).split()), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError) as exc:
            raise ConstructorError(None, None, "failed to decode base64 data", node.start_mark) from exc


KubeConstructor.yaml_constructors = dict(SafeConstructor.yaml_constructors)
for _name in ("bool", "int", "float", "timestamp", "binary"):
    KubeConstructor.add_constructor(_TAG + _name, getattr(KubeConstructor, f"construct_yaml_{_name}"))
KubeConstructor.yaml_constructors.pop(_TAG + "value", None)

class NotPlain(Exception):
    """The document needs PyYAML's full constructor (a merge key, an unusual tag, a bad scalar...)."""


_SEQ_TAG, _MAP_TAG = _TAG + "seq", _TAG + "map"


def _plain_scalar(node: ScalarNode) -> object:
    tag, value = node.tag, node.value
    if tag == STR_TAG:
        return _intern(value) if len(value) <= _INTERN_MAX else value
    word = _KUBE_WORDS.get(value)
    if word is not None and word[0] == tag:
        return word[1]
    if tag == INT_TAG:
        try:
            return _go_int(value)
        except ValueError:
            raise NotPlain from None
    if tag == FLOAT_TAG:
        plain = value.replace("_", "")
        if _GO_FLOAT.fullmatch(plain) or _DOT_FLOAT.fullmatch(value):
            return float(plain)
    raise NotPlain


def _token(value: object) -> object:
    """``value`` as it stands in the key of the collection holding it (:func:`plain_document`): itself for text
    and null, its type with it otherwise (``1``, ``1.0`` and ``true`` are equal in Python), the identity of a
    shared collection (it is kept alive by the table for as long as the key)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is dict or kind is list:
        return id(value)
    if kind is float:
        return (float, repr(value))  # -0.0 == 0.0, yet they print differently
    return (kind, value)


def plain_document(node, duplicates: list, shared: dict | None = None) -> object:  # noqa: ANN001
    """What :class:`KubeConstructor` builds from ``node``, without PyYAML's generator-based constructor, for a
    document with no shared nodes (no anchor in the text), no merge key and only the core tags: the usual
    manifest, built in a third of the time. Duplicate keys are appended to ``duplicates`` (their key nodes).
    Raises :class:`NotPlain` for anything else; the caller then uses the full constructor.

    With ``shared`` (a table kept by the caller, e.g. for the documents of one file), equal mappings and
    sequences are built once: the second ``{type: RuntimeDefault}`` is the first one. The result is then to be
    read, never changed in place (as a document with aliases already is)."""
    kind = type(node)
    if kind is ScalarNode:
        return _plain_scalar(node)
    if kind is MappingNode:
        if node.tag != _MAP_TAG:
            raise NotPlain
        out: dict = {}
        seen: set = set()
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag == _MERGE_TAG:
                raise NotPlain
            key = _plain_scalar(key_node)
            if type(key) is not str:
                key = _json_key(key)
            marker = (key_node.tag, key_node.value)
            if marker in seen:
                duplicates.append(key_node)
            seen.add(marker)
            out[key] = plain_document(value_node, duplicates, shared)
        if shared is None:
            return out
        return shared.setdefault((dict, tuple(out), tuple(map(_token, out.values()))), out)
    if kind is SequenceNode:
        if node.tag != _SEQ_TAG:
            raise NotPlain
        items = [plain_document(child, duplicates, shared) for child in node.value]
        return items if shared is None else shared.setdefault((list, tuple(map(_token, items))), items)
    raise NotPlain


try:
    from yaml._yaml import CParser as _PARSER  # libyaml (what CSafeLoader is built on)
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _PARSER = None
if _PARSER is not None:
    class KubeLoader(_PARSER, KubeConstructor, KubeResolver):  # type: ignore[misc,valid-type]
        """libyaml's parser and composer, Kubernetes' scalar resolution."""

        def __init__(self, stream) -> None:  # noqa: ANN001
            _PARSER.__init__(self, stream)
            KubeConstructor.__init__(self)
            KubeResolver.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class KubeLoader(Reader, Scanner, Parser, Composer, KubeConstructor, KubeResolver):  # type: ignore[no-redef]
        """The pure-Python parser, Kubernetes' scalar resolution."""

        def __init__(self, stream) -> None:  # noqa: ANN001
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            KubeConstructor.__init__(self)
            KubeResolver.__init__(self)

KUBE_LOADER = KubeLoader
"""The loader for what Kubernetes and Helm read: manifests, values files, Chart.yaml."""


class YamlTooDeep(InputError):
    """The text nests collections deeper than :data:`MAX_DEPTH`."""


_INDENT = re.compile(r"^ +", re.M)
_INDICATORS = re.compile(r"^ *((?:[-?](?:[ \t]+|$))+)", re.M)
_BRACKETS = re.compile(r"[\[\]{}]")


def _upper_bound(text: str) -> int:
    """An over-estimate of the nesting depth: never below the real depth, exact enough to skip the event scan.

    The deepest indentation, plus the most block indicators (``- ``, ``? ``) leading one line, plus the deepest
    bracket nesting (quotes ignored, so it may over-count); each found by a regular expression, not a loop over
    lines (this runs on every manifest before it is parsed)."""
    max_indent = max(map(len, _INDENT.findall(text)), default=0)
    max_dashes = max((len(m.group(1).replace(" ", "").replace("\t", "")) for m in _INDICATORS.finditer(text)),
                     default=0)
    flow = max_flow = 0
    if "[" in text or "{" in text:
        for ch in _BRACKETS.findall(text):
            if ch in "[{":
                flow += 1
                max_flow = max(max_flow, flow)
            elif flow:
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


def load_kube(text: str, what: str) -> Any:
    """``yaml.load`` with :data:`KUBE_LOADER` (Kubernetes' scalar resolution), after :func:`check_depth`."""
    check_depth(text, what)
    return yaml.load(text, Loader=KUBE_LOADER)
