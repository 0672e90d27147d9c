"""Cross-object checks of HorizontalPodAutoscalers and PodDisruptionBudgets against the workloads they act on.

A missing HPA target is reported only when the set contains objects of the target's kind in the namespace
(partial reviews); the other checks need the target and say nothing when it is not in the set.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    PodIndex,
    as_dict,
    as_list,
    containers,
    name_of,
    pod_index,
    pod_template_path,
    spec_of,
)

REPLICATED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "DeploymentConfig"})


def _hpas(objects: list[K8sObject]) -> list[K8sObject]:
    return [o for o in objects if o.kind == "HorizontalPodAutoscaler"]


def _target_ref(hpa: K8sObject) -> tuple[str, str]:
    ref = as_dict(spec_of(hpa).get("scaleTargetRef"))
    return str(ref.get("kind") or ""), str(ref.get("name") or "")


def _index(objects: list[K8sObject]) -> dict[tuple[str, str | None, str], K8sObject]:
    return {(o.kind, o.namespace, o.name): o for o in objects}


def _targets(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, K8sObject]]:
    """(HPA, workload) pairs whose target is in the set."""
    index = _index(objects)
    for hpa in _hpas(objects):
        kind, name = _target_ref(hpa)
        target = index.get((kind, hpa.namespace, name))
        if target is not None:
            yield hpa, target


def _metric_field(hpa: K8sObject, resource: str) -> str:
    """The path of the HPA setting that scales on ``resource``: its metric, the v1 target percentage, or
    ``spec`` (an HPA without metrics scales on CPU)."""
    spec = spec_of(hpa)
    if "targetCPUUtilizationPercentage" in spec:
        return "spec.targetCPUUtilizationPercentage"
    for i, metric in enumerate(as_list(spec.get("metrics"))):
        source = as_dict(as_dict(metric).get("resource") or as_dict(metric).get("containerResource"))
        if source.get("name") == resource:
            return f"spec.metrics[{i}]"
    return "spec.metrics"


def scaled_resources(hpa: K8sObject) -> set[str]:
    """cpu/memory the HPA scales on by utilisation (an HPA without metrics defaults to CPU)."""
    spec = spec_of(hpa)
    if "targetCPUUtilizationPercentage" in spec:
        return {"cpu"}
    metrics = as_list(spec.get("metrics"))
    if not metrics:
        return {"cpu"}
    found = set()
    for metric in metrics:
        resource = as_dict(as_dict(metric).get("resource") or as_dict(metric).get("containerResource"))
        if as_dict(resource.get("target")).get("type") == "Utilization" and resource.get("name") in ("cpu", "memory"):
            found.add(str(resource["name"]))
    return found


@check(id="REL-HPA-TARGET", category=Category.scalability, severity=Severity.medium, scope="set",
       title="HPA targets a missing workload",
       description="An HPA whose scaleTargetRef names no workload scales nothing. Reported only when the set "
                   "contains objects of the target's kind in the namespace.",
       remediation="Fix scaleTargetRef (kind and name) or add the workload.",
       peers={"kube-linter": "dangling-horizontalpodautoscaler", "kube-score": "horizontalpodautoscaler-has-target"})
def hpa_target(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index = _index(objects)
    kinds = {(kind, namespace) for kind, namespace, _ in index}
    for hpa in _hpas(objects):
        kind, name = _target_ref(hpa)
        if (kind, hpa.namespace) in kinds and (kind, hpa.namespace, name) not in index:
            yield hpa, Hit(f"{name_of(hpa)} targets {kind} '{name}', which is not in the reviewed set",
                           field="spec.scaleTargetRef.name")


@check(id="REL-HPA-REQUESTS", category=Category.scalability, severity=Severity.high, scope="set",
       title="HPA scales on a resource the pods do not request",
       description="Utilisation is a percentage of the request: an HPA scaling on CPU or memory utilisation of "
                   "containers without that request cannot compute it and never scales.",
       remediation="Set the requests the HPA's metrics use on every container of the target.")
def hpa_requests(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    for hpa, target in _targets(objects):
        for resource in sorted(scaled_resources(hpa)):
            for c in containers(target, ("containers",)):
                if as_dict(as_dict(c.spec.get("resources")).get("requests")).get(resource) in (None, ""):
                    yield hpa, Hit(f"{name_of(hpa)} scales on {resource} utilisation but {c.label} of "
                                   f"{name_of(target)} has no {resource} request", field=_metric_field(hpa, resource))


@check(id="REL-HPA-STATIC-REPLICAS", category=Category.scalability, severity=Severity.medium, scope="set",
       title="HPA target also fixes replicas",
       description="A workload that both sets spec.replicas and is scaled by an HPA is reset to the fixed count "
                   "on every apply or GitOps sync, fighting the autoscaler.",
       remediation="Remove spec.replicas from the workload the HPA manages.",
       peers={"kube-score": "deployment-targeted-by-hpa-does-not-have-replicas-configured"})
def hpa_static_replicas(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    for hpa, target in _targets(objects):
        if spec_of(target).get("replicas") is not None:
            yield target, Hit(f"{name_of(target)} sets replicas: {spec_of(target).get('replicas')} although "
                              f"{name_of(hpa)} scales it", field="spec.replicas")


def _pdbs(objects: list[K8sObject]) -> list[K8sObject]:
    return [o for o in objects if o.kind == "PodDisruptionBudget"]


def _selected(pdb: K8sObject, index: PodIndex) -> list[K8sObject]:
    """Workloads in the PDB's namespace whose pods its (non-empty) selector matches."""
    selector = as_dict(spec_of(pdb).get("selector"))
    return index.select(pdb.namespace, selector) if selector else []


def _blocks(pdb: K8sObject, index: PodIndex) -> tuple[str, str] | None:
    """``(field, why)`` when the PDB allows no eviction."""
    spec = spec_of(pdb)
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable in (0, "0%", "0"):
        return "spec.maxUnavailable", "maxUnavailable is 0"
    if min_available == "100%":
        return "spec.minAvailable", "minAvailable is 100%"
    percent = _percent(min_available)
    if type(min_available) is not int and percent is None:
        return None
    for workload in _selected(pdb, index):
        replicas = spec_of(workload).get("replicas", 1)
        if workload.kind not in REPLICATED_KINDS or type(replicas) is not int or replicas < 1:
            continue
        needed = min_available if percent is None else math.ceil(replicas * percent / 100)
        if needed >= replicas:
            shown = str(min_available) if percent is None else f"{min_available} (= {needed} pods, rounded up)"
            return "spec.minAvailable", f"minAvailable {shown} >= the {replicas} replica(s) of {name_of(workload)}"
    return None


def _percent(value: object) -> int | None:
    """``50`` for ``"50%"``; None for anything else."""
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return None


@check(id="REL-PDB-BLOCKS-EVICTION", category=Category.scalability, severity=Severity.high, scope="set",
       title="PodDisruptionBudget blocks every eviction",
       description="maxUnavailable: 0, minAvailable: 100%, or a minAvailable (a number, or a percentage rounded "
                   "up as the disruption controller does) not below the replica count of the workload it selects "
                   "allows no voluntary disruption: node drains and cluster upgrades hang.",
       remediation="Allow at least one disruption: maxUnavailable: 1, or minAvailable below the replica count.",
       peers={"kube-linter": "pdb-max-unavailable,pdb-min-available", "polaris": "pdbDisruptionsIsZero"})
def pdb_blocks_eviction(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index = pod_index(objects)
    for pdb in _pdbs(objects):
        blocked = _blocks(pdb, index)
        if blocked:
            yield pdb, Hit(f"{name_of(pdb)} allows no eviction: {blocked[1]}", field=blocked[0])


@check(id="REL-PDB-VS-HPA", category=Category.scalability, severity=Severity.medium, scope="set",
       title="PDB minAvailable not below the HPA's minReplicas",
       description="When the HPA scales the workload down to minReplicas, a PDB minAvailable at or above it "
                   "blocks every eviction.",
       remediation="Keep minAvailable below the HPA's minReplicas (or use maxUnavailable).",
       peers={"polaris": "pdbMinAvailableGreaterThanHPAMinReplicas"})
def pdb_vs_hpa(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index, targets = pod_index(objects), list(_targets(objects))
    for pdb in _pdbs(objects):
        min_available = spec_of(pdb).get("minAvailable")
        if type(min_available) is not int:
            continue
        selected = {id(w) for w in _selected(pdb, index)}
        for hpa, target in targets:
            low = spec_of(hpa).get("minReplicas", 1)
            if id(target) in selected and type(low) is int and min_available >= low:
                yield pdb, Hit(f"{name_of(pdb)} minAvailable {min_available} >= {name_of(hpa)} minReplicas {low}",
                               field="spec.minAvailable")


@check(id="REL-PDB-PRESENT", category=Category.scalability, severity=Severity.low, scope="set",
       default_enabled=False,
       title="No PodDisruptionBudget",
       description="A multi-replica Deployment or StatefulSet that no PDB selects can lose all its pods at once "
                   "during a node drain (off by default: PDBs are often managed elsewhere).",
       remediation="Add a PodDisruptionBudget with maxUnavailable: 1 selecting the pods.",
       peers={"kube-score": "deployment-has-poddisruptionbudget,statefulset-has-poddisruptionbudget",
              "polaris": "missingPodDisruptionBudget"})
def pdb_present(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    return _without_pdb(objects, multi_replica=True)


_PDB_KINDS = ("Deployment", "StatefulSet", "DeploymentConfig")


def _without_pdb(objects: list[K8sObject], multi_replica: bool) -> Iterator[tuple[K8sObject, Hit]]:
    """Workloads no PDB selects: the multi-replica ones (``multi_replica``), or the single-replica ones; the
    replica count of a workload an HPA scales is the HPA's minReplicas."""
    index = pod_index(objects)
    covered = {id(w) for pdb in _pdbs(objects) for w in _selected(pdb, index)}
    scaled = {id(target): spec_of(hpa).get("minReplicas", 1) for hpa, target in _targets(objects)}
    for workload in objects:
        replicas = scaled.get(id(workload), spec_of(workload).get("replicas", 1))  # an HPA's minReplicas wins
        single = type(replicas) is int and replicas < 2
        if workload.kind in _PDB_KINDS and id(workload) not in covered and single is not multi_replica:
            yield workload, Hit(f"{name_of(workload)}: no PodDisruptionBudget selects its pods",
                                field=fieldpath.join(pod_template_path(workload), "metadata.labels"))


@check(id="REL-PDB-EVERY-WORKLOAD", category=Category.scalability, severity=Severity.low, scope="set",
       default_enabled=False,
       title="No PodDisruptionBudget on a single-replica workload",
       description="The strict profile requires a PDB for every Deployment, StatefulSet and DeploymentConfig, "
                   "as the peers' profiles do (REL-PDB-PRESENT covers the multi-replica ones): even one pod "
                   "should say whether a node drain may evict it.",
       remediation="Add a PodDisruptionBudget selecting the pods (maxUnavailable: 1, or minAvailable: 0 to state "
                   "that eviction is fine).")
def pdb_every_workload(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    return _without_pdb(objects, multi_replica=False)
