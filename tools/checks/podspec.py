"""Pod-spec helpers shared by the checks: where the pod template is, its containers, effective security context,
label selectors. Every helper tolerates malformed bodies (wrong types read as empty) so checks stay simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra_orchestrator.models import K8sObject

WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}
)
BATCH_KINDS = frozenset({"Job", "CronJob"})

CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
_ROLE = {"containers": "container", "initContainers": "init container", "ephemeralContainers": "ephemeral container"}

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


@dataclass(frozen=True)
class Container:
    """One container of a pod spec; ``field`` is ``containers``, ``initContainers`` or ``ephemeralContainers``."""

    name: str
    field: str
    spec: dict
    pod_spec: dict

    @property
    def label(self) -> str:
        """Human name used in messages, e.g. ``init container 'migrate'``."""
        return f"{_ROLE[self.field]} '{self.name}'"


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


def pod_spec(obj: K8sObject) -> dict:
    """The pod spec of a workload (empty when absent or malformed)."""
    return as_dict(as_dict(pod_template(obj)).get("spec"))


def pod_labels(obj: K8sObject) -> dict:
    """The labels its pods get (pod template ``metadata.labels``)."""
    return as_dict(as_dict(as_dict(pod_template(obj)).get("metadata")).get("labels"))


def is_long_running(obj: K8sObject) -> bool:
    """Workloads whose pods are expected to stay up (everything but Jobs and CronJobs)."""
    return obj.kind in WORKLOAD_KINDS - BATCH_KINDS


def containers(obj: K8sObject, fields: tuple[str, ...] = CONTAINER_FIELDS) -> list[Container]:
    """The containers of ``obj`` listed under ``fields``; entries that are not mappings are skipped."""
    spec = pod_spec(obj)
    return [
        Container(name=str(c.get("name") or "<unnamed>"), field=f, spec=c, pod_spec=spec)
        for f in fields
        for c in as_list(spec.get(f))
        if isinstance(c, dict)
    ]


def effective_security(container: Container, name: str) -> Any:
    """A securityContext field as the kubelet applies it: the container's value, else the pod's (pod-level fields)."""
    value = as_dict(container.spec.get("securityContext")).get(name)
    if value is None and name in POD_LEVEL_SECURITY_FIELDS:
        value = as_dict(container.pod_spec.get("securityContext")).get(name)
    return value


def labels_match(selector: dict, labels: dict) -> bool:
    """Equality-based selector (Service ``spec.selector``): every key/value pair is present in ``labels``."""
    return all(k in labels and labels[k] == v for k, v in selector.items())


def _expression_matches(expr: dict, labels: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), as_list(expr.get("values"))
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
