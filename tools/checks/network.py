"""Per-object network exposure checks: Service types, Ingress TLS, ingress-nginx snippet annotations."""

from __future__ import annotations

from collections.abc import Iterator

from core.models import Category, K8sObject, Severity
from tools import fieldpath
from tools.checks.core import Hit, check
from tools.checks.podspec import as_dict, as_list, metadata, name_of, spec_of

NGINX_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"


@check(id="SEC-EXPOSED-SERVICE", category=Category.security, severity=Severity.low,
       kinds={"Service"},
       title="NodePort Service",
       description="A NodePort Service opens the port on every node, outside ingress and load-balancer "
                   "controls. (LoadBalancer Services are the normal way to expose traffic and are not flagged.)",
       remediation="Use a ClusterIP Service behind an Ingress/Gateway, or a LoadBalancer Service.",
       peers={"kube-linter": "exposed-services", "kube-score": "service-type"})
def exposed_service(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "Service" and spec_of(obj).get("type") == "NodePort":
        yield Hit(f"{name_of(obj)} is of type NodePort", field="spec.type")


@check(id="SEC-INGRESS-TLS", category=Category.security, severity=Severity.low,
       kinds={"Ingress"},
       title="Ingress without TLS",
       description="An Ingress without spec.tls serves plain HTTP unless TLS is terminated in front of the "
                   "ingress controller.",
       remediation="Add spec.tls with a certificate Secret (cert-manager can issue it).",
       peers={"polaris": "tlsSettingsMissing"})
def ingress_tls(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind == "Ingress" and not as_list(spec_of(obj).get("tls")):
        yield Hit(f"{name_of(obj)} has no spec.tls", field="spec.tls")


@check(id="SEC-INGRESS-NGINX-SNIPPET", category=Category.security, severity=Severity.high,
       kinds={"Ingress"},
       title="ingress-nginx snippet annotation",
       description="ingress-nginx *-snippet annotations inject raw nginx configuration; anyone who can create an "
                   "Ingress can read the controller's service-account token (CVE-2021-25742, CVE-2025-1974).",
       remediation="Remove the snippet annotation; use the controller's dedicated annotations or ConfigMap.",
       peers={"checkov": "CKV_K8S_152,CKV_K8S_153,CKV_K8S_154"})
def ingress_nginx_snippet(obj: K8sObject) -> Iterator[Hit]:
    if obj.kind != "Ingress":
        return
    for key in as_dict(metadata(obj).get("annotations")):
        if str(key).startswith(NGINX_ANNOTATION_PREFIX) and str(key).endswith("snippet"):
            yield Hit(f"{name_of(obj)} uses the annotation '{key}'", field=fieldpath.key("metadata.annotations", key))
