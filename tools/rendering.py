"""Render Helm charts and Kustomizations into Kubernetes objects, and check charts' values.

* **Helm** (a directory with ``Chart.yaml``): ``helm template`` when ``helm`` is on PATH, else the
  ``helm-python-sdk`` package (optional extra ``helm``; it bundles Helm v4's library). Values files come from
  ``config.helm.values`` (chart dir -> files, relative to the workspace), release name and namespace from
  ``config.helm``. Each rendered object's ``file`` and ``rendered_from`` are its template file, relative to
  the workspace; its ``line`` is the line in that template's rendered output.
* **One render per release**: a subchart (``charts/``) or a ``file://`` dependency of another chart is
  rendered through its umbrella (:mod:`tools.helmchart`), never on its own as well.
* **Template errors**: a failing template is a ``SCH-RENDER-FAILED`` finding on that template and line with
  Helm's whole message; the chart is rendered again without it, so the other templates are still checked.
* **Kustomize** (a directory with ``kustomization.yaml``): ``kubectl kustomize`` or ``kustomize build``.
* Nothing to render with → one ``info`` finding per chart/kustomization. The scan goes on either way.
* Chart checks: :mod:`tools.helmvalues` (``HELM-VALUES-UNDEFINED``, ``HELM-VALUES-UNUSED``); findings about a
  value rendered from a values file are moved to that values line (:func:`at_values_lines`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from core import confine, yamlsafe
from core.config import Config
from core.errors import InputError
from core.models import Finding, K8sObject, Severity
from core.yamlsafe import KUBE_LOADER
from tools.catalog import finding
from tools.helm_locations import relocate
from tools.helmchart import ChartNode, chart_tree, release_roots
from tools.helmnamespace import hardcoded_namespace_findings
from tools.helmorigin import annotate_origins, at_values_lines
from tools.helmvalues import UNDEFINED_ID, UNUSED_ID, chart_values_findings, deep_merge, is_defined, scopes
from tools.manifests import load_manifest_text
from tools.render_scope import KUSTOMIZATION_NAMES, RenderResult, charts_in, in_chart, kustomizations_in
from tools.workspace import PRUNE_DIRS, UNREADABLE_ID, outside, resolve_inside

__all__ = ["KUSTOMIZATION_NAMES", "NOT_RENDERED_ID", "RENDER_ID", "UNDEFINED_ID", "UNUSED_ID", "RenderResult",
           "at_values_lines", "chart_values_findings", "charts_in", "deep_merge", "helm_backend", "in_chart",
           "is_defined", "kustomizations_in", "render_all", "render_chart", "render_kustomization",
           "split_helm_output"]

RENDER_ID = "SCH-RENDER-FAILED"
NOT_RENDERED_ID = "SCH-NOT-RENDERED"
RENDER_TIMEOUT_S = 120
MAX_MESSAGE = 2000
MAX_EXCLUDED = 20

_LOADER = KUBE_LOADER  # Helm decodes values and charts with sigs.k8s.io/yaml (core.yamlsafe)
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_TRAILING_SEPARATOR = re.compile(r"(\n---)?\s*$")
_TEMPLATE_AT = re.compile(r"([\w.-]+(?:/charts/[\w.-]+)*/templates/[^\s:()\"]+):(\d+)(?::(\d+))?")
_EXECUTING = re.compile(r"executing \"([\w.-]+(?:/charts/[\w.-]+)*/templates/[^\"]+)\"")


def _finding(check_id: str, severity: Severity, message: str, file: str | None, line: int | None = None,
             remediation: str | None = None) -> Finding:
    return finding(check_id, message, severity=severity, file=file, line=line, remediation=remediation)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")[:300]


def _whole(text: str) -> str:
    """A renderer's whole message on one line (``Error:`` prefix dropped, whitespace collapsed, bounded)."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip()).removeprefix("Error: ")
    return (joined or "no output")[:MAX_MESSAGE]


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
        raise RenderError(_whole(proc.stderr))
    return split_helm_output(proc.stdout)


def _load_values_file(path: Path) -> dict[str, Any]:
    try:
        data = yamlsafe.load(confine.read_text_file(path, what=f"values file {path.name}"), f"values file {path.name}")
    except InputError as exc:
        raise RenderError(str(exc)) from None
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
        raise RenderError(_whole(str(exc))) from None


class RenderError(Exception):
    """A chart or kustomization failed to render; the message is the renderer's whole error, on one line."""


def helm_backend() -> str | None:
    """``"cli"`` when ``helm`` is on PATH, ``"sdk"`` when ``helm-python-sdk`` imports, else None."""
    if shutil.which("helm"):
        return "cli"
    try:
        import helm_python  # noqa: F401
    except (ImportError, OSError):
        return None
    return "sdk"


def _workspace_path(tree: ChartNode, source: str) -> str:
    """The workspace file of a rendered path such as ``todo/charts/api/templates/x.yaml``."""
    parts = list(PurePosixPath(source).parts[1:])
    node, base = tree, tree.dir
    while len(parts) > 1 and parts[0] == "charts":
        child = next((c for c in node.children if c.name == parts[1]), None)
        if child is None or not child.dir:
            break
        node, base, parts = child, child.dir, parts[2:]
    return PurePosixPath(base, *parts).as_posix()


def _escapes(root: Path, rel: str) -> InputError | None:
    try:
        resolve_inside(root, rel)
    except InputError as exc:
        return exc
    return None


def chart_file_hazards(root: Path, chart_dir: str) -> list[Finding]:
    """Files of a chart that helm must not read: a symlink (file or directory) resolving outside the workspace
    (``.Files.Get`` would copy its content into a manifest), a FIFO, a device or a socket (helm would block)."""
    out: list[Finding] = []
    start = root / chart_dir
    for dirpath, dirnames, filenames in os.walk(start):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if d not in PRUNE_DIRS]
        for name in sorted(filenames) + sorted(d for d in dirnames if (here / d).is_symlink()):
            full = here / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink() and (exc := _escapes(root, rel)):
                out.append(outside(rel, f"chart {chart_dir}: {exc}"))
            elif not full.is_symlink() and not full.is_dir() and not full.is_file():
                out.append(_finding(UNREADABLE_ID, Severity.medium, f"chart {chart_dir}: {rel} is not a regular "
                                    "file; the chart is not rendered", rel))
    return out


def _copy_release(root: Path, tree: ChartNode, target: Path, copy: bool = True) -> dict[str, Path]:
    """Copy the chart to ``target`` with its ``file://`` dependencies in ``charts/``; workspace dir -> copy."""
    if copy:
        shutil.copytree(root / tree.dir, target, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*PRUNE_DIRS))
    where = {tree.dir: target}
    for child in tree.children:
        if child.dir:
            name = PurePosixPath(child.dir).name
            if child.vendor:  # the dependency's name decides nothing on disk: keep it a plain directory name
                name = child.name if re.fullmatch(r"[A-Za-z0-9][\w.-]*", child.name) else f"dependency-{len(where)}"
            where |= _copy_release(root, child, target / "charts" / name, copy=child.vendor)
    return where


def _failure(message: str, tree: ChartNode, chart_yaml: str) -> tuple[Finding, str | None]:
    """The finding for one render failure, and the workspace template to leave out on the next try."""
    at = _TEMPLATE_AT.search(message)
    executing = _EXECUTING.search(message)
    file = _workspace_path(tree, at.group(1)) if at else chart_yaml
    culprit = executing.group(1) if executing and not PurePosixPath(executing.group(1)).name.startswith("_") \
        else at.group(1) if at else None
    finding = _finding(RENDER_ID, Severity.high, f"chart {tree.dir} failed to render: {message}", file,
                       int(at.group(2)) if at else None,
                       remediation="Run `helm template` on the chart and fix the error; the other templates "
                                   "were rendered and checked without this one.")
    return finding, _workspace_path(tree, culprit) if culprit else None


def _leave_out(copy: dict[str, Path], culprit: str) -> bool:
    """Delete the copy of the workspace template ``culprit``; False when it is not there (e.g. in a .tgz)."""
    owner = max((d for d in copy if d in (".", "") or culprit.startswith(d + "/")), key=len, default=None)
    if owner is None:
        return False
    target = copy[owner] / (culprit if owner in (".", "") else culprit[len(owner) + 1:])
    if not target.is_file():
        return False
    target.unlink()
    return True


def _render_release(root: Path, tree: ChartNode, values: list[Path], config: Config,
                    render: Callable[[Path, list[Path], Config], dict[str, str]]) -> tuple[dict[str, str], list[Finding]]:
    """Render, leaving out each failing template in turn (in a copy of the chart) so the rest is checked."""
    chart_yaml = f"{tree.dir}/Chart.yaml" if tree.dir not in (".", "") else "Chart.yaml"
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="infra-orchestrator-helm-") as tmp:
        target = Path(tmp) / (PurePosixPath(tree.dir).name or "chart")
        copy: dict[str, Path] | None = None
        try:
            if any(n.vendor for n in tree.walk()):
                copy = _copy_release(root, tree, target)
            for _ in range(MAX_EXCLUDED):
                try:
                    return render(copy[tree.dir] if copy else root / tree.dir, values, config), findings
                except (RenderError, subprocess.TimeoutExpired) as exc:
                    message = _whole(str(exc)) if str(exc) else type(exc).__name__
                finding, culprit = _failure(message, tree, chart_yaml)
                findings.append(finding)
                copy = copy or (_copy_release(root, tree, target) if culprit else None)
                if culprit is None or copy is None or not _leave_out(copy, culprit):
                    return {}, findings
        except (OSError, shutil.Error) as exc:
            findings.append(_finding(RENDER_ID, Severity.high, f"chart {tree.dir} could not be rendered: "
                                     f"{type(exc).__name__}: {_first_line(str(exc))}", chart_yaml,
                                     remediation="Run `helm template` on the chart and fix the error."))
    return {}, findings


def _rendered_objects(manifests: dict[str, str], tree: ChartNode) -> tuple[list[K8sObject], list[Finding]]:
    """Load rendered manifests; each object's file is its template path relative to the workspace."""
    objects: list[K8sObject] = []
    findings: list[Finding] = []
    for source, text in sorted(manifests.items()):
        template = _workspace_path(tree, source)
        found, problems = load_manifest_text(text, template)
        for obj in found:
            obj.rendered_from = template
        objects += found
        findings += problems
    return objects, findings


def render_chart(root: Path, chart_dir: str, config: Config, backend: str | None) -> RenderResult:
    """Render one release (a chart with its subcharts); never raises on a bad chart: failures become findings."""
    chart_yaml = f"{chart_dir}/Chart.yaml" if chart_dir not in (".", "") else "Chart.yaml"
    if backend is None:
        return RenderResult(findings=[_finding(NOT_RENDERED_ID, Severity.info,
                                               "chart not rendered: install helm or the helm extra "
                                               "(pip install 'infra-orchestrator[helm]'); its templates are not analysed",
                                               chart_yaml)])
    hazards = [outside(v, f"helm.values of {chart_dir}: {exc}") for v in config.helm.values.get(chart_dir, [])
               if (exc := _escapes(root, v))]
    tree = chart_tree(root, chart_dir)
    hazards += [h for node in tree.walk() if node.dir for h in chart_file_hazards(root, node.dir)]
    if hazards:  # helm would read outside content (.Files.Get, values) or block on a FIFO: nothing is rendered
        return RenderResult(findings=hazards)
    values = [root / v for v in config.helm.values.get(chart_dir, [])]
    missing = [str(v.relative_to(root)) for v in values if not v.is_file()]
    if missing:
        return RenderResult(findings=[_finding(RENDER_ID, Severity.high, f"chart {chart_dir} failed to render: "
                                               f"values file(s) not found: {', '.join(missing)}", chart_yaml,
                                               remediation="Fix helm.values in the configuration.")])
    problems = [_finding(NOT_RENDERED_ID, Severity.medium, f"chart {chart_dir}: {p}; it is not rendered", chart_yaml)
                for p in tree.problems]
    manifests, failures = _render_release(root, tree, values, config, _helm_cli if backend == "cli" else _helm_sdk)
    objects, findings = _rendered_objects(manifests, tree)
    relocate(root, chart_dir, objects, config.helm.values.get(chart_dir, []))  # rendered lines -> template lines
    annotate_origins(objects, scopes(root, chart_dir, config))
    return RenderResult(objects=objects, findings=problems + failures + findings)


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
    """Render every release and kustomization owning one of ``files``, plus the charts' values checks; a
    subchart or ``file://`` dependency is rendered once, through its umbrella."""
    charts = charts_in(root, files, config)
    releases = release_roots(root, charts, configured=bool(config.helm.charts))
    result = RenderResult(owned_dirs=sorted(set(charts) | set(releases)))
    backend = helm_backend() if releases else None
    for chart in releases:
        if not (root / chart / "Chart.yaml").is_file():
            result.findings.append(_finding(RENDER_ID, Severity.high, f"chart {chart} (config helm.charts) has no "
                                            "Chart.yaml", chart))
            continue
        rendered = render_chart(root, chart, config, backend)
        result.objects += rendered.objects
        result.findings += (rendered.findings + chart_values_findings(root, chart, config)
                            + hardcoded_namespace_findings(root, chart))
        result.owned_dirs += [n.dir for n in chart_tree(root, chart).walk() if n.dir]
    result.owned_dirs = sorted(set(result.owned_dirs))
    command = kustomize_command()
    for directory in kustomizations_in(root, files):
        rendered = render_kustomization(root, directory, command)
        result.objects += rendered.objects
        result.findings += rendered.findings
        result.owned_dirs += rendered.owned_dirs
    return result
