"""Observability, operability and hygiene checks: labels and annotations, graceful shutdown, rollout history,
removed API versions, deprecated fields, GitOps pitfalls (``generateName``, selectors not scoped to a Helm
release) and malformed suppression annotations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    containers,
    is_long_running,
    metadata,
    name_of,
    pod_hit,
    pod_spec,
    pod_template,
    pod_template_path,
    spec_of,
    template_annotations,
)
from tools.suppress import our_ignores

REMOVED_APIS: dict[tuple[str, str | None], str] = {
    ("extensions/v1beta1", None): "1.22",
    ("apps/v1beta1", None): "1.16",
    ("apps/v1beta2", None): "1.16",
    ("policy/v1beta1", None): "1.25",
    ("batch/v1beta1", None): "1.25",
    ("batch/v2alpha1", None): "1.21",
    ("autoscaling/v2beta1", None): "1.25",
    ("autoscaling/v2beta2", None): "1.26",
    ("networking.k8s.io/v1beta1", None): "1.22",
    ("rbac.authorization.k8s.io/v1beta1", None): "1.22",
    ("rbac.authorization.k8s.io/v1alpha1", None): "1.22",
    ("admissionregistration.k8s.io/v1beta1", None): "1.22",
    ("apiextensions.k8s.io/v1beta1", None): "1.22",
    ("apiregistration.k8s.io/v1beta1", None): "1.22",
    ("certificates.k8s.io/v1beta1", None): "1.22",
    ("coordination.k8s.io/v1beta1", None): "1.22",
    ("scheduling.k8s.io/v1beta1", None): "1.22",
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): "1.27",
    ("storage.k8s.io/v1beta1", "CSIDriver"): "1.22",
    ("storage.k8s.io/v1beta1", "CSINode"): "1.22",
    ("storage.k8s.io/v1beta1", "StorageClass"): "1.22",
    ("storage.k8s.io/v1beta1", "VolumeAttachment"): "1.22",
    ("discovery.k8s.io/v1beta1", None): "1.25",
    ("events.k8s.io/v1beta1", None): "1.25",
    ("node.k8s.io/v1beta1", None): "1.25",
    ("flowcontrol.apiserver.k8s.io/v1beta1", None): "1.26",
    ("flowcontrol.apiserver.k8s.io/v1beta2", None): "1.29",
    ("flowcontrol.apiserver.k8s.io/v1beta3", None): "1.32",
}
"""apiVersion (and kind, where only some kinds of a group version were removed) -> Kubernetes release removing it."""

DEPRECATED_ANNOTATIONS = {
    "seccomp.security.alpha.kubernetes.io/pod": "ignored since 1.27; use securityContext.seccompProfile",
    "container.seccomp.security.alpha.kubernetes.io/": "ignored since 1.27; use securityContext.seccompProfile",
    "scheduler.alpha.kubernetes.io/critical-pod": "ignored since 1.16; use priorityClassName",
    "kubernetes.io/ingress.class": "deprecated; use spec.ingressClassName",
    "volume.beta.kubernetes.io/storage-class": "deprecated; use storageClassName",
}
"""Annotation (or prefix ending in '/') -> why it must not be used."""

LONG_LIVED_KINDS = frozenset({
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob", "Service", "ConfigMap", "Secret",
    "Ingress", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "NetworkPolicy",
    "PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Namespace",
})
RELEASE_LABEL = "app.kubernetes.io/instance"
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def _labels(obj: K8sObject) -> dict:
    return as_dict(metadata(obj).get("labels"))


def _template_meta_path(obj: K8sObject) -> str:
    return fieldpath.join(pod_template_path(obj), "metadata")


def annotation_path(obj: K8sObject, name: str) -> str:
    """The path of annotation ``name``: the object's own, else its pod template's."""
    if name in as_dict(metadata(obj).get("annotations")) or pod_template(obj) is None:
        return fieldpath.key("metadata.annotations", name)
    return fieldpath.key(f"{_template_meta_path(obj)}.annotations", name)


@check(id="OBS-OWNER-LABEL", category=Category.observability, severity=Severity.low, default_enabled=False,
       title="No owner label",
       description="Without an 'owner' label (or 'email' annotation) nobody knows whom to page for the object.",
       remediation="Add metadata.labels.owner (team name).",
       peers={"kube-linter": "required-label-owner,required-annotation-email"})
def owner_label(obj: K8sObject) -> Iterator[Hit]:
    if not _labels(obj).get("owner") and not as_dict(metadata(obj).get("annotations")).get("email"):
        yield Hit(f"{name_of(obj)} has no owner label", field="metadata.labels.owner")


@check(id="OBS-RECOMMENDED-LABELS", category=Category.observability, severity=Severity.low,
       title="Pods without a name label",
       description="Pods labelled with neither app.kubernetes.io/name nor app cannot be grouped in dashboards, "
                   "logs and selectors. (Polaris's instance-equals-name rule is not replicated: Helm sets "
                   "instance to the release name.)",
       remediation="Label the pod template with app.kubernetes.io/name (and the other recommended labels).",
       peers={"polaris": "metadataAndInstanceMismatched"})
def recommended_labels(obj: K8sObject) -> Iterator[Hit]:
    template = pod_template(obj)
    if template is None:
        return
    labels = as_dict(as_dict(template.get("metadata")).get("labels"))
    if not labels.get("app.kubernetes.io/name") and not labels.get("app"):
        yield Hit(f"{name_of(obj)}: its pods have neither an app.kubernetes.io/name nor an app label",
                  field=fieldpath.key(f"{_template_meta_path(obj)}.labels", "app.kubernetes.io/name"))


def _deprecated(annotations: dict) -> Iterator[tuple[str, str]]:
    for key in annotations:
        for name, why in DEPRECATED_ANNOTATIONS.items():
            if key == name or (name.endswith("/") and key.startswith(name)):
                yield key, why


@check(id="OBS-FORBIDDEN-ANNOTATION", category=Category.observability, severity=Severity.low,
       title="Deprecated or ignored annotation",
       description="Annotations that Kubernetes ignores today (alpha seccomp, critical-pod) or that replaced "
                   "fields supersede give a false sense of configuration.",
       remediation="Replace the annotation with the field named in the message.",
       peers={"kube-linter": "forbidden-annotation"})
def forbidden_annotation(obj: K8sObject) -> Iterator[Hit]:
    seen = as_dict(metadata(obj).get("annotations")) | template_annotations(obj)
    for key, why in _deprecated(seen):
        yield Hit(f"annotation '{key}' is {why}", field=annotation_path(obj, key))


@check(id="OBS-STS-VCT-ANNOTATION", category=Category.observability, severity=Severity.low,
       kinds={"StatefulSet"},
       title="Deprecated annotation on a volumeClaimTemplate",
       description="StatefulSet volumeClaimTemplates carrying the beta storage-class annotation instead of "
                   "storageClassName; volumeClaimTemplates cannot be changed later without recreating the set.",
       remediation="Use spec.storageClassName in the volumeClaimTemplate.",
       peers={"kube-linter": "statefulset-volumeclaimtemplate-annotation"})
def sts_vct_annotation(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind != "StatefulSet":
        return
    for i, template in enumerate(as_list(spec_of(obj).get("volumeClaimTemplates"))):
        meta = as_dict(as_dict(template).get("metadata"))
        for key, why in _deprecated(as_dict(meta.get("annotations"))):
            yield Hit(f"volumeClaimTemplate '{meta.get('name', '<unnamed>')}' annotation '{key}' is {why}",
                      field=fieldpath.key(f"spec.volumeClaimTemplates[{i}].metadata.annotations", key))


@check(id="OBS-GRACEFUL-SHUTDOWN", category=Category.observability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="No graceful shutdown",
       description="terminationGracePeriodSeconds: 0 kills containers without SIGTERM handling time: in-flight "
                   "requests fail on every rollout and scale-in. (An unset value is the safe default of 30s.)",
       remediation="Remove terminationGracePeriodSeconds: 0 (or set it above the longest request time) and "
                   "add a preStop sleep if the load balancer needs time to deregister pods.")
def graceful_shutdown(obj: K8sObject) -> Iterator[Hit]:
    if is_long_running(obj) and pod_spec(obj).get("terminationGracePeriodSeconds") == 0:
        yield pod_hit(obj, f"{name_of(obj)} sets terminationGracePeriodSeconds: 0", "terminationGracePeriodSeconds")


@check(id="OBS-REVISION-HISTORY", category=Category.observability, severity=Severity.medium,
       kinds={"Deployment", "StatefulSet", "DaemonSet"},
       title="Rollout history disabled",
       description="revisionHistoryLimit: 0 deletes old ReplicaSets/ControllerRevisions: `kubectl rollout undo` "
                   "has nothing to return to.",
       remediation="Keep the default revisionHistoryLimit (10) or at least 2.")
def revision_history(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind in ("Deployment", "StatefulSet", "DaemonSet") and spec_of(obj).get("revisionHistoryLimit") == 0:
        yield Hit(f"{name_of(obj)} sets revisionHistoryLimit: 0", field="spec.revisionHistoryLimit")


@check(id="OBS-PROGRESS-DEADLINE", category=Category.observability, severity=Severity.medium,
       kinds={"Deployment"},
       title="Rollout deadline shorter than minReadySeconds",
       description="A Deployment whose progressDeadlineSeconds does not exceed minReadySeconds is reported as "
                   "failed before any pod can count as available (the API rejects it).",
       remediation="Set progressDeadlineSeconds well above minReadySeconds (default 600).")
def progress_deadline(obj: K8sObject) -> Iterator[Hit]:
    spec = spec_of(obj)
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds", 0)
    if obj.kind == "Deployment" and type(deadline) is int and type(ready) is int and deadline <= ready:
        yield Hit(f"{name_of(obj)} has progressDeadlineSeconds {deadline} <= minReadySeconds {ready}",
                  field="spec.progressDeadlineSeconds")


@check(id="OBS-TERMINATION-MESSAGE", category=Category.observability, severity=Severity.low,
       kinds=WORKLOAD_KINDS,
       default_enabled=False,
       title="Crash reason not captured",
       description="With terminationMessagePolicy FallbackToLogsOnError the tail of the log becomes the "
                   "termination message, so `kubectl describe` shows why a container crashed.",
       remediation="Set terminationMessagePolicy: FallbackToLogsOnError.")
def termination_message(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, ("containers",)):
        if c.spec.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            yield c.hit("does not set terminationMessagePolicy: FallbackToLogsOnError", "terminationMessagePolicy")


@check(id="OBS-METRICS-PORT", category=Category.observability, severity=Severity.low,
       kinds=WORKLOAD_KINDS,
       title="Scrape annotation names an undeclared port",
       description="prometheus.io/port on the pod template names a port no container declares: Prometheus "
                   "scrapes nothing and the gap goes unnoticed.",
       remediation="Point prometheus.io/port at a declared containerPort (or use a ServiceMonitor/PodMonitor).")
def metrics_port(obj: K8sObject) -> Iterator[Hit]:
    port = template_annotations(obj).get("prometheus.io/port")
    if port is None or pod_template(obj) is None:
        return
    declared = {str(p.get("containerPort")) for c in containers(obj, ("containers",)) for p in c.ports()}
    if str(port) not in declared:
        yield Hit(f"prometheus.io/port '{port}' is not a declared containerPort",
                  field=fieldpath.key(f"{_template_meta_path(obj)}.annotations", "prometheus.io/port"))


def removed_in(obj: K8sObject) -> str | None:
    """The Kubernetes version that removed ``obj``'s apiVersion (for its kind), or None."""
    return REMOVED_APIS.get((obj.api_version, obj.kind)) or REMOVED_APIS.get((obj.api_version, None))


@check(id="SCH-DEPRECATED-API", category=Category.schema, severity=Severity.high,
       title="Removed API version",
       description="The apiVersion was removed from Kubernetes: the API server rejects the object.",
       remediation="Migrate to the stable API version (e.g. apps/v1, networking.k8s.io/v1, policy/v1, batch/v1, "
                   "autoscaling/v2).",
       peers={"kube-linter": "no-extensions-v1beta", "kube-score": "stable-version"})
def deprecated_api(obj: K8sObject) -> Iterator[Hit]:
    removed = removed_in(obj)
    if removed:
        yield Hit(f"{name_of(obj)} uses {obj.api_version}, removed in Kubernetes {removed}", field="apiVersion")


def _label_problems(labels: dict, at: str) -> Iterator[tuple[str, str]]:
    """``(field, problem)`` of each invalid label of ``labels`` (found at path ``at``)."""
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not _LABEL_NAME.match(name) or (prefix and not _DNS_SUBDOMAIN.match(prefix)):
            yield fieldpath.key(at, key), f"label key '{key}' is invalid"
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            yield fieldpath.key(at, key), (f"label '{key}' value '{str(value)[:80]}' is invalid (<= 63 of "
                                           "[A-Za-z0-9._-], alphanumeric ends)")


@check(id="SCH-LABEL-VALUES", category=Category.schema, severity=Severity.medium,
       title="Invalid label",
       description="Label keys and values have a strict syntax (values <= 63 characters of letters, digits, "
                   "'-', '_', '.'); the API server rejects invalid ones (a YAML number or boolean is invalid too).",
       remediation="Quote numeric and boolean label values and keep to the label syntax.",
       peers={"kube-score": "label-values"})
def label_values(obj: K8sObject) -> Iterator[Hit]:
    yield from (Hit(problem, field=where) for where, problem in _label_problems(_labels(obj), "metadata.labels"))
    template = pod_template(obj)
    if template is not None and template is not obj.body:
        labels = as_dict(as_dict(template.get("metadata")).get("labels"))
        yield from (Hit(f"pod template {problem}", field=where)
                    for where, problem in _label_problems(labels, f"{_template_meta_path(obj)}.labels"))


@check(id="SCH-DEPRECATED-SA-FIELD", category=Category.schema, severity=Severity.low,
       kinds=WORKLOAD_KINDS,
       title="Deprecated serviceAccount field",
       description="spec.serviceAccount is a deprecated alias of serviceAccountName.",
       remediation="Rename serviceAccount to serviceAccountName.",
       peers={"kube-linter": "deprecated-service-account-field"})
def deprecated_sa_field(obj: K8sObject) -> Iterator[Hit]:
    if pod_spec(obj).get("serviceAccount"):
        yield pod_hit(obj, f"{name_of(obj)} uses the deprecated serviceAccount field", "serviceAccount")


def _unsorted_path(value: object, path: str = "") -> tuple[str, str] | None:
    """``(mapping path, path of its first key out of order)`` of the first mapping whose keys are not sorted."""
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        late = next((b for a, b in zip(keys, keys[1:], strict=False) if b < a), None)
        if late is not None:
            return path, fieldpath.key(path, late)
        return next((p for k, v in value.items() if (p := _unsorted_path(v, fieldpath.key(path, k))) is not None),
                    None)
    if isinstance(value, list):
        return next((p for i, v in enumerate(value) if (p := _unsorted_path(v, fieldpath.item(path, i))) is not None),
                    None)
    return None


@check(id="SCH-SORTED-KEYS", category=Category.schema, severity=Severity.info, default_enabled=False,
       title="YAML keys not sorted",
       description="Style: sorted keys make diffs of generated manifests stable.",
       remediation="Sort the keys (e.g. yq -P 'sort_keys(..)').",
       peers={"kube-linter": "sorted-keys"})
def sorted_keys(obj: K8sObject) -> Iterator[Hit]:
    found = _unsorted_path(obj.body)
    if found is not None:
        yield Hit(f"keys under {found[0] or '<root>'} are not sorted", field=found[1])


@check(id="SCH-GENERATE-NAME", category=Category.schema, severity=Severity.medium,
       kinds=LONG_LIVED_KINDS,
       title="generateName on a long-lived object",
       description="An object named by generateName gets a new name on every apply: GitOps tools create a "
                   "duplicate each sync instead of updating it, and `kubectl apply` refuses it.",
       remediation="Give the object a fixed metadata.name.")
def generate_name(obj: K8sObject) -> Iterator[Hit]:
    meta = metadata(obj)
    if obj.kind in LONG_LIVED_KINDS and meta.get("generateName") and not meta.get("name"):
        yield Hit(f"{obj.kind} uses generateName '{meta.get('generateName')}' instead of a fixed name",
                  field="metadata.generateName")


def is_chart_rendered(obj: K8sObject) -> bool:
    """Rendered from a Helm chart: by our renderer (``rendered_from``) or committed output (Helm's labels)."""
    labels = _labels(obj)
    return bool(obj.rendered_from) or "helm.sh/chart" in labels or labels.get("app.kubernetes.io/managed-by") == "Helm"


def _selectors(obj: K8sObject) -> Iterator[tuple[str, dict]]:
    spec = spec_of(obj)
    if obj.kind == "Service":
        yield "spec.selector", as_dict(spec.get("selector"))
    elif obj.kind == "NetworkPolicy":
        yield "spec.podSelector.matchLabels", as_dict(as_dict(spec.get("podSelector")).get("matchLabels"))
    elif obj.kind == "PodDisruptionBudget" or pod_template(obj) is not None:
        yield "spec.selector.matchLabels", as_dict(as_dict(spec.get("selector")).get("matchLabels"))


@check(id="REL-RELEASE-SELECTOR", category=Category.scalability, severity=Severity.medium,
       title="Selector not scoped to the Helm release",
       description="A chart-rendered (rendered here, or labelled helm.sh/chart / managed-by: Helm) Service, "
                   "workload, PDB or NetworkPolicy whose selector lacks "
                   "app.kubernetes.io/instance also selects the pods of every other release of the same chart "
                   "in the namespace.",
       remediation="Add app.kubernetes.io/instance: {{ .Release.Name }} to the selector and pod labels "
                   "(the chart's selectorLabels helper).")
def release_selector(obj: K8sObject) -> Iterator[Hit]:
    if not is_chart_rendered(obj):
        return
    for where, selector in _selectors(obj):
        if selector and RELEASE_LABEL not in selector:
            yield Hit(f"{name_of(obj)} {where} lacks {RELEASE_LABEL}", field=where)


@check(id="SUPPRESS-NO-REASON", category=Category.schema, severity=Severity.info,
       title="Suppression without a reason",
       description="An infra-orchestrator.io/ignore annotation must read '<check>[,<check>]: <reason>'; without "
                   "a reason (or without check ids) it suppresses nothing.",
       remediation="Write the reason after the check ids, e.g. 'SEC-READONLY-ROOTFS: nginx writes its cache'.")
def suppress_no_reason(obj: K8sObject) -> Iterator[Hit]:
    for ignore in our_ignores(obj):
        if not ignore.reason or not ignore.checks:
            yield Hit(f"annotation '{ignore.key}' is ignored: it needs '<check>[,<check>]: <reason>'",
                      field=annotation_path(obj, ignore.key))
