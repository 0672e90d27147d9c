"""Offline schema validation of Kubernetes objects against the JSON schemas bundled in ``kubernetes-validate``.

``kubernetes_validate.validate`` costs tens of milliseconds per object (it rebuilds a ``$ref`` registry over a
1.3 MB definitions file on every call) and crashes on objects without ``metadata``. Here each
(Kubernetes version, kind, apiVersion) schema is reduced to the definitions it reaches, with ``$ref`` rewritten
to local pointers, compiled once with ``fastjsonschema`` and cached, so validating an object costs tens of
microseconds. Only an object the compiled validator rejects goes through ``jsonschema`` (under a millisecond
on the reduced schema) to list every error with its path and rule.

Findings (``SCH-SCHEMA-VALID``, category ``schema``): high for a wrong type, a missing required field or a
bad enum value; medium for an unknown field (the strict schemas forbid additional properties); info once per
kind that has no bundled schema (custom resources), and once when the configured version is not bundled.

The compiled code is also kept across processes (:mod:`tools.schema_cache`, under the user's cache directory),
keyed by the ``kubernetes-validate`` version, the schema files' size and mtime, the generator and the
interpreter: a later ``check`` loads it in about a millisecond instead of compiling for tens. A missing,
foreign or corrupt entry is ignored and the validator compiled afresh. The schema files are found without
importing ``kubernetes_validate`` (whose package imports ``jsonschema``, ~0.1 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from core.models import Finding, K8sObject, Severity
from tools import fieldpath
from tools.catalog import finding
from tools.memo import ObjectMemo
from tools.schema_cache import CodeCache, user_cache_dir

if TYPE_CHECKING:  # jsonschema costs ~0.3 s to import: only objects that fail validation need it
    from jsonschema import Draft7Validator, ValidationError

SCHEMA_ID = "SCH-SCHEMA-VALID"
_SCHEMA_ROOT = "kubernetes-json-schema"
_DEFS_MARK = "#/$defs/"
_DROPPED_KEYS = ("description", "format")
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")
_BUILTIN_GROUP = re.compile(r"^([a-z0-9-]+)((\.[a-z0-9-]+)*\.k8s\.io)?$")
_NAME = re.compile(r"^[A-Za-z0-9]+$")
MAX_ERRORS_PER_OBJECT = 5

Validator = Any


_COMPILE_OPTIONS = {"detailed_exceptions": False, "use_formats": False, "use_default": False}
_PACKAGE = "kubernetes_validate"
_DIST_INFO = re.compile(r"^kubernetes_validate-([^-]+)\.dist-info$")


@lru_cache(maxsize=1)
def _package_dir() -> Path:
    """The installed ``kubernetes_validate`` package directory, found without running its ``__init__``."""
    spec = find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {_PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _schema_dir() -> Path:
    return _package_dir() / _SCHEMA_ROOT


@lru_cache(maxsize=1)
def package_version() -> str:
    """The installed ``kubernetes-validate`` version (its dist-info directory; ``importlib.metadata`` costs ~25 ms
    to import), or ``unknown``: the cache key also holds the schema files' size and mtime."""
    try:
        names = os.listdir(_package_dir().parent)
    except OSError:
        names = []
    versions = sorted(m[1] for m in map(_DIST_INFO.match, names) if m)
    return versions[-1] if len(versions) == 1 else "unknown"


@lru_cache(maxsize=1)
def available_versions() -> tuple[tuple[int, int], ...]:
    """The Kubernetes minor versions whose strict schemas ``kubernetes-validate`` ships, ascending."""
    found = (_VERSION_DIR.match(name) for name in os.listdir(_schema_dir()))
    return tuple(sorted((int(m[1]), int(m[2])) for m in found if m))


def resolve_version(version: str) -> tuple[str, str | None]:
    """The bundled version to validate ``version`` against, and a note when it is not the one asked for.

    The newest bundled version not newer than the one asked for; the oldest bundled one when it is older
    than all of them.
    """
    wanted = tuple(int(p) for p in version.lstrip("v").split(".")[:2])
    versions = available_versions()
    older = [v for v in versions if v <= wanted]
    chosen = older[-1] if older else versions[0]
    label = f"{chosen[0]}.{chosen[1]}"
    note = None if chosen == wanted else (
        f"Kubernetes {version} has no bundled schemas; objects are validated against {label}, the nearest available")
    return label, note


def schema_file(api_version: str, kind: str) -> str | None:
    """The bundled schema file name for a built-in ``apiVersion``/``kind``; None for custom API groups."""
    group, _, ver = api_version.rpartition("/")
    if not _NAME.match(ver) or not _NAME.match(kind):  # never a path: kinds and versions are alphanumeric
        return None
    if not group:
        return f"{kind.lower()}-{ver}.json"
    match = _BUILTIN_GROUP.match(group)
    return f"{kind.lower()}-{match[1]}-{ver}.json" if match else None


@lru_cache(maxsize=4)
def _definitions(version: str) -> dict[str, Any]:
    path = _schema_dir().joinpath(f"v{version}.0-local-strict", "_definitions.json")
    return json.loads(path.read_text(encoding="utf-8"))["$defs"]


def _localise(node: Any, needed: list[str]) -> Any:
    """Copy of a schema node without documentation/formats, with ``$ref`` pointing into local ``definitions``."""
    if isinstance(node, list):
        return [_localise(item, needed) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or key.startswith("x-kubernetes"):
            continue
        if key == "$ref" and isinstance(value, str) and _DEFS_MARK in value:
            name = value.split(_DEFS_MARK, 1)[1]
            needed.append(name)
            out[key] = f"#/definitions/{name}"
        else:
            out[key] = value if key == "enum" else _localise(value, needed)
    return out


def self_contained_schema(version: str, filename: str) -> dict[str, Any] | None:
    """The kind's schema with only the definitions it reaches, as one draft-07 document; None when not bundled."""
    path = _schema_dir().joinpath(f"v{version}.0-local-strict", filename)
    if not path.is_file():
        return None
    needed: list[str] = []
    root = _localise(json.loads(path.read_text(encoding="utf-8")), needed)
    definitions: dict[str, Any] = {}
    all_defs = _definitions(version)
    while needed:
        name = needed.pop()
        if name not in definitions and name in all_defs:
            definitions[name] = _localise(all_defs[name], needed)
    root["definitions"] = definitions
    root["$schema"] = "http://json-schema.org/draft-07/schema#"
    return root


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


@lru_cache(maxsize=1)
def _generator_stamp() -> str:
    """What shapes the generated code besides the schema files: this module, fastjsonschema, the interpreter."""
    own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return f"{own}|fastjsonschema {fastjsonschema.VERSION}|{sys.version}|{sys.implementation.cache_tag}"


def cache_key(version: str, filename: str) -> str | None:
    """The cross-process cache key of one kind's validator; None when the schema is not bundled."""
    folder = _schema_dir() / f"v{version}.0-local-strict"
    path = folder / filename
    if not path.is_file():
        return None
    return (f"kubernetes-validate {package_version()}|{version}/{filename} {_stamp(path)}|"
            f"definitions {_stamp(folder / '_definitions.json')}|{_COMPILE_OPTIONS}|{_generator_stamp()}")


def _generate(schema: dict[str, Any]) -> tuple[str, Any]:
    """Entry function name and code object of the validator of ``schema``, as ``fastjsonschema.compile`` builds it."""
    from fastjsonschema.ref_resolver import RefResolver

    source = fastjsonschema.compile_to_code(schema, **_COMPILE_OPTIONS)
    entry = RefResolver.from_schema(schema, store={}).get_scope_name()
    return entry, compile(source, "<kubernetes schema validator>", "exec")


def _instantiate(entry: str, code: Any) -> Validator | None:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - code generated by fastjsonschema from the bundled schema
    validator = namespace.get(entry)
    return validator if callable(validator) else None


def _code_cache() -> CodeCache:
    base = user_cache_dir()
    return CodeCache(base / "schemas" if base is not None else None)


@lru_cache(maxsize=256)
def compiled_validator(version: str, filename: str) -> Validator | None:
    """A compiled validator for one kind (cached per process and across processes); None when the kind has no
    bundled schema. A cache entry that fails to load or to define its validator is replaced, never used."""
    key = cache_key(version, filename)
    if key is None:
        return None
    cache = _code_cache()
    prefix = f"{version}-{filename.removesuffix('.json')}"
    cached = cache.load(prefix, key)
    if cached is not None:
        try:
            validator = _instantiate(*cached)
        except Exception:  # noqa: BLE001 - a cache entry that does not run is ignored
            validator = None
        if validator is not None:
            return validator
    schema = self_contained_schema(version, filename)
    if schema is None:
        return None
    entry, code = _generate(schema)
    validator = _instantiate(entry, code)
    if validator is None:  # the generator named its entry differently: compile the documented way, uncached
        return fastjsonschema.compile(schema, **_COMPILE_OPTIONS)
    cache.store(prefix, key, entry, code)
    return validator


@lru_cache(maxsize=64)
def _explainer(version: str, filename: str) -> Draft7Validator:
    """A slower validator that lists every error; used only for objects the compiled validator rejects."""
    from jsonschema import Draft7Validator

    return Draft7Validator(self_contained_schema(version, filename) or {})


def _finding(obj: K8sObject, severity: Severity, message: str, path: Iterable[str | int] = ()) -> Finding:
    field = fieldpath.build([p if isinstance(p, int) else str(p) for p in path])
    mark = fieldpath.locate(obj.marks, field)[1]
    return finding(SCHEMA_ID, message, severity=severity, resource=obj.ref(), file=obj.file,
                   line=mark[0] if mark else obj.line, column=mark[1] if mark else None, field=field or None,
                   object_line=obj.line)


def describe_error(error: ValidationError) -> tuple[Severity, str]:
    """Severity and message of one schema error, naming the path and the rule but never quoting the value."""
    where = ".".join(str(p) for p in error.absolute_path) or "<root>"
    if error.validator == "additionalProperties":
        return Severity.medium, f"{where}: {error.message.replace('Additional properties', 'unknown fields')}"
    if error.validator == "required":
        return Severity.high, f"{where}: {error.message}"
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return Severity.high, f"{where}: wrong type, expected {' or '.join(t for t in types if t != 'null')}"
    if error.validator == "enum":
        return Severity.high, f"{where}: must be one of {', '.join(map(str, error.validator_value))}"
    return Severity.high, f"{where}: does not satisfy '{error.validator}'"


def _unexpected(error: ValidationError) -> list[str]:
    """The first unknown field of an ``additionalProperties`` error (the finding points at it)."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return [str(k) for k in error.instance if k not in known][:1]


def validate_object(obj: K8sObject, version: str) -> list[Finding]:
    """Validate one object against its bundled schema; [] when valid or when the kind has no schema."""
    filename = schema_file(obj.api_version, obj.kind)
    validator = compiled_validator(version, filename) if filename else None
    if validator is None:
        return []
    try:
        validator(obj.body)
        return []
    except fastjsonschema.JsonSchemaValueException:
        pass
    errors = sorted(_explainer(version, filename).iter_errors(obj.body), key=lambda e: list(map(str, e.path)))
    findings = []
    for error in errors[:MAX_ERRORS_PER_OBJECT]:
        severity, message = describe_error(error)
        findings.append(_finding(obj, severity, f"{obj.kind} does not match the Kubernetes {version} schema: {message}",
                                 [*error.absolute_path, *_unexpected(error)]))
    return findings


API_VERSION_ID = "SCH-API-VERSION"
_FULL_GROUP = {"rbac": "rbac.authorization.k8s.io", "flowcontrol": "flowcontrol.apiserver.k8s.io",
               "internal": "internal.apiserver.k8s.io"}
_BARE_GROUPS = frozenset({"apps", "batch", "policy", "autoscaling", "extensions"})


def _api_version_of(short_group: str, ver: str) -> str:
    if not short_group:
        return ver
    group = short_group if short_group in _BARE_GROUPS else _FULL_GROUP.get(short_group, f"{short_group}.k8s.io")
    return f"{group}/{ver}"


@lru_cache(maxsize=4)
def builtin_api_versions(version: str) -> dict[str, frozenset[str]]:
    """Lower-cased built-in kind → the apiVersions the bundled schemas of Kubernetes ``version`` have for it
    (``{"deployment": {"apps/v1"}}``), read from the schema file names (``<kind>[-<group>]-<ver>.json``)."""
    used, _ = resolve_version(version)
    found: dict[str, set[str]] = {}
    for name in os.listdir(_schema_dir() / f"v{used}.0-local-strict"):  # ~640 names: no Path object per file
        if not name.endswith(".json"):
            continue
        parts = name.removesuffix(".json").split("-")
        if len(parts) in (2, 3) and parts[0].isalnum():
            kind, group, ver = (parts[0], "", parts[1]) if len(parts) == 2 else parts
            found.setdefault(kind, set()).add(_api_version_of(group, ver))
    return {kind: frozenset(v) for kind, v in found.items()}


def wrong_api_version(obj: K8sObject, version: str, removed: bool) -> str | None:
    """Why ``obj``'s apiVersion cannot be right, or None: a built-in kind (one with bundled schemas) under a
    built-in API group (core, ``apps``, ``*.k8s.io``...) at an apiVersion it never has (``v1 Deployment``,
    ``apps/v1beta3 Deployment``). A removed version (``removed``) is SCH-DEPRECATED-API's, a custom group's kind
    is a custom resource: neither is reported here."""
    if removed or not isinstance(obj.kind, str) or schema_file(obj.api_version, obj.kind) is None:
        return None
    known = builtin_api_versions(version).get(obj.kind.lower())
    if not known or obj.api_version in known or any(v.lower() == obj.api_version.lower() for v in known):
        return None
    return (f"{obj.kind} has no apiVersion {obj.api_version}: the API server rejects it (Kubernetes "
            f"{resolve_version(version)[0]} serves {obj.kind} as {', '.join(sorted(known))})")


def api_version_findings(objects: list[K8sObject], version: str,
                         removed: Callable[[K8sObject], bool]) -> tuple[list[Finding], set[int]]:
    """``SCH-API-VERSION`` findings (high, at ``apiVersion``) and the ``id()`` of each object they are about:
    the other checks skip those (what they would say about a kind the API server never reads is noise)."""
    findings: list[Finding] = []
    bad: set[int] = set()
    for obj in objects:
        why = wrong_api_version(obj, version, removed(obj))
        if why:
            bad.add(id(obj))
            mark = fieldpath.locate(obj.marks, "apiVersion")[1]
            findings.append(finding(API_VERSION_ID, why, resource=obj.ref(), file=obj.file,
                                    line=mark[0] if mark else obj.line, column=mark[1] if mark else None,
                                    field="apiVersion", object_line=obj.line))
    return findings, bad


def validate_objects(objects: list[K8sObject], version: str, skip: Callable[[K8sObject], bool] | None = None,
                     memo: ObjectMemo | None = None) -> list[Finding]:
    """Schema findings for ``objects`` at Kubernetes ``version`` (e.g. "1.31"); never raises on bad input.
    With ``memo`` (:class:`tools.memo.ObjectMemo`), an object validated in an earlier run is not validated again.

    Kinds without a bundled schema (custom resources, typos) get one ``info`` finding each, on their first
    object; a version that is not bundled gets one ``info`` note naming the version used instead.
    """
    used, note = resolve_version(version)
    findings: list[Finding] = []
    if note:
        findings.append(finding(SCHEMA_ID, note, severity=Severity.info,
                                remediation="Set `kubernetes.version` to a bundled version, or upgrade "
                                            "kubernetes-validate."))
    unknown: set[tuple[str, str]] = set()
    for obj in objects:
        if skip is not None and skip(obj):
            continue
        filename = schema_file(obj.api_version, obj.kind)
        if filename is None or compiled_validator(used, filename) is None:
            if (obj.api_version, obj.kind) not in unknown:
                unknown.add((obj.api_version, obj.kind))
                findings.append(_finding(obj, Severity.info,
                                         f"no bundled schema for {obj.kind} ({obj.api_version}) in Kubernetes {used}: "
                                         "custom resource or unknown kind; not schema-validated", ["kind"]))
            continue
        findings.extend(memo.get(obj, (SCHEMA_ID, used), partial(_validated, obj, used)) if memo is not None
                        else _validated(obj, used))
    return findings


def _validated(obj: K8sObject, version: str) -> list[Finding]:
    try:
        return validate_object(obj, version)
    except Exception as exc:  # noqa: BLE001 - a generated validator must never abort the scan
        return [_finding(obj, Severity.info, f"schema validation could not run ({type(exc).__name__})")]
