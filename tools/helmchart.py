"""The shape of a Helm release: a chart, its subcharts (``charts/``) and its ``file://`` dependencies.

Helm renders an umbrella chart together with its subcharts, so a subchart (or a ``file://`` dependency of a
chart in the workspace) is rendered once, through its umbrella, with the umbrella's values. A ``file://``
dependency missing from ``charts/`` is copied in before rendering (what ``helm dependency build`` does);
one that resolves outside the workspace is not followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from core.errors import InputError
from core.yamlsafe import KUBE_LOADER, depth_exceeds
from tools.workspace import PRUNE_DIRS, read_text, resolve_inside

_LOADER = KUBE_LOADER  # Helm decodes values and charts with sigs.k8s.io/yaml (core.yamlsafe)
MAX_SCAN_DEPTH = 6


@dataclass
class ChartNode:
    """One chart of a release. ``dir`` is workspace-relative ("" for a packaged ``.tgz`` subchart); ``name`` is
    the chart's name in rendered paths and its values key in the parent (the dependency alias if any)."""

    dir: str
    name: str
    vendor: bool = False
    """A ``file://`` dependency that is not in ``charts/``: copied in before rendering."""
    children: list[ChartNode] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    conditions: set[str] = field(default_factory=lambda: {"tags"})
    """Values paths Helm itself reads (dependency ``condition``s, ``tags``): used even if no template is."""

    def walk(self) -> list[ChartNode]:
        return [self, *(n for c in self.children for n in c.walk())]


def chart_meta(root: Path, chart_dir: str) -> dict[str, Any]:
    """``Chart.yaml`` as a mapping ({} when missing or malformed)."""
    rel = f"{chart_dir}/Chart.yaml" if chart_dir not in (".", "") else "Chart.yaml"
    try:
        text = read_text(root, rel)[0] if (root / rel).is_file() else None
        data = yaml.load(text or "", Loader=_LOADER) if not depth_exceeds(text or "") else None
    except (InputError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def dependency_keys(root: Path, chart_dir: str) -> set[str]:
    """Values keys of every declared dependency (its alias or name), fetched or not, and of ``charts/``."""
    keys = {str(d.get("alias") or d.get("name")) for d in chart_meta(root, chart_dir).get("dependencies") or []
            if isinstance(d, dict) and (d.get("alias") or d.get("name"))}
    return keys | set(_present(root, chart_dir))


def _join(chart_dir: str, rel: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(chart_dir, rel).parts:
        if part == "..":
            if not parts:
                raise InputError(f"{rel} leaves the workspace")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or "."


def file_dependencies(root: Path, chart_dir: str) -> list[tuple[str, str, str]]:
    """(name, alias or name, workspace dir) of the ``file://`` dependencies of a chart that stay inside the
    workspace; a dependency that leaves it gets dir ``""``."""
    out = []
    for dep in chart_meta(root, chart_dir).get("dependencies") or []:
        if not isinstance(dep, dict) or not str(dep.get("repository") or "").startswith("file://"):
            continue
        name = str(dep.get("name") or "")
        try:
            target = _join(chart_dir, str(dep["repository"])[len("file://"):])
            resolve_inside(root, target)
        except InputError:
            target = ""
        out.append((name, str(dep.get("alias") or name), target))
    return out


def _present(root: Path, chart_dir: str) -> dict[str, str]:
    """Charts in ``charts/``: chart name -> dir ("" for a ``.tgz``)."""
    base = root / chart_dir / "charts"
    out: dict[str, str] = {}
    for entry in sorted(base.iterdir()) if base.is_dir() else []:
        rel = f"{chart_dir}/charts/{entry.name}" if chart_dir not in (".", "") else f"charts/{entry.name}"
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            out[str(chart_meta(root, rel).get("name") or entry.name)] = rel
        elif entry.name.endswith(".tgz"):
            out.setdefault(entry.name[:-4].rsplit("-", 1)[0], "")
    return out


def chart_tree(root: Path, chart_dir: str, name: str | None = None, depth: int = 0) -> ChartNode:
    """The release rooted at ``chart_dir``: its subcharts and ``file://`` dependencies, recursively."""
    node = ChartNode(dir=chart_dir, name=name or str(chart_meta(root, chart_dir).get("name") or
                                                      PurePosixPath(chart_dir).name))
    if depth > MAX_SCAN_DEPTH:
        return node
    present = _present(root, chart_dir)
    files = {n: (alias, target) for n, alias, target in file_dependencies(root, chart_dir)}
    seen = set()
    for dep in chart_meta(root, chart_dir).get("dependencies") or []:
        if not isinstance(dep, dict) or not dep.get("name"):
            continue
        dep_name = str(dep["name"])
        alias = str(dep.get("alias") or dep_name)
        seen.add(dep_name)
        if dep_name in present:
            child_dir, vendor = present[dep_name], False
        elif dep_name in files and files[dep_name][1]:
            child_dir, vendor = files[dep_name][1], True
        else:
            if dep_name in files:
                node.problems.append(f"dependency {dep_name} ({dep.get('repository')}) is outside the workspace")
            continue
        child = chart_tree(root, child_dir, alias, depth + 1) if child_dir else ChartNode(dir="", name=alias)
        child.vendor = vendor
        for condition in str(dep.get("condition") or "").split(","):
            condition = condition.strip()
            if condition.startswith(alias + "."):
                child.conditions.add(condition[len(alias) + 1:])
            elif condition:
                node.conditions.add(condition)
        node.children.append(child)
    for dep_name, child_dir in present.items():
        if dep_name not in seen:
            node.children.append(chart_tree(root, child_dir, dep_name, depth + 1) if child_dir else
                                 ChartNode(dir="", name=dep_name))
    return node


def _all_charts(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = sorted(d for d in dirnames if d not in PRUNE_DIRS) if rel.count("/") < MAX_SCAN_DEPTH else []
        if "Chart.yaml" in filenames:
            out.append(rel)
    return out


def release_roots(root: Path, charts: list[str], configured: bool) -> list[str]:
    """The charts to render: each chart goes up to the umbrella that renders it (a ``charts/`` parent, or a chart
    with a ``file://`` dependency on it). Configured charts go up only to another configured chart."""
    if not charts:  # nothing to go up from: no walk of the workspace for the umbrellas
        return []
    pool = set(charts) if configured else set(charts) | set(_all_charts(root))
    parent: dict[str, str] = {}
    for chart in sorted(pool):
        path = PurePosixPath(chart)
        if path.parent.name == "charts" and path.parent.parent.as_posix() in pool | {"."} and \
                (root / path.parent.parent / "Chart.yaml").is_file():
            parent[chart] = path.parent.parent.as_posix()
        for _, _, target in file_dependencies(root, chart):
            if target in pool and target != chart:
                parent.setdefault(target, chart)
    out = set()
    for chart in charts:
        seen = {chart}
        while chart in parent and parent[chart] not in seen:
            chart = parent[chart]
            seen.add(chart)
        out.add(chart)
    return sorted(out)
