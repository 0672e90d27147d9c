"""Per-object reliability and scalability checks: probes, resources, replicas, disruption budgets, scheduling,
rollout strategy, selectors, env and ports, Jobs and CronJobs.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    BATCH_KINDS,
    RESOURCE_FIELDS,
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    as_str,
    containers,
    is_doc_path,
    is_long_running,
    name_of,
    pod_hit,
    pod_labels,
    pod_spec,
    pod_template,
    port_problems,
    quantity,
    selector_matches,
    spec_of,
    spread_problem,
)

SELECTOR_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


def _serving_containers(obj: K8sObject) -> list:
    """Regular containers of long-running workloads (probes make no sense elsewhere)."""
    return containers(obj, ("containers",)) if is_long_running(obj) else []


@check(id="REL-PROBES-IDENTICAL", category=Category.scalability, severity=Severity.low,
       kinds=WORKLOAD_KINDS,
       title="Liveness and readiness probes are identical",
       description="When the same probe decides readiness and liveness, an overloaded pod is restarted instead "
                   "of being taken out of rotation, which turns a slowdown into an outage.",
       remediation="Give the liveness probe a cheaper endpoint or a higher failureThreshold than readiness.",
       peers={"kube-score": "pod-probes-identical"})
def probes_identical(obj: K8sObject) -> Iterator[Hit]:
    for c in _serving_containers(obj):
        probes = c.probes()
        if "livenessProbe" in probes and probes.get("livenessProbe") == probes.get("readinessProbe"):
            yield c.hit("has identical liveness and readiness probes", "livenessProbe")


def _probe_port(probe: dict) -> tuple[str, object]:
    """``(handler, port)`` of a probe's httpGet, tcpSocket or grpc handler (``("", None)`` without one)."""
    for kind in ("httpGet", "tcpSocket", "grpc"):
        if as_dict(probe.get(kind)):
            return kind, as_dict(probe.get(kind)).get("port")
    return "", None


@check(id="REL-PROBE-PORT", category=Category.scalability, severity=Severity.high,
       kinds=WORKLOAD_KINDS,
       title="Probe uses an undeclared named port",
       description="A probe whose port is a name that no ports[].name of the container declares can never "
                   "succeed: the pod never becomes ready, or is restarted forever. (Numeric ports need no "
                   "declaration, so they are not flagged.)",
       remediation="Use a port name declared in the container's ports, or the port number.",
       peers={"kube-linter": "liveness-port,readiness-port,startup-port"})
def probe_port(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, ("containers",)):
        names = {as_str(p.get("name")) for p in c.ports()}
        for field, probe in c.probes().items():
            kind, port = _probe_port(probe)
            if isinstance(port, str) and port not in names:
                yield c.hit(f"{field} uses port '{port}', which the container does not declare",
                            f"{field}.{kind}.port")


def _resources(c, section: str) -> dict:
    return as_dict(as_dict(c.spec.get("resources")).get(section))


@check(id="REL-CPU-LIMIT", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="CPU limit missing",
       description="Contested: a CPU limit protects neighbours but throttles the container even when the node is "
                   "idle; many teams set requests only.",
       remediation="Set resources.limits.cpu if your platform requires it.",
       peers={"kube-linter": "unset-cpu-requirements", "kube-score": "container-resources",
              "polaris": "cpuLimitsMissing", "checkov": "CKV_K8S_11"})
def cpu_limit(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, RESOURCE_FIELDS):
        if _resources(c, "limits").get("cpu") in (None, ""):
            yield c.hit("has no cpu limit", "resources.limits.cpu")


@check(id="REL-REQ-EQ-LIMIT", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Requests differ from limits",
       description="Only requests equal to limits give the Guaranteed QoS class (evicted last, exclusive CPUs "
                   "possible).",
       remediation="Set requests equal to limits for cpu and memory when the workload needs Guaranteed QoS.",
       peers={"kube-score": "container-resource-requests-equal-limits,container-cpu-requests-equal-limits,"
                            "container-memory-requests-equal-limits"})
def req_eq_limit(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, RESOURCE_FIELDS):
        for resource in ("cpu", "memory"):
            request, limit = _resources(c, "requests").get(resource), _resources(c, "limits").get(resource)
            if quantity(request) is None or quantity(request) != quantity(limit):
                yield c.hit(f"{resource} request does not equal its limit", f"resources.requests.{resource}")


@check(id="REL-EPHEMERAL-STORAGE", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Ephemeral storage not bounded",
       description="Without ephemeral-storage requests and limits a container filling its writable layer, logs or "
                   "emptyDir can fill the node's disk and get every pod on it evicted.",
       remediation="Set resources.requests and limits for ephemeral-storage.",
       peers={"kube-score": "container-ephemeral-storage-request-and-limit,"
                            "container-ephemeral-storage-request-equals-limit"})
def ephemeral_storage(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, RESOURCE_FIELDS):
        missing = [s for s in ("requests", "limits") if _resources(c, s).get("ephemeral-storage") in (None, "")]
        if missing:
            yield c.hit(f"has no ephemeral-storage {' or '.join(missing)}",
                        f"resources.{missing[0]}.ephemeral-storage")


@check(id="REL-RESOURCE-RANGE", category=Category.scalability, severity=Severity.high,
       kinds=WORKLOAD_KINDS,
       title="Invalid resource quantities",
       description="A request above its limit, or a quantity that does not parse, is rejected by the API server: "
                   "the rollout fails.",
       remediation="Use valid quantities (e.g. 250m, 512Mi) and keep requests at or below limits.",
       peers={"polaris": "resourceRange"})
def resource_range(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, RESOURCE_FIELDS):
        requests, limits = _resources(c, "requests"), _resources(c, "limits")
        for section, values in (("requests", requests), ("limits", limits)):
            for name, value in values.items():
                if quantity(value) is None:
                    yield c.hit(f"has an invalid {name} {section[:-1]} '{value}'",
                                fieldpath.key(f"resources.{section}", name))
        for name in [n for n in requests if n in limits]:  # in file order (a set would vary per process)
            request, limit = quantity(requests[name]), quantity(limits[name])
            if request is not None and limit is not None and request > limit:
                yield c.hit(f"requests more {name} ({requests[name]}) than its limit ({limits[name]})",
                            fieldpath.key("resources.requests", name))


def _replicas(obj: K8sObject) -> object:
    return spec_of(obj).get("replicas", 1)


@check(id="REL-REPLICAS-MIN", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds={"Deployment", "StatefulSet"},
       title="Single replica",
       description="A Deployment or StatefulSet with fewer than 2 replicas is down during every rollout, node "
                   "drain or crash (off by default: often intentional, and an HPA may own the count).",
       remediation="Run at least 2 replicas (3 across zones) or let an HPA with minReplicas >= 2 manage them.",
       peers={"kube-linter": "minimum-three-replicas", "kube-score": "deployment-replicas",
              "polaris": "deploymentMissingReplicas"})
def replicas_min(obj: K8sObject) -> Iterator[Hit]:
    replicas = _replicas(obj)
    if obj.kind in ("Deployment", "StatefulSet") and type(replicas) is int and replicas < 2:
        yield Hit(f"{name_of(obj)} runs {replicas} replica(s)", field="spec.replicas")


def _hpa_bounds(obj: K8sObject) -> tuple[object, object]:
    spec = spec_of(obj)
    return spec.get("minReplicas", 1), spec.get("maxReplicas")


@check(id="REL-HPA-MIN-REPLICAS", category=Category.scalability, severity=Severity.low,
       kinds={"HorizontalPodAutoscaler"},
       title="HPA allows a single replica",
       description="An HPA with minReplicas below 2 scales the workload down to one pod: no redundancy at "
                   "quiet times.",
       remediation="Set minReplicas: 2 or more.",
       peers={"kube-linter": "hpa-minimum-three-replicas", "kube-score": "horizontalpodautoscaler-replicas",
              "polaris": "hpaMinAvailability"})
def hpa_min_replicas(obj: K8sObject) -> Iterator[Hit]:
    low, _ = _hpa_bounds(obj)
    if obj.kind == "HorizontalPodAutoscaler" and type(low) is int and low < 2:
        yield Hit(f"{name_of(obj)} has minReplicas {low}", field="spec.minReplicas")


@check(id="REL-HPA-MIN-NE-MAX", category=Category.scalability, severity=Severity.medium,
       kinds={"HorizontalPodAutoscaler"},
       title="HPA cannot scale",
       description="maxReplicas not above minReplicas leaves the autoscaler nothing to do.",
       remediation="Set maxReplicas above minReplicas (or remove the HPA).",
       peers={"polaris": "hpaMaxAvailability"})
def hpa_min_ne_max(obj: K8sObject) -> Iterator[Hit]:
    low, high = _hpa_bounds(obj)
    if obj.kind == "HorizontalPodAutoscaler" and type(low) is int and type(high) is int and high <= low:
        yield Hit(f"{name_of(obj)} has maxReplicas {high} <= minReplicas {low}", field="spec.maxReplicas")


@check(id="REL-PDB-POLICY", category=Category.scalability, severity=Severity.medium,
       kinds={"PodDisruptionBudget"},
       title="PodDisruptionBudget without a policy",
       description="A PDB with neither minAvailable nor maxUnavailable protects nothing.",
       remediation="Set minAvailable or maxUnavailable.",
       peers={"kube-score": "poddisruptionbudget-has-policy"})
def pdb_policy(obj: K8sObject) -> Iterator[Hit]:
    spec = spec_of(obj)
    if obj.kind == "PodDisruptionBudget" and spec.get("minAvailable") is None and spec.get("maxUnavailable") is None:
        yield Hit(f"{name_of(obj)} sets neither minAvailable nor maxUnavailable", field="spec.maxUnavailable")


@check(id="REL-PDB-UNHEALTHY-EVICTION", category=Category.scalability, severity=Severity.low,
       kinds={"PodDisruptionBudget"},
       default_enabled=False,
       title="PDB without unhealthyPodEvictionPolicy",
       description="Without unhealthyPodEvictionPolicy: AlwaysAllow, crash-looping pods count against the budget "
                   "and can block node drains.",
       remediation="Set spec.unhealthyPodEvictionPolicy: AlwaysAllow.",
       peers={"kube-linter": "pdb-unhealthy-pod-eviction-policy"})
def pdb_unhealthy_eviction(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "PodDisruptionBudget" and not spec_of(obj).get("unhealthyPodEvictionPolicy"):
        yield Hit(f"{name_of(obj)} does not set unhealthyPodEvictionPolicy", field="spec.unhealthyPodEvictionPolicy")


@check(id="REL-ANTI-AFFINITY", category=Category.scalability, severity=Severity.low,
       kinds={"Deployment", "StatefulSet"},
       title="Replicas may land on one node",
       description="A multi-replica Deployment or StatefulSet without podAntiAffinity or "
                   "topologySpreadConstraints can have every replica on the same node or zone.",
       remediation="Add topologySpreadConstraints (zone and hostname) or a preferred podAntiAffinity.",
       peers={"kube-linter": "no-anti-affinity",
              "kube-score": "deployment-has-host-podantiaffinity,statefulset-has-host-podantiaffinity"})
def anti_affinity(obj: K8sObject) -> Iterator[Hit]:
    replicas, spec = _replicas(obj), pod_spec(obj)
    if obj.kind not in ("Deployment", "StatefulSet") or not (type(replicas) is int and replicas > 1):
        return
    if not as_dict(as_dict(spec.get("affinity")).get("podAntiAffinity")) and not spec.get("topologySpreadConstraints"):
        yield pod_hit(obj, f"{name_of(obj)} has {replicas} replicas and no podAntiAffinity or "
                           "topologySpreadConstraints", "topologySpreadConstraints")


@check(id="REL-TOPOLOGY-SPREAD", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Invalid topology spread constraint",
       description="A topologySpreadConstraint needs maxSkew >= 1, a topologyKey and whenUnsatisfiable "
                   "DoNotSchedule or ScheduleAnyway; otherwise the API rejects the pod. (Missing constraints are "
                   "REL-ANTI-AFFINITY.)",
       remediation="Fix the constraint fields.",
       peers={"kube-score": "pod-topology-spread-constraints", "polaris": "topologySpreadConstraint"})
def topology_spread(obj: K8sObject) -> Iterator[Hit]:
    for i, constraint in enumerate(as_list(pod_spec(obj).get("topologySpreadConstraints"))):
        problem = spread_problem(as_dict(constraint))
        if problem:
            yield pod_hit(obj, f"topologySpreadConstraints[{i}]: {problem[1]}",
                          f"topologySpreadConstraints[{i}].{problem[0]}")


@check(id="REL-NODE-AFFINITY", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="No node affinity",
       description="Without node affinity the pods may run on any node pool.",
       remediation="Add spec.affinity.nodeAffinity if the workload belongs on specific nodes.",
       peers={"kube-linter": "no-node-affinity"})
def node_affinity(obj: K8sObject) -> Iterator[Hit]:
    if pod_template(obj) is not None and not as_dict(as_dict(pod_spec(obj).get("affinity")).get("nodeAffinity")):
        yield pod_hit(obj, f"{name_of(obj)} has no node affinity", "affinity.nodeAffinity")


@check(id="REL-PRIORITY-CLASS", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="No priority class",
       description="Without priorityClassName the pod has the default priority and may be preempted by, or fail "
                   "to preempt, less important pods.",
       remediation="Set spec.priorityClassName.",
       peers={"kube-linter": "priority-class-name", "polaris": "priorityClassNotSet"})
def priority_class(obj: K8sObject) -> Iterator[Hit]:
    if pod_template(obj) is not None and not pod_spec(obj).get("priorityClassName"):
        yield pod_hit(obj, f"{name_of(obj)} has no priorityClassName", "priorityClassName")


@check(id="REL-ROLLING-UPDATE", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds={"Deployment", "StatefulSet", "DaemonSet"},
       title="Rollout is not a rolling update",
       description="Recreate (Deployment) and OnDelete (StatefulSet, DaemonSet) strategies take every pod down "
                   "at once or never update them.",
       remediation="Use the RollingUpdate strategy unless the application cannot run two versions at once.",
       peers={"kube-linter": "no-rolling-update-strategy", "kube-score": "deployment-strategy"})
def rolling_update(obj: K8sObject) -> Iterator[Hit]:
    field = "strategy" if obj.kind == "Deployment" else "updateStrategy"
    kind = as_dict(spec_of(obj).get(field)).get("type")
    if obj.kind in ("Deployment", "StatefulSet", "DaemonSet") and kind not in (None, "RollingUpdate"):
        yield Hit(f"{name_of(obj)} uses the {kind} strategy", field=f"spec.{field}.type")


@check(id="REL-SELECTOR-MATCH", category=Category.scalability, severity=Severity.high,
       kinds=SELECTOR_KINDS,
       title="Controller selector does not match its pod template",
       description="A Deployment, StatefulSet, DaemonSet, ReplicaSet or Job whose selector does not match its "
                   "pod template labels is rejected by the API server.",
       remediation="Make spec.selector match spec.template.metadata.labels.",
       peers={"kube-linter": "mismatching-selector",
              "kube-score": "deployment-pod-selector-labels-match-template-metadata-labels,"
                            "statefulset-pod-selector-labels-match-template-metadata-labels"})
def selector_match(obj: K8sObject) -> Iterator[Hit]:
    selector = spec_of(obj).get("selector")
    if obj.kind in SELECTOR_KINDS and isinstance(selector, dict) and selector \
            and not selector_matches(selector, pod_labels(obj)):
        yield Hit(f"{name_of(obj)} selector does not match its pod template labels", field="spec.selector")


@check(id="REL-DUPLICATE-ENV", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Duplicate environment variable",
       description="When a container lists the same env name twice the last one silently wins.",
       remediation="Remove the duplicate env entry.",
       peers={"kube-linter": "duplicate-env-var", "kube-score": "environment-variable-key-duplication"})
def duplicate_env(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        seen: set[str] = set()
        for where, env in c.entries("env"):
            name = as_str(env.get("name"))
            if name and name in seen:
                yield c.hit(f"sets env {name} more than once", where)
            seen.add(name)


@check(id="REL-PORTS", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Invalid container port",
       description="Container port names must be unique IANA service names (<= 15 characters) and every port "
                   "needs a containerPort; otherwise the API rejects the pod or Services cannot resolve them.",
       remediation="Fix the port names and numbers.",
       peers={"kube-linter": "invalid-target-ports", "kube-score": "container-ports-check"})
def ports(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, ("containers", "initContainers")):
        for where, problem in port_problems(c.entries("ports")):
            yield c.hit(problem, where)


@check(id="REL-CRONJOB-DEADLINE", category=Category.scalability, severity=Severity.low,
       kinds={"CronJob"},
       title="CronJob without startingDeadlineSeconds",
       description="Without startingDeadlineSeconds a CronJob that missed more than 100 schedules (controller "
                   "down, suspended) stops scheduling for good.",
       remediation="Set spec.startingDeadlineSeconds (e.g. 300).",
       peers={"kube-score": "cronjob-has-deadline"})
def cronjob_deadline(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "CronJob" and spec_of(obj).get("startingDeadlineSeconds") is None:
        yield Hit(f"{name_of(obj)} has no startingDeadlineSeconds", field="spec.startingDeadlineSeconds")


@check(id="REL-RESTART-POLICY", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Invalid restart policy",
       description="Long-running controllers require restartPolicy Always; Jobs and CronJobs require OnFailure "
                   "or Never. Anything else is rejected by the API server.",
       remediation="Use Always for Deployments/StatefulSets/DaemonSets/ReplicaSets, OnFailure or Never for Jobs.",
       peers={"kube-linter": "restart-policy", "kube-score": "cronjob-restartpolicy"})
def restart_policy(obj: K8sObject) -> Iterator[Hit]:
    policy = pod_spec(obj).get("restartPolicy")
    if policy is None or obj.kind == "Pod":
        return
    allowed = ("OnFailure", "Never") if obj.kind in BATCH_KINDS else ("Always",)
    if policy not in allowed:
        yield pod_hit(obj, f"{name_of(obj)} has restartPolicy {policy} (allowed: {', '.join(allowed)})",
                      "restartPolicy")


@check(id="REL-JOB-TTL", category=Category.scalability, severity=Severity.low,
       kinds={"Job"},
       title="Job without ttlSecondsAfterFinished",
       description="Finished standalone Jobs and their pods stay in the cluster forever unless "
                   "ttlSecondsAfterFinished is set (CronJobs clean up through their history limits).",
       remediation="Set spec.ttlSecondsAfterFinished on standalone Jobs.",
       peers={"kube-linter": "job-ttl-seconds-after-finished"})
def job_ttl(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "Job" and spec_of(obj).get("ttlSecondsAfterFinished") is None:
        yield Hit(f"{name_of(obj)} has no ttlSecondsAfterFinished", field="spec.ttlSecondsAfterFinished")


@check(id="REL-DNS-NDOTS", category=Category.scalability, severity=Severity.low, default_enabled=False,
       kinds=WORKLOAD_KINDS,
       title="Default DNS ndots",
       description="With the default ndots: 5 every external lookup first tries each search domain: several "
                   "wasted DNS queries per request.",
       remediation="Set spec.dnsConfig.options: [{name: ndots, value: '2'}] for pods calling external hosts.",
       peers={"kube-linter": "dnsconfig-options"})
def dns_ndots(obj: K8sObject) -> Iterator[Hit]:
    options = as_list(as_dict(pod_spec(obj).get("dnsConfig")).get("options"))
    if is_long_running(obj) and not any(as_dict(o).get("name") == "ndots" for o in options):
        yield pod_hit(obj, f"{name_of(obj)} does not set dnsConfig ndots", "dnsConfig.options")


@check(id="REL-NAKED-POD", category=Category.scalability, severity=Severity.low,
       kinds={"Pod"},
       title="Bare Pod",
       description="A Pod without a controller is not rescheduled when its node fails or is drained.",
       remediation="Run it under a Deployment, StatefulSet, DaemonSet or Job.",
       peers={"polaris": "nakedPod"})
def naked_pod(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "Pod" and not as_list(as_dict(obj.body.get("metadata")).get("ownerReferences")):
        yield Hit(f"{name_of(obj)} is not managed by a controller", field="kind")


@check(id="REL-PROBE-DOCS-PATH", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="Probe points at a documentation page",
       description="A probe on /docs, /swagger, /redoc or /openapi.json only proves the web framework renders "
                   "documentation, not that the application can serve; such pages are also often disabled in "
                   "production, which makes the probe fail.",
       remediation="Probe a dedicated health endpoint (e.g. /healthz for liveness, /readyz for readiness).")
def probe_docs_path(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, ("containers", "initContainers")):
        for field, probe in c.probes().items():
            path = as_dict(probe.get("httpGet")).get("path")
            if is_doc_path(path):
                yield c.hit(f"{field} checks the documentation path '{path}'", f"{field}.httpGet.path")
