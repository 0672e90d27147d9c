"""Checks that relate objects to each other: Services to the pods they target, Ingresses to Services,
NetworkPolicies and ServiceMonitors to what they select, StatefulSets to their governing Service.

Namespaces are compared as written (an unset namespace only equals another unset namespace). A reference to
an object that is not in the set is reported only when the set contains objects of that kind in the namespace:
a review often covers part of an application.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import (
    as_dict,
    as_list,
    as_str,
    containers,
    metadata,
    name_of,
    pod_index,
    pod_template,
    pod_template_path,
    selector_matches,
    spec_of,
)


def _workloads(objects: list[K8sObject]) -> list[K8sObject]:
    return [o for o in objects if pod_template(o) is not None]


def _namespace_label(obj: K8sObject) -> str:
    return f"namespace '{obj.namespace}'" if obj.namespace else "the unset namespace"


@check(id="REL-SERVICE-TARGET", category=Category.scalability, severity=Severity.high, scope="set",
       title="Service selects no pods",
       description="A Service whose selector matches no pod template of a workload in its namespace has no "
                   "endpoints: every request to it fails.",
       remediation="Make spec.selector match the pod template labels of the intended workload (same namespace).",
       peers={"kube-linter": "dangling-service", "kube-score": "service-targets-pod"})
def service_target(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index = pod_index(objects)
    for svc in (o for o in objects if o.kind == "Service"):
        spec = as_dict(svc.body.get("spec"))
        selector = as_dict(spec.get("selector"))
        if not selector or spec.get("type") == "ExternalName":
            continue
        if not index.any_match(svc.namespace, {"matchLabels": selector}):
            shown = ", ".join(f"{k}={v}" for k, v in selector.items())
            yield svc, Hit(f"Service '{svc.name or '<unnamed>'}' selector {{{shown}}} matches no pod template in "
                           f"{_namespace_label(svc)}", field="spec.selector")


def policy_types(policy: K8sObject) -> set[str]:
    """The directions a NetworkPolicy isolates: its ``policyTypes``, or when absent (the API server's default)
    Ingress, plus Egress when it has egress rules."""
    spec = spec_of(policy)
    listed = spec.get("policyTypes")
    if isinstance(listed, list):
        return {t for t in listed if t in ("Ingress", "Egress")}
    return {"Ingress"} | ({"Egress"} if "egress" in spec else set())


@check(id="SEC-NETPOL-COVERAGE", category=Category.security, severity=Severity.low, scope="set",
       title="Workload not covered by a NetworkPolicy",
       description="Pods selected by no NetworkPolicy accept traffic from anywhere in the cluster and may "
                   "reach anything; pods whose policies isolate only Ingress (or only Egress) stay open the other "
                   "way. Low, because policies are often managed outside the reviewed set.",
       remediation="Add a NetworkPolicy for the namespace (a default-deny with podSelector: {} and policyTypes "
                   "[Ingress, Egress], plus explicit allows) that selects these pods.",
       peers={"kube-linter": "non-isolated-pod", "kube-score": "pod-networkpolicy", "polaris": "missingNetworkPolicy",
              "checkov": "CKV2_K8S_6"})
def netpol_coverage(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index = pod_index(objects)
    directions: dict[int, set[str]] = {}
    for policy in (p for p in objects if p.kind == "NetworkPolicy"):
        types = policy_types(policy)
        for w in index.select(policy.namespace, as_dict(spec_of(policy).get("podSelector"))):
            directions.setdefault(id(w), set()).update(types)
    for workload in _workloads(objects):
        covered = directions.get(id(workload))
        label = f"{workload.kind} '{workload.name or '<unnamed>'}'"
        field = fieldpath.join(pod_template_path(workload), "metadata.labels")
        if covered is None:
            yield workload, Hit(f"{label}: no NetworkPolicy in {_namespace_label(workload)} selects its pods",
                                field=field)
        elif missing := sorted({"Ingress", "Egress"} - covered):
            yield workload, Hit(f"{label}: the NetworkPolicies selecting its pods leave {' and '.join(missing)} "
                                "open (no policyTypes entry for it)", field=field)


def _services(objects: list[K8sObject]) -> list[K8sObject]:
    return [o for o in objects if o.kind == "Service"]


def _backend(at: str, backend: dict) -> tuple[str, str, object, dict]:
    """``(name field, port field, service name, port)`` of one Ingress backend: ``service.name``/``service.port``
    (networking.k8s.io/v1) or ``serviceName``/``servicePort`` (extensions/v1beta1, networking.k8s.io/v1beta1;
    the port, a number or a name, read as ``{"number": n}`` or ``{"name": s}``)."""
    if "serviceName" in backend and "service" not in backend:
        old = backend.get("servicePort")
        port = {"number": old} if type(old) is int else {"name": old} if isinstance(old, str) and old else {}
        return f"{at}.serviceName", f"{at}.servicePort", backend.get("serviceName"), port
    service = as_dict(backend.get("service"))
    return f"{at}.service.name", f"{at}.service.port", service.get("name"), as_dict(service.get("port"))


def _ingress_backends(ingress: K8sObject) -> Iterator[tuple[str, str, object, dict]]:
    """:func:`_backend` of the default backend (``defaultBackend``, or ``backend`` before v1) and of every rule
    path."""
    spec = spec_of(ingress)
    default = "defaultBackend" if "defaultBackend" in spec else "backend"
    yield _backend(f"spec.{default}", as_dict(spec.get(default)))
    for i, rule in enumerate(as_list(spec.get("rules"))):
        for j, path in enumerate(as_list(as_dict(as_dict(rule).get("http")).get("paths"))):
            yield _backend(f"spec.rules[{i}].http.paths[{j}].backend", as_dict(as_dict(path).get("backend")))


def _port_declared(service: K8sObject, port: dict) -> bool:
    ports = [as_dict(p) for p in as_list(spec_of(service).get("ports"))]
    if "number" in port:
        return any(p.get("port") == port["number"] for p in ports)
    return any(p.get("name") == port.get("name") for p in ports)


@check(id="REL-INGRESS-TARGET", category=Category.scalability, severity=Severity.high, scope="set",
       title="Ingress backend Service or port missing",
       description="An Ingress backend naming a Service that does not exist, or a port the Service does not "
                   "expose, answers 503. Checked when the set contains Services of the namespace.",
       remediation="Point the backend at an existing Service and one of its ports (number or name).",
       peers={"kube-linter": "dangling-ingress", "kube-score": "ingress-targets-service"})
def ingress_target(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    services = {(s.namespace, s.name): s for s in _services(objects)}
    namespaces = {namespace for namespace, _ in services}
    for ingress in (o for o in objects if o.kind == "Ingress" and o.namespace in namespaces):
        for name_at, port_at, name, port in _ingress_backends(ingress):
            if not isinstance(name, str) or not name:
                continue
            service = services.get((ingress.namespace, name))
            if service is None:
                yield ingress, Hit(f"{name_of(ingress)} routes to Service '{name}', which is not in the reviewed set",
                                   field=name_at)
            elif port and not _port_declared(service, port):
                shown = port.get("number", port.get("name"))
                yield ingress, Hit(f"{name_of(ingress)} routes to port '{shown}', which Service '{name}' does not "
                                   "expose", field=port_at)


@check(id="REL-SERVICE-TARGETPORT", category=Category.scalability, severity=Severity.high, scope="set",
       title="Service targetPort name not declared by its pods",
       description="A named targetPort must be a ports[].name of the containers the Service selects; otherwise "
                   "the Service has no endpoints for that port.",
       remediation="Use a port name the selected containers declare, or the port number.",
       peers={"kube-linter": "invalid-target-ports"})
def service_target_port(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index = pod_index(objects)
    for svc in _services(objects):
        selector = as_dict(spec_of(svc).get("selector"))
        targets = index.select_equal(svc.namespace, selector) if selector else []
        if not targets:
            continue
        names = {as_str(p.get("name")) for w in targets for c in containers(w, ("containers",)) for p in c.ports()}
        for i, port in enumerate(as_list(spec_of(svc).get("ports"))):
            target = as_dict(port).get("targetPort")
            if isinstance(target, str) and not target.isdigit() and target not in names:
                yield svc, Hit(f"{name_of(svc)} targetPort '{target}' is not a port name of the pods it selects",
                               field=f"spec.ports[{i}].targetPort")


def _policy_selectors(policy: K8sObject) -> Iterator[tuple[str, str, dict]]:
    """``(description, field path, selector)``: the policy's podSelector and the podSelectors of its
    same-namespace peers (no namespaceSelector)."""
    spec = spec_of(policy)
    yield "podSelector", "spec.podSelector", as_dict(spec.get("podSelector"))
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(as_list(spec.get(direction))):
            for j, peer in enumerate(as_list(as_dict(rule).get(peers_field))):
                if "namespaceSelector" not in as_dict(peer):
                    yield (f"{direction}[{i}] peer podSelector", f"spec.{direction}[{i}].{peers_field}[{j}].podSelector",
                           as_dict(as_dict(peer).get("podSelector")))


@check(id="REL-NETPOL-TARGET", category=Category.scalability, severity=Severity.low, scope="set",
       title="NetworkPolicy selects no pods",
       description="A NetworkPolicy whose non-empty podSelector (or the podSelector of an ingress/egress peer "
                   "without a namespaceSelector) matches no pod template of its namespace protects or allows "
                   "nothing, usually because of a label typo. Checked when the set contains workloads of the "
                   "namespace.",
       remediation="Fix spec.podSelector to match the pod labels of the workloads to isolate.",
       peers={"kube-linter": "dangling-networkpolicy,dangling-networkpolicypeer-podselector",
              "kube-score": "networkpolicy-targets-pod"})
def netpol_target(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    index = pod_index(objects)
    for policy in (o for o in objects if o.kind == "NetworkPolicy" and o.namespace in index.by_namespace):
        for where, at, selector in _policy_selectors(policy):
            if selector and not index.any_match(policy.namespace, selector):
                yield policy, Hit(f"{name_of(policy)} {where} matches no pod template in {_namespace_label(policy)}",
                                  field=at)


@check(id="REL-STS-SERVICENAME", category=Category.scalability, severity=Severity.medium, scope="set",
       title="StatefulSet governing Service missing or not headless",
       description="A StatefulSet's serviceName must be a headless Service (clusterIP: None) for its pods to get "
                   "stable DNS names. Checked when the set contains Services of the namespace.",
       remediation="Add a headless Service named as spec.serviceName, or fix the name.",
       peers={"kube-score": "statefulset-has-servicename"})
def sts_service_name(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    services = {(s.namespace, s.name): s for s in _services(objects)}
    namespaces = {namespace for namespace, _ in services}
    for sts in (o for o in objects if o.kind == "StatefulSet" and o.namespace in namespaces):
        name = spec_of(sts).get("serviceName")
        if not isinstance(name, str) or not name:
            continue
        service = services.get((sts.namespace, name))
        if service is None:
            yield sts, Hit(f"{name_of(sts)} serviceName '{name}' is not a Service in the reviewed set",
                           field="spec.serviceName")
        elif spec_of(service).get("clusterIP") != "None":
            yield sts, Hit(f"{name_of(sts)} serviceName '{name}' is not a headless Service (clusterIP: None)",
                           field="spec.serviceName")


def _monitored_namespaces(monitor: K8sObject) -> set[str | None] | None:
    """Namespaces a ServiceMonitor looks in; None means any."""
    selector = as_dict(spec_of(monitor).get("namespaceSelector"))
    if selector.get("any") is True:
        return None
    names = as_list(selector.get("matchNames"))
    return {str(n) for n in names} if names else {monitor.namespace}


@check(id="OBS-SERVICEMONITOR-TARGET", category=Category.observability, severity=Severity.low, scope="set",
       title="ServiceMonitor selects no Service",
       description="A Prometheus-operator ServiceMonitor whose selector matches no Service scrapes nothing: the "
                   "metrics silently disappear. Checked when the set contains Services of those namespaces.",
       remediation="Fix spec.selector / namespaceSelector to match the Service labels.",
       peers={"kube-linter": "dangling-servicemonitor"})
def servicemonitor_target(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    services = _services(objects)
    for monitor in (o for o in objects if o.kind == "ServiceMonitor"):
        namespaces = _monitored_namespaces(monitor)
        candidates = [s for s in services if namespaces is None or s.namespace in namespaces]
        selector = as_dict(spec_of(monitor).get("selector"))
        if candidates and not any(selector_matches(selector, as_dict(metadata(s).get("labels"))) for s in candidates):
            yield monitor, Hit(f"{name_of(monitor)} selects no Service", field="spec.selector")
