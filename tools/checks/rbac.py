"""RBAC checks of Roles, ClusterRoles and their bindings.

A rule is read the way the API server's authorizer matches it: ``*`` in ``verbs`` grants every verb, ``*`` in
``resources`` every resource and subresource (``pods/exec``, ``secrets``), ``pods/*`` every subresource of pods and
``*/exec`` that subresource of every resource (``pods/*`` and ``*/*`` are read as every subresource); ``apiGroups`` must hold the resource's group (``""`` for the core
group) or ``*``. So a wildcard rule is reported by RBAC-WILDCARD *and* by each check whose permission it grants.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from core.models import Category, K8sObject, Severity
from tools.checks.core import Hit, check
from tools.checks.podspec import as_dict, as_list, name_of

ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
WORKLOAD_RESOURCES = frozenset({"pods", "deployments", "daemonsets", "statefulsets", "replicasets", "jobs",
                                "cronjobs", "replicationcontrollers"})
_GROUPS = {"deployments": "apps", "daemonsets": "apps", "statefulsets": "apps", "replicasets": "apps",
           "jobs": "batch", "cronjobs": "batch",
           "roles": "rbac.authorization.k8s.io", "clusterroles": "rbac.authorization.k8s.io",
           "rolebindings": "rbac.authorization.k8s.io", "clusterrolebindings": "rbac.authorization.k8s.io",
           "validatingwebhookconfigurations": "admissionregistration.k8s.io",
           "mutatingwebhookconfigurations": "admissionregistration.k8s.io",
           "certificatesigningrequests/approval": "certificates.k8s.io", "signers": "certificates.k8s.io",
           "userextras": "authentication.k8s.io", "uids": "authentication.k8s.io"}
"""API group of the resources the checks look for; anything else is in the core group ``""``."""
ALL_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})
"""The verbs of a resource that a role listing them all grants as fully as ``*`` (deletecollection aside)."""
_WRITE = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def rules(obj: K8sObject) -> list[dict]:
    """The rules of a Role or ClusterRole (empty for anything else or malformed rules)."""
    if obj.kind not in ROLE_KINDS:
        return []
    return [r for r in as_list(obj.body.get("rules")) if isinstance(r, dict)]


def indexed_rules(obj: K8sObject) -> list[tuple[str, dict]]:
    """``(path, rule)`` of the rules of a Role or ClusterRole: ``("rules[0]", {...})``."""
    if obj.kind not in ROLE_KINDS:
        return []
    return [(f"rules[{i}]", r) for i, r in enumerate(as_list(obj.body.get("rules"))) if isinstance(r, dict)]


def _strings(rule: dict, field: str) -> set[str]:
    return {str(v) for v in as_list(rule.get(field))}


def _resource_matches(rule_resources: set[str], wanted: str) -> bool:
    """Whether ``rule_resources`` grants ``wanted`` (``pods``, ``pods/exec``). ``*`` and ``*/exec`` are the
    authorizer's wildcards; ``pods/*`` and ``*/*`` are read as their author means them (every subresource), so a
    rule written to grant them is reported even where the authorizer would match them literally."""
    if "*" in rule_resources or wanted in rule_resources:
        return True
    base, _, sub = wanted.partition("/")
    return bool(sub) and bool({f"{base}/*", f"*/{sub}", "*/*"} & rule_resources)


def _group_matches(rule: dict, resource: str) -> bool:
    """Whether the rule's apiGroups hold ``resource``'s group (a rule without apiGroups is read as matching)."""
    if "apiGroups" not in rule:
        return True
    groups = _strings(rule, "apiGroups")
    return "*" in groups or _GROUPS.get(resource, "") in groups


def _granted(rule: dict, resources: Iterable[str], verbs: Iterable[str]) -> tuple[set[str], set[str]]:
    """The ``resources`` and ``verbs`` among those asked that ``rule`` grants (both empty when either is)."""
    rule_resources, rule_verbs = _strings(rule, "resources"), _strings(rule, "verbs")
    hit_resources = {r for r in resources if _resource_matches(rule_resources, r) and _group_matches(rule, r)}
    hit_verbs = set(verbs) if "*" in rule_verbs else rule_verbs & set(verbs)
    return (hit_resources, hit_verbs) if hit_resources and hit_verbs else (set(), set())


def _grants(obj: K8sObject, resources: Iterable[str], verbs: Iterable[str], field: str) -> Iterator[Hit]:
    """Describe each rule granting any of ``verbs`` on any of ``resources``; the finding points at the rule's
    ``field`` (``resources`` or ``verbs``, the side the check is about)."""
    resources, verbs = set(resources), set(verbs)
    for where, rule in indexed_rules(obj):
        hit_resources, hit_verbs = _granted(rule, resources, verbs)
        if hit_resources:
            via = " (through '*')" if "*" in _strings(rule, "resources") | _strings(rule, "verbs") else ""
            yield Hit(f"{name_of(obj)} grants {', '.join(sorted(hit_verbs))} on {', '.join(sorted(hit_resources))}"
                      f"{via}", field=f"{where}.{field}")


@check(id="RBAC-WILDCARD", category=Category.security, severity=Severity.medium,
       kinds=ROLE_KINDS,
       title="Wildcard in an RBAC rule",
       description="'*' in apiGroups, resources or verbs grants today's and every future resource or verb, "
                   "including subresources such as pods/exec and secrets.",
       remediation="List the apiGroups, resources and verbs the subject actually needs.",
       peers={"kube-linter": "wildcard-in-rules", "checkov": "CKV_K8S_49"})
def wildcard(obj: K8sObject) -> Iterator[Hit]:
    for where, rule in indexed_rules(obj):
        fields = [f for f in ("apiGroups", "resources", "verbs") if "*" in _strings(rule, f)]
        if fields:
            yield Hit(f"{name_of(obj)} has a rule with '*' in {', '.join(fields)}", field=f"{where}.{fields[0]}")


@check(id="RBAC-SECRETS-ACCESS", category=Category.security, severity=Severity.medium, default_enabled=False,
       kinds=ROLE_KINDS,
       title="Read access to Secrets",
       description="get/list/watch on secrets reads every credential in scope (list returns the values too).",
       remediation="Restrict with resourceNames to the specific Secrets needed, or mount them instead.",
       peers={"kube-linter": "access-to-secrets", "checkov": "CKV2_K8S_5"})
def secrets_access(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, {"secrets"}, {"get", "list", "watch"}, "resources")


@check(id="RBAC-CREATE-PODS", category=Category.security, severity=Severity.low, default_enabled=False,
       kinds=ROLE_KINDS,
       title="Permission to create workloads",
       description="Whoever can create pods (directly or through a controller) can mount any Secret and run as "
                   "any ServiceAccount of the namespace (CIS 5.1.4).",
       remediation="Grant create on workloads only to deployment tooling.",
       peers={"kube-linter": "access-to-create-pods"})
def create_pods(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, WORKLOAD_RESOURCES, {"create"}, "resources")


@check(id="RBAC-EXEC-ATTACH", category=Category.security, severity=Severity.high,
       kinds=ROLE_KINDS,
       title="pods/exec, pods/attach or nodes/proxy granted",
       description="exec/attach give a shell in running pods (and their Secrets and tokens); nodes/proxy reaches "
                   "the kubelet API of every node.",
       remediation="Remove these subresources; use ephemeral debug containers under a break-glass role.",
       peers={"polaris": "clusterrolePodExecAttach,rolePodExecAttach,clusterrolebindingPodExecAttach,"
                         "rolebindingClusterRolePodExecAttach,rolebindingRolePodExecAttach",
              "checkov": "CKV2_K8S_2"})
def exec_attach(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, {"pods/exec", "pods/attach", "nodes/proxy"}, {"create", "get"}, "resources")


@check(id="RBAC-IMPERSONATE", category=Category.security, severity=Severity.high,
       kinds=ROLE_KINDS,
       title="Impersonation granted",
       description="impersonate on users, groups or serviceaccounts lets the subject act as anyone, including "
                   "cluster administrators.",
       remediation="Remove the impersonate verb, or restrict it with resourceNames.",
       peers={"checkov": "CKV2_K8S_3"})
def impersonate(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, {"users", "groups", "serviceaccounts", "userextras", "uids"}, {"impersonate"}, "verbs")


@check(id="RBAC-BIND-ESCALATE", category=Category.security, severity=Severity.high,
       kinds=ROLE_KINDS,
       title="bind or escalate granted",
       description="bind lets the subject grant roles it does not hold; escalate lets it edit a role to add "
                   "permissions it does not hold. Both defeat RBAC's escalation prevention.",
       remediation="Remove the bind and escalate verbs.",
       peers={"checkov": "CKV_K8S_157,CKV_K8S_158,CKV2_K8S_1"})
def bind_escalate(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, {"roles", "clusterroles", "rolebindings", "clusterrolebindings"}, {"bind", "escalate"},
                   "verbs")


@check(id="RBAC-WEBHOOK-CONTROL", category=Category.security, severity=Severity.medium,
       kinds=ROLE_KINDS,
       title="Control over admission webhooks",
       description="Whoever can write webhook configurations can intercept or rewrite every object sent to the "
                   "API server, or disable policy enforcement.",
       remediation="Grant write access to webhook configurations only to the operator that owns them, with "
                   "resourceNames.",
       peers={"checkov": "CKV_K8S_155"})
def webhook_control(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}, _WRITE, "resources")


@check(id="RBAC-CSR-APPROVE", category=Category.security, severity=Severity.high,
       kinds=ROLE_KINDS,
       title="Approval of certificate signing requests",
       description="update on certificatesigningrequests/approval plus approve on signers lets the subject mint "
                   "client certificates, e.g. for system:masters.",
       remediation="Leave CSR approval to the controller manager; restrict signers with resourceNames.",
       peers={"checkov": "CKV_K8S_156"})
def csr_approve(obj: K8sObject) -> Iterator[Hit]:
    approval = list(_grants(obj, {"certificatesigningrequests/approval"}, {"update", "patch"}, "resources"))
    signers = list(_grants(obj, {"signers"}, {"approve"}, "verbs")) or [
        h for where, rule in indexed_rules(obj)
        if "*/*" in _strings(rule, "resources") and _group_matches(rule, "signers")
        and {"*", "approve"} & _strings(rule, "verbs") for h in [Hit("", field=where)]]
    if approval and signers:
        yield Hit(f"{name_of(obj)} can approve certificate signing requests", field=approval[0].field)


@check(id="RBAC-SERVICES-STATUS", category=Category.security, severity=Severity.medium,
       kinds=ROLE_KINDS,
       title="Write access to services/status",
       description="Patching services/status sets a LoadBalancer's ingress IP: traffic of the cluster can be "
                   "redirected (CVE-2020-8554).",
       remediation="Grant services/status write access only to the load-balancer controller.",
       peers={"checkov": "CKV2_K8S_4"})
def services_status(obj: K8sObject) -> Iterator[Hit]:
    return _grants(obj, {"services/status"}, {"update", "patch"}, "resources")


def is_admin_rule(rule: dict) -> bool:
    """A rule granting everything: ``*`` API groups and resources, and ``*`` or every verb listed explicitly. A rule
    limited to named groups (e.g. only the core group ``""``) does not grant everything."""
    verbs = _strings(rule, "verbs")
    return ("*" in _strings(rule, "apiGroups") and "*" in _strings(rule, "resources")
            and ("*" in verbs or ALL_VERBS <= verbs))


def _is_cluster_admin_role(role: K8sObject) -> bool:
    return any(is_admin_rule(r) for r in rules(role))


@check(id="RBAC-CLUSTER-ADMIN-BINDING", category=Category.security, severity=Severity.high, scope="set",
       title="Binding to cluster-admin",
       description="A binding to cluster-admin (or to a role in the same change granting every verb, '*' or listed, "
                   "on '*' resources of '*' API groups) gives its subjects full control of the cluster or "
                   "namespace.",
       remediation="Bind a role with only the permissions needed.",
       peers={"kube-linter": "cluster-admin-role-binding",
              "polaris": "clusterrolebindingClusterAdmin,rolebindingClusterAdminClusterRole,"
                         "rolebindingClusterAdminRole"})
def cluster_admin_binding(objects: list[K8sObject]) -> Iterator[tuple[K8sObject, Hit]]:
    admin_roles = {(o.kind, o.namespace if o.kind == "Role" else None, o.name)
                   for o in objects if _is_cluster_admin_role(o)}
    for binding in (o for o in objects if o.kind in BINDING_KINDS):
        ref = as_dict(binding.body.get("roleRef"))
        kind, name = ref.get("kind"), ref.get("name")
        namespace = binding.namespace if kind == "Role" else None
        if (kind == "ClusterRole" and name == "cluster-admin") or (kind, namespace, name) in admin_roles:
            yield binding, Hit(f"{name_of(binding)} binds {kind} '{name}', which grants everything",
                               field="roleRef.name")
