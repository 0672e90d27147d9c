"""Pod-spec helpers shared by the checks: where the pod template is, its containers, effective security context,
label selectors. Every helper tolerates malformed bodies (wrong types read as empty) so checks stay simple.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.models import K8sObject
from tools import fieldpath
from tools.checks.core import Hit

WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
     "DeploymentConfig"}
)
"""Kinds with a pod template. ``DeploymentConfig`` is OpenShift's (``apps.openshift.io/v1``): its pod template
is at ``spec.template`` like a Deployment's."""
BATCH_KINDS = frozenset({"Job", "CronJob"})

CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
RESOURCE_FIELDS = ("containers", "initContainers")
"""Ephemeral containers may not declare resources or ports, so resource checks skip them."""
_ROLE = {"containers": "container", "initContainers": "init container", "ephemeralContainers": "ephemeral container"}

PROBE_FIELDS = ("livenessProbe", "readinessProbe", "startupProbe")
DOC_PATHS = ("/docs", "/swagger", "/redoc", "/openapi.json", "/swagger.json", "/swagger-ui")
IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

POD_LEVEL_SECURITY_FIELDS = frozenset(
    {"runAsNonRoot", "runAsUser", "runAsGroup", "seccompProfile", "seLinuxOptions", "appArmorProfile",
     "windowsOptions"}
)
"""Fields a container inherits from the pod's securityContext when it does not set them itself."""


def as_dict(value: Any) -> dict:
    """``value`` when it is a mapping, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """``value`` when it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    """``value`` when it is a string, else an empty string (names used as set members or dict keys)."""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Container:
    """One container of a pod spec; ``field`` is ``containers``, ``initContainers`` or ``ephemeralContainers``;
    ``path`` its field path in the object (``spec.template.spec.containers[0]``)."""

    name: str
    field: str
    spec: dict
    pod_spec: dict
    path: str = ""
    pod_path: str = ""

    @property
    def label(self) -> str:
        """Human name used in messages, e.g. ``init container 'migrate'``."""
        return f"{_ROLE[self.field]} '{self.name}'"

    def at(self, relative: str = "") -> str:
        """The path of ``relative`` (e.g. ``securityContext.privileged``) in this container."""
        return fieldpath.join(self.path, relative)

    def hit(self, text: str, field: str = "", *, path: str | None = None) -> Hit:
        """A message about this container: ``"<label> <text>"``, suppressible per container, about its
        ``field`` (relative to the container; the container itself when empty), or about the field at the
        object's ``path`` (e.g. a pod-level setting the container inherits)."""
        return Hit(f"{self.label} {text}", self.name, self.at(field) if path is None else path)

    @property
    def security(self) -> dict:
        """The container's own ``securityContext`` (empty when absent or malformed)."""
        return as_dict(self.spec.get("securityContext"))

    def capabilities(self, section: str) -> set[str]:
        """Upper-cased capability names under ``securityContext.capabilities.<section>`` (add or drop),
        with any ``CAP_`` prefix removed."""
        names = as_list(as_dict(self.security.get("capabilities")).get(section))
        return {str(n).upper().removeprefix("CAP_") for n in names if isinstance(n, str)}

    def capability_names(self, section: str) -> set[str]:
        """The capability names under ``securityContext.capabilities.<section>`` exactly as written: the Pod
        Security Standards compare them case-sensitively (``chown`` and ``CAP_CHOWN`` are not ``CHOWN``)."""
        names = as_list(as_dict(self.security.get("capabilities")).get(section))
        return {n for n in names if isinstance(n, str)}

    def exact_capability_field(self, section: str, names: set[str]) -> str:
        """The path of the first of ``names`` (compared exactly) in the ``<section>`` list, else of the list."""
        where = f"securityContext.capabilities.{section}"
        items = as_list(as_dict(self.security.get("capabilities")).get(section))
        return next((f"{where}[{i}]" for i, n in enumerate(items) if n in names), where)

    def probes(self) -> dict[str, dict]:
        """The container's probes that are mappings, by field name (livenessProbe, readinessProbe, startupProbe)."""
        return {name: as_dict(self.spec.get(name)) for name in PROBE_FIELDS if as_dict(self.spec.get(name))}

    def ports(self) -> list[dict]:
        """The container's ``ports`` entries that are mappings."""
        return [p for p in as_list(self.spec.get("ports")) if isinstance(p, dict)]

    def entries(self, name: str) -> list[tuple[str, dict]]:
        """``(path relative to the container, entry)`` of the mapping entries of its list field ``name``
        (``ports``, ``env``, ``volumeMounts``...): ``("ports[1]", {...})``."""
        return [(f"{name}[{i}]", e) for i, e in enumerate(as_list(self.spec.get(name))) if isinstance(e, dict)]

    def capability_field(self, section: str, names: set[str]) -> str:
        """The path (relative to the container) of the first ``capabilities.<section>`` item among ``names``
        (upper-cased, ``CAP_`` prefix removed), else of the ``<section>`` list itself."""
        where = f"securityContext.capabilities.{section}"
        items = as_list(as_dict(self.security.get("capabilities")).get(section))
        return next((f"{where}[{i}]" for i, n in enumerate(items)
                     if isinstance(n, str) and n.upper().removeprefix("CAP_") in names), where)


def pod_template(obj: K8sObject) -> dict | None:
    """The pod template (``metadata`` + ``spec``) of a workload; the body itself for a Pod; None otherwise."""
    if obj.kind not in WORKLOAD_KINDS:
        return None
    if obj.kind == "Pod":
        return obj.body
    spec = as_dict(obj.body.get("spec"))
    if obj.kind == "CronJob":
        spec = as_dict(as_dict(spec.get("jobTemplate")).get("spec"))
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def pod_spec_path(obj: K8sObject) -> str:
    """The field path of the pod spec: ``spec`` for a Pod, ``spec.jobTemplate.spec.template.spec`` for a CronJob,
    ``spec.template.spec`` for the other workloads."""
    if obj.kind == "Pod":
        return "spec"
    return "spec.jobTemplate.spec.template.spec" if obj.kind == "CronJob" else "spec.template.spec"


def pod_template_path(obj: K8sObject) -> str:
    """The field path of the pod template (``""``, the object itself, for a Pod)."""
    return fieldpath.parent(pod_spec_path(obj)) or ""


def pod_hit(obj: K8sObject, text: str, field: str = "") -> Hit:
    """A message about ``field`` of the pod spec (relative to it; the pod spec itself when empty)."""
    return Hit(text, None, fieldpath.join(pod_spec_path(obj), field))


def pod_spec(obj: K8sObject) -> dict:
    """The pod spec of a workload (empty when absent or malformed)."""
    return as_dict(as_dict(pod_template(obj)).get("spec"))


def pod_labels(obj: K8sObject) -> dict:
    """The labels its pods get (pod template ``metadata.labels``)."""
    return as_dict(as_dict(as_dict(pod_template(obj)).get("metadata")).get("labels"))


def is_windows(obj: K8sObject) -> bool:
    """A Windows pod (``spec.os.name: windows``): the Linux-only Pod Security Standards controls (seccomp,
    capabilities, allowPrivilegeEscalation, procMount) do not apply to it."""
    return as_dict(pod_spec(obj).get("os")).get("name") == "windows"


def is_long_running(obj: K8sObject) -> bool:
    """Workloads whose pods are expected to stay up (everything but Jobs and CronJobs)."""
    return obj.kind in WORKLOAD_KINDS - BATCH_KINDS


def containers(obj: K8sObject, fields: tuple[str, ...] = CONTAINER_FIELDS) -> list[Container]:
    """The containers of ``obj`` listed under ``fields``; entries that are not mappings are skipped."""
    spec = pod_spec(obj)
    base = pod_spec_path(obj)
    return [
        Container(name=str(c.get("name") or "<unnamed>"), field=f, spec=c, pod_spec=spec,
                  path=f"{base}.{f}[{i}]", pod_path=base)
        for f in fields
        for i, c in enumerate(as_list(spec.get(f)))
        if isinstance(c, dict)
    ]


def effective_security(container: Container, name: str) -> Any:
    """A securityContext field as the kubelet applies it: the container's value, else the pod's (pod-level fields)."""
    value = as_dict(container.spec.get("securityContext")).get(name)
    if value is None and name in POD_LEVEL_SECURITY_FIELDS:
        value = as_dict(container.pod_spec.get("securityContext")).get(name)
    return value


def security_field(container: Container, name: str) -> str:
    """The path of the securityContext field ``name`` that applies to ``container``: the container's own when
    it sets it, else the pod's when the pod sets it (and the container inherits it), else the container's
    (where it is missing)."""
    if as_dict(container.spec.get("securityContext")).get(name) is None and name in POD_LEVEL_SECURITY_FIELDS \
            and as_dict(container.pod_spec.get("securityContext")).get(name) is not None:
        return fieldpath.join(container.pod_path, f"securityContext.{name}")
    return container.at(f"securityContext.{name}")


def labels_match(selector: dict, labels: dict) -> bool:
    """Equality-based selector (Service ``spec.selector``): every key/value pair is present in ``labels``."""
    return all(k in labels and labels[k] == v for k, v in selector.items())


def _expression_matches(expr: dict, labels: dict) -> bool:
    key, op, values = as_str(expr.get("key")), expr.get("operator"), as_list(expr.get("values"))
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector: dict, labels: dict) -> bool:
    """A ``LabelSelector`` (matchLabels + matchExpressions); the empty selector matches everything."""
    return labels_match(as_dict(selector.get("matchLabels")), labels) and all(
        _expression_matches(as_dict(expr), labels) for expr in as_list(selector.get("matchExpressions"))
    )


def template_annotations(obj: K8sObject) -> dict:
    """The annotations of the pod template (the object's own for a Pod)."""
    return as_dict(as_dict(as_dict(pod_template(obj)).get("metadata")).get("annotations"))


def metadata(obj: K8sObject) -> dict:
    """The object's ``metadata`` (empty when absent or malformed)."""
    return as_dict(obj.body.get("metadata"))


def spec_of(obj: K8sObject) -> dict:
    """The object's ``spec`` (empty when absent or malformed)."""
    return as_dict(obj.body.get("spec"))


def name_of(obj: K8sObject) -> str:
    """``Kind 'name'`` for messages."""
    return f"{obj.kind} '{obj.name or '<unnamed>'}'"


_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {None: 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(value: Any) -> float | None:
    """A Kubernetes resource quantity (``500m``, ``1Gi``, ``2``) as a number; None when it does not parse."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip()) if isinstance(value, str) else None
    return float(match.group(1)) * _SUFFIX[match.group(2)] if match else None


class PodIndex:
    """The workloads of a set indexed by namespace and pod-template label, so that cross-object checks select
    pods in time proportional to the candidates rather than to the whole set."""

    def __init__(self, objects: list[K8sObject]):
        self.by_namespace: dict[str | None, list[tuple[K8sObject, dict]]] = {}
        self._by_label: dict[tuple[str | None, str, Any], list[tuple[K8sObject, dict]]] = {}
        for obj in objects:
            if pod_template(obj) is None:
                continue
            entry = (obj, pod_labels(obj))
            self.by_namespace.setdefault(obj.namespace, []).append(entry)
            for key, value in entry[1].items():
                if _hashable(value):
                    self._by_label.setdefault((obj.namespace, key, value), []).append(entry)

    def _candidates(self, namespace: str | None, selector: dict) -> list[tuple[K8sObject, dict]]:
        match_labels = as_dict(selector.get("matchLabels"))
        if not all(_hashable(v) for v in match_labels.values()):
            return []
        return min((self._by_label.get((namespace, k, v), []) for k, v in match_labels.items()),
                   key=len, default=self.by_namespace.get(namespace, []))

    def select(self, namespace: str | None, selector: dict) -> list[K8sObject]:
        """Workloads of ``namespace`` whose pod labels ``selector`` (a LabelSelector) matches."""
        return [obj for obj, labels in self._candidates(namespace, selector) if selector_matches(selector, labels)]

    def any_match(self, namespace: str | None, selector: dict) -> bool:
        """Whether ``selector`` matches some workload of ``namespace`` (stops at the first: broad selectors stay cheap)."""
        return any(selector_matches(selector, labels) for _, labels in self._candidates(namespace, selector))

    def select_equal(self, namespace: str | None, selector: dict) -> list[K8sObject]:
        """Workloads of ``namespace`` matched by an equality selector (a Service's ``spec.selector``)."""
        return self.select(namespace, {"matchLabels": selector})


_LAST_INDEX: tuple[tuple[int, ...], list[K8sObject], PodIndex] | None = None


def pod_index(objects: list[K8sObject]) -> PodIndex:
    """The :class:`PodIndex` of ``objects``, built once for the set checks of one run (the same objects, in the
    same order, give the same index: the last one is kept, with the objects it indexes)."""
    global _LAST_INDEX
    key = tuple(map(id, objects))
    last = _LAST_INDEX
    if last is not None and last[0] == key:
        return last[2]
    index = PodIndex(objects)
    _LAST_INDEX = (key, list(objects), index)
    return index


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def spread_problem(constraint: dict) -> tuple[str, str] | None:
    """``(field, problem)`` of the first invalid field of a topology spread constraint."""
    skew = constraint.get("maxSkew")
    if not (type(skew) is int and skew >= 1):
        return "maxSkew", f"maxSkew '{skew}' is not a positive integer"
    if not constraint.get("topologyKey"):
        return "topologyKey", "topologyKey is missing"
    if constraint.get("whenUnsatisfiable") not in ("DoNotSchedule", "ScheduleAnyway"):
        return "whenUnsatisfiable", f"whenUnsatisfiable '{constraint.get('whenUnsatisfiable')}' is invalid"
    return None


def port_problems(ports: list[tuple[str, dict]]) -> Iterator[tuple[str, str]]:
    """``(field, problem)`` for each invalid entry of ``(path, port)`` pairs."""
    names: set[str] = set()
    for where, port in ports:
        name = port.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 15 or not IANA_SVC_NAME.match(name)):
            yield f"{where}.name", (f"port name '{name}' is not a valid IANA service name (<= 15 lowercase letters, "
                                    "digits, '-')")
        elif isinstance(name, str) and name in names:
            yield f"{where}.name", f"port name '{name}' is declared twice"
        names.add(as_str(name))
        if port.get("containerPort") is None:
            yield f"{where}.containerPort", f"port '{name or '<unnamed>'}' has no containerPort"


def is_doc_path(path: object) -> bool:
    """Whether an HTTP path is a documentation page (``/docs``, ``/swagger``, ``/openapi.json``...)."""
    text = str(path or "").split("?", 1)[0].rstrip("/").lower()
    return any(text == p or text.startswith(p + "/") for p in DOC_PATHS)
