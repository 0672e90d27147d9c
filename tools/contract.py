"""The runtime contract of the Phase III app, read without running it, checked against Phase IV workloads.

Infrastructure can break Phase III without touching it: a Deployment that never sets a variable the app
requires, a containerPort the app does not listen on, a probe on a path it does not serve. This module
reads the app roots (``phase3.app_roots``, else the top directories of the ``protected`` globs) — Python
with :mod:`ast` (never imported or executed), JavaScript/TypeScript with regular expressions — and
compares what it finds with the workloads of the change.

Matching rule: an app root's *name* is its last directory that is not ``src``/``app``/``lib`` (``backend/src``
→ ``backend``). A workload container belongs to it when that name occurs in the container's image
repository, the container's name or the workload's name. With exactly one app root, every workload
container belongs to it. Containers matching no app root are not checked.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.config import Phase3Config
from core.models import Finding, K8sObject, Severity
from tools.catalog import finding
from tools.layout import literal_prefix
from tools.lock import lock_findings

ENV_MISSING = "CONTRACT-ENV-MISSING"
PORT = "CONTRACT-PORT"
PROBE_PATH = "CONTRACT-PROBE-PATH"
NEXT_DEFAULT_PORT = 3000
MAX_SOURCE_BYTES = 1024 * 1024
SKIP_DIRS = {"node_modules", ".next", "__pycache__", ".venv", "venv", ".git", "dist", "build", "tests", "test"}
JS_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs")
GENERIC_DIRS = {"src", "app", "lib"}
WORKLOAD_POD_SPEC = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
                     "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
                     "Job": ("spec", "template", "spec"), "Pod": ("spec",),
                     "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}

_JS_ENV = re.compile(r"process\.env(?:\.([A-Za-z_]\w*)|\[\s*[\"']([A-Za-z_]\w*)[\"']\s*\])(\s*(?:\?\?|\|\|))?")
_JS_LISTEN = re.compile(r"\.listen\(\s*(\d{2,5})\b")
_PORT_FLAG = re.compile(r"(?:--port|-p)[= ](\d{2,5})\b")
_NEXT_IMPORT = re.compile(r"""from\s+["']next(?:/[\w/-]+)?["']|require\(\s*["']next["']""")
_NEXT_ROUTE = re.compile(r"(?:^|/)app/(.*?)/?route\.(?:js|ts|mjs)$")
_NEXT_PAGES_API = re.compile(r"(?:^|/)pages/(api/.*)\.(?:js|ts|jsx|tsx)$")
_JS_GET_EXPORT = re.compile(r"export\s+(?:async\s+)?(?:function\s+GET\b|const\s+GET\b)")


@dataclass(frozen=True)
class EnvVar:
    """A variable the app reads; ``required`` when the code has no default for it."""

    name: str
    required: bool
    file: str
    line: int


@dataclass
class AppContract:
    """What one app root needs at run time."""

    root: str
    env: dict[str, EnvVar] = field(default_factory=dict)
    ports: set[int] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    """GET paths the app serves (health endpoints among them)."""

    @property
    def name(self) -> str:
        parts = [p for p in self.root.strip("/").split("/") if p]
        named = [p for p in parts if p not in GENERIC_DIRS]
        return (named or parts or [self.root])[-1].lower()

    @property
    def health(self) -> list[str]:
        """The routes that look like health endpoints."""
        return sorted(r for r in self.routes if re.search(r"health|live|ready|ping|status", r))

    def add_env(self, var: EnvVar) -> None:
        """Record ``var``; a variable read anywhere without a default is required."""
        known = self.env.get(var.name)
        if known is None or (var.required and not known.required):
            self.env[var.name] = var


# --- Python -------------------------------------------------------------------------------------------

def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _literal(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _env_call(call: ast.Call) -> tuple[str, bool] | None:
    """(name, has default) for ``os.getenv("X"[, d])`` / ``os.environ.get("X"[, d])``."""
    func = _dotted(call.func)
    if not (func.endswith("getenv") or func.endswith("environ.get")) or not call.args:
        return None
    name = _literal(call.args[0])
    if not isinstance(name, str):
        return None
    return name, len(call.args) > 1 or _keyword(call, "default") is not None


def _route(call: ast.Call, prefixes: dict[str, str]) -> str | None:
    """The path of ``@<router>.get("/x")`` (or ``api_route``/``route``), with the router's literal prefix."""
    if not isinstance(call.func, ast.Attribute) or call.func.attr not in ("get", "api_route", "route"):
        return None
    path = _literal(call.args[0]) if call.args else _literal(_keyword(call, "path"))
    if not isinstance(path, str):
        return None
    return (prefixes.get(_dotted(call.func.value), "") + path) or "/"


def _router_prefixes(tree: ast.Module) -> dict[str, str]:
    """``name = APIRouter(prefix="/x")`` assignments of a module."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and len(node.targets) == 1:
            prefix = _literal(_keyword(node.value, "prefix"))
            if _dotted(node.value.func).endswith("APIRouter") and isinstance(prefix, str):
                out[_dotted(node.targets[0])] = prefix
    return out


def _settings_prefix(cls: ast.ClassDef) -> str:
    """The literal ``env_prefix`` of a BaseSettings class (``model_config`` or inner ``Config``)."""
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and isinstance(_literal(_keyword(node, "env_prefix")), str):
            return _literal(_keyword(node, "env_prefix"))
        if isinstance(node, ast.Assign) and [_dotted(t) for t in node.targets] == ["env_prefix"]:
            value = _literal(node.value)
            if isinstance(value, str):
                return value
    return ""


def _field_default(value: ast.AST | None) -> tuple[bool, str | None]:
    """(has a default, literal alias) of a settings field's assigned value."""
    if value is None:
        return False, None
    if isinstance(value, ast.Call) and _dotted(value.func).endswith("Field"):
        alias = _literal(_keyword(value, "validation_alias")) or _literal(_keyword(value, "alias"))
        first = value.args[0] if value.args else _keyword(value, "default")
        has = (first is not None and not (isinstance(first, ast.Constant) and first.value is Ellipsis)) or \
            _keyword(value, "default_factory") is not None
        return has, alias if isinstance(alias, str) else None
    return True, None


def _settings_fields(cls: ast.ClassDef, rel: str) -> list[EnvVar]:
    """Environment variables of a pydantic ``BaseSettings`` class: upper-cased field names with its prefix."""
    prefix = _settings_prefix(cls)
    out = []
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id not in ("model_config",) and not node.target.id.startswith("_"):
            has_default, alias = _field_default(node.value)
            out.append(EnvVar((alias or prefix + node.target.id).upper(), not has_default, rel, node.lineno))
    return out


def python_contract(source: str, rel: str, contract: AppContract) -> None:
    """Add what one Python module reads, listens on and serves to ``contract`` (parsed, never run)."""
    try:
        tree = ast.parse(source, filename=rel)
    except (SyntaxError, ValueError):
        return
    prefixes = _router_prefixes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            env = _env_call(node)
            if env:
                contract.add_env(EnvVar(env[0], not env[1], rel, node.lineno))
                if env[0] == "PORT" and len(node.args) > 1 and str(_literal(node.args[1]) or "").isdigit():
                    contract.ports.add(int(_literal(node.args[1])))
            port = _literal(_keyword(node, "port"))
            if _dotted(node.func).endswith("run") and isinstance(port, int):
                contract.ports.add(port)
        elif isinstance(node, ast.Subscript) and _dotted(node.value).endswith("environ"):
            name = _literal(node.slice)
            if isinstance(name, str) and not isinstance(node.ctx, ast.Store):
                contract.add_env(EnvVar(name, True, rel, node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            contract.routes.update(r for d in node.decorator_list if isinstance(d, ast.Call) and (r := _route(d, prefixes)))
        elif isinstance(node, ast.ClassDef) and any(_dotted(b).endswith("BaseSettings") for b in node.bases):
            for var in _settings_fields(node, rel):
                contract.add_env(var)
    contract.ports.update(int(p) for p in _PORT_FLAG.findall(source))


# --- JavaScript / TypeScript ---------------------------------------------------------------------------

def js_contract(source: str, rel: str, contract: AppContract) -> None:
    """Add what one JS/TS module reads (``process.env``), listens on and serves (Next.js routes)."""
    for match in _JS_ENV.finditer(source):
        name = match.group(1) or match.group(2)
        line = source.count("\n", 0, match.start()) + 1
        contract.add_env(EnvVar(name, match.group(3) is None, rel, line))
    contract.ports.update(int(p) for p in _JS_LISTEN.findall(source))
    if _NEXT_IMPORT.search(source):
        contract.ports.add(NEXT_DEFAULT_PORT)
    route = _NEXT_ROUTE.search(rel)
    if route and _JS_GET_EXPORT.search(source):
        segments = [s for s in route.group(1).split("/") if s and not (s.startswith("(") and s.endswith(")"))]
        contract.routes.add("/" + "/".join(segments))
    api = _NEXT_PAGES_API.search(rel)
    if api:
        contract.routes.add("/" + api.group(1).removesuffix("/index"))


def _sources(root: Path, app_root: str) -> list[tuple[str, Path]]:
    base = root / app_root
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name.endswith((".py", *JS_SUFFIXES)) and full.is_file() and full.stat().st_size <= MAX_SOURCE_BYTES:
                out.append((full.relative_to(root).as_posix(), full))
    return out


def extract_contract(root: Path, app_root: str) -> AppContract:
    """The runtime contract of the app under ``root/app_root`` (read-only)."""
    contract = AppContract(root=app_root)
    for rel, full in _sources(root, app_root):
        source = full.read_text(encoding="utf-8", errors="replace")
        (python_contract if rel.endswith(".py") else js_contract)(source, rel, contract)
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


def _finding(check_id: str, severity: Severity, obj: K8sObject, message: str, remediation: str) -> Finding:
    return finding(check_id, message, severity=severity, resource=obj.ref(), file=obj.rendered_from or obj.file,
                   line=obj.line, remediation=remediation)


def _env_findings(app: AppContract, obj: K8sObject, container: dict, objects: list[K8sObject]) -> list[Finding]:
    provided = _env_from_keys(container, objects)
    if provided is None:
        return []
    provided |= {e.get("name") for e in container.get("env") or [] if isinstance(e, dict)}
    out = []
    for var in sorted(app.env.values(), key=lambda v: v.name):
        if var.name in provided:
            continue
        where = f"{var.file}:{var.line}"
        if var.required:
            out.append(_finding(ENV_MISSING, Severity.high, obj,
                                f"the workload never sets {var.name}, which the Phase III app requires "
                                f"(read without a default at {where}): the app will fail at run time",
                                f"Set {var.name} in the container's env (from a Secret if it is sensitive)."))
        else:
            out.append(_finding(ENV_MISSING, Severity.low, obj,
                                f"the workload does not set {var.name} (optional: the app has a default, "
                                f"{where})", f"Set {var.name} if the default is not right for this environment."))
    return out


def _container_ports(container: dict) -> dict[str, int]:
    return {str(p.get("name", p.get("containerPort"))): p.get("containerPort")
            for p in container.get("ports") or [] if isinstance(p, dict) and isinstance(p.get("containerPort"), int)}


def _probe_findings(app: AppContract, obj: K8sObject, container: dict) -> list[Finding]:
    out = []
    named = _container_ports(container)
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        http = ((container.get(kind) or {}).get("httpGet")) or {}
        path, port = http.get("path"), http.get("port")
        port = named.get(port, port) if isinstance(port, str) else port
        if isinstance(port, int) and app.ports and port not in app.ports:
            out.append(_finding(PORT, Severity.medium, obj,
                                f"{kind} targets port {port}, but the Phase III app listens "
                                f"on {sorted(app.ports)}", f"Point the {kind} at port {sorted(app.ports)[0]}."))
        if isinstance(path, str) and app.routes and path.split("?")[0] not in app.routes:
            served = ", ".join(app.health or sorted(app.routes)[:5])
            out.append(_finding(PROBE_PATH, Severity.medium, obj,
                                f"{kind} path {path} is not served by the Phase III app "
                                f"(it serves {served})", f"Point the {kind} at one of: {served}."))
    return out


def _port_findings(app: AppContract, obj: K8sObject, container: dict) -> list[Finding]:
    return [_finding(PORT, Severity.medium, obj,
                     f"containerPort {port} is not a port the Phase III app listens on "
                     f"({sorted(app.ports)})", f"Use containerPort {sorted(app.ports)[0]}.")
            for port in sorted(set(_container_ports(container).values())) if app.ports and port not in app.ports]


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


def contract_findings(root: Path, objects: list[K8sObject], phase3: Phase3Config) -> list[Finding]:
    """The runtime-contract findings of the workloads in ``objects`` (none without workloads or app roots)."""
    if not any(_pod_spec(o) for o in objects):
        return []
    return check_contract([extract_contract(root, r) for r in app_roots(root, phase3)], objects)


def phase3_workspace_findings(root: Path, objects: list[K8sObject], phase3: Phase3Config) -> list[Finding]:
    """The guard's evidence beyond the change set: ``phase3.lock`` verification and the runtime contract."""
    return lock_findings(root, phase3) + contract_findings(root, objects, phase3)
