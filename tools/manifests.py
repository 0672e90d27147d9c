"""Multi-document YAML loading: every Kubernetes object with its file, 1-based line and document index.

Documents are *composed* with libyaml and *constructed* one at a time, with Kubernetes' scalar resolution
(:data:`core.yamlsafe.KUBE_LOADER`: ``2024-01-15`` and ``12:30`` stay strings, as the API server reads them), so

* every object knows the line its document starts on;
* alias bombs are refused on the node graph before anything is expanded (``SCH-YAML-BOMB``);
* duplicate keys are reported (``SCH-DUPLICATE-KEY``) instead of silently keeping the last value;
* a syntax error (``SCH-YAML-INVALID``) costs only the broken part: loading resumes at the next ``---``.

A YAML document is a Kubernetes object when it is a mapping with non-empty string ``apiVersion`` and
``kind``. Files with no such document are ignored unless they live under a directory named ``k8s``,
``manifests``, ``deploy`` or ``kubernetes``. Helm charts' own files, Kustomize, docker-compose and workflow
files are skipped by name; Helm templates are left for the renderer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.models import Finding, K8sObject, Severity
from core.yamlsafe import KUBE_LOADER, MAX_DEPTH, KubeConstructor, NotPlain, depth_exceeds, plain_document
from tools import fieldpath
from tools.catalog import finding
from tools.workspace import read_confined

_LOADER = KUBE_LOADER  # Kubernetes reads plain scalars as go-yaml v2 does (core.yamlsafe)

ALIAS_EXPANSION_BUDGET = 100_000
"""Nodes that aliases may add to a document (beyond its distinct nodes) before it is refused as a bomb."""
_ANCHOR = re.compile(r"(?:^|[\s\[\{,])&[^\s,\[\]{}]+", re.MULTILINE)
"""An anchor (``&name``) where a node starts; a false match only costs the alias walk."""

MANIFEST_DIRS = frozenset({"k8s", "manifests", "deploy", "kubernetes"})
YAML_SUFFIXES = (".yaml", ".yml", ".json")

INVALID_ID = "SCH-YAML-INVALID"
BOMB_ID = "SCH-YAML-BOMB"
TOO_DEEP_ID = "SCH-YAML-TOO-DEEP"
DUPLICATE_KEY_ID = "SCH-DUPLICATE-KEY"
NOT_K8S_ID = "SCH-NOT-K8S-OBJECT"
TEMPLATE_ID = "SCH-TEMPLATE-NOT-RENDERED"

_SKIPPED_NAME = re.compile(
    r"^(chart\.ya?ml|chart\.lock|kustomization\.ya?ml|kustomization|\.infra-orchestrator\.ya?ml)$",
    re.IGNORECASE,
)
_HELM_REFERENCE = re.compile(
    r"\{\{-?[^}]*(\.(Values|Release|Chart|Capabilities|Files|Template)\b"
    r"|\b(include|toYaml|tpl|required|define)\b)"
)
_DOC_SEPARATOR = re.compile(r"^---(\s|$)")
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _finding(check_id: str, severity: Severity, message: str, file: str, line: int | None) -> Finding:
    return finding(check_id, message, severity=severity, file=file, line=line)


def _silently_skipped(file: str) -> bool:
    """Helm chart metadata, Kustomize files and CI workflows are never Kubernetes objects (values and compose
    files are parsed like any YAML: a Kubernetes object saved under such a name is still analysed)."""
    path = PurePosixPath(file.replace("\\", "/"))
    return bool(_SKIPPED_NAME.match(path.name)) or ".github/workflows" in path.parent.as_posix()


def _in_manifest_dir(file: str) -> bool:
    return any(part in MANIFEST_DIRS for part in PurePosixPath(file.replace("\\", "/")).parent.parts)


def not_a_manifest_json(file: str, text: str | None = None) -> bool:
    """A ``.json`` file outside the manifest directories that cannot hold an object (no ``"apiVersion"`` and
    ``"kind"`` keys in ``text``): ``package.json``, ``tsconfig.json``... are never read as manifests."""
    if not file.lower().endswith(".json") or _in_manifest_dir(file):
        return False
    return text is None or not ('"apiVersion"' in text and '"kind"' in text)


def _without_comments(text: str) -> str:
    """The text minus whole-line YAML comments (a '{{ }}' in a comment does not make a file a template)."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def _template_findings(file: str) -> list[Finding]:
    """Chart ``templates/`` are the renderer's business (no finding); other templates get an info note."""
    if "templates" in PurePosixPath(file.replace("\\", "/")).parent.parts:
        return []
    return [finding(TEMPLATE_ID,
                    "file is a Go/Helm template ('{{ }}') outside a chart's templates/: it was not analysed",
                    file=file,
                    remediation="Render it (put it in a Helm chart or Kustomization) or remove the template syntax.",
                    question=f"{file} is a template outside a chart and was not analysed: approve it unanalysed? [y/N]")]


# --- node graph -------------------------------------------------------------------------------------------


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _alias_expansion(root: Node) -> int | None:
    """Nodes that aliases add when the document is expanded, or None when an alias is recursive.

    Computed bottom-up on the distinct nodes (memoised, iterative), so a billion-laughs document costs
    as much as its source text, never its expansion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                return None
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)] - len(sizes)


class _Constructor(KubeConstructor):
    """KubeConstructor that records duplicate keys while it builds each mapping (no extra pass over the nodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.duplicates: list[ScalarNode] = []

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        keys: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                if (key.tag, key.value) in keys:
                    self.duplicates.append(key)
                keys.add((key.tag, key.value))
        return super().construct_mapping(node, deep)


def _plain(node: Node, shared: dict) -> tuple[Any, list[ScalarNode] | None]:
    """The document built by :func:`core.yamlsafe.plain_document` (equal mappings and sequences of the file's
    documents built once, in ``shared``) and its duplicate keys; ``(None, None)`` when it needs the full
    constructor."""
    duplicates: list[ScalarNode] = []
    try:
        return plain_document(node, duplicates, shared), duplicates
    except (NotPlain, RecursionError):
        return None, None


def _mapping_value(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
    return None


# --- documents --------------------------------------------------------------------------------------------


def _describe(exc: Exception) -> str:
    """The problem of a YAML error; other errors by type only (their text may quote a secret value)."""
    problem = getattr(exc, "problem", None)
    if not problem:
        return f"a value cannot be constructed ({type(exc).__name__})"
    context = getattr(exc, "context", None)
    return f"{problem} ({context})" if context else problem


def _error_line(exc: Exception) -> int | None:
    """0-based line of a YAML error, relative to the text that was parsed (None when it carries no mark)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line if mark is not None else None


def _invalid(exc: Exception, file: str, line_offset: int, fallback_line: int) -> Finding:
    line = _error_line(exc)
    return _finding(INVALID_ID, Severity.high, f"invalid YAML: {_describe(exc)}", file,
                    fallback_line if line is None else line_offset + line + 1)


def _next_separator(lines: list[str], start: int) -> int | None:
    return next((i for i in range(start, len(lines)) if _DOC_SEPARATOR.match(lines[i])), None)


def _compose(text: str, file: str) -> tuple[list[tuple[int, int, Node]], list[Finding]]:
    """Compose every document as ``(doc_index, line_offset, node)``; after a syntax error resume at the next ``---``."""
    lines = text.split("\n")
    documents: list[tuple[int, int, Node]] = []
    findings: list[Finding] = []
    start = index = 0
    while True:
        loader = _LOADER("\n".join(lines[start:]))
        try:
            while loader.check_node():
                documents.append((index, start, loader.get_node()))
                index += 1
            return documents, findings
        except yaml.YAMLError as exc:
            findings.append(_invalid(exc, file, start, start + 1))
            index += 1
            resume = _next_separator(lines, max(start + (_error_line(exc) or 0), start + 1))
            if resume is None:
                return documents, findings
            start = resume
        finally:
            loader.dispose()


def _is_k8s(data: Any) -> bool:
    return (isinstance(data, dict) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str)
            and bool(data["apiVersion"]) and bool(data["kind"]))


def _is_empty(data: Any) -> bool:
    return data is None or (isinstance(data, (str, dict, list)) and not data)


_NONE: dict = {}
"""The empty ``values_lines`` and ``value_sources`` every loaded object starts with (100k objects would hold
13 MB of empty dicts): never written to; what fills them assigns a dict of its own (``tools.helmorigin``,
``tools.helm_locations``)."""


def _make_object(data: dict, file: str, line: int, doc_index: int, node: Node | None, offset: int,
                 shared: dict) -> K8sObject:
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = next((v for v in (metadata.get("name"), metadata.get("generateName")) if isinstance(v, str) and v), "")
    namespace = metadata.get("namespace")
    body = data if all(type(k) is str for k in data) else {str(k): v for k, v in data.items()}
    # every field is already of its declared type: skip pydantic validation (it dominates at 10k objects)
    return K8sObject.model_construct(api_version=data["apiVersion"], kind=data["kind"], name=name,
                                     namespace=namespace if isinstance(namespace, str) and namespace else None,
                                     file=file, line=line, doc_index=doc_index, body=body,
                                     rendered_from=None, values_lines=_NONE,
                                     marks=fieldpath.object_marks(node, offset, shared) if node is not None else {},
                                     value_sources=_NONE)


def _not_k8s(file: str, line: int, what: str) -> Finding:
    return _finding(NOT_K8S_ID, Severity.info,
                    f"{what} is not a Kubernetes object (needs a mapping with string apiVersion and kind)", file, line)


_MAX_LIST_DEPTH = 8


def _objects_of(data: Any, node: Node | None, file: str, line: int, doc_index: int,
                offset: int, shared: dict, depth: int = 0) -> tuple[list[K8sObject], list[Finding]]:
    """Turn one constructed document into objects (unpacking ``kind: List`` and ``*List`` kinds, Lists nested in
    Lists included, each item at its own line and field marks) and not-an-object findings. ``shared``: the
    file's table of what its objects share (:func:`tools.fieldpath.object_marks`)."""
    if _is_empty(data):
        return [], []
    if not _is_k8s(data):
        return [], [_not_k8s(file, line, f"document {doc_index}")]
    items = data.get("items")
    if not (data["kind"].endswith("List") and isinstance(items, list)) or depth >= _MAX_LIST_DEPTH:
        return [_make_object(data, file, line, doc_index, node, offset, shared)], []
    items_node = _mapping_value(node, "items") if node is not None else None
    item_nodes = items_node.value if isinstance(items_node, SequenceNode) else []
    objects: list[K8sObject] = []
    findings: list[Finding] = []
    for i, item in enumerate(items):
        item_node = item_nodes[i] if i < len(item_nodes) else None
        item_line = offset + item_node.start_mark.line + 1 if item_node is not None else line
        if _is_k8s(item):
            found, problems = _objects_of(item, item_node, file, item_line, doc_index, offset, shared, depth + 1)
            objects += found
            findings += problems
        elif not _is_empty(item):
            findings.append(_not_k8s(file, item_line, f"item {i} of the {data['kind']}"))
    return objects, findings


def _load_documents(text: str, file: str) -> tuple[list[K8sObject], list[Finding]]:
    documents, findings = _compose(text, file)
    objects: list[K8sObject] = []
    not_k8s: list[Finding] = []
    may_alias = "&" in text and _ANCHOR.search(text) is not None  # an alias needs an anchor: else nothing is shared
    shared: dict = {}  # the file's distinct mappings, sequences and mark layouts: read, never changed in place
    for doc_index, offset, node in documents:
        line = offset + node.start_mark.line + 1
        expansion = _alias_expansion(node) if may_alias else 0
        if expansion is None or expansion > ALIAS_EXPANSION_BUDGET:
            why = "has a recursive alias" if expansion is None else (
                f"expands to over {ALIAS_EXPANSION_BUDGET:,} extra nodes through aliases")
            findings.append(_finding(BOMB_ID, Severity.high, f"document {doc_index} {why} (YAML alias bomb); "
                                     "refused without expanding it", file, line))
            continue
        data, duplicates = _plain(node, shared) if not may_alias else (None, None)
        if duplicates is None:  # shared nodes, a merge key, an unusual tag or a bad scalar: the full constructor
            constructor = _Constructor()
            try:
                data = constructor.construct_document(node)
            except Exception as exc:  # noqa: BLE001 - tag constructors raise ValueError, KeyError... on bad scalars
                findings.append(_invalid(exc, file, offset, line))
                continue
            duplicates = constructor.duplicates
        findings.extend(_finding(DUPLICATE_KEY_ID, Severity.medium,
                                 f"duplicate key '{key.value[:80]}' in a mapping; YAML keeps only the last value",
                                 file, offset + key.start_mark.line + 1) for key in duplicates)
        found, problems = _objects_of(data, node, file, line, doc_index, offset, shared)
        objects.extend(found)
        not_k8s.extend(problems)
    if objects or _in_manifest_dir(file):
        findings.extend(not_k8s)
    return objects, findings


def load_manifest_text(text: str, file: str) -> tuple[list[K8sObject], list[Finding]]:
    """Load the Kubernetes objects of one YAML text; ``file`` is the workspace-relative path reported.

    Never raises on bad input: problems come back as ``schema`` findings with file and line.
    A text with ``{{`` that references Helm objects (``.Values``, ``include``...) or does not parse is
    treated as a template and not loaded (``SCH-TEMPLATE-NOT-RENDERED``, silent under ``templates/``);
    plain manifests that merely carry ``{{ }}`` in strings (e.g. PrometheusRule annotations) still load.
    """
    if _silently_skipped(file) or not_a_manifest_json(file, text):
        return [], []
    if depth_exceeds(text):
        return [], [_finding(TOO_DEEP_ID, Severity.high, f"YAML nested deeper than {MAX_DEPTH} levels; refused "
                             "before parsing, not analysed", file, 1)]
    templated = "{{" in text
    if templated and _HELM_REFERENCE.search(_without_comments(text)):
        return [], _template_findings(file)
    objects, findings = _load_documents(text, file)
    if templated and any(f.check_id == INVALID_ID for f in findings):
        return [], _template_findings(file)
    return objects, findings


def load_manifests(root: Path, rel_paths: Iterable[str]) -> tuple[list[K8sObject], list[Finding]]:
    """Load the ``.yaml``/``.yml`` files among ``rel_paths`` (relative to ``root``); other paths are ignored.

    Unreadable files and paths escaping the workspace become ``SCH-UNREADABLE`` findings; the scan goes on.
    """
    objects: list[K8sObject] = []
    findings: list[Finding] = []
    for rel in rel_paths:
        if not rel.lower().endswith(YAML_SUFFIXES) or _silently_skipped(rel):
            continue
        text, problem = read_confined(root, rel)
        if problem is not None:
            findings.append(problem)
            continue
        found, problems = load_manifest_text(text, rel)
        objects.extend(found)
        findings.extend(problems)
    return objects, findings
