"""Cross-object reference checks: ConfigMaps, Secrets, PersistentVolumeClaims and ServiceAccounts that pods
reference but the reviewed set does not contain, and service-account token automounting.

A review often covers only part of an application, so a reference is reported missing only when the set
contains at least one object of the referenced kind in the same namespace (then the author manages that kind
here and a missing one is most likely a typo). Secrets produced by ExternalSecret and SealedSecret objects
count as present. ``optional: true`` references are never reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from core.models import Category, K8sObject, Severity
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    as_dict,
    as_list,
    containers,
    name_of,
    pod_hit,
    pod_spec,
    pod_spec_path,
    pod_template,
    spec_of,
)


class Ref(NamedTuple):
    """A reference from a pod to a named object; ``container`` is None for pod-level references; ``field`` is
    the path of the referencing name in the object."""

    kind: str
    name: str
    where: str
    container: str | None = None
    field: str | None = None


class Inventory:
    """The (kind, namespace, name) triples of a set of objects, with Secret generators resolved."""

    def __init__(self, objects: list[K8sObject]):
        self.names = {(o.kind, o.namespace, o.name) for o in objects}
        self.names |= {("Secret", o.namespace, _generated_secret(o)) for o in objects if _generated_secret(o)}
        self.kinds = {(kind, namespace) for kind, namespace, _ in self.names}

    def missing(self, kind: str, namespace: str | None, name: str) -> bool:
        """True when ``name`` is absent although the set manages objects of ``kind`` in ``namespace``."""
        return (kind, namespace) in self.kinds and (kind, namespace, name) not in self.names


def _generated_secret(obj: K8sObject) -> str | None:
    """The name of the Secret an ExternalSecret or SealedSecret produces."""
    if obj.kind == "ExternalSecret":
        return str(as_dict(spec_of(obj).get("target")).get("name") or obj.name)
    if obj.kind == "SealedSecret":
        return obj.name
    return None


def _named(ref: dict, field: str = "name") -> str | None:
    """The referenced name unless the reference is optional or malformed."""
    name = ref.get(field)
    return str(name) if name and ref.get("optional") is not True else None


def env_refs(obj: K8sObject) -> Iterator[Ref]:
    """ConfigMap and Secret references of every container's env and envFrom."""
    for c in containers(obj):
        for at, env in c.entries("env"):
            source = as_dict(env.get("valueFrom"))
            for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                name = _named(as_dict(source.get(field)))
                if name:
                    yield Ref(kind, name, f"env {env.get('name')}", c.name, c.at(f"{at}.valueFrom.{field}.name"))
        for at, source in c.entries("envFrom"):
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                name = _named(as_dict(source.get(field)))
                if name:
                    yield Ref(kind, name, "envFrom", c.name, c.at(f"{at}.{field}.name"))


def volume_refs(obj: K8sObject) -> Iterator[Ref]:
    """ConfigMap, Secret and PersistentVolumeClaim references of the pod's volumes (projected ones included)."""
    base = pod_spec_path(obj)
    for i, volume in enumerate(as_list(pod_spec(obj).get("volumes"))):
        volume, at = as_dict(volume), f"{base}.volumes[{i}]"
        where = f"volume '{volume.get('name', '<unnamed>')}'"
        sources = [("ConfigMap", as_dict(volume.get("configMap")), f"{at}.configMap", "name"),
                   ("Secret", as_dict(volume.get("secret")), f"{at}.secret", "secretName"),
                   ("PersistentVolumeClaim", as_dict(volume.get("persistentVolumeClaim")),
                    f"{at}.persistentVolumeClaim", "claimName")]
        for j, projected in enumerate(as_list(as_dict(volume.get("projected")).get("sources"))):
            sources += [("ConfigMap", as_dict(as_dict(projected).get("configMap")),
                         f"{at}.projected.sources[{j}].configMap", "name"),
                        ("Secret", as_dict(as_dict(projected).get("secret")), f"{at}.projected.sources[{j}].secret",
                         "name")]
        for kind, ref, path, field in sources:
            name = _named(ref, field)
            if name:
                yield Ref(kind, name, where, None, f"{path}.{field}")


def _missing(objects: list[K8sObject], refs) -> Iterator[tuple[K8sObject, Hit]]:
    inventory = Inventory(objects)
    for obj in (o for o in objects if pod_template(o) is not None):
        for ref in refs(obj):
            if inventory.missing(ref.kind, obj.namespace, ref.name):
                message = f"{ref.where} references {ref.kind} '{ref.name}', which is not in the reviewed set"
                yield obj, Hit(f"container '{ref.container}' {message}" if ref.container else message,
                               ref.container, ref.field)


_KEY_FIELDS = {"ConfigMap": ("data", "binaryData"), "Secret": ("data", "stringData")}


def _missing_keys(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    """``configMapKeyRef``/``secretKeyRef`` naming a key the referenced ConfigMap or Secret lacks, when that
    object is in the set (a Secret an ExternalSecret or SealedSecret produces has keys nobody can see here) and
    the reference is not optional."""
    held = {(o.kind, o.namespace, o.name): o for o in objects if o.kind in _KEY_FIELDS}
    for obj in (o for o in objects if pod_template(o) is not None):
        for c in containers(obj):
            for at, env in c.entries("env"):
                source = as_dict(env.get("valueFrom"))
                for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    ref = as_dict(source.get(field))
                    name, key = _named(ref), ref.get("key")
                    target = held.get((kind, obj.namespace, name)) if name else None
                    if target is None or not isinstance(key, str) or not key:
                        continue
                    keys = {str(k) for f in _KEY_FIELDS[kind] for k in as_dict(target.body.get(f))}
                    if key not in keys:
                        yield obj, Hit(f"container '{c.name}' env {env.get('name')} references key '{key}' of "
                                       f"{kind} '{name}', which has no such key", c.name,
                                       c.at(f"{at}.valueFrom.{field}.key"))


@check(id="REL-ENV-REF-EXISTS", category=Category.scalability, severity=Severity.low, scope="set",
       title="env references a missing ConfigMap or Secret (or a missing key of one)",
       description="A container whose env/envFrom names a ConfigMap or Secret that does not exist, or whose "
                   "configMapKeyRef/secretKeyRef names a key that object lacks, fails with "
                   "CreateContainerConfigError. Reported only when the set manages that kind in the namespace "
                   "(for a key: when the object itself is in the set), never for optional: true.",
       remediation="Fix the name, add the object, or mark the reference optional: true.",
       peers={"kube-linter": "env-value-from"})
def env_ref_exists(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    yield from _missing(objects, env_refs)
    yield from _missing_keys(objects)


@check(id="REL-VOLUME-REF-EXISTS", category=Category.scalability, severity=Severity.low, scope="set",
       title="Volume references a missing ConfigMap, Secret or PVC",
       description="A pod whose volume names a ConfigMap, Secret or PersistentVolumeClaim that does not exist "
                   "stays in ContainerCreating/Pending. Reported only when the set manages that kind in the "
                   "namespace.",
       remediation="Fix the name, add the object, or mark ConfigMap/Secret volumes optional: true.")
def volume_ref_exists(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    return _missing(objects, volume_refs)


def _service_account(obj: K8sObject) -> str:
    return str(pod_spec(obj).get("serviceAccountName") or pod_spec(obj).get("serviceAccount") or "default")


def _service_account_field(obj: K8sObject) -> str:
    """``serviceAccountName``, or the deprecated ``serviceAccount`` when only that one names the account."""
    spec = pod_spec(obj)
    return "serviceAccount" if spec.get("serviceAccount") and not spec.get("serviceAccountName") \
        else "serviceAccountName"


@check(id="REL-SA-EXISTS", category=Category.scalability, severity=Severity.medium, scope="set",
       title="ServiceAccount does not exist",
       description="Pods naming a ServiceAccount that does not exist are never created (the controller reports "
                   "an error event). Reported only when the set contains ServiceAccounts of the namespace.",
       remediation="Add the ServiceAccount or fix serviceAccountName.",
       peers={"kube-linter": "non-existent-service-account"})
def sa_exists(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    inventory = Inventory(objects)
    for obj in (o for o in objects if pod_template(o) is not None):
        name = _service_account(obj)
        if name != "default" and inventory.missing("ServiceAccount", obj.namespace, name):
            yield obj, pod_hit(obj, f"{name_of(obj)} uses ServiceAccount '{name}', which is not in the reviewed set",
                               _service_account_field(obj))


@check(id="SEC-SA-TOKEN-AUTOMOUNT", category=Category.security, severity=Severity.low, scope="set",
       title="Service-account token mounted",
       description="Unless automountServiceAccountToken is false on the pod or on its ServiceAccount (when that "
                   "is in the set), every container gets an API token: a foothold for an attacker in the pod.",
       remediation="Set automountServiceAccountToken: false on the pod or ServiceAccount unless the workload "
                   "calls the Kubernetes API.",
       peers={"polaris": "automountServiceAccountToken", "checkov": "CKV_K8S_38"})
def sa_token_automount(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    opted_out = {(o.namespace, o.name) for o in objects
                 if o.kind == "ServiceAccount" and o.body.get("automountServiceAccountToken") is False}
    for obj in (o for o in objects if pod_template(o) is not None):
        explicit = pod_spec(obj).get("automountServiceAccountToken")
        if explicit is False or (explicit is None and (obj.namespace, _service_account(obj)) in opted_out):
            continue
        yield obj, pod_hit(obj, f"{name_of(obj)} mounts the token of ServiceAccount '{_service_account(obj)}'",
                           "automountServiceAccountToken")
