"""The check registry: the single place where a check's metadata lives and where findings are built.

A check is a pure function registered with :func:`check`:

* ``scope="object"``: ``fn(obj: K8sObject) -> Iterable[str]`` — one message per problem of ``obj``;
* ``scope="set"``: ``fn(objects: list[K8sObject]) -> Iterable[tuple[K8sObject, str]]`` — cross-object checks
  name the object each message is about.

:func:`run_checks` turns messages into :class:`Finding` objects (id, category, severity, remediation,
resource, file, line) and shields the scan from checks that crash on malformed input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from infra_orchestrator.config import Config
from infra_orchestrator.models import Category, Finding, K8sObject, ResourceRef, Severity

Scope = Literal["object", "set"]
CHECK_ERROR_ID = "SCH-CHECK-ERROR"


@dataclass(frozen=True)
class CheckSpec:
    """Metadata of one check; ``peers`` maps a peer tool (kube-linter, checkov, polaris, kube-score) to its id."""

    id: str
    category: Category
    severity: Severity
    title: str
    description: str
    remediation: str
    fn: Callable[[Any], Iterable[Any]] = field(compare=False, repr=False)
    peers: dict[str, str] = field(default_factory=dict, hash=False)
    pss: Literal["baseline", "restricted"] | None = None
    scope: Scope = "object"


_REGISTRY: dict[str, CheckSpec] = {}


def check(*, id: str, category: Category, severity: Severity, title: str, description: str, remediation: str,
          peers: dict[str, str] | None = None, pss: Literal["baseline", "restricted"] | None = None,
          scope: Scope = "object") -> Callable[[Callable], Callable]:
    """Decorator registering a check function under ``id`` (ids are unique)."""

    def register(fn: Callable) -> Callable:
        if id in _REGISTRY:
            raise ValueError(f"check id {id} is registered twice")
        _REGISTRY[id] = CheckSpec(id=id, category=category, severity=severity, title=title,
                                  description=description, remediation=remediation, fn=fn,
                                  peers=dict(peers or {}), pss=pss, scope=scope)
        return fn

    return register


def registry() -> list[CheckSpec]:
    """All registered checks, sorted by id."""
    return sorted(_REGISTRY.values(), key=lambda spec: spec.id)


def _enabled(spec: CheckSpec, config: Config | None) -> bool:
    if config is None:
        return True
    selected = config.checks.enabled
    return (not selected or spec.id in selected) and spec.id not in config.checks.disabled


def _finding(spec: CheckSpec, obj: K8sObject, message: str) -> Finding:
    return Finding(check_id=spec.id, severity=spec.severity, category=spec.category, message=message,
                   resource=obj.ref(), file=obj.file, line=obj.line, remediation=spec.remediation)


def _check_error(spec: CheckSpec, exc: Exception, obj: K8sObject | None) -> Finding:
    about = f" on {obj.ref().label() or 'an object'}" if obj else ""
    return Finding(check_id=CHECK_ERROR_ID, severity=Severity.info, category=Category.schema,
                   message=f"check {spec.id} could not evaluate{about} ({type(exc).__name__}); "
                           "the object is probably malformed",
                   resource=obj.ref() if obj else ResourceRef(), file=obj.file if obj else None,
                   line=obj.line if obj else None)


def _run_object_check(spec: CheckSpec, obj: K8sObject) -> list[Finding]:
    try:
        return [_finding(spec, obj, message) for message in spec.fn(obj)]
    except Exception as exc:  # noqa: BLE001 - a check must never abort the scan
        return [_check_error(spec, exc, obj)]


def _run_set_check(spec: CheckSpec, objects: list[K8sObject]) -> list[Finding]:
    try:
        return [_finding(spec, obj, message) for obj, message in spec.fn(objects)]
    except Exception as exc:  # noqa: BLE001 - a check must never abort the scan
        return [_check_error(spec, exc, None)]


def run_checks(objects: list[K8sObject], config: Config | None = None) -> list[Finding]:
    """Run every enabled check over ``objects``; findings sorted with :meth:`Finding.sort_key`."""
    findings: list[Finding] = []
    for spec in registry():
        if not _enabled(spec, config):
            continue
        if spec.scope == "set":
            findings.extend(_run_set_check(spec, objects))
        else:
            for obj in objects:
                findings.extend(_run_object_check(spec, obj))
    return sorted(findings, key=Finding.sort_key)
