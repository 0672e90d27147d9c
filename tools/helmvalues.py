"""Static checks of a Helm release's values, and where a rendered value was set.

* ``HELM-VALUES-UNDEFINED`` (medium): a ``.Values`` path used *unguarded* (see :mod:`tools.helmtemplate`) and
  defined in no values file of its chart's scope (the chart's ``values.yaml``, the configured values files,
  and for a subchart the parent's values under its key plus ``global``). An empty map counts as open.
* ``HELM-VALUES-UNUSED`` (low): a key that no template of its chart reaches, checked in ``values.yaml`` and in
  every values file ``helm.values`` names for the chart, each finding on that file's line. Keys of subcharts
  are checked against the subchart's templates.
* Origins: for each leaf of the effective values, the values file and line that set it last, so a problem
  rendered from a value (``tag: latest``, a secret literal) can be reported on the values line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.config import Config
from core.errors import InputError
from core.models import Finding
from core.yamlsafe import KUBE_LOADER, depth_exceeds
from tools.catalog import finding
from tools.helmchart import ChartNode, chart_tree, dependency_keys
from tools.helmtemplate import TemplateScan, scan_templates, unguarded, used_paths
from tools.workspace import read_text

UNDEFINED_ID = "HELM-VALUES-UNDEFINED"
UNUSED_ID = "HELM-VALUES-UNUSED"
_LOADER = KUBE_LOADER  # Helm decodes values and charts with sigs.k8s.io/yaml (core.yamlsafe)


@dataclass
class Layer:
    """One values file as it applies to a chart: the file, and its node/data for the chart (a parent's file
    contributes the sub-tree under the subchart's key, whose paths are shown with ``prefix``)."""

    file: str
    node: Node | None
    data: dict[str, Any]
    prefix: str = ""


@dataclass
class Scope:
    chart: ChartNode
    layers: list[Layer] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    scan: TemplateScan = field(default_factory=TemplateScan)

    @property
    def defined(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in self.layers:
            merged = deep_merge(merged, layer.data)
        return merged


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge recursively, anything else in ``override`` replaces."""
    out = dict(base)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read(root: Path, rel: str) -> str | None:
    try:
        return read_text(root, rel)[0] if (root / rel).is_file() else None
    except InputError:
        return None


def _layer(root: Path, rel: str) -> Layer | None:
    text = _read(root, rel)
    if text is None:
        return None
    if depth_exceeds(text):
        return None  # reported by the renderer
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None  # reported by the renderer
    return Layer(rel, node, data if isinstance(data, dict) else {})


def _sub(layer: Layer, key: str) -> Layer:
    node = next((v for k, v in layer.node.value if isinstance(k, ScalarNode) and k.value == key), None) \
        if isinstance(layer.node, MappingNode) else None
    data = layer.data.get(key) if isinstance(layer.data.get(key), dict) else {}
    glob = layer.data.get("global") if isinstance(layer.data.get("global"), dict) else {}
    return Layer(layer.file, node, deep_merge(data, {"global": glob}) if glob else data, f"{layer.prefix}{key}.")


def chart_texts(root: Path, chart_dir: str) -> dict[str, str]:
    """The chart's own template files (``templates/**``), workspace-relative path -> text."""
    texts: dict[str, str] = {}
    base = root / chart_dir / "templates"
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        text = _read(root, rel) if path.is_file() else None
        if text is not None:
            texts[rel] = text
    return texts


def scopes(root: Path, chart_dir: str, config: Config) -> list[Scope]:
    """Every chart of the release with its values layers and template scan."""
    tree = chart_tree(root, chart_dir)
    top = [layer for rel in [f"{chart_dir}/values.yaml" if chart_dir not in (".", "") else "values.yaml",
                             *config.helm.values.get(chart_dir, [])] if (layer := _layer(root, rel))]
    out: list[Scope] = []

    def visit(node: ChartNode, layers: list[Layer]) -> None:
        scope = Scope(node, layers, chart_texts(root, node.dir) if node.dir else {})
        out.append(scope)
        for child in node.children:
            own = _layer(root, f"{child.dir}/values.yaml") if child.dir else None
            visit(child, [*([own] if own else []), *(_sub(layer, child.name) for layer in layers)])

    visit(tree, top)
    shared = {k: v for s in out for k, v in s.texts.items()}
    for scope in out:
        scope.scan = scan_templates(scope.texts, shared)
    return out


def is_defined(values: Any, path: str) -> bool:
    """True when ``path`` (``a.b.c``) exists in ``values``; an empty map counts as open (any key allowed)."""
    node = values
    for key in path.split("."):
        if not isinstance(node, dict):
            return False
        if key not in node:
            return not node
        node = node[key]
    return True


def _truthy(values: Any, path: str) -> bool:
    node = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return bool(node)


def unused_values(node: Node | None, used: Iterable[str], prefix: str = "") -> list[tuple[str, int]]:
    """Top-most keys (path, 1-based line) that no used path reaches, above or below."""
    if not isinstance(node, MappingNode):
        return []
    used = list(used)
    out: list[tuple[str, int]] = []
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        path = f"{prefix}{key.value}"
        if any(u == path or path.startswith(u + ".") for u in used):
            continue
        if any(u.startswith(path + ".") for u in used):
            out += unused_values(value, used, path + ".")
        else:
            out.append((path, key.start_mark.line + 1))
    return out


def chart_values_findings(root: Path, chart_dir: str, config: Config) -> list[Finding]:
    """``HELM-VALUES-UNDEFINED`` and ``HELM-VALUES-UNUSED`` for one release (static: templates and values files)."""
    findings: list[Finding] = []
    for scope in scopes(root, chart_dir, config):
        if not scope.chart.dir:
            continue
        defined = scope.defined
        for path, (file, line) in sorted(unguarded(scope.scan, lambda flag, values=defined: _truthy(values, flag)).items()):
            if not is_defined(defined, path):
                findings.append(finding(
                    UNDEFINED_ID, file=file, line=line,
                    message=f".Values.{path} is used without a default or guard but defined in no values file of "
                            f"{scope.chart.dir} (it renders as empty)",
                    remediation="Define the value (with a safe default) in values.yaml, guard it (`default`, "
                                "`if`, `with`, `required`), or remove the reference."))
        if scope.scan.uses_everything:
            continue
        used = used_paths(scope.scan) | scope.chart.conditions
        skip = {"global", *(c.name for c in scope.chart.children), *dependency_keys(root, scope.chart.dir)}
        for layer in scope.layers:
            for path, line in unused_values(layer.node, used):
                if path.split(".")[0] not in skip:
                    findings.append(finding(
                        UNUSED_ID, file=layer.file,
                        line=line, message=f"value '{layer.prefix}{path}' is defined but no template of "
                                           f"{scope.chart.dir} uses it", remediation="Remove the value, or use "
                                                                                     "it in a template."))
    return sorted({(f.file, f.line, f.check_id, f.message): f for f in findings}.values(),
                  key=lambda f: (f.file or "", f.line or 0, f.check_id))


# --- where a value was set ---------------------------------------------------------------------------------


def leaves(node: Node | None, prefix: str = "") -> Iterable[tuple[str, str, int]]:
    """(path, scalar text, 1-based line) of every scalar under ``node``."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield from leaves(value, f"{prefix}{key.value}.")
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            yield from leaves(item, f"{prefix.rstrip('.')}[{i}].")
    elif isinstance(node, ScalarNode):
        yield prefix.rstrip("."), node.value, node.start_mark.line + 1


def origins(scope: Scope) -> dict[str, tuple[str, int, str, str]]:
    """Effective leaf path -> (values file, line, text, path as written in that file): the last layer wins."""
    out: dict[str, tuple[str, int, str, str]] = {}
    for layer in scope.layers:
        for path, text, line in leaves(layer.node):
            out[path] = (layer.file, line, text, layer.prefix + path)
    return out
