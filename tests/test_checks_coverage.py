"""Coverage fixes measured against the peers' fixtures (benchmarks/coverage): objects read (DeploymentConfig),
RBAC read as the authorizer reads it, cross-object checks. Each asserts the id, the line and the field; positions
are found in the YAML text by searching for the offending key, never counted by hand.
"""

from __future__ import annotations

from core.config import ChecksConfig, Config
from tools.checks import run_checks
from tools.manifests import load_manifest_text

STRICT = Config(checks=ChecksConfig(profile="strict"))


def at(text: str, needle: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` occurrence of ``needle`` in ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1


def findings(text: str, check_id: str, config: Config = STRICT) -> list:
    objects, problems = load_manifest_text(text, "k8s/app.yaml")
    assert problems == []
    return [f for f in run_checks(objects, config) if f.check_id == check_id and not f.suppressed]


def where(found: list) -> list[tuple[str, str | None, int | None]]:
    return sorted((f"{f.resource.kind}/{f.resource.name}", f.field, f.line) for f in found)


# --- objects read -----------------------------------------------------------------------------------------

DEPLOYMENT_CONFIG = """apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: app, namespace: shop}
spec:
  replicas: 3
  selector: {app: app}
  template:
    metadata: {labels: {app: app}}
    spec:
      hostPID: true
      containers:
        - name: app
          image: app:latest
          securityContext:
            privileged: true
"""


def test_an_openshift_deployment_config_is_read_as_a_workload():
    c = "spec.template.spec.containers[0]"
    assert where(findings(DEPLOYMENT_CONFIG, "SEC-PRIVILEGED")) == [
        ("DeploymentConfig/app", f"{c}.securityContext.privileged", at(DEPLOYMENT_CONFIG, "privileged: true"))]
    assert where(findings(DEPLOYMENT_CONFIG, "SEC-IMAGE-TAG")) == [
        ("DeploymentConfig/app", f"{c}.image", at(DEPLOYMENT_CONFIG, "image: app:latest"))]
    assert where(findings(DEPLOYMENT_CONFIG, "SEC-HOST-PID")) == [
        ("DeploymentConfig/app", "spec.template.spec.hostPID", at(DEPLOYMENT_CONFIG, "hostPID"))]


def test_a_clean_deployment_config_raises_no_pod_finding():
    clean = DEPLOYMENT_CONFIG.replace("hostPID: true", "hostPID: false").replace(
        "app:latest", "app:1.2.3").replace("privileged: true", "privileged: false")
    for check_id in ("SEC-PRIVILEGED", "SEC-IMAGE-TAG", "SEC-HOST-PID"):
        assert findings(clean, check_id) == []


# --- RBAC -------------------------------------------------------------------------------------------------

def role(rule: str, name: str = "r") -> str:
    return f"""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get]
  - {rule}
"""


def test_a_resource_wildcard_grants_exec_attach_and_secrets():
    text = role('{apiGroups: [""], resources: ["*"], verbs: [create, get]}')
    line = at(text, 'resources: ["*"]')
    assert where(findings(text, "RBAC-EXEC-ATTACH")) == [("ClusterRole/r", "rules[1].resources", line)]
    assert where(findings(text, "RBAC-SECRETS-ACCESS")) == [("ClusterRole/r", "rules[1].resources", line)]
    assert "through '*'" in findings(text, "RBAC-EXEC-ATTACH")[0].message


def test_a_resource_wildcard_of_another_group_grants_no_core_subresource():
    text = role('{apiGroups: [apps], resources: ["*"], verbs: ["*"]}')
    assert findings(text, "RBAC-EXEC-ATTACH") == [] and findings(text, "RBAC-SECRETS-ACCESS") == []
    assert findings(role('{apiGroups: [""], resources: [pods/attach], verbs: [list]}'), "RBAC-EXEC-ATTACH") == []


def test_verb_wildcards_grant_bind_escalate_and_impersonate():
    bind = role('{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: ["*"]}')
    assert where(findings(bind, "RBAC-BIND-ESCALATE")) == [
        ("ClusterRole/r", "rules[1].verbs", at(bind, "apiGroups: [rbac"))]
    imp = role('{apiGroups: [""], resources: [users], verbs: ["*"]}')
    assert where(findings(imp, "RBAC-IMPERSONATE")) == [("ClusterRole/r", "rules[1].verbs", at(imp, "resources: [users]"))]
    assert findings(role('{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get]}'),
                    "RBAC-BIND-ESCALATE") == []


def test_wildcards_in_certificate_approval():
    text = role('{apiGroups: [certificates.k8s.io], resources: ["*/*"], verbs: ["*"]}')
    assert where(findings(text, "RBAC-CSR-APPROVE")) == [
        ("ClusterRole/r", "rules[1].resources", at(text, 'resources: ["*/*"]'))]
    approve_only = role('{apiGroups: ["*"], resources: ["*"], verbs: [approve]}')
    assert findings(approve_only, "RBAC-CSR-APPROVE") == []


def binding_to(role_text: str) -> str:
    return role_text + """---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{kind: User, name: u}]
"""


def test_a_role_listing_every_verb_is_cluster_admin_like():
    text = binding_to(role('{apiGroups: ["*"], resources: ["*"], '
                           'verbs: [get, list, watch, create, update, patch, delete]}'))
    assert where(findings(text, "RBAC-CLUSTER-ADMIN-BINDING")) == [
        ("ClusterRoleBinding/b", "roleRef.name", at(text, "name: r}", 1))]


def test_a_core_group_only_wildcard_rule_does_not_grant_everything():
    assert findings(binding_to(role('{apiGroups: [""], resources: ["*"], verbs: ["*"]}')),
                    "RBAC-CLUSTER-ADMIN-BINDING") == []
    assert findings(binding_to(role('{apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch]}')),
                    "RBAC-CLUSTER-ADMIN-BINDING") == []


# --- cross-object -----------------------------------------------------------------------------------------

POD = """apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop, labels: {app: web}}
spec:
  containers: [{name: c, image: web:1.0}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
"""


def test_network_policy_coverage_needs_ingress_and_egress():
    ingress_only = POD + "  policyTypes: [Ingress]\n"
    found = findings(ingress_only, "SEC-NETPOL-COVERAGE")
    assert where(found) == [("Pod/p", "metadata.labels", at(ingress_only, "labels: {app: web}"))]
    assert "Egress" in found[0].message
    implicit = POD  # no policyTypes and no egress rules: Ingress only
    assert len(findings(implicit, "SEC-NETPOL-COVERAGE")) == 1
    assert findings(POD + "  egress: []\n", "SEC-NETPOL-COVERAGE") == []  # egress rules imply Egress
    assert findings(POD + "  policyTypes: [Ingress, Egress]\n", "SEC-NETPOL-COVERAGE") == []


def test_old_ingress_backends_are_read():
    text = """apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: ing, namespace: shop}
spec:
  backend: {serviceName: web, servicePort: 80}
  rules:
    - http:
        paths:
          - path: /
            backend: {serviceName: nope, servicePort: 80}
          - path: /x
            backend: {serviceName: web, servicePort: 81}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""
    assert where(findings(text, "REL-INGRESS-TARGET")) == [
        ("Ingress/ing", "spec.rules[0].http.paths[0].backend.serviceName", at(text, "backend: {serviceName: nope")),
        ("Ingress/ing", "spec.rules[0].http.paths[1].backend.servicePort", at(text, "servicePort: 81"))]


# --- Pod Security Standards -------------------------------------------------------------------------------

def pod(container_security: str, pod_extra: str = "") -> str:
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: shop}}
spec:{pod_extra}
  containers:
    - name: c
      image: web:1.0
      securityContext: {container_security}
"""


def test_baseline_capabilities_are_compared_exactly():
    for spelling in ("chown", "CAP_CHOWN"):
        text = pod(f"{{capabilities: {{add: [NET_BIND_SERVICE, {spelling}]}}}}")
        found = findings(text, "SEC-CAP-ADD-NONBASELINE")
        assert where(found) == [("Pod/p", "spec.containers[0].securityContext.capabilities.add[1]",
                                 at(text, "capabilities"))]
        assert "upper-case without CAP_" in found[0].message
    assert findings(pod("{capabilities: {add: [CHOWN, NET_BIND_SERVICE]}}"), "SEC-CAP-ADD-NONBASELINE") == []
    assert len(findings(pod("{capabilities: {add: [cap_sys_admin]}}"), "SEC-CAP-ADD-DANGEROUS")) == 1


def test_pod_level_windows_host_process_is_reported_at_the_pod():
    text = pod("{windowsOptions: {runAsUserName: app}}",
               "\n  securityContext:\n    windowsOptions: {hostProcess: true}")
    assert where(findings(text, "SEC-WIN-HOSTPROCESS")) == [
        ("Pod/p", "spec.securityContext.windowsOptions.hostProcess", at(text, "hostProcess: true"))]
    assert findings(text.replace("hostProcess: true", "hostProcess: false"), "SEC-WIN-HOSTPROCESS") == []


def test_unmasked_proc_mount_in_a_user_namespace_is_baseline_but_not_restricted():
    text = pod("{procMount: Unmasked}", "\n  hostUsers: false")
    assert findings(text, "SEC-PROC-MOUNT") == []
    assert where(findings(text, "SEC-PROC-MOUNT-RESTRICTED")) == [
        ("Pod/p", "spec.containers[0].securityContext.procMount", at(text, "procMount"))]
    host_users = pod("{procMount: Unmasked}")
    assert len(findings(host_users, "SEC-PROC-MOUNT")) == 1
    assert findings(host_users, "SEC-PROC-MOUNT-RESTRICTED") == []
    pss_baseline = Config(checks=ChecksConfig(profile="pss-baseline"))
    assert findings(text, "SEC-PROC-MOUNT-RESTRICTED", pss_baseline) == []


def test_newer_safe_sysctls_are_allowed():
    names = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
             "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
             "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
             "net.ipv4.tcp_keepalive_probes"]
    entries = ", ".join(f"{{name: {n}, value: '1'}}" for n in names + ["kernel.sem"])
    text = pod("{}", f"\n  securityContext:\n    sysctls: [{entries}]")
    assert where(findings(text, "SEC-SYSCTLS")) == [
        ("Pod/p", f"spec.securityContext.sysctls[{len(names)}]", at(text, "sysctls"))]


def test_a_windows_pod_is_exempt_from_the_linux_only_restricted_controls():
    linux_only = ("SEC-PRIV-ESCALATION", "SEC-SECCOMP-REQUIRED", "SEC-CAP-DROP-ALL", "SEC-CAP-ADD-ANY",
                  "SEC-PROC-MOUNT-RESTRICTED")
    linux = pod("{capabilities: {add: [NET_RAW]}, procMount: Unmasked}", "\n  hostUsers: false")
    windows = pod("{capabilities: {add: [NET_RAW]}, procMount: Unmasked}", "\n  hostUsers: false\n  os: {name: windows}")
    for check_id in linux_only:
        assert findings(linux, check_id), check_id
        assert findings(windows, check_id) == [], check_id
    assert findings(windows, "SEC-RUN-AS-NON-ROOT")  # not Linux-only: still required


# --- suppressions -----------------------------------------------------------------------------------------

def test_checkov_skip_forms_added_by_the_change_are_lifted():
    from tools.policy_changes import unhonoured_suppressions

    base_text = """apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers: [{name: c, image: web:latest}]
"""
    for key in ("checkov.io/skip1", "bridgecrew.io/skip1", "cortex.io/skip3"):
        head_text = base_text.replace("namespace: shop}", f"namespace: shop, annotations: {{{key}: CKV_K8S_14=ok}}}}")
        head, _ = load_manifest_text(head_text, "k8s/app.yaml")
        base, _ = load_manifest_text(base_text, "k8s/app.yaml")
        found = [f for f in run_checks(head, STRICT) if f.check_id == "SEC-IMAGE-TAG"]
        assert [(f.suppressed, f.suppression_reason) for f in found] == [(True, f"{key}: CKV_K8S_14=ok")]
        lifted = unhonoured_suppressions(found, head, base, {"k8s/app.yaml"})
        assert [f.suppressed for f in lifted] == [False] and "not honoured" in lifted[0].message
        kept = unhonoured_suppressions(found, head, head, {"k8s/app.yaml"})  # already in the base
        assert [f.suppressed for f in kept] == [True]


# --- API validity -----------------------------------------------------------------------------------------

def engine_findings(tmp_path, text: str) -> list:
    from tools.engine import check_paths

    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(text, encoding="utf-8")
    return check_paths(tmp_path, [], STRICT).findings


API_TEXT = """apiVersion: v1
kind: Deployment
metadata: {name: a, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: c, image: web:latest}]
---
apiVersion: apps/v1beta3
kind: Deployment
metadata: {name: b, namespace: shop}
spec: {}
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: c, namespace: shop}
spec: {}
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: d, namespace: shop}
"""


def test_a_wrong_api_version_on_a_built_in_kind_is_an_error_and_stops_the_other_checks(tmp_path):
    found = engine_findings(tmp_path, API_TEXT)
    wrong = [f for f in found if f.check_id == "SCH-API-VERSION"]
    assert sorted((f.resource.name, f.field, f.line, f.severity.value) for f in wrong) == [
        ("a", "apiVersion", at(API_TEXT, "apiVersion: v1"), "high"),
        ("b", "apiVersion", at(API_TEXT, "apiVersion: apps/v1beta3"), "high")]
    assert "apps/v1" in wrong[0].message
    assert {f.check_id for f in found if f.resource.name in ("a", "b")} == {"SCH-API-VERSION"}
    assert not [f for f in found if f.resource.name == "d" and f.check_id == "SCH-API-VERSION"]  # custom group


def test_a_removed_api_version_is_reported_once(tmp_path):
    found = [f for f in engine_findings(tmp_path, API_TEXT) if f.resource.name == "c" and f.check_id.startswith("SCH-")]
    assert [(f.check_id, f.field, f.line) for f in found] == [
        ("SCH-DEPRECATED-API", "apiVersion", at(API_TEXT, "apiVersion: extensions/v1beta1"))]


# --- PodDisruptionBudgets and key references --------------------------------------------------------------

def workload(replicas: int, extra: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: app
          image: app:1.0{extra}
"""


PDB = """---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
"""


def test_a_pdb_for_every_workload_is_the_strict_profile_s_choice():
    single = workload(1)
    assert where(findings(single, "REL-PDB-EVERY-WORKLOAD")) == [
        ("Deployment/web", "spec.template.metadata.labels", at(single, "labels: {app: web}"))]
    assert findings(single, "REL-PDB-PRESENT") == []
    assert findings(single, "REL-PDB-EVERY-WORKLOAD", Config()) == []  # not in the default profile
    assert findings(workload(3), "REL-PDB-EVERY-WORKLOAD") == []  # REL-PDB-PRESENT's
    assert len(findings(workload(3), "REL-PDB-PRESENT")) == 1
    assert findings(single + PDB + "  maxUnavailable: 1\n", "REL-PDB-EVERY-WORKLOAD") == []


def test_a_pdb_min_available_percentage_is_evaluated_against_the_replicas():
    text = workload(3) + PDB + "  minAvailable: 80%\n"  # ceil(2.4) = 3 of 3
    found = findings(text, "REL-PDB-BLOCKS-EVICTION")
    assert where(found) == [("PodDisruptionBudget/web", "spec.minAvailable", at(text, "minAvailable"))]
    assert "= 3 pods" in found[0].message
    assert findings(workload(3) + PDB + "  minAvailable: 60%\n", "REL-PDB-BLOCKS-EVICTION") == []  # 2 of 3


SECRET = """---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {username: app}
"""


def test_a_missing_key_of_a_secret_in_the_set_is_reported():
    ref = "\n          env:\n            - name: DB_PASSWORD\n              valueFrom: {secretKeyRef: {name: db, key: password}}"
    text = workload(1, ref) + SECRET
    found = findings(text, "REL-ENV-REF-EXISTS")
    assert where(found) == [("Deployment/web", "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key",
                             at(text, "secretKeyRef"))]
    assert "'password'" in found[0].message
    assert findings(workload(1, ref.replace("password}", "password, optional: true}")) + SECRET,
                    "REL-ENV-REF-EXISTS") == []
    assert findings(workload(1, ref.replace("key: password", "key: username")) + SECRET, "REL-ENV-REF-EXISTS") == []
    other_ns = SECRET.replace("namespace: shop", "namespace: other")
    assert findings(workload(1, ref) + other_ns, "REL-ENV-REF-EXISTS") == []  # the Secret is not in the set


# --- Lists ------------------------------------------------------------------------------------------------

def test_lists_nested_in_lists_are_read_with_their_items_locations():
    text = """apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: plain, namespace: shop}
  - apiVersion: apps/v1
    kind: DeploymentList
    items:
      - apiVersion: apps/v1
        kind: Deployment
        metadata: {name: inner, namespace: shop}
        spec:
          template:
            spec:
              containers:
                - name: app
                  image: app:latest
"""
    objects, problems = load_manifest_text(text, "k8s/app.yaml")
    assert problems == []
    assert [(o.kind, o.name, o.line) for o in objects] == [
        ("ConfigMap", "plain", at(text, "- apiVersion: v1")),
        ("Deployment", "inner", at(text, "- apiVersion: apps/v1", 1))]
    assert where(findings(text, "SEC-IMAGE-TAG")) == [
        ("Deployment/inner", "spec.template.spec.containers[0].image", at(text, "image: app:latest"))]


def test_an_hpa_s_min_replicas_decides_which_pdb_check_applies():
    hpa = """---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
"""
    text = workload(1).replace("  replicas: 1\n", "") + hpa
    assert findings(text, "REL-PDB-EVERY-WORKLOAD") == []
    assert len(findings(text, "REL-PDB-PRESENT")) == 1


# --- Phase IV checks from real repositories ---------------------------------------------------------------

def test_a_read_write_once_claim_shared_by_replicas():
    claim = """---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""
    volumes = "\n      volumes:\n        - name: data\n          persistentVolumeClaim: {claimName: data}"
    text = workload(3, "") .rstrip("\n") + volumes + "\n" + claim
    assert where(findings(text, "REL-RWO-PVC-SHARED")) == [
        ("Deployment/web", "spec.template.spec.volumes[0].persistentVolumeClaim.claimName",
         at(text, "persistentVolumeClaim: {claimName"))]
    single = workload(1).rstrip("\n") + volumes + "\n" + claim
    assert findings(single, "REL-RWO-PVC-SHARED") == []
    assert findings(text.replace("[ReadWriteOnce]", "[ReadWriteMany]"), "REL-RWO-PVC-SHARED") == []
    assert findings(workload(3).rstrip("\n") + volumes + "\n", "REL-RWO-PVC-SHARED") == []  # claim not in set


def test_image_pull_policy_never_outside_the_local_profile():
    text = workload(1, "\n          imagePullPolicy: Never")
    assert where(findings(text, "REL-IMAGE-PULL-NEVER", Config())) == [
        ("Deployment/web", "spec.template.spec.containers[0].imagePullPolicy", at(text, "imagePullPolicy"))]
    assert findings(text, "REL-IMAGE-PULL-NEVER", Config(checks=ChecksConfig(profile="local"))) == []
    assert findings(workload(1, "\n          imagePullPolicy: IfNotPresent"), "REL-IMAGE-PULL-NEVER") == []


def test_a_slow_starting_container_without_a_startup_probe():
    probe = "\n          livenessProbe:\n            httpGet: {path: /healthz, port: 8080}\n            initialDelaySeconds: 45"
    text = workload(1, probe)
    found = findings(text, "REL-STARTUP-PROBE", Config())
    assert where(found) == [("Deployment/web", "spec.template.spec.containers[0].livenessProbe.initialDelaySeconds",
                             at(text, "initialDelaySeconds"))]
    assert found[0].severity.value == "low"
    jvm = workload(1, "\n          livenessProbe: {httpGet: {path: /h, port: 8080}}").replace(
        "image: app:1.0", "image: eclipse-temurin:21-jre")
    assert where(findings(jvm, "REL-STARTUP-PROBE")) == [
        ("Deployment/web", "spec.template.spec.containers[0].image", at(jvm, "image: eclipse-temurin"))]
    assert findings(text.replace("45", "15"), "REL-STARTUP-PROBE") == []
    assert findings(text + "", "REL-STARTUP-PROBE") and findings(
        workload(1, probe + "\n          startupProbe: {httpGet: {path: /healthz, port: 8080}}"),
        "REL-STARTUP-PROBE") == []
    assert findings(workload(1).replace("image: app:1.0", "image: eclipse-temurin:21-jre"),
                    "REL-STARTUP-PROBE") == []  # no liveness probe to kill a slow start


def test_a_rollout_that_takes_down_half_the_replicas():
    def rollout(replicas: int, value: str) -> str:
        return workload(replicas).replace(
            "  selector:", f"  strategy:\n    rollingUpdate: {{maxUnavailable: {value}}}\n  selector:")
    text = rollout(4, "2")
    assert where(findings(text, "REL-ROLLOUT-HALF-DOWN", Config())) == [
        ("Deployment/web", "spec.strategy.rollingUpdate.maxUnavailable", at(text, "maxUnavailable"))]
    assert len(findings(rollout(4, "50%"), "REL-ROLLOUT-HALF-DOWN")) == 1
    assert findings(rollout(4, "1"), "REL-ROLLOUT-HALF-DOWN") == []
    assert findings(rollout(4, "25%"), "REL-ROLLOUT-HALF-DOWN") == []
    assert findings(rollout(1, "1"), "REL-ROLLOUT-HALF-DOWN") == []  # one replica: nothing to keep serving
    assert findings(workload(4), "REL-ROLLOUT-HALF-DOWN") == []  # the default (25%) is not reported


def test_an_ingress_for_localhost():
    text = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
    - host: shop.example.com
    - host: localhost
"""
    assert where(findings(text, "REL-INGRESS-LOCALHOST", Config())) == [
        ("Ingress/web", "spec.rules[1].host", at(text, "host: localhost"))]
    assert findings(text, "REL-INGRESS-LOCALHOST", Config(checks=ChecksConfig(profile="local"))) == []
    assert findings(text.replace("localhost", "todo.local"), "REL-INGRESS-LOCALHOST") == []


def test_a_hard_coded_namespace_in_a_helm_template():
    from tools.helmnamespace import hardcoded_namespaces

    template = """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  namespace: shop
  labels:
    namespace: not-this-one
spec:
  selector: {app: web}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: b
  namespace: {{ .Release.Namespace }}
subjects:
  - kind: ServiceAccount
    name: web
    namespace: ops
"""
    assert hardcoded_namespaces(template) == [(at(template, "namespace: shop"), 3, "shop")]


def test_the_engine_reports_a_hard_coded_helm_namespace_at_the_template_line(tmp_path):
    from tools.engine import check_paths

    chart = tmp_path / "helm" / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n", encoding="utf-8")
    (chart / "values.yaml").write_text("image: web:1.0\n", encoding="utf-8")
    template = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: shop\n"
                "data:\n  image: {{ .Values.image | quote }}\n")
    (chart / "templates" / "cm.yaml").write_text(template, encoding="utf-8")
    found = [f for f in check_paths(tmp_path, [], Config()).findings if f.check_id == "HELM-HARDCODED-NAMESPACE"]
    assert [(f.file, f.line, f.field) for f in found] == [("helm/web/templates/cm.yaml", 5, "metadata.namespace")]
    assert ".Release.Namespace" in found[0].remediation
    (chart / "templates" / "cm.yaml").write_text(template.replace("namespace: shop",
                                                                  "namespace: {{ .Release.Namespace }}"))
    assert not [f for f in check_paths(tmp_path, [], Config()).findings if f.check_id == "HELM-HARDCODED-NAMESPACE"]
