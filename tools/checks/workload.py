"""Per-object checks of workloads: images, resources, probes, pod security, host access, namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    RESOURCE_FIELDS,
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    containers,
    effective_security,
    is_long_running,
    is_windows,
    pod_hit,
    pod_spec,
    security_field,
)


def _image_problem(image: str) -> str | None:
    if "@" in image:  # pinned by digest
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag"
    return "uses the mutable ':latest' tag" if last.rsplit(":", 1)[1] in ("", "latest") else None


@check(id="SEC-IMAGE-TAG", category=Category.security, severity=Severity.high,
       kinds=WORKLOAD_KINDS,
       title="Image not pinned to a tag or digest",
       description="An image without a tag, or tagged ':latest', can change under the same name: rollouts are "
                   "not reproducible and a compromised registry push reaches the cluster.",
       remediation="Pin every image to an immutable version tag, ideally to a digest (image@sha256:...).",
       peers={"kube-linter": "latest-tag", "checkov": "CKV_K8S_14", "polaris": "tagNotSpecified",
              "kube-score": "container-image-tag"})
def image_tag(obj: K8sObject) -> Iterator[str]:
    for c in containers(obj):
        image = c.spec.get("image")
        problem = _image_problem(image) if isinstance(image, str) and image else None
        if problem:
            yield c.hit(f"image '{image}' {problem}", "image")


def _missing_resources(obj: K8sObject, section: str, resource: str) -> Iterator[str]:
    for c in containers(obj, RESOURCE_FIELDS):
        if as_dict(as_dict(c.spec.get("resources")).get(section)).get(resource) in (None, ""):
            noun = "request" if section == "requests" else "limit"
            yield c.hit(f"has no {resource} {noun}", f"resources.{section}.{resource}")


@check(id="REL-CPU-REQUEST", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="CPU request missing",
       description="Without a CPU request the scheduler cannot place the pod sensibly and the HPA cannot scale "
                   "on CPU utilisation.",
       remediation="Set resources.requests.cpu on every container and init container.",
       peers={"kube-linter": "unset-cpu-requirements", "checkov": "CKV_K8S_10", "polaris": "cpuRequestsMissing",
              "kube-score": "container-resources"})
def cpu_request(obj: K8sObject) -> Iterator[str]:
    return _missing_resources(obj, "requests", "cpu")


@check(id="REL-MEM-REQUEST", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Memory request missing",
       description="Without a memory request the pod is scheduled as best-effort and is evicted first.",
       remediation="Set resources.requests.memory on every container and init container.",
       peers={"kube-linter": "unset-memory-requirements", "checkov": "CKV_K8S_12",
              "polaris": "memoryRequestsMissing", "kube-score": "container-resources"})
def memory_request(obj: K8sObject) -> Iterator[str]:
    return _missing_resources(obj, "requests", "memory")


@check(id="REL-MEM-LIMIT", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Memory limit missing",
       description="A container without a memory limit can exhaust the node's memory and take neighbours down.",
       remediation="Set resources.limits.memory on every container and init container.",
       peers={"kube-linter": "unset-memory-requirements", "checkov": "CKV_K8S_13",
              "polaris": "memoryLimitsMissing", "kube-score": "container-resources"})
def memory_limit(obj: K8sObject) -> Iterator[str]:
    return _missing_resources(obj, "limits", "memory")


def _missing_probe(obj: K8sObject, probe: str) -> Iterator[str]:
    if not is_long_running(obj):
        return
    for c in containers(obj, ("containers",)):
        if not as_dict(c.spec.get(probe)):
            yield c.hit(f"has no {probe}", probe)


@check(id="REL-LIVENESS-PROBE", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Liveness probe missing",
       description="Without a liveness probe a hung process is never restarted.",
       remediation="Add a livenessProbe (httpGet, tcpSocket, grpc or exec) to every long-running container.",
       peers={"kube-linter": "no-liveness-probe", "checkov": "CKV_K8S_8", "polaris": "livenessProbeMissing",
              "kube-score": "pod-probes"})
def liveness_probe(obj: K8sObject) -> Iterator[str]:
    return _missing_probe(obj, "livenessProbe")


@check(id="REL-READINESS-PROBE", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Readiness probe missing",
       description="Without a readiness probe traffic reaches pods before they can serve, and rollouts cannot "
                   "tell a broken version from a working one.",
       remediation="Add a readinessProbe to every long-running container.",
       peers={"kube-linter": "no-readiness-probe", "checkov": "CKV_K8S_9", "polaris": "readinessProbeMissing",
              "kube-score": "pod-probes"})
def readiness_probe(obj: K8sObject) -> Iterator[str]:
    return _missing_probe(obj, "readinessProbe")


@check(id="SEC-RUN-AS-NON-ROOT", category=Category.security, severity=Severity.high, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Container may run as root",
       description="The effective securityContext (container over pod) must set runAsNonRoot: true or an "
                   "explicit runAsUser > 0 (an explicit runAsUser: 0 is SEC-RUN-AS-USER-ZERO). Pod Security "
                   "admission (restricted) accepts only runAsNonRoot: true, so set it even with a non-zero UID.",
       remediation="Set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser.",
       peers={"kube-linter": "run-as-non-root", "checkov": "CKV_K8S_23", "polaris": "runAsRootAllowed",
              "kube-score": "container-security-context-user-group-id"})
def run_as_non_root(obj: K8sObject) -> Iterator[str]:
    for c in containers(obj):
        user = effective_security(c, "runAsUser")
        explicit_user = user if type(user) is int else None
        if effective_security(c, "runAsNonRoot") is not True and not (explicit_user and explicit_user > 0):
            yield c.hit("may run as root: neither runAsNonRoot: true nor a runAsUser > 0 applies",
                        path=security_field(c, "runAsNonRoot"))


@check(id="SEC-PRIV-ESCALATION", category=Category.security, severity=Severity.high, pss="restricted",
       kinds=WORKLOAD_KINDS,
       title="Privilege escalation not disabled",
       description="Unless allowPrivilegeEscalation is explicitly false, setuid binaries can gain more privileges "
                   "than the container process started with.",
       remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
       peers={"kube-linter": "privilege-escalation-container", "checkov": "CKV_K8S_20",
              "polaris": "privilegeEscalationAllowed"})
def privilege_escalation(obj: K8sObject) -> Iterator[str]:
    if is_windows(obj):  # Linux-only control (Pod Security Standards, spec.os.name: windows)
        return
    for c in containers(obj):
        if effective_security(c, "allowPrivilegeEscalation") is not False:
            yield c.hit("does not set allowPrivilegeEscalation: false", "securityContext.allowPrivilegeEscalation")


@check(id="SEC-PRIVILEGED", category=Category.security, severity=Severity.critical, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="Privileged container",
       description="A privileged container has every capability and access to the host's devices: it is root "
                   "on the node.",
       remediation="Remove securityContext.privileged: true; grant only the specific capabilities needed.",
       peers={"kube-linter": "privileged-container", "checkov": "CKV_K8S_16", "polaris": "runAsPrivileged",
              "kube-score": "container-security-context-privileged"})
def privileged(obj: K8sObject) -> Iterator[str]:
    for c in containers(obj):
        if effective_security(c, "privileged") is True:
            yield c.hit("is privileged", "securityContext.privileged")


@check(id="SEC-HOSTPATH-ANY", category=Category.security, severity=Severity.high, pss="baseline",
       kinds=WORKLOAD_KINDS,
       title="hostPath volume",
       description="A hostPath volume exposes the node's filesystem to the pod and is forbidden by the baseline "
                   "Pod Security Standard.",
       remediation="Use a PersistentVolumeClaim, configMap, secret, emptyDir or CSI volume instead of hostPath.",
       peers={"polaris": "hostPathSet"})
def host_path(obj: K8sObject) -> Iterator[str]:
    for i, volume in enumerate(as_list(pod_spec(obj).get("volumes"))):
        host = as_dict(as_dict(volume).get("hostPath"))
        if host:
            yield pod_hit(obj, f"volume '{as_dict(volume).get('name', '<unnamed>')}' mounts host path "
                               f"'{host.get('path', '')}'", f"volumes[{i}].hostPath")


@check(id="SEC-DEFAULT-NAMESPACE", category=Category.security, severity=Severity.low,
       title="Object in the default namespace",
       description="metadata.namespace is explicitly 'default': workloads there share one policy and RBAC "
                   "boundary with everything else that lands there.",
       remediation="Deploy into a dedicated namespace.",
       peers={"kube-linter": "use-namespace", "checkov": "CKV_K8S_21"})
def default_namespace(obj: K8sObject) -> Iterator[str]:
    if obj.namespace == "default":
        yield Hit(f"{obj.kind} '{obj.name or '<unnamed>'}' is placed in the 'default' namespace",
                  field="metadata.namespace")
