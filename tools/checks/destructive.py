"""Destructive and irreversible changes (``scope="diff"``): base objects compared with head objects.

Objects are matched by (API group, kind, namespace, name): the API version may change (``v1beta1`` → ``v1``)
without the object being replaced. These checks are what the agent definition means by "reversible, with a
rollback plan": a removed stateful object or a changed immutable field cannot be rolled back by re-applying
the previous manifest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.models import Category, K8sObject, Severity
from tools.checks.core import Hit, check

Key = tuple[str, str, str, str]

REMOVABLE_KINDS = frozenset({
    "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod", "Service",
    "PersistentVolumeClaim", "PersistentVolume", "Namespace", "CustomResourceDefinition",
})
_QUANTITY_SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


def identity(obj: K8sObject) -> Key:
    """(API group, kind, namespace, name): the identity an object keeps across API versions."""
    group = obj.api_version.rpartition("/")[0]
    return group, obj.kind, obj.namespace or "", obj.name


def _index(objects: list[K8sObject]) -> dict[Key, K8sObject]:
    return {identity(o): o for o in objects if o.name}


def pairs(base: list[K8sObject], head: list[K8sObject]) -> Iterator[tuple[K8sObject, K8sObject]]:
    """``(base object, head object)`` for every object present on both sides."""
    before = _index(base)
    for key, obj in _index(head).items():
        if key in before:
            yield before[key], obj


def _get(body: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity (``10Gi``, ``500M``, ``1e3``) in base units; None when it does not parse."""
    text = str(value).strip() if value is not None else ""
    for suffix in sorted(_QUANTITY_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            number, factor = text[: -len(suffix)], _QUANTITY_SUFFIXES[suffix]
            break
    else:
        number, factor = text, 1
    try:
        return float(number) * factor
    except ValueError:
        return None


@check(id="DESTRUCT-REMOVED", category=Category.scalability, severity=Severity.high, scope="diff",
       title="Workload, Service, volume claim, namespace or CRD removed",
       description="The change deletes an object that holds running workloads, traffic or data. Deleting a "
                   "Namespace deletes everything in it; deleting a PVC or CRD deletes the data or every custom "
                   "resource of that type. Re-applying the old manifest does not bring the data back.",
       remediation="Keep the object, or state the removal in the spec with a migration and rollback plan (and a "
                   "backup of PVC/CRD data) and get it approved.")
def removed(base: list[K8sObject], head: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    after = _index(head)
    for key, obj in _index(base).items():
        if obj.kind in REMOVABLE_KINDS and key not in after:
            yield obj, Hit(f"{obj.ref().label()} is removed by this change", field="kind")


def _immutable_changes(before: K8sObject, after: K8sObject) -> Iterator[tuple[str, str]]:
    """``(field path, description)`` of each immutable field the change alters."""
    b, a = before.body, after.body
    if after.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet") and \
            _get(b, "spec", "selector") != _get(a, "spec", "selector"):
        yield "spec.selector", "spec.selector"
    if after.kind == "StatefulSet":
        for field in ("volumeClaimTemplates", "serviceName", "podManagementPolicy"):
            if _get(b, "spec", field) != _get(a, "spec", field):
                yield f"spec.{field}", f"spec.{field}"
    if after.kind == "Service":
        old, new = _get(b, "spec", "clusterIP"), _get(a, "spec", "clusterIP")
        if old != new and (old or new):
            yield "spec.clusterIP", "spec.clusterIP"
    if after.kind == "Job" and _get(b, "spec", "template") != _get(a, "spec", "template"):
        yield "spec.template", "spec.template"
    if after.kind == "PersistentVolumeClaim":
        if _get(b, "spec", "storageClassName") != _get(a, "spec", "storageClassName"):
            yield "spec.storageClassName", "spec.storageClassName"
        old = quantity(_get(b, "spec", "resources", "requests", "storage"))
        new = quantity(_get(a, "spec", "resources", "requests", "storage"))
        if old is not None and new is not None and new < old:
            yield ("spec.resources.requests.storage",
                   "spec.resources.requests.storage (shrunk: volumes cannot be made smaller)")


@check(id="DESTRUCT-IMMUTABLE", category=Category.scalability, severity=Severity.high, scope="diff",
       title="Immutable field changed",
       description="The API server rejects changes to immutable fields (workload selectors, StatefulSet "
                   "volumeClaimTemplates/serviceName, Service clusterIP, Job template, PVC storage class, a "
                   "smaller PVC): applying the change fails, or needs delete-and-recreate, which is downtime and "
                   "for volumes data loss.",
       remediation="Create a new object under a new name and migrate to it (blue/green), or plan the "
                   "delete/recreate explicitly with a rollback plan.")
def immutable(base: list[K8sObject], head: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    for before, after in pairs(base, head):
        for field, described in _immutable_changes(before, after):
            yield after, Hit(f"{after.ref().label()}: immutable field {described} changed", field=field)


@check(id="DESTRUCT-NO-ROLLBACK", category=Category.scalability, severity=Severity.medium, scope="diff",
       title="revisionHistoryLimit: 0 removes rollback",
       description="With `revisionHistoryLimit: 0` no old ReplicaSet (or revision) is kept, so "
                   "`kubectl rollout undo` has nothing to roll back to.",
       remediation="Keep a few revisions (the default is 10), e.g. `revisionHistoryLimit: 3`.")
def no_rollback(base: list[K8sObject], head: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    for obj in head:
        if obj.kind in ("Deployment", "StatefulSet", "DaemonSet") and _get(obj.body, "spec",
                                                                          "revisionHistoryLimit") == 0:
            yield obj, Hit(f"{obj.ref().label()} sets revisionHistoryLimit: 0 (no rollback possible)",
                           field="spec.revisionHistoryLimit")
