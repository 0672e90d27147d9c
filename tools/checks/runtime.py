"""Checks from defects seen in real Phase IV repositories that the peer tools do not catch: workloads that deploy
but do not run as intended (a ReadWriteOnce volume shared by replicas, an image never pulled, a slow start killed
by its liveness probe, a rollout that takes down half the replicas, an Ingress for ``localhost``).

Each is conservative: it fires only on what the manifests state (a PVC in the set, an explicit rollout setting, a
liveness delay or an image family known to start slowly), never on defaults it would have to guess at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    containers,
    name_of,
    pod_spec,
    pod_spec_path,
    spec_of,
)

_SINGLE_NODE_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})
_REPLICATED = ("Deployment", "ReplicaSet", "DeploymentConfig")
_SLOW_IMAGE = re.compile(
    r"(^|[/_-])(openjdk|eclipse-temurin|amazoncorretto|ibmjava|ibm-semeru-runtimes|sapmachine|tomcat|jetty|wildfly|"
    r"jboss|keycloak|elasticsearch|opensearch|logstash|sonarqube|jenkins|nexus3|spring[a-z-]*|nextjs|next-app)"
    r"([:@/_-]|$)")
"""Image families that start in tens of seconds (JVM servers, Next.js builds): matched on a name component."""
SLOW_LIVENESS_DELAY = 30
"""A liveness ``initialDelaySeconds`` at or above this says the app starts slowly."""


def _replicas(obj: K8sObject) -> int:
    replicas = spec_of(obj).get("replicas", 1)
    return replicas if type(replicas) is int else 1


@check(id="REL-RWO-PVC-SHARED", category=Category.scalability, severity=Severity.high, scope="set",
       title="ReadWriteOnce volume mounted by several replicas",
       description="A PersistentVolumeClaim with only ReadWriteOnce (or ReadWriteOncePod) access attaches to "
                   "one node (one pod): with replicas > 1 the pods scheduled elsewhere stay in ContainerCreating "
                   "(Multi-Attach error), and a rolling update deadlocks. Checked when the PVC is in the set.",
       remediation="Run one replica (with strategy Recreate), use a StatefulSet with volumeClaimTemplates (one "
                   "volume per pod), or a ReadWriteMany storage class.")
def rwo_pvc_shared(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    claims = {(o.namespace, o.name): o for o in objects if o.kind == "PersistentVolumeClaim"}
    for obj in objects:
        if obj.kind not in _REPLICATED or _replicas(obj) < 2:
            continue
        for i, volume in enumerate(as_list(pod_spec(obj).get("volumes"))):
            name = as_dict(as_dict(volume).get("persistentVolumeClaim")).get("claimName")
            claim = claims.get((obj.namespace, name)) if isinstance(name, str) else None
            modes = {m for m in as_list(spec_of(claim).get("accessModes")) if isinstance(m, str)} if claim else set()
            if modes and modes <= _SINGLE_NODE_MODES:
                yield obj, Hit(f"{name_of(obj)} runs {_replicas(obj)} replicas on PersistentVolumeClaim '{name}', "
                               f"which is {', '.join(sorted(modes))}", field=f"{pod_spec_path(obj)}.volumes[{i}]"
                               ".persistentVolumeClaim.claimName")


@check(id="REL-IMAGE-PULL-NEVER", category=Category.scalability, severity=Severity.medium,
       kinds=WORKLOAD_KINDS,
       title="imagePullPolicy: Never",
       description="Never pulls: the image must already be on the node, as it is after `minikube image load` or "
                   "`kind load`. On any other cluster the pod stays in ErrImageNeverPull. The `local` profile "
                   "leaves this check out.",
       remediation="Use imagePullPolicy: IfNotPresent with a pushed, versioned image (or run `check --profile "
                   "local` for a local cluster).")
def image_pull_never(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj):
        if c.spec.get("imagePullPolicy") == "Never":
            yield c.hit("has imagePullPolicy: Never (the image is never pulled)", "imagePullPolicy")


def _slow_start(c) -> tuple[str, str] | None:
    """``(field relative to the container, why)`` when the container is known to start slowly."""
    delay = as_dict(c.spec.get("livenessProbe")).get("initialDelaySeconds")
    if type(delay) is int and delay >= SLOW_LIVENESS_DELAY:
        return "livenessProbe.initialDelaySeconds", f"its liveness probe waits {delay}s"
    image = c.spec.get("image")
    if isinstance(image, str) and _SLOW_IMAGE.search(image.lower()):
        return "image", f"its image ({image.split('@')[0][:80]}) is of a slow-starting family"
    return None


@check(id="REL-STARTUP-PROBE", category=Category.scalability, severity=Severity.low,
       kinds=frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
                        "DeploymentConfig"}),
       title="Slow-starting container without a startupProbe",
       description="A container that starts slowly (a liveness initialDelaySeconds of 30 or more, or a JVM or "
                   "Next.js image) and has a livenessProbe but no startupProbe is killed in a restart loop "
                   "whenever a start takes longer than the delay (a cold node, a slow database).",
       remediation="Add a startupProbe (same handler, failureThreshold x periodSeconds covering the slowest "
                   "start) and drop the liveness initialDelaySeconds.",
       peers={"kube-linter": "no-startup-probe"})
def startup_probe(obj: K8sObject) -> Iterator[Hit]:
    for c in containers(obj, ("containers",)):
        if "livenessProbe" not in c.spec or "startupProbe" in c.spec:
            continue
        slow = _slow_start(c)
        if slow:
            yield c.hit(f"has no startupProbe although it starts slowly: {slow[1]}", slow[0])


def _scaled(value: object, replicas: int) -> int | None:
    """A rollout ``maxUnavailable`` as pods (a percentage rounds down, as the Deployment controller does)."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return math.floor(replicas * int(value[:-1]) / 100)
    return None


@check(id="REL-ROLLOUT-HALF-DOWN", category=Category.scalability, severity=Severity.low,
       kinds=frozenset({"Deployment", "DeploymentConfig"}),
       title="Rolling update takes down half the replicas",
       description="An explicit maxUnavailable of at least half the replicas removes that share of capacity at "
                   "once on every rollout: the remaining pods take double load, or the Service is left with none.",
       remediation="Lower maxUnavailable (e.g. 0 with maxSurge: 1, or 25%) so a rollout keeps most replicas "
                   "serving.")
def rollout_half_down(obj: K8sObject) -> Iterator[Hit]:
    replicas = _replicas(obj)
    strategy = as_dict(spec_of(obj).get("strategy"))
    params = "rollingParams" if obj.kind == "DeploymentConfig" else "rollingUpdate"
    value = as_dict(strategy.get(params)).get("maxUnavailable")
    down = _scaled(value, replicas)
    if replicas >= 2 and down is not None and 2 * down >= replicas:
        shown = str(value) if type(value) is int else f"{value} (= {down} pods)"
        yield Hit(f"{name_of(obj)} allows maxUnavailable {shown} of {replicas} replicas during a rollout",
                  field=f"spec.strategy.{params}.maxUnavailable")


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


@check(id="REL-INGRESS-LOCALHOST", category=Category.scalability, severity=Severity.medium,
       kinds=frozenset({"Ingress"}),
       title="Ingress host is localhost",
       description="A rule for host localhost (or a loopback address) matches only requests whose Host header "
                   "says localhost: from outside the cluster nothing reaches it, and on a shared controller it "
                   "captures everyone's local traffic. The `local` profile leaves this check out.",
       remediation="Use the real DNS name of the application (or run `check --profile local` for a local "
                   "cluster).")
def ingress_localhost(obj: K8sObject) -> Iterator[Hit]:
    for i, rule in enumerate(as_list(spec_of(obj).get("rules"))):
        host = as_dict(rule).get("host")
        if isinstance(host, str) and (host.lower() in _LOCAL_HOSTS or host.lower().endswith(".localhost")):
            yield Hit(f"{name_of(obj)} routes host '{host}'", field=f"spec.rules[{i}].host")
