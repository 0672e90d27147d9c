"""Catalog behaviour beyond the per-check fixtures: profiles, the PSS-restricted pod, container kinds, kubelet
security-context resolution, cross-object rules on partial reviews, RBAC wildcard handling, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import ChecksConfig, Config
from core.models import K8sObject, Severity
from tools.checks import CHECK_ERROR_ID, PROFILES, registry, run_checks, selected
from tools.manifests import load_manifest_text, load_manifests

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
RESTRICTED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: web
      image: registry.example.com/web:1.4.2
      ports: [{name: http, containerPort: 8080}]
      resources:
        requests: {cpu: 100m, memory: 128Mi}
        limits: {memory: 256Mi}
      readinessProbe: {httpGet: {path: /readyz, port: http}}
      livenessProbe: {httpGet: {path: /healthz, port: http}, failureThreshold: 6}
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""


def load(text: str) -> list[K8sObject]:
    objects, findings = load_manifest_text(text, "k8s/test.yaml")
    assert findings == []
    return objects


def ids(findings) -> set[str]:
    return {f.check_id for f in findings}


def profile(name: str, **extra) -> Config:
    return Config(checks=ChecksConfig(profile=name, **extra))


def strict_ids(text: str) -> set[str]:
    return ids(run_checks(load(text), profile("strict")))


# --- the restricted pod and profiles ------------------------------------------------------------------------


def test_pss_restricted_pod_with_probes_resources_and_labels_has_nothing_at_or_above_medium():
    findings = run_checks(load(RESTRICTED_POD))
    assert [f for f in findings if f.severity.at_least(Severity.medium)] == []
    # it is not silent: low-severity hardening advice remains, and it meets both PSS profiles completely
    assert {"SEC-READONLY-ROOTFS", "REL-NAKED-POD"} <= ids(findings)
    assert run_checks(load(RESTRICTED_POD), profile("pss-restricted")) == []


def test_profiles_select_the_documented_checks():
    specs = registry()
    assert set(PROFILES) == {"default", "local", "strict", "pss-baseline", "pss-restricted"}
    assert {s.id for s in selected(profile("strict"))} == {s.id for s in specs}
    assert {s.id for s in selected(profile("default"))} == {s.id for s in specs if s.default_enabled}
    assert {s.id for s in selected(profile("local"))} == {s.id for s in specs if s.default_enabled} - {
        "REL-IMAGE-PULL-NEVER", "REL-INGRESS-LOCALHOST"}
    assert {s.id for s in selected(profile("pss-baseline"))} == {s.id for s in specs if s.pss == "baseline"}
    restricted = {s.id for s in selected(profile("pss-restricted"))}
    assert restricted == {s.id for s in specs if s.pss} and "SEC-PRIVILEGED" in restricted
    off = {"REL-CPU-LIMIT", "REL-REPLICAS-MIN", "REL-NODE-AFFINITY", "SEC-SECRET-ENV-REF", "SEC-IMAGE-DIGEST",
           "REL-REQ-EQ-LIMIT", "SCH-SORTED-KEYS", "OBS-OWNER-LABEL"}
    assert off <= {s.id for s in specs if not s.default_enabled}


def test_profile_then_enabled_and_disabled():
    pod = load(RESTRICTED_POD.replace("capabilities: {drop: [ALL]}", "privileged: true"))
    baseline = ids(run_checks(pod, profile("pss-baseline")))
    assert baseline == {"SEC-PRIVILEGED"}
    assert ids(run_checks(pod, profile("pss-restricted"))) == {"SEC-PRIVILEGED", "SEC-CAP-DROP-ALL"}
    assert ids(run_checks(pod, profile("pss-restricted", disabled=["SEC-PRIVILEGED"]))) == {"SEC-CAP-DROP-ALL"}
    # an explicit enabled list may name a check outside the profile
    assert ids(run_checks(pod, profile("default", enabled=["SEC-IMAGE-DIGEST"]))) == {"SEC-IMAGE-DIGEST"}


def test_unknown_profile_is_rejected_by_the_config():
    with pytest.raises(ValidationError, match="checks.profile|profile"):
        profile("pss-strict")


# --- containers and security-context resolution ----------------------------------------------------------------


def test_container_rules_cover_init_and_ephemeral_containers():
    text = RESTRICTED_POD + """  initContainers:
    - {name: setup, image: "setup:1.0", securityContext: {capabilities: {add: [SYS_ADMIN]}}}
  ephemeralContainers:
    - {name: debug, image: "busybox:1.36", securityContext: {privileged: true}}
"""
    findings = run_checks(load(text), profile("strict"))
    about = {(f.check_id, f.message.split("'")[1]) for f in findings if "container '" in f.message}
    assert {("SEC-CAP-ADD-DANGEROUS", "setup"), ("SEC-CAP-DROP-ALL", "setup"), ("SEC-PRIVILEGED", "debug"),
            ("SEC-PRIV-ESCALATION", "debug")} <= about
    assert not any(name == "web" for check_id, name in about if check_id.startswith("SEC-CAP"))


@pytest.mark.parametrize(("pod_ctx", "container_ctx", "fires"), [
    ("{seccompProfile: {type: RuntimeDefault}}", "{}", False),                 # inherited from the pod
    ("{}", "{seccompProfile: {type: Localhost, localhostProfile: p.json}}", False),
    ("{seccompProfile: {type: RuntimeDefault}}", "{seccompProfile: {type: Unconfined}}", True),  # override
    ("{}", "{}", True),
])
def test_seccomp_is_resolved_like_the_kubelet(pod_ctx, container_ctx, fires):
    text = (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop}}\nspec:\n  securityContext: {pod_ctx}\n"
            f"  containers: [{{name: c, image: 'c:1', securityContext: {container_ctx}}}]\n")
    assert ("SEC-SECCOMP-REQUIRED" in strict_ids(text)) is fires


def test_forbidden_pod_level_values_are_reported_once_even_when_overridden():
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
            "  securityContext: {runAsUser: 0, seccompProfile: {type: Unconfined}}\n"
            "  containers: [{name: a, image: 'a:1', securityContext: {runAsUser: 1000, seccompProfile: "
            "{type: RuntimeDefault}}}, {name: b, image: 'b:1'}]\n")
    findings = run_checks(load(text), profile("strict"))
    messages = {f.check_id: [x.message for x in findings if x.check_id == f.check_id] for f in findings}
    assert messages["SEC-RUN-AS-USER-ZERO"] == ["the pod sets runAsUser: 0 (root)"]
    assert messages["SEC-SECCOMP-NOT-UNCONFINED"] == ["the pod sets seccomp Unconfined"]
    # the requirement is resolved per container: 'a' overrides with RuntimeDefault, 'b' inherits Unconfined
    assert messages["SEC-SECCOMP-REQUIRED"] == ["container 'b' has no RuntimeDefault or Localhost seccomp profile"]


def test_container_only_fields_are_not_inherited_from_the_pod():
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
            "  securityContext: {readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n"
            "  containers: [{name: c, image: 'c:1'}]\n")
    assert {"SEC-READONLY-ROOTFS", "SEC-CAP-DROP-ALL"} <= strict_ids(text)


# --- cross-object rules on partial reviews --------------------------------------------------------------------


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
        - name: app
          image: app:1.0
          envFrom: [{configMapRef: {name: web-config}}, {secretRef: {name: web-secrets}}]
"""


def test_missing_references_are_reported_only_when_the_set_manages_that_kind():
    assert not {"REL-ENV-REF-EXISTS", "REL-SA-EXISTS"} & strict_ids(DEPLOYMENT)
    other_ns = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: other}\n"
    assert "REL-ENV-REF-EXISTS" not in strict_ids(DEPLOYMENT + other_ns)
    same_ns = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n"
    found = [f for f in run_checks(load(DEPLOYMENT + same_ns), profile("strict")) if f.check_id == "REL-ENV-REF-EXISTS"]
    assert [f.message for f in found] == [
        "container 'app' envFrom references ConfigMap 'web-config', which is not in the reviewed set"]


def test_hpa_alone_is_not_reported_missing_but_a_typo_is():
    hpa = ("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: shop}\n"
           "spec: {scaleTargetRef: {kind: Deployment, name: NAME}, minReplicas: 2, maxReplicas: 4}\n")
    assert "REL-HPA-TARGET" not in strict_ids(hpa.replace("NAME", "web"))
    assert "REL-HPA-TARGET" in strict_ids(DEPLOYMENT + "---\n" + hpa.replace("NAME", "wbe"))
    # found target without a cpu request: the default CPU metric cannot be computed
    assert "REL-HPA-REQUESTS" in strict_ids(DEPLOYMENT + "---\n" + hpa.replace("NAME", "web"))


def test_pdb_with_min_available_equal_to_default_replicas_blocks_eviction():
    pdb = ("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\n"
           "spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n")
    assert "REL-PDB-BLOCKS-EVICTION" in strict_ids(DEPLOYMENT + "---\n" + pdb)
    assert "REL-PDB-BLOCKS-EVICTION" not in strict_ids(DEPLOYMENT.replace("spec:\n  selector", "spec:\n  replicas: 3\n"
                                                                           "  selector") + "---\n" + pdb)


def test_network_policy_peer_selectors_are_checked():
    objects, _ = load_manifests(FIXTURES, ["REL-NETPOL-TARGET/fail.yaml"])
    messages = sorted(f.message for f in run_checks(objects) if f.check_id == "REL-NETPOL-TARGET")
    assert messages == [
        "NetworkPolicy 'allow-from-frontend' ingress[0] peer podSelector matches no pod template in namespace 'shop'",
        "NetworkPolicy 'web' podSelector matches no pod template in namespace 'shop'"]


def test_a_wildcard_rule_is_reported_by_each_permission_it_grants():
    role = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: god}\n"
            "rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n")
    assert {i for i in strict_ids(role) if i.startswith("RBAC-")} == {
        "RBAC-WILDCARD", "RBAC-SECRETS-ACCESS", "RBAC-CREATE-PODS", "RBAC-EXEC-ATTACH", "RBAC-IMPERSONATE",
        "RBAC-BIND-ESCALATE", "RBAC-WEBHOOK-CONTROL", "RBAC-CSR-APPROVE", "RBAC-SERVICES-STATUS"}
    core_only = role.replace("apiGroups: ['*']", "apiGroups: ['']")
    assert {i for i in strict_ids(core_only) if i.startswith("RBAC-")} == {
        "RBAC-WILDCARD", "RBAC-SECRETS-ACCESS", "RBAC-CREATE-PODS", "RBAC-EXEC-ATTACH", "RBAC-IMPERSONATE",
        "RBAC-SERVICES-STATUS"}


@pytest.mark.parametrize(("value", "fires"), [
    ("db.password=hunter2", True),
    ("db.password=${DB_PASSWORD}", False),
    ("db.password=", False),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIB", True),
    ("aws_access_key_id AKIAIOSFODNN7EXAMPLE", True),
    ("log.level=debug", False),
])
def test_configmap_credential_content(value, fires):
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n"
            f"data:\n  app.properties: {value!r}\n").replace("'", '"')
    assert ("SEC-SECRET-IN-CONFIGMAP" in strict_ids(text)) is fires


def test_probe_on_documentation_path():
    text = RESTRICTED_POD.replace("/readyz", "/swagger/index.html")
    findings = [f for f in run_checks(load(text)) if f.check_id == "REL-PROBE-DOCS-PATH"]
    assert [f.message for f in findings] == [
        "container 'web' readinessProbe checks the documentation path '/swagger/index.html'"]


def test_release_selector_applies_to_objects_rendered_from_a_chart():
    service = load("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
                   "spec: {selector: {app.kubernetes.io/name: web}, ports: [{port: 80}]}\n")[0]
    assert "REL-RELEASE-SELECTOR" not in ids(run_checks([service]))
    rendered = service.model_copy(update={"rendered_from": "charts/web/templates/service.yaml"})
    assert "REL-RELEASE-SELECTOR" in ids(run_checks([rendered]))


# --- bad input ----------------------------------------------------------------------------------------------


def _obj(kind: str, body: dict) -> K8sObject:
    return K8sObject(api_version="v1", kind=kind, name="x", file="k8s/bad.yaml", body=body)


BAD_BODIES = [
    ("Deployment", {"apiVersion": "apps/v1", "kind": "Deployment"}),                       # no metadata
    ("Deployment", {"metadata": [1, 2], "spec": [{"template": 1}]}),                        # lists for maps
    ("Pod", {"metadata": {"labels": ["a"], "annotations": "x"}, "spec": {"containers": [{"name": ["n"],
             "image": {"a": 1}, "ports": "80", "securityContext": {"capabilities": {"add": "ALL"}},
             "resources": {"requests": [1]}, "env": {"a": 1}, "livenessProbe": [1]}], "volumes": {"a": 1},
             "securityContext": {"sysctls": "x", "seLinuxOptions": []}}}),
    ("ClusterRole", {"rules": [{"verbs": "*", "resources": {"a": 1}}, "x", None]}),
    ("HorizontalPodAutoscaler", {"spec": {"scaleTargetRef": "web", "metrics": ["x", {"resource": []}],
                                          "minReplicas": "2"}}),
    ("PodDisruptionBudget", {"spec": {"selector": [], "minAvailable": {}}}),
    ("Ingress", {"spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"port": []}}},
                                                        {"backend": {"service": {"name": ["x"]}}}]}}]}}),
    ("ConfigMap", {"data": {"big": "p" * 10_000_000, "n": None, "k": [1]}}),
    ("FancyCustomThing", {"spec": {"template": {"spec": {"containers": "x"}}}}),           # unknown kind
    ("StatefulSet", {"spec": {"volumeClaimTemplates": "x", "serviceName": ["a"], "replicas": "3"}}),
    ("Service", {"spec": {"selector": {"app": ["web"]}, "ports": [{"targetPort": {"a": 1}}]}}),  # unhashable value
    ("NetworkPolicy", {"spec": {"podSelector": {"matchLabels": {"app": {}}}, "ingress": [{"from": "x"}]}}),
]


def test_bad_input_never_raises_and_the_rest_of_the_scan_goes_on():
    good = load(RESTRICTED_POD.replace("runAsUser: 10001", "runAsUser: 0"))
    objects = [_obj(kind, body) for kind, body in BAD_BODIES] + good
    findings = run_checks(objects, profile("strict"))
    errors = [f for f in findings if f.check_id == CHECK_ERROR_ID]
    assert errors == [], [e.message for e in errors]
    assert "SEC-RUN-AS-USER-ZERO" in {f.check_id for f in findings if f.resource.name == "web"}
    assert all(len(f.message) < 1000 for f in findings)


def _mutations(value, bad_values, path=()):
    """(path, replacement) for every node below the root, cycling through ``bad_values``."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*path, key), bad_values[len(path) % len(bad_values)]
        yield from _mutations(child, bad_values, (*path, key))


def _replaced(body, path, replacement):
    if len(path) == 1:
        copy = dict(body) if isinstance(body, dict) else list(body)
        copy[path[0]] = replacement
        return copy
    copy = dict(body) if isinstance(body, dict) else list(body)
    copy[path[0]] = _replaced(body[path[0]], path[1:], replacement)
    return copy


def test_every_fixture_with_any_node_of_the_wrong_type_never_breaks_a_check():
    objects, _ = load_manifests(FIXTURES, sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/fail.yaml")))
    bad_values = (["x", 1], "text", 7, None, {"k": ["v"]})
    errors, count = [], 0
    for obj in objects:  # one scan per original object: its variants share kind, namespace and name
        mutated = [obj.model_copy(update={"body": _replaced(obj.body, path, value)})
                   for path, value in _mutations(obj.body, bad_values)]
        count += len(mutated)
        errors += [f.message for f in run_checks(mutated, profile("strict")) if f.check_id == CHECK_ERROR_ID]
    assert count > 2500 and errors == []
