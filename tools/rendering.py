"""Render Helm charts and Kustomizations into Kubernetes objects, and check charts' values.

* **Helm** (a directory with ``Chart.yaml``): ``helm template`` when ``helm`` is on PATH, else the
  ``helm-python-sdk`` package (optional extra ``helm``; it bundles Helm v4's library). Values files come from
  ``config.helm.values`` (chart dir -> files, relative to the workspace), release name and namespace from
  ``config.helm``. Each rendered object's ``file`` and ``rendered_from`` are its template file, relative to
  the workspace; its ``line`` is the line in that template's rendered output.
* **Kustomize** (a directory with ``kustomization.yaml``): ``kubectl kustomize`` or ``kustomize build``.
* Nothing to render with → one ``info`` finding per chart/kustomization; a render failure → a ``schema``
  finding with the path and the first error line. The scan goes on either way.
* Chart checks: ``.Values`` paths used in templates but defined nowhere (``HELM-VALUES-UNDEFINED``) and
  values defined in ``values.yaml`` but never used (``HELM-VALUES-UNUSED``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from core.config import Config
from core.models import Finding, K8sObject, Severity
from tools.catalog import finding
from tools.helm_locations import relocate
from tools.manifests import load_manifest_text
from tools.workspace import read_text

RENDER_ID = "SCH-RENDER-FAILED"
NOT_RENDERED_ID = "SCH-NOT-RENDERED"
UNDEFINED_ID = "HELM-VALUES-UNDEFINED"
UNUSED_ID = "HELM-VALUES-UNUSED"
RENDER_TIMEOUT_S = 120
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_TRAILING_SEPARATOR = re.compile(r"(\n---)?\s*$")
_VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


@dataclass
class RenderResult:
    """Objects rendered from charts/kustomizations, the findings about them, and the directories they own
    (whose files are analysed through the renderer, never loaded one by one)."""

    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    owned_dirs: list[str] = field(default_factory=list)


def _finding(check_id: str, severity: Severity, message: str, file: str | None, line: int | None = None,
             remediation: str | None = None) -> Finding:
    return finding(check_id, message, severity=severity, file=file, line=line, remediation=remediation)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")[:300]


# --- discovery --------------------------------------------------------------------------------------------


def _owning_dir(root: Path, rel: str, markers: Iterable[str]) -> str | None:
    """The nearest directory at or above ``rel``'s directory (inside ``root``) holding one of ``markers``."""
    path = PurePosixPath(rel)
    for parent in [path.parent, *path.parent.parents]:
        if any((root / parent / marker).is_file() for marker in markers):
            return parent.as_posix()
    return None


def charts_in(root: Path, files: Iterable[str], config: Config) -> list[str]:
    """Chart directories owning any of ``files``: among ``config.helm.charts`` when set, else auto-detected."""
    files = list(files)
    if config.helm.charts:
        configured = {PurePosixPath(c).as_posix().rstrip("/") for c in config.helm.charts}
        return sorted(c for c in configured if any(in_chart(f, [c]) for f in files))
    found = {_owning_dir(root, f, ("Chart.yaml",)) for f in files}
    return sorted(c for c in found if c is not None)


def kustomizations_in(root: Path, files: Iterable[str]) -> list[str]:
    """Directories with a kustomization file owning any of ``files`` (outside Helm charts)."""
    found = set()
    for f in files:
        owner = _owning_dir(root, f, KUSTOMIZATION_NAMES)
        if owner is not None and _owning_dir(root, f, ("Chart.yaml",)) is None:
            found.add(owner)
    return sorted(found)


def in_chart(path: str, charts: Iterable[str]) -> bool:
    """True when ``path`` lies inside one of the chart directories."""
    return any(c in (".", "") or path == c or path.startswith(c + "/") for c in charts)


# --- helm -------------------------------------------------------------------------------------------------


def split_helm_output(text: str) -> dict[str, str]:
    """Split ``helm template`` output into ``{template path: manifest}`` on its ``# Source:`` comments."""
    out: dict[str, str] = {}
    matches = list(_SOURCE.finditer(text))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = _TRAILING_SEPARATOR.sub("", text[match.end():end])
        source = match.group(1).strip()
        out[source] = f"{out[source]}\n---\n{body}" if source in out else body
    return out


def _helm_cli(chart: Path, values: list[Path], config: Config) -> dict[str, str]:
    cmd = ["helm", "template", config.helm.release_name, str(chart), "--namespace", config.helm.namespace]
    for v in values:
        cmd += ["--values", str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RenderError(_first_line(proc.stderr))
    return split_helm_output(proc.stdout)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge recursively, anything else in ``override`` replaces."""
    out = dict(base)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _load_values_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RenderError(f"values file {path.name}: {_first_line(str(exc))}") from None
    if data is not None and not isinstance(data, dict):
        raise RenderError(f"values file {path.name}: the top level must be a mapping")
    return data or {}


def _helm_sdk(chart: Path, values: list[Path], config: Config) -> dict[str, str]:
    from helm_python import Chart, HelmError

    merged: dict[str, Any] = {}
    for v in values:
        merged = deep_merge(merged, _load_values_file(v))
    try:
        with Chart.load(chart) as loaded:
            return loaded.render(merged or None, name=config.helm.release_name, namespace=config.helm.namespace)
    except HelmError as exc:
        raise RenderError(_first_line(str(exc))) from None


class RenderError(Exception):
    """A chart or kustomization failed to render; the message is the first line of the renderer's error."""


def helm_backend() -> str | None:
    """``"cli"`` when ``helm`` is on PATH, ``"sdk"`` when ``helm-python-sdk`` imports, else None."""
    if shutil.which("helm"):
        return "cli"
    try:
        import helm_python  # noqa: F401
    except (ImportError, OSError):
        return None
    return "sdk"


def _rendered_objects(manifests: dict[str, str], chart_dir: str) -> tuple[list[K8sObject], list[Finding]]:
    """Load rendered manifests; each object's file is its template path relative to the workspace."""
    objects: list[K8sObject] = []
    findings: list[Finding] = []
    for source, text in sorted(manifests.items()):
        template = PurePosixPath(chart_dir, *PurePosixPath(source).parts[1:]).as_posix()
        found, problems = load_manifest_text(text, template)
        for obj in found:
            obj.rendered_from = template
        objects += found
        findings += problems
    return objects, findings


def render_chart(root: Path, chart_dir: str, config: Config, backend: str | None) -> RenderResult:
    """Render one chart (never raises on a bad chart: failures become findings)."""
    chart_yaml = f"{chart_dir}/Chart.yaml" if chart_dir not in (".", "") else "Chart.yaml"
    if backend is None:
        return RenderResult(findings=[_finding(NOT_RENDERED_ID, Severity.info,
                                               "chart not rendered: install helm or the helm extra "
                                               "(pip install 'infra-orchestrator[helm]'); its templates are not analysed",
                                               chart_yaml)])
    values = [root / v for v in config.helm.values.get(chart_dir, [])]
    missing = [str(v.relative_to(root)) for v in values if not v.is_file()]
    try:
        if missing:
            raise RenderError(f"values file(s) not found: {', '.join(missing)}")
        render = _helm_cli if backend == "cli" else _helm_sdk
        manifests = render(root / chart_dir, values, config)
    except (RenderError, subprocess.TimeoutExpired, OSError) as exc:
        return RenderResult(findings=[_finding(RENDER_ID, Severity.high, f"chart {chart_dir} failed to render: "
                                               f"{_first_line(str(exc)) if str(exc) else type(exc).__name__}",
                                               chart_yaml, remediation="Run `helm template` on the chart and fix "
                                               "the error.")])
    objects, findings = _rendered_objects(manifests, chart_dir)
    relocate(root, chart_dir, objects, config.helm.values.get(chart_dir, []))  # rendered lines -> template lines
    return RenderResult(objects=objects, findings=findings)


# --- values checks ----------------------------------------------------------------------------------------


def values_used(templates: dict[str, str]) -> dict[str, tuple[str, int]]:
    """Every ``.Values.a.b`` path referenced in ``{file: text}``, with its first file and line."""
    used: dict[str, tuple[str, int]] = {}
    for file, text in sorted(templates.items()):
        for match in _VALUES_REF.finditer(text):
            path = match.group(1)[1:]
            used.setdefault(path, (file, text.count("\n", 0, match.start()) + 1))
    return used


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


def _values_tree(text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None


def unused_values(node: Node | None, used: Iterable[str], prefix: str = "") -> list[tuple[str, int]]:
    """Top-most ``values.yaml`` keys (path, 1-based line) that no used path reaches, above or below."""
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


def _chart_texts(root: Path, chart_dir: str) -> dict[str, str]:
    """The chart's own template files (``templates/**``), workspace-relative path -> text."""
    texts: dict[str, str] = {}
    base = root / chart_dir / "templates"
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        text, _ = read_text(root, rel) if path.is_file() else (None, None)
        if text is not None:
            texts[rel] = text
    return texts


def _subchart_keys(root: Path, chart_dir: str) -> set[str]:
    """Top-level values keys that belong to subcharts (``charts/*``, Chart.yaml dependencies) or ``global``."""
    keys = {"global"}
    charts = root / chart_dir / "charts"
    if charts.is_dir():
        keys |= {p.name.split("-")[0] if p.suffix == ".tgz" else p.name for p in charts.iterdir()}
    try:
        meta = yaml.load((root / chart_dir / "Chart.yaml").read_text(encoding="utf-8"), Loader=_LOADER) or {}
        keys |= {d.get("alias") or d.get("name") for d in meta.get("dependencies") or [] if isinstance(d, dict)}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        pass
    return {k for k in keys if isinstance(k, str)}


def chart_values_findings(root: Path, chart_dir: str, config: Config) -> list[Finding]:
    """``HELM-VALUES-UNDEFINED`` and ``HELM-VALUES-UNUSED`` for one chart (static: templates and values files)."""
    values_rel = f"{chart_dir}/values.yaml"
    values_text = read_text(root, values_rel)[0] if (root / values_rel).is_file() else ""
    tree = _values_tree(values_text or "")
    try:
        defined = yaml.load(values_text or "", Loader=_LOADER) or {}
    except yaml.YAMLError:
        return []  # values.yaml itself is reported by the renderer / loader
    for extra in config.helm.values.get(chart_dir, []):
        try:
            defined = deep_merge(defined if isinstance(defined, dict) else {}, _load_values_file(root / extra))
        except RenderError:
            continue
    used = values_used(_chart_texts(root, chart_dir))
    findings = [
        finding(UNDEFINED_ID, f".Values.{path} is used but not defined in values.yaml (it renders as empty)",
                file=file, line=line,
                remediation="Define the value (with a safe default) in values.yaml, or remove the reference.")
        for path, (file, line) in sorted(used.items()) if not is_defined(defined, path)
    ]
    skip = _subchart_keys(root, chart_dir)
    findings += [
        finding(UNUSED_ID, f"value '{path}' is defined but no template uses it", file=values_rel, line=line,
                remediation="Remove the value, or use it in a template.")
        for path, line in unused_values(tree, used) if path.split(".")[0] not in skip
    ]
    return findings


# --- kustomize --------------------------------------------------------------------------------------------


def kustomize_command() -> list[str] | None:
    """``kubectl kustomize`` or ``kustomize build``, whichever is on PATH."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def _kustomization_file(root: Path, directory: str) -> str:
    name = next((n for n in KUSTOMIZATION_NAMES if (root / directory / n).is_file()), KUSTOMIZATION_NAMES[0])
    return PurePosixPath(directory, name).as_posix()


def render_kustomization(root: Path, directory: str, command: list[str] | None) -> RenderResult:
    """Build one kustomization; objects point at its kustomization file."""
    kfile = _kustomization_file(root, directory)
    if command is None:
        return RenderResult(findings=[_finding(NOT_RENDERED_ID, Severity.info, "kustomization not rendered: "
                                               "install kubectl or kustomize; its output is not analysed", kfile)])
    try:
        proc = subprocess.run([*command, str(root / directory)], capture_output=True, text=True,
                              timeout=RENDER_TIMEOUT_S, check=False)
    except (subprocess.TimeoutExpired, OSError) as exc:
        proc = subprocess.CompletedProcess(command, 1, "", f"{type(exc).__name__}")
    if proc.returncode != 0:
        return RenderResult(findings=[_finding(RENDER_ID, Severity.high, f"kustomization {directory} failed to "
                                               f"render: {_first_line(proc.stderr)}", kfile)])
    objects, findings = load_manifest_text(proc.stdout, directory)  # the loader skips kustomization.yaml by name
    for item in [*objects, *findings]:
        item.file = kfile
    for obj in objects:
        obj.rendered_from = kfile
        obj.marks = {}  # positions in the build output, not in the kustomization file: findings keep obj.line
    return RenderResult(objects=objects, findings=findings, owned_dirs=[directory])


# --- entry point ------------------------------------------------------------------------------------------


def render_all(root: Path, files: list[str], config: Config) -> RenderResult:
    """Render every chart and kustomization owning one of ``files``, plus the charts' values checks."""
    charts = charts_in(root, files, config)
    result = RenderResult(owned_dirs=list(charts))
    backend = helm_backend() if charts else None
    for chart in charts:
        if not (root / chart / "Chart.yaml").is_file():
            result.findings.append(_finding(RENDER_ID, Severity.high, f"chart {chart} (config helm.charts) has no "
                                            "Chart.yaml", chart))
            continue
        rendered = render_chart(root, chart, config, backend)
        result.objects += rendered.objects
        result.findings += rendered.findings + chart_values_findings(root, chart, config)
    command = kustomize_command()
    for directory in kustomizations_in(root, files):
        rendered = render_kustomization(root, directory, command)
        result.objects += rendered.objects
        result.findings += rendered.findings
        result.owned_dirs += rendered.owned_dirs
    return result
