"""Findings point at the field they are about: its path, line and column (tools/fieldpath.py, the loader's marks,
every check family, the runner's fallback to the closest parent, the output formats and the bundled example).

Expected positions are found in the YAML text by searching for the offending key, never counted by hand.
"""

from __future__ import annotations

import json

import pytest
from clirun import ROOT, invoke

from core.config import ChecksConfig, Config
from core.models import Category, Decision, Finding, Severity, SummaryStatus
from core.render import render_markdown
from tools import fieldpath
from tools.checks import run_checks, run_diff_checks, run_dockerfile_checks
from tools.manifests import load_manifest_text

APP = """# a multi-document file: the first object does not start on line 1
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        prometheus.io/port: "9999"
    spec:
      hostPID: true
      topologySpreadConstraints:
        - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
      containers:
        - name: web
          image: web:latest
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_PASSWORD
              value: hunter2-hunter2
            - name: API_URL
              valueFrom: {secretKeyRef: {name: missing-secret, key: url}}
          securityContext:
            privileged: true
            capabilities:
              add: [NET_BIND_SERVICE, SYS_ADMIN]
          ports:
            - containerPort: 8080
      volumes:
        - name: host
          hostPath: {path: /etc}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: wbe}
  ports: [{port: 80}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata: {name: ops, namespace: shop}
    rules:
      - apiGroups: [""]
        resources: [pods]
        verbs: ["*"]
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
    data:
      db.password: correct-horse-battery
---
apiVersion: v1
kind: Secret
metadata: {name: other, namespace: shop}
stringData: {token: abc}
"""


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def findings(text: str = APP, *checks: str) -> dict[str, list[Finding]]:
    objects, problems = load_manifest_text(text, "k8s/app.yaml")
    assert not problems
    config = Config(checks=ChecksConfig(enabled=list(checks))) if checks else \
        Config(checks=ChecksConfig(profile="strict"))
    out: dict[str, list[Finding]] = {}
    for f in run_checks(objects, config):
        out.setdefault(f.check_id, []).append(f)
    return out


def one(found: dict[str, list[Finding]], check_id: str) -> Finding:
    [f] = found[check_id]
    return f


# --- field paths and marks --------------------------------------------------------------------------------


def test_paths_quote_keys_that_are_not_plain_names_and_round_trip():
    path = fieldpath.key(fieldpath.item("spec.containers", 1), "image")
    assert path == "spec.containers[1].image"
    annotation = fieldpath.key("metadata.annotations", "prometheus.io/port")
    assert annotation == 'metadata.annotations["prometheus.io/port"]'
    for p in (path, annotation, "data.ephemeral-storage", '["a b"][0].c'):
        assert fieldpath.build(fieldpath.segments(p)) == p
    assert fieldpath.parent(annotation) == "metadata.annotations"
    assert fieldpath.parent(path) == "spec.containers[1]" and fieldpath.parent("kind") == ""
    assert fieldpath.parent("") is None


def test_marks_are_absolute_lines_in_multi_document_files_and_relative_paths_in_list_items():
    objects, _ = load_manifest_text(APP, "k8s/app.yaml")
    deployment, hpa, service, role, configmap, secret = objects
    assert deployment.line == 2 and deployment.marks[""] == (2, 1)
    assert deployment.marks["spec.template.spec.containers[0].image"] == at(APP, "image: web:latest")
    assert deployment.marks["spec.template.spec.containers[0]"] == at(APP, "name: web\n          image")
    assert hpa.marks["spec.minReplicas"] == at(APP, "minReplicas")
    # List items: paths start at the item, lines count from the file
    assert role.kind == "Role" and role.marks["rules[0].verbs"] == at(APP, "verbs")
    assert configmap.marks['data["db.password"]'] == at(APP, "db.password")
    assert role.line == at(APP, "apiVersion: rbac")[0]


def test_merge_keys_mark_the_anchor_unless_the_mapping_sets_the_key():
    text = """apiVersion: v1
kind: ConfigMap
metadata:
  name: a
base: &base
  x: 1
  y: 2
data:
  <<: *base
  y: "3"
"""
    [obj], _ = load_manifest_text(text, "k8s/m.yaml")
    assert obj.marks["data.x"] == at(text, "x: 1") and obj.marks["data.y"] == at(text, 'y: "3"')


def test_locate_falls_back_to_the_closest_existing_parent():
    marks = {"": (1, 1), "spec": (4, 1), "spec.template.spec.containers[0]": (9, 11)}
    path = "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem"
    assert fieldpath.locate(marks, path) == ("spec.template.spec.containers[0]", (9, 11))
    assert fieldpath.locate(marks, "spec") == ("spec", (4, 1))
    assert fieldpath.locate({}, path) == (None, None)
    assert fieldpath.missing_part(path, "spec.template.spec.containers[0]") == \
        "securityContext.readOnlyRootFilesystem"


# --- every check family points at the field ---------------------------------------------------------------

CONTAINER = "spec.template.spec.containers[0]"
POD = "spec.template.spec"
EXPECTED = {  # check id -> (field, needle whose position the finding must have)
    "SEC-IMAGE-TAG": (f"{CONTAINER}.image", "image: web:latest"),                       # workload
    "SEC-PRIVILEGED": (f"{CONTAINER}.securityContext.privileged", "privileged: true"),
    "SEC-SECRET-ENV-LITERAL": (f"{CONTAINER}.env[1].value", "value: hunter2"),          # secrets
    "SEC-HOST-PID": (f"{POD}.hostPID", "hostPID"),                                      # pss
    "SEC-CAP-ADD-DANGEROUS": (f"{CONTAINER}.securityContext.capabilities.add[1]", "SYS_ADMIN"),
    "SEC-HOSTPATH-SENSITIVE": (f"{POD}.volumes[0].hostPath.path", "path: /etc"),        # hardening
    "REL-TOPOLOGY-SPREAD": (f"{POD}.topologySpreadConstraints[0].maxSkew", "maxSkew"),  # reliability
    "REL-HPA-MIN-REPLICAS": ("spec.minReplicas", "minReplicas"),
    "REL-HPA-STATIC-REPLICAS": ("spec.replicas", "replicas: 3"),                        # autoscaling (set)
    "OBS-METRICS-PORT": ('spec.template.metadata.annotations["prometheus.io/port"]', "prometheus.io/port"),
    "SEC-EXPOSED-SERVICE": ("spec.type", "type: NodePort"),                              # network
    "REL-SERVICE-TARGET": ("spec.selector", "selector: {app: wbe}"),                     # crossobject
    "RBAC-WILDCARD": ("rules[0].verbs", "verbs"),                                        # rbac (in a List)
    "SEC-SECRET-IN-CONFIGMAP": ('data["db.password"]', "db.password"),                  # secrets (in a List)
    "SEC-SECRET-COMMITTED": ("stringData", "stringData"),
    "REL-ENV-REF-EXISTS": (f"{CONTAINER}.env[2].valueFrom.secretKeyRef.name", "name: missing-secret"),
}


@pytest.mark.parametrize("check_id", list(EXPECTED))
def test_each_family_reports_the_offending_field_with_its_line_and_column(check_id):
    field, needle = EXPECTED[check_id]
    f = one(findings(APP, check_id), check_id)
    assert f.field == field
    assert (f.line, f.column) == at(APP, needle)
    assert f.object_line is not None and f.object_line <= f.line
    assert f.location() == f"k8s/app.yaml:{f.line}:{f.column}"


def test_a_missing_field_points_at_its_closest_parent_and_says_what_to_add():
    found = findings(APP, "REL-LIVENESS-PROBE", "SEC-READONLY-ROOTFS", "REL-CPU-REQUEST", "OBS-OWNER-LABEL")
    probe = one(found, "REL-LIVENESS-PROBE")
    assert probe.field == f"{CONTAINER}.livenessProbe"
    assert (probe.line, probe.column) == at(APP, "name: web\n          image")  # the container's "- name:" line
    assert probe.remediation.endswith(f"Add `livenessProbe` under `{CONTAINER}`.")
    rootfs = one(found, "SEC-READONLY-ROOTFS")
    assert (rootfs.line, rootfs.column) == at(APP, "securityContext:\n            privileged")
    assert rootfs.remediation.endswith(f"Add `readOnlyRootFilesystem` under `{CONTAINER}.securityContext`.")
    cpu = one(found, "REL-CPU-REQUEST")
    assert cpu.field == f"{CONTAINER}.resources.requests.cpu"
    assert "Add `resources.requests.cpu` under" in cpu.remediation
    owner = [f for f in found["OBS-OWNER-LABEL"] if f.resource.kind == "Deployment"][0]
    assert owner.line == at(APP, "metadata:\n  name: web")[0] and owner.field == "metadata.labels.owner"


def test_pod_level_settings_a_container_inherits_point_at_the_pod():
    text = APP.replace("      hostPID: true\n", "      hostPID: true\n      securityContext: {runAsUser: 0}\n")
    found = findings(text, "SEC-RUN-AS-USER-ZERO", "SEC-HIGH-UID-GID")
    assert one(found, "SEC-RUN-AS-USER-ZERO").field == f"{POD}.securityContext.runAsUser"
    uid = next(f for f in found["SEC-HIGH-UID-GID"] if "runAsUser" in f.message)
    assert uid.field == f"{POD}.securityContext.runAsUser" and uid.line == at(text, "runAsUser: 0")[0]


def test_destructive_changes_point_at_the_changed_field_of_the_new_version():
    base = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\nspec:\n  serviceName: db\n"
    head = base.replace("serviceName: db", "replicas: 1\n  serviceName: db-headless")
    found = run_diff_checks(load_manifest_text(base, "k8s/db.yaml")[0], load_manifest_text(head, "k8s/db.yaml")[0])
    [immutable] = [f for f in found if f.check_id == "DESTRUCT-IMMUTABLE"]
    assert (immutable.field, immutable.line, immutable.column) == ("spec.serviceName", *at(head, "serviceName"))
    removed = run_diff_checks(load_manifest_text(base, "k8s/db.yaml")[0], [])
    assert [(f.field, f.line) for f in removed if f.check_id == "DESTRUCT-REMOVED"] == [("kind", 2)]


def test_dockerfile_findings_carry_the_instruction_column_and_keyword():
    text = "FROM python:3.12-slim\nWORKDIR /app\n  USER root\nCMD python app.py\n"
    found = {f.check_id: f for f in run_dockerfile_checks(text, "Dockerfile")}
    assert (found["DOCKER-USER-ROOT"].line, found["DOCKER-USER-ROOT"].column) == (3, 3)
    assert found["DOCKER-USER-ROOT"].field == "USER" and found["DOCKER-SHELL-FORM"].field == "CMD"
    assert found["DOCKER-USER-ROOT"].location() == "Dockerfile:3:3"


def test_every_kubernetes_finding_of_the_strict_profile_carries_a_field_at_a_recorded_key():
    objects, _ = load_manifest_text(APP, "k8s/app.yaml")
    lines = APP.split("\n")
    for f in run_checks(objects, Config(checks=ChecksConfig(profile="strict"))):
        assert f.field and f.column, f
        last = fieldpath.segments(f.field)[-1]
        text = lines[f.line - 1][f.column - 1:]
        existing = fieldpath.locate(next(o for o in objects if o.ref() == f.resource).marks, f.field)[0]
        if existing == f.field and isinstance(last, str):
            assert text.startswith((last, f'"{last}"')), (f.check_id, f.field, text)


# --- output formats and the bundled example ---------------------------------------------------------------


def test_check_text_json_and_markdown_carry_line_column_and_field(tmp_path, monkeypatch):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(APP)
    monkeypatch.chdir(tmp_path)
    line, column = at(APP, "image: web:latest")
    text = invoke("check", "k8s/app.yaml").stdout
    assert f"k8s/app.yaml:{line}:{column}: high SEC-IMAGE-TAG container 'web' image 'web:latest'" in text
    data = json.loads(invoke("check", "k8s/app.yaml", "--format", "json").stdout)
    tag = next(f for f in data["findings"] if f["check_id"] == "SEC-IMAGE-TAG")
    assert (tag["line"], tag["column"], tag["field"], tag["object_line"]) == (line, column, f"{CONTAINER}.image", 2)
    summary = SummaryStatus(status="PASS")
    decision = Decision(outcome="REJECTED", kind="change", spec_kit_compliance=summary, phase3_protection=summary,
                        k8s_best_practices=summary, agent_coordination=summary,
                        findings=[Finding(check_id="SEC-IMAGE-TAG", severity=Severity.high, category=Category.security,
                                          message="m", file="k8s/app.yaml", line=line, column=column,
                                          field=f"{CONTAINER}.image")])
    assert f"- k8s/app.yaml:{line}:{column}: high SEC-IMAGE-TAG m (`{CONTAINER}.image`)" in render_markdown(decision)


def test_the_example_reports_the_secret_literal_and_the_image_on_their_own_lines():
    example = ROOT / "examples" / "todo-phase-iv"
    text = (example / "k8s" / "backend-deployment.yaml").read_text(encoding="utf-8")
    data = json.loads(invoke("check", str(example), "--format", "json").stdout)
    by_id = {(f["check_id"], f["file"]): f for f in data["findings"]}
    secret = by_id[("SEC-SECRET-ENV-LITERAL", "examples/todo-phase-iv/k8s/backend-deployment.yaml")]
    value_line = at(text, "OPENAI_API_KEY")[0] + 1
    assert secret["line"] == value_line and secret["field"].endswith(".value")
    assert text.split("\n")[value_line - 1].strip().startswith("value:")
    image = by_id[("SEC-IMAGE-TAG", "examples/todo-phase-iv/k8s/backend-deployment.yaml")]
    assert (image["line"], image["column"]) == at(text, "image: todo-backend:latest")
    assert image["field"] == f"{CONTAINER}.image" and image["object_line"] == 1
