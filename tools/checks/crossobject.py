"""Checks that relate objects to each other: Services to the pods they target, NetworkPolicies to workloads.

Namespaces are compared as written (an unset namespace only equals another unset namespace).
"""

from __future__ import annotations

from collections.abc import Iterator

from infra_orchestrator.models import Category, K8sObject, Severity
from tools.checks.core import check
from tools.checks.podspec import as_dict, labels_match, pod_labels, pod_template, selector_matches


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
def service_target(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, str]]:
    workloads = _workloads(objects)
    for svc in (o for o in objects if o.kind == "Service"):
        spec = as_dict(svc.body.get("spec"))
        selector = as_dict(spec.get("selector"))
        if not selector or spec.get("type") == "ExternalName":
            continue
        if not any(w.namespace == svc.namespace and labels_match(selector, pod_labels(w)) for w in workloads):
            shown = ", ".join(f"{k}={v}" for k, v in selector.items())
            yield svc, f"Service '{svc.name or '<unnamed>'}' selector {{{shown}}} matches no pod template in " \
                       f"{_namespace_label(svc)}"


@check(id="SEC-NETPOL-COVERAGE", category=Category.security, severity=Severity.medium, scope="set",
       title="Workload not covered by a NetworkPolicy",
       description="Pods selected by no NetworkPolicy accept traffic from anywhere in the cluster and may "
                   "reach anything.",
       remediation="Add a NetworkPolicy for the namespace (a default-deny with podSelector: {} plus explicit "
                   "allows) that selects these pods.",
       peers={"kube-linter": "non-isolated-pod", "kube-score": "pod-networkpolicy"})
def netpol_coverage(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, str]]:
    policies = [o for o in objects if o.kind == "NetworkPolicy"]
    for workload in _workloads(objects):
        labels = pod_labels(workload)
        if not any(p.namespace == workload.namespace
                   and selector_matches(as_dict(as_dict(p.body.get("spec")).get("podSelector")), labels)
                   for p in policies):
            yield workload, (f"{workload.kind} '{workload.name or '<unnamed>'}': no NetworkPolicy in "
                             f"{_namespace_label(workload)} selects its pods")
