"""The runtime contract of the Phase III app, read without running it, checked against Phase IV workloads.

Infrastructure can break Phase III without touching it: a Deployment that never sets a variable the app
requires, a containerPort the app does not listen on, a probe on a path it does not serve. This module
reads the app roots (``phase3.app_roots``, else the top directories of the ``protected`` globs) and compares
what they need with the workloads of the change:

* what the container runs (:mod:`tools.entrypoints`: the Dockerfile's CMD/ENTRYPOINT, else the package
  entry points) and the files it imports (:mod:`tools.reach`); without an entry point, every module of the
  app root except tests, scripts and migrations;
* what those files read, listen on and serve (:mod:`tools.appsource`, :mod:`tools.approutes`);
* what is provided anyway: the workload's ``env``/``envFrom``, the Dockerfile's ``ENV``, and the variables a
  framework or platform sets (:mod:`tools.platformenv`).

Matching rule: an app root's *name* is its last directory that is not ``src``/``app``/``lib`` (``backend/src``
→ ``backend``). A workload container belongs to it when that name occurs in the container's image
repository, the container's name or the workload's name. With exactly one app root, every workload
container belongs to it. Containers matching no app root are not checked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.config import Phase3Config
from core.models import Finding, K8sObject, Severity
from tools import fieldpath
from tools.approutes import serves
from tools.appsource import AppContract, EnvVar, is_static, js_contract, python_contract
from tools.catalog import finding
from tools.checks.podspec import pod_spec_path
from tools.dockerimage import SKIP_DIRS
from tools.entrypoints import find_entry, read
from tools.layout import literal_prefix
from tools.platformenv import PLATFORM_PORT, provided_by_platform
from tools.reach import JS_SUFFIXES, is_dev_path, reachable

__all__ = ["AppContract", "EnvVar", "app_roots", "check_contract", "extract_contract",
           "js_contract", "python_contract", "read_contracts"]

ENV_MISSING = "CONTRACT-ENV-MISSING"
PORT = "CONTRACT-PORT"
PROBE_PATH = "CONTRACT-PROBE-PATH"
MAX_SOURCE_BYTES = 1024 * 1024
MAX_SOURCES = 4000
WORKLOAD_POD_SPEC = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
                     "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
                     "Job": ("spec", "template", "spec"), "Pod": ("spec",),
                     "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
_NEXT_FILES = re.compile(r"(?:^|/)(?:src/)?(?:app|pages)/|(?:^|/)(?:src/)?(?:middleware|instrumentation)\.[jt]s$")


def _sources(root: Path, base: str) -> list[str]:
    """Python and JS/TS files under ``base`` (workspace-relative), dependencies and build output skipped."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root / base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name.endswith((".py", *JS_SUFFIXES)) and full.is_file() and full.stat().st_size <= MAX_SOURCE_BYTES:
                out.append(full.relative_to(root).as_posix())
        if len(out) > MAX_SOURCES:
            break
    return out


def _read_source(root: Path, rel: str, contract: AppContract, *, env: bool) -> None:
    source = read(root, rel)
    if source is not None:
        (python_contract if rel.endswith(".py") else js_contract)(source, rel, contract, env=env)


def extract_contract(root: Path, app_root: str, single_app: bool = True) -> AppContract:
    """The runtime contract of the app under ``root/app_root`` (read-only)."""
    contract = AppContract(root=app_root)
    entry = find_entry(root, app_root, contract.name, single_app)
    app_files = [f for f in _sources(root, entry.project) if not is_dev_path(f, entry.project)]
    if entry.static:  # a web server serving built files: no app code reads the environment at run time
        contract.entry = "; ".join(entry.commands)
        contract.baked_env = entry.baked_env
        return contract
    if entry.known:
        starts = list(entry.files)
        if entry.next_app:
            starts += [f for f in app_files if _NEXT_FILES.search(f[len(entry.project):])]
        runs = reachable(root, starts, entry.py_roots, entry.project)
        contract.entry = "; ".join(entry.commands) or None
    else:
        runs = [f for f in _sources(root, app_root) if not is_dev_path(f, app_root)]
    for rel in runs:
        _read_source(root, rel, contract, env=True)
    ports = set(contract.ports)
    for rel in sorted(set(app_files) - set(runs)):  # routes only: a route file the entry imports lazily still serves
        _read_source(root, rel, contract, env=False)
    contract.ports = ports | entry.ports
    if entry.next_app:
        public = root / entry.project / "public"
        contract.routes |= {"/" + p.relative_to(public).as_posix() for p in public.rglob("*") if p.is_file()} \
            if public.is_dir() else set()
    contract.baked_env = entry.baked_env
    contract.sources = runs
    return contract


def app_roots(root: Path, phase3: Phase3Config) -> list[str]:
    """``phase3.app_roots``, else the fixed top directories of the protected globs; existing directories only."""
    roots = phase3.app_roots or sorted({p for g in phase3.protected if (p := literal_prefix(g))})
    return [r.strip("/") for r in roots if (root / r).is_dir()]


# --- checking workloads --------------------------------------------------------------------------------

def _pod_spec(obj: K8sObject) -> dict | None:
    node = obj.body
    for key in WORKLOAD_POD_SPEC.get(obj.kind, ()):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) and obj.kind in WORKLOAD_POD_SPEC else None


def _image_repo(image: str) -> str:
    """The repository name of an image reference, without registry, path, tag or digest."""
    return image.split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()


def _belongs(app: AppContract, obj: K8sObject, container: dict, apps: int) -> bool:
    if apps == 1:
        return True
    names = (_image_repo(str(container.get("image", ""))), str(container.get("name", "")).lower(), obj.name.lower())
    return any(app.name in n for n in names)


def _env_from_keys(container: dict, objects: list[K8sObject]) -> set[str] | None:
    """Keys provided by ``envFrom``; None when a referenced ConfigMap/Secret is not in the change (unknown)."""
    keys: set[str] = set()
    for source in container.get("envFrom") or []:
        ref = (source or {}).get("configMapRef") or (source or {}).get("secretRef") or {}
        kind = "ConfigMap" if "configMapRef" in (source or {}) else "Secret"
        found = [o for o in objects if o.kind == kind and o.name == ref.get("name")]
        if not found:
            return None
        data = {**(found[0].body.get("data") or {}), **(found[0].body.get("stringData") or {})}
        keys |= {(source.get("prefix") or "") + k for k in data}
    return keys


def container_field(obj: K8sObject, container: dict, field: str = "") -> str | None:
    """The field path of ``container`` (an entry of the pod spec's ``containers``) plus ``field``."""
    spec_path = pod_spec_path(obj)
    spec = obj.body
    for key in spec_path.split("."):
        spec = spec.get(key) if isinstance(spec, dict) else None
    items = spec.get("containers") if isinstance(spec, dict) else None
    index = next((i for i, c in enumerate(items or []) if c is container), None)
    return None if index is None else fieldpath.join(f"{spec_path}.containers[{index}]", field)


def _finding(check_id: str, severity: Severity, obj: K8sObject, message: str, remediation: str,
             field: str | None = None) -> Finding:
    """A contract finding at ``field`` of ``obj`` (its closest recorded parent when it is missing)."""
    at, where = fieldpath.locate(obj.marks, field) if field else (None, None)
    line, column = where if where else (obj.line, None)
    return finding(check_id, message, severity=severity, resource=obj.ref(), file=obj.rendered_from or obj.file,
                   line=line, column=column, field=field if at else None, object_line=obj.line,
                   remediation=remediation)


def _provided(container: dict, objects: list[K8sObject], app: AppContract) -> set[str] | None:
    """Variables the container gets: ``env``, known ``envFrom`` sources, the image's ``ENV``; None when an
    ``envFrom`` source is not among the reviewed objects (it may provide anything)."""
    provided = _env_from_keys(container, objects)
    if provided is None:
        return None
    return provided | {e.get("name") for e in container.get("env") or [] if isinstance(e, dict)} | app.baked_env


def _where(app: AppContract, var: EnvVar) -> str:
    runs = f"in code the container runs ({app.entry})" if app.entry else \
        f"no entry point found, so every module of {app.root} counts"
    return f"{var.file}:{var.line}; {runs}"


def _env_findings(app: AppContract, obj: K8sObject, container: dict, objects: list[K8sObject]) -> list[Finding]:
    provided = _provided(container, objects, app)
    if provided is None:
        return []
    upper = {p.upper() for p in provided if isinstance(p, str)}

    def has(name: str, var: EnvVar) -> bool:
        return name in provided or (var.case_insensitive and name.upper() in upper)

    out, groups = [], set()
    for var in sorted(app.env.values(), key=lambda v: v.name):
        if has(var.name, var) or any(has(a, var) for a in var.alternatives) or provided_by_platform(var.name):
            continue
        if var.name == PLATFORM_PORT and var.required:
            out.append(_finding(ENV_MISSING, Severity.low, obj,
                                f"nothing sets PORT, which the app reads without a default ({var.file}:{var.line}): "
                                "Kubernetes does not set it (platforms such as Vercel or Cloud Run do)",
                                "Set PORT in the container's env (or ENV PORT in the Dockerfile) to the containerPort.", field=container_field(obj, container, "env")))
        elif var.required and var.alternatives:
            group = tuple(sorted({var.name, *var.alternatives}))
            if group in groups:
                continue
            groups.add(group)
            elsewhere = [f"{a} ({who})" for a in var.alternatives if (who := provided_by_platform(a))]
            if elsewhere:
                out.append(_finding(ENV_MISSING, Severity.low, obj,
                                    f"the workload does not set {var.name}; the app falls back to "
                                    f"{', '.join(elsewhere)} ({var.file}:{var.line}): check that it is provided",
                                    f"Set {var.name} in the container's env, or provide {var.alternatives[0]}.", field=container_field(obj, container, "env")))
                continue
            out.append(_finding(ENV_MISSING, Severity.high, obj,
                                f"the workload sets none of {', '.join(group)}; the Phase III app needs one of them "
                                f"(read one after the other at {_where(app, var)}): the app will fail at run time",
                                f"Set {group[0]} (or {', '.join(group[1:])}) in the container's env.", field=container_field(obj, container, "env")))
        elif var.required:
            out.append(_finding(ENV_MISSING, Severity.high, obj,
                                f"the workload never sets {var.name}, which the Phase III app requires "
                                f"(read without a default at {_where(app, var)}): the app will fail at run time",
                                f"Set {var.name} in the container's env (from a Secret if it is sensitive).", field=container_field(obj, container, "env")))
        else:
            out.append(_finding(ENV_MISSING, Severity.low, obj,
                                f"the workload does not set {var.name} (optional: the app falls back to a default or only tests it, "
                                f"{var.file}:{var.line})", f"Set {var.name} if the default is not right for this "
                                "environment.", field=container_field(obj, container, "env")))
    return out


def _container_ports(container: dict) -> dict[str, int]:
    return {str(p.get("name", p.get("containerPort"))): p.get("containerPort")
            for p in container.get("ports") or [] if isinstance(p, dict) and isinstance(p.get("containerPort"), int)}


def _listens(app: AppContract, container: dict) -> set[int]:
    """The app's ports, plus what this container tells it: ``PORT`` in its env, ``--port N`` in its args."""
    ports = set(app.ports)
    for env in container.get("env") or []:
        if isinstance(env, dict) and env.get("name") == PLATFORM_PORT and str(env.get("value", "")).isdigit():
            ports.add(int(env["value"]))
    argv = [str(a) for a in (container.get("command") or []) + (container.get("args") or []) if isinstance(a, (str, int))]
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
        match = re.search(r"(\d{2,5})$", value) if arg.split("=")[0] in ("--port", "-p", "--bind", "-b") else None
        if match:
            ports.add(int(match.group(1)))
    return ports


def _probe_targets(app: AppContract) -> str:
    static = app.health or sorted(r for r in app.routes if is_static(r))[:5]
    return ", ".join(static)


def _probe_findings(app: AppContract, obj: K8sObject, container: dict) -> list[Finding]:
    out = []
    named = _container_ports(container)
    ports = _listens(app, container)
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        http = ((container.get(kind) or {}).get("httpGet")) or {}
        path, port = http.get("path"), http.get("port")
        port = named.get(port, port) if isinstance(port, str) else port
        if isinstance(port, int) and app.ports and port not in ports:
            out.append(_finding(PORT, Severity.medium, obj,
                                f"{kind} targets port {port}, but the Phase III app listens "
                                f"on {sorted(ports)}", f"Point the {kind} at port {sorted(ports)[0]}.",
                                field=container_field(obj, container, f"{kind}.httpGet.port")))
        verdict = serves(app, path) if isinstance(path, str) and app.routes else "yes"
        targets = _probe_targets(app)
        fix = f"Point the {kind} at one of: {targets}." if targets else f"Point the {kind} at a health endpoint."
        if verdict == "no":
            out.append(_finding(PROBE_PATH, Severity.medium, obj, f"{kind} path {path} is not served by the Phase III "
                                f"app (it serves {targets or 'only parameterised routes'})", fix, field=container_field(obj, container, f"{kind}.httpGet.path")))
        elif verdict == "unsure":
            why = "; ".join(dict.fromkeys(app.routes_uncertain)) or "a router prefix may not be known"
            out.append(_finding(PROBE_PATH, Severity.low, obj, f"{kind} path {path} was not found among the Phase III "
                                f"app's routes, which may be incomplete ({why})", fix + " Or confirm the path.", field=container_field(obj, container, f"{kind}.httpGet.path")))
    return out


def _port_findings(app: AppContract, obj: K8sObject, container: dict) -> list[Finding]:
    ports = _listens(app, container)
    return [_finding(PORT, Severity.medium, obj,
                     f"containerPort {port} is not a port the Phase III app listens on "
                     f"({sorted(ports)})", f"Use containerPort {sorted(ports)[0]}.",
                     field=container_field(obj, container, "ports"))
            for port in sorted(set(_container_ports(container).values())) if app.ports and port not in ports]


def check_contract(apps: list[AppContract], objects: list[K8sObject]) -> list[Finding]:
    """Findings where a workload container of an app contradicts that app's runtime contract."""
    out = []
    for obj in objects:
        spec = _pod_spec(obj)
        for container in (spec or {}).get("containers") or []:
            if not isinstance(container, dict):
                continue
            for app in apps:
                if _belongs(app, obj, container, len(apps)):
                    out += _env_findings(app, obj, container, objects)
                    out += _port_findings(app, obj, container) + _probe_findings(app, obj, container)
    return out


def read_contracts(root: Path, objects: list[K8sObject], phase3: Phase3Config) -> list[AppContract] | None:
    """The runtime contract of every app root; None (not read) when ``objects`` hold no workload to check."""
    if not any(_pod_spec(o) for o in objects):
        return None
    roots = app_roots(root, phase3)
    return [extract_contract(root, r, single_app=len(roots) == 1) for r in roots]
