"""The check registry: the single place where a check's metadata lives and where findings are built.

A check is a pure function registered with :func:`check`. Its ``scope`` says what it is given and yields:

* ``"object"``: ``fn(obj: K8sObject) -> Iterable[str | Hit]`` — one message per problem of ``obj``;
* ``"set"``: ``fn(objects: list[K8sObject]) -> Iterable[tuple[K8sObject, str | Hit]]`` — cross-object checks
  name the object each message is about;
* ``"dockerfile"``: ``fn(text: str, file: str) -> Iterable[tuple[int, str]]`` — 1-based line and message;
* ``"diff"``: ``fn(base: list[K8sObject], head: list[K8sObject]) -> Iterable[tuple[K8sObject, str | Hit]]``.

A :class:`Hit` is a message about one container, so that container-level suppressions can apply to it.

The runners (:func:`run_checks`, :func:`run_dockerfile_checks`, :func:`run_diff_checks`) select checks by
profile and ``checks.enabled``/``checks.disabled``, turn messages into :class:`Finding` objects, apply
suppression annotations (:mod:`tools.suppress`) and shield the scan from checks that crash on malformed input.
A :class:`CheckSpec` is a catalog entry (:mod:`tools.catalog`, where the ids produced outside the registry are
listed); a selection naming an id the catalog lacks, or one that cannot be deselected, is a ``ConfigError``.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Literal, NamedTuple

from core.config import ChecksConfig, Config
from core.errors import ConfigError
from core.models import Category, Finding, K8sObject, ResourceRef, Severity
from tools.catalog import Entry, finding, selection_errors
from tools.fieldpath import locate, missing_part
from tools.memo import ObjectMemo
from tools.suppress import suppression_for

Scope = Literal["object", "set", "dockerfile", "diff"]
SCOPES: tuple[Scope, ...] = ("object", "set", "dockerfile", "diff")
PssLevel = Literal["baseline", "restricted"]
LOCAL_ONLY = frozenset({"REL-IMAGE-PULL-NEVER", "REL-INGRESS-LOCALHOST"})
"""Checks the ``local`` profile leaves out: on a local cluster (minikube, kind, Docker Desktop) what they flag is
the norm (``tools/checks/runtime.py``)."""
CHECK_ERROR_ID = "SCH-CHECK-ERROR"


def _intern(text: str) -> str:
    """One copy of a text that recurs across findings (field paths, remediations)."""
    return sys.intern(text) if type(text) is str else text


PROFILES: dict[str, str] = {
    "default": "the checks that are on by default: few false positives, opinionated checks left out",
    "local": "the default checks minus those that flag what a local cluster (minikube, kind) needs: "
             "imagePullPolicy: Never, an Ingress for localhost",
    "strict": "every check in the registry",
    "pss-baseline": "only the controls of the Pod Security Standards baseline level",
    "pss-restricted": "only the Pod Security Standards controls of the restricted and baseline levels",
}
"""Check profiles (``checks.profile`` in the config, ``check --profile`` on the command line)."""


class Hit(NamedTuple):
    """A message about one field of the object (``field``: its path from the object's root, see
    :mod:`tools.fieldpath`), possibly in one container (``container``: its name)."""

    message: str
    container: str | None = None
    field: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckSpec(Entry):
    """Metadata of one check: a catalog :class:`~tools.catalog.Entry` plus what the runner needs.

    ``default_enabled`` is False for opinionated checks that only the ``strict`` profile (or an explicit
    ``checks.enabled``) runs. ``kinds`` (object checks): the only kinds the check can fire on; the runner does
    not call it for other objects (None: every kind). Dockerfile findings carry no annotations, so they cannot
    be suppressed (``suppress`` is False for them).
    """

    fn: Callable[..., Iterable[Any]] = field(compare=False, repr=False)
    pss: PssLevel | None = None
    scope: Scope = "object"
    default_enabled: bool = True
    kinds: frozenset[str] | None = None


_REGISTRY: dict[str, CheckSpec] = {}


def check(*, id: str, category: Category, severity: Severity, title: str, description: str, remediation: str,
          peers: dict[str, str] | None = None, pss: PssLevel | None = None, scope: Scope = "object",
          default_enabled: bool = True, kinds: Iterable[str] | None = None) -> Callable[[Callable], Callable]:
    """Decorator registering a check function under ``id`` (ids are unique)."""

    def register(fn: Callable) -> Callable:
        if id in _REGISTRY:
            raise ValueError(f"check id {id} is registered twice")
        _REGISTRY[id] = CheckSpec(id=id, category=category, severity=severity, title=title,
                                  description=description, remediation=remediation, fn=fn,
                                  peers=dict(peers or {}), pss=pss, scope=scope, default_enabled=default_enabled,
                                  kinds=frozenset(kinds) if kinds is not None else None,
                                  source=f"{fn.__module__.replace('.', '/')}.py", suppress=scope != "dockerfile")
        return fn

    return register


def registry() -> list[CheckSpec]:
    """All registered checks, sorted by id."""
    return sorted(_REGISTRY.values(), key=lambda spec: spec.id)


def in_profile(spec: CheckSpec, profile: str) -> bool:
    """Whether ``spec`` belongs to ``profile`` (one of :data:`PROFILES`; anything else reads as ``default``)."""
    if profile == "strict":
        return True
    if profile == "pss-baseline":
        return spec.pss == "baseline"
    if profile == "pss-restricted":
        return spec.pss is not None
    if profile == "local":
        return spec.default_enabled and spec.id not in LOCAL_ONLY
    return spec.default_enabled


@lru_cache(maxsize=32)
def _validate(enabled: tuple[str, ...], disabled: tuple[str, ...], unsuppressible: tuple[str, ...]) -> None:
    errors = selection_errors(ChecksConfig(enabled=list(enabled), disabled=list(disabled),
                                           unsuppressible=list(unsuppressible)), _REGISTRY)
    if errors:
        raise ConfigError("invalid configuration\n" + "\n".join(f"  {e}" for e in errors))


def validate_selection(checks: ChecksConfig) -> None:
    """Raise :class:`ConfigError` when ``checks`` names an unknown id, or deselects one that cannot be."""
    _validate(tuple(checks.enabled), tuple(checks.disabled), tuple(checks.unsuppressible))


def selected(config: Config | None, scope: Scope | None = None) -> list[CheckSpec]:
    """The checks a run with ``config`` executes: ``checks.enabled`` when non-empty (it may name checks outside
    the profile), else the profile's checks; minus ``checks.disabled``. ``scope`` narrows to one scope.

    Raises :class:`ConfigError` when the selection names an unknown id or one that cannot be deselected."""
    checks = (config or Config()).checks
    validate_selection(checks)
    explicit = set(checks.enabled)
    return [spec for spec in registry()
            if (scope is None or spec.scope == scope)
            and (spec.id in explicit if explicit else in_profile(spec, checks.profile))
            and spec.id not in checks.disabled]


def _message(item: str | Hit) -> Hit:
    return item if isinstance(item, Hit) else Hit(str(item))


def _place(spec: CheckSpec, obj: K8sObject, hit: Hit) -> dict[str, Any]:
    """Line, column and wording of a finding about ``hit.field``: the field's own position, or for a missing
    field its closest existing parent, with the remediation naming what to add there; for a rendered object,
    the values file lines that set the field."""
    existing, mark = locate(obj.marks, hit.field)
    place: dict[str, Any] = {"field": _intern(hit.field) if hit.field else None,  # 50k findings, a few paths
                             "line": mark[0] if mark else obj.line, "column": mark[1] if mark else None,
                             "message": hit.message, "remediation": spec.remediation}
    if hit.field and existing is not None and existing != hit.field:
        where = f"under `{existing}`" if existing else "at the top of the object"
        place["remediation"] = _intern(f"{spec.remediation} Add `{missing_part(hit.field, existing)}` {where}.")
    source = obj.value_sources.get(hit.field or "") or (obj.value_sources.get(existing) if existing else None)
    if source:
        place["message"] = f"{hit.message} (from {source})"
    return place


def _finding(spec: CheckSpec, obj: K8sObject, item: str | Hit, config: Config | None) -> Finding:
    hit = _message(item)
    unsuppressible = config is not None and spec.id in config.checks.unsuppressible
    # a peer tool's blanket or value-less annotation never hides a critical finding: only ours, with a reason
    reason = None if unsuppressible else suppression_for(spec.id, spec.peers, obj, hit.container,
                                                         allow_peers=spec.severity is not Severity.critical)
    return Finding(check_id=spec.id, severity=spec.severity, category=spec.category, resource=obj.ref(),
                   file=obj.file, object_line=obj.line, suppressed=reason is not None, suppression_reason=reason,
                   **_place(spec, obj, hit))


def _check_error(spec: CheckSpec, exc: Exception, obj: K8sObject | None, file: str | None = None) -> Finding:
    about = f" on {obj.ref().label() or 'an object'}" if obj else (f" on {file}" if file else "")
    return finding(CHECK_ERROR_ID, f"check {spec.id} could not evaluate{about} ({type(exc).__name__}); "
                                   "the input is probably malformed",
                   resource=obj.ref() if obj else ResourceRef(), file=obj.file if obj else file,
                   line=obj.line if obj else None, object_line=obj.line if obj else None)


def _run_object_check(spec: CheckSpec, obj: K8sObject, config: Config | None) -> list[Finding]:
    try:
        return [_finding(spec, obj, item, config) for item in spec.fn(obj)]
    except Exception as exc:  # noqa: BLE001 - a check must never abort the scan
        return [_check_error(spec, exc, obj)]


def _run_pairs_check(spec: CheckSpec, args: tuple, config: Config | None,
                     keep: set[int] | None = None) -> list[Finding]:
    """A set or diff check; with ``keep`` (object ids), only its findings about those objects."""
    try:
        return [_finding(spec, obj, item, config) for obj, item in spec.fn(*args) if keep is None or id(obj) in keep]
    except Exception as exc:  # noqa: BLE001 - a check must never abort the scan
        return [_check_error(spec, exc, None)]


def _object_checks_by_kind(specs: list[CheckSpec], unsuppressible: Iterable[str] = ()
                           ) -> Callable[[str], tuple[tuple[CheckSpec, ...], tuple]]:
    """The object checks that apply to a kind (those without ``kinds`` apply to every kind), in ``specs`` order,
    and their memo key (one tuple per kind, shared by its objects): each check's id and function, and whether its
    findings may be suppressed."""
    cache: dict[str, tuple[tuple[CheckSpec, ...], tuple]] = {}
    firm = set(unsuppressible)

    def for_kind(kind: str) -> tuple[tuple[CheckSpec, ...], tuple]:
        found = cache.get(kind)
        if found is None:
            checks = tuple(spec for spec in specs if spec.kinds is None or kind in spec.kinds)
            found = cache[kind] = (checks, tuple((spec.id, spec.fn, spec.id in firm) for spec in checks))
        return found

    return for_kind


def _object_findings(checks: tuple[CheckSpec, ...], obj: K8sObject, config: Config | None) -> list[Finding]:
    return [found for spec in checks for found in _run_object_check(spec, obj, config)]


def run_checks(objects: list[K8sObject], config: Config | None = None,
               context: list[K8sObject] = (), memo: ObjectMemo | None = None) -> list[Finding]:
    """Run the selected object and set checks over ``objects``; findings sorted with :meth:`Finding.sort_key`.

    ``context``: objects of the workspace outside the change (unchanged files). Cross-object (set) checks see
    them too, so a changed Service whose Deployment sits in an unchanged file is not "selecting no pods"; only
    findings about ``objects`` are kept. Suppressed findings are kept, with ``suppressed=True`` and their
    ``suppression_reason``.

    ``memo`` (:class:`tools.memo.ObjectMemo`): an object-scope check's findings on an object seen in an earlier
    run are reused (a check is a pure function of the object; of the config, only whether its findings may be
    suppressed matters, and that is part of the key).
    """
    findings: list[Finding] = []
    reviewed = {id(o) for o in objects} if context else None
    specs = selected(config)
    everything = [*objects, *context]  # one list for every set check: they share indexes built over it
    for spec in specs:
        if spec.scope == "set":
            findings.extend(_run_pairs_check(spec, (everything,), config, keep=reviewed))
    per_kind = _object_checks_by_kind([spec for spec in specs if spec.scope == "object"],
                                      config.checks.unsuppressible if config is not None else ())
    for obj in objects:
        checks, key = per_kind(obj.kind)
        if memo is None:
            findings.extend(_object_findings(checks, obj, config))
        elif checks:
            findings.extend(memo.get(obj, key, partial(_object_findings, checks, obj, config)))
    return sorted(findings, key=Finding.sort_key)


def _instruction_at(lines: list[str], line: int) -> tuple[int | None, str | None]:
    """1-based column of the instruction starting on ``line`` and its keyword (the finding's field)."""
    if not 0 < line <= len(lines):
        return None, None
    raw = lines[line - 1]
    stripped = raw.lstrip()
    return (len(raw) - len(stripped) + 1, stripped.split(maxsplit=1)[0].upper()) if stripped else (None, None)


@lru_cache(maxsize=256)
def _reads_context(fn: Callable) -> bool:
    """Whether a Dockerfile check takes a third ``read`` argument (it reads files of the build context)."""
    return len(inspect.signature(fn).parameters) >= 3


def run_dockerfile_checks(text: str, file: str, config: Config | None = None,
                          read: Callable[[str], str | None] | None = None) -> list[Finding]:
    """Run the selected Dockerfile checks over one Dockerfile's ``text``; findings carry ``file``, ``line``,
    the instruction's column and its keyword as ``field``. ``read`` gives the checks that need it the text of a
    workspace-relative file of the build context (None: those checks read nothing and find nothing)."""
    findings: list[Finding] = []
    lines = text.splitlines() if isinstance(text, str) else []
    for spec in selected(config, "dockerfile"):
        try:
            found = spec.fn(text, file, read) if _reads_context(spec.fn) else spec.fn(text, file)
            findings.extend(Finding(check_id=spec.id, severity=spec.severity, category=spec.category,
                                    message=message, file=file, line=line, remediation=spec.remediation,
                                    **dict(zip(("column", "field"), _instruction_at(lines, line), strict=True)))
                            for line, message in found)
        except Exception as exc:  # noqa: BLE001 - a check must never abort the scan
            findings.append(_check_error(spec, exc, None, file))
    return sorted(findings, key=Finding.sort_key)


def run_diff_checks(base: list[K8sObject], head: list[K8sObject], config: Config | None = None) -> list[Finding]:
    """Run the selected diff checks comparing ``base`` objects with ``head`` objects."""
    findings: list[Finding] = []
    for spec in selected(config, "diff"):
        findings.extend(_run_pairs_check(spec, (base, head), config))
    return sorted(findings, key=Finding.sort_key)
