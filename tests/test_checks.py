"""The check registry and the core Kubernetes checks.

Every registered check must have ``tests/fixtures/checks/<ID>/pass.yaml`` and ``fail.yaml``: it must fire on
the fail fixture and stay silent on the pass fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ChecksConfig, Config
from core.models import Category, K8sObject, Severity
from tools.catalog import PEER_TOOLS
from tools.checks import CHECK_ERROR_ID, CheckSpec, core, registry, run_checks, run_diff_checks, run_dockerfile_checks
from tools.manifests import load_manifest_text, load_manifests

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
CHECK_IDS = [spec.id for spec in registry()]
REQUIRED_IDS = {
    "SEC-IMAGE-TAG", "REL-CPU-REQUEST", "REL-MEM-REQUEST", "REL-MEM-LIMIT", "REL-LIVENESS-PROBE",
    "REL-READINESS-PROBE", "SEC-RUN-AS-NON-ROOT", "SEC-PRIV-ESCALATION", "SEC-PRIVILEGED", "SEC-HOSTPATH-ANY",
    "SEC-SECRET-ENV-LITERAL", "SEC-SECRET-COMMITTED", "SEC-DEFAULT-NAMESPACE", "REL-SERVICE-TARGET",
    "SEC-NETPOL-COVERAGE",
}


def load(text: str) -> list[K8sObject]:
    objects, findings = load_manifest_text(text, "k8s/test.yaml")
    assert findings == []
    return objects


def fired(objects: list[K8sObject], check_id: str, config: Config | None = None) -> list:
    return [f for f in run_checks(objects, config) if f.check_id == check_id]


def deployment(container: str, pod_security: str = "{runAsNonRoot: true}", init: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      securityContext: {pod_security}
      containers:
        - {container}
{init}"""


# --- registry ---------------------------------------------------------------------------------------------


def test_registry_has_the_required_checks_with_complete_metadata():
    assert REQUIRED_IDS <= set(CHECK_IDS)
    assert len(CHECK_IDS) == len(set(CHECK_IDS))
    for spec in registry():
        assert spec.title and spec.description and spec.remediation, spec.id
        assert spec.scope in core.SCOPES and spec.pss in (None, "baseline", "restricted")
        assert isinstance(spec.category, Category) and isinstance(spec.severity, Severity)
        assert set(spec.peers) <= set(PEER_TOOLS), spec.id
        assert isinstance(spec.default_enabled, bool) and (spec.kinds is None or spec.scope == "object")


def test_every_fixture_directory_belongs_to_a_registered_check():
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(CHECK_IDS)


FIXTURE_FILES = {
    "object": ("pass.yaml", "fail.yaml"),
    "set": ("pass.yaml", "fail.yaml"),
    "dockerfile": ("pass.Dockerfile", "fail.Dockerfile"),
    "diff": ("base.yaml", "pass.yaml", "fail.yaml"),  # pass.yaml and fail.yaml are heads compared to base.yaml
}


def spec_of(check_id: str) -> CheckSpec:
    return next(s for s in registry() if s.id == check_id)


def only(check_id: str) -> Config:
    """A config running just ``check_id`` (whatever its profile membership)."""
    return Config(checks=ChecksConfig(enabled=[check_id]))


def fixture_objects(check_id: str, name: str) -> list[K8sObject]:
    objects, problems = load_manifests(FIXTURES, [f"{check_id}/{name}"])
    assert problems == [], problems
    return objects


def read_fixture(rel: str) -> str | None:
    """The build context of a Dockerfile fixture: the files beside it in its check's directory."""
    path = FIXTURES / rel
    return path.read_text(encoding="utf-8") if path.is_file() else None


def fixture_findings(spec: CheckSpec, kind: str) -> list:
    """Findings of ``spec`` on its ``kind`` (pass/fail) fixture, run through the runner of its scope."""
    if spec.scope == "dockerfile":
        path = FIXTURES / spec.id / f"{kind}.Dockerfile"
        found = run_dockerfile_checks(path.read_text(encoding="utf-8"), f"{spec.id}/{path.name}", only(spec.id),
                                      read_fixture)
    elif spec.scope == "diff":
        base = fixture_objects(spec.id, "base.yaml")
        found = run_diff_checks(base, fixture_objects(spec.id, f"{kind}.yaml"), only(spec.id))
    else:
        found = run_checks(fixture_objects(spec.id, f"{kind}.yaml"), only(spec.id))
    return [f for f in found if f.check_id == spec.id]


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check_fires_on_fail_fixture_and_not_on_pass_fixture(check_id):
    spec = spec_of(check_id)
    for name in FIXTURE_FILES[spec.scope]:
        assert (FIXTURES / check_id / name).is_file(), f"{check_id} ({spec.scope} check) needs a {name} fixture"
    hits = fixture_findings(spec, "fail")
    assert hits, f"{check_id} did not fire on its fail fixture"
    for hit in hits:
        assert (hit.severity, hit.category) == (spec.severity, spec.category)
        assert hit.remediation.startswith(spec.remediation)  # a missing field's finding says where to add it
        # a diff finding may point at the base object (e.g. a removed one)
        allowed = {f"{check_id}/{name}" for name in FIXTURE_FILES[spec.scope] if name != "pass.yaml"}
        assert hit.file in allowed and hit.line, hit
        assert hit.resource.kind or spec.scope == "dockerfile"
        assert not hit.suppressed
    assert fixture_findings(spec, "pass") == [], f"{check_id} fired on its pass fixture"


# --- targeted behaviour ----------------------------------------------------------------------------------


def test_init_container_without_resources_is_flagged():
    init = """      initContainers:
        - {name: migrate, image: "migrate:1.0"}
"""
    objects = load(deployment('{name: app, image: "app:1.0", resources: {requests: {cpu: 1, memory: 1Gi}, '
                              'limits: {memory: 1Gi}}}', init=init))
    expected = {"REL-CPU-REQUEST": "cpu request", "REL-MEM-REQUEST": "memory request", "REL-MEM-LIMIT": "memory limit"}
    for check_id, missing in expected.items():
        assert [f.message for f in fired(objects, check_id)] == [f"init container 'migrate' has no {missing}"]
    # probes are for long-running containers only, never init containers
    probe_messages = [f.message for c in ("REL-LIVENESS-PROBE", "REL-READINESS-PROBE") for f in fired(objects, c)]
    assert len(probe_messages) == 2 and not any("migrate" in m for m in probe_messages)


def test_container_security_context_overrides_the_pod():
    overridden = load(deployment('{name: app, image: "app:1.0", securityContext: {runAsNonRoot: false}}'))
    assert [f.message for f in fired(overridden, "SEC-RUN-AS-NON-ROOT")] == [
        "container 'app' may run as root: neither runAsNonRoot: true nor a runAsUser > 0 applies"]
    inherited = load(deployment('{name: app, image: "app:1.0"}'))
    assert fired(inherited, "SEC-RUN-AS-NON-ROOT") == []
    container_only = load(deployment('{name: app, image: "app:1.0", securityContext: {runAsUser: 1000}}', "{}"))
    assert fired(container_only, "SEC-RUN-AS-NON-ROOT") == []


def test_pod_level_allow_privilege_escalation_is_not_inherited():
    # allowPrivilegeEscalation exists only on containers; a pod-level value is ignored by the kubelet
    objects = load(deployment('{name: app, image: "app:1.0"}', "{allowPrivilegeEscalation: false}"))
    assert len(fired(objects, "SEC-PRIV-ESCALATION")) == 1


@pytest.mark.parametrize(("image", "fires"), [
    ("nginx@sha256:" + "0" * 64, False),
    ("nginx:latest@sha256:" + "0" * 64, False),
    ("registry:5000/team/app:1.2.3", False),
    ("registry:5000/team/app", True),
    ("nginx:latest", True),
])
def test_image_tag_rules(image, fires):
    objects = load(deployment(f'{{name: app, image: "{image}"}}'))
    assert bool(fired(objects, "SEC-IMAGE-TAG")) is fires


@pytest.mark.parametrize(("name", "value", "fires"), [
    ("API_KEY", "abc123", True),
    ("GITHUB_TOKEN", "ghp_x", True),
    ("REDIS_URL", "redis://app:pw@cache:6379", True),
    ("REDIS_URL", "redis://app:$(REDIS_PASSWORD)@cache:6379", False),
    ("DB_PASSWORD", "$(OTHER_VAR)", False),
    ("DB_PASSWORD_FILE", "/run/secrets/db", False),
    ("DB_PASSWORD", "", False),
    ("LOG_LEVEL", "debug", False),
])
def test_secret_env_literal_rules(name, value, fires):
    objects = load(deployment(f'{{name: app, image: "app:1.0", env: [{{name: {name}, value: "{value}"}}]}}'))
    assert bool(fired(objects, "SEC-SECRET-ENV-LITERAL")) is fires


def test_secret_values_never_appear_in_messages():
    secrets = ["hunter2-do-not-leak", "s3cr3t-do-not-leak", "aHVudGVyMg=="]
    objects = []
    for check_id in ("SEC-SECRET-ENV-LITERAL", "SEC-SECRET-COMMITTED"):
        found, _ = load_manifests(FIXTURES, [f"{check_id}/fail.yaml"])
        objects += found
    findings = run_checks(objects)
    assert {"SEC-SECRET-ENV-LITERAL", "SEC-SECRET-COMMITTED"} <= {f.check_id for f in findings}
    for finding in findings:
        text = finding.model_dump_json()
        assert not any(secret in text for secret in secrets), finding.check_id


def test_malformed_object_does_not_raise():
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: odd}\nspec:\n  template:\n    spec:\n"
            "      containers: not-a-list\n      volumes: [3, {hostPath: nope}]\n      securityContext: []\n")
    findings = run_checks(load(text) + load("apiVersion: v1\nkind: Service\nspec: {selector: [1]}\n"))
    assert all(f.check_id != CHECK_ERROR_ID for f in findings)
    assert {f.check_id for f in findings} == {"SEC-NETPOL-COVERAGE", "SEC-SA-TOKEN-AUTOMOUNT",
                                              "SEC-RESTRICTED-VOLUMES", "OBS-RECOMMENDED-LABELS"}


def test_a_crashing_check_becomes_a_finding(monkeypatch):
    def boom(obj):
        raise KeyError("spec")

    spec = CheckSpec(id="TEST-BOOM", category=Category.security, severity=Severity.high, title="t",
                     description="d", remediation="r", fn=boom)
    monkeypatch.setitem(core._REGISTRY, spec.id, spec)
    objects = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n")
    errors = [f for f in run_checks(objects) if f.check_id == CHECK_ERROR_ID]
    assert len(errors) == 1
    assert "TEST-BOOM" in errors[0].message and "ConfigMap shop/cfg" in errors[0].message
    assert (errors[0].severity, errors[0].category, errors[0].line) == (Severity.info, Category.schema, 1)


def test_enabled_and_disabled_config():
    objects, _ = load_manifests(FIXTURES, ["SEC-PRIVILEGED/fail.yaml", "SEC-IMAGE-TAG/fail.yaml"])
    everything = {f.check_id for f in run_checks(objects)}
    assert {"SEC-PRIVILEGED", "SEC-IMAGE-TAG"} <= everything
    only = Config(checks=ChecksConfig(enabled=["SEC-PRIVILEGED", "SEC-IMAGE-TAG"]))
    assert {f.check_id for f in run_checks(objects, only)} == {"SEC-PRIVILEGED", "SEC-IMAGE-TAG"}
    both = Config(checks=ChecksConfig(enabled=["SEC-PRIVILEGED", "SEC-IMAGE-TAG"], disabled=["SEC-IMAGE-TAG"]))
    assert {f.check_id for f in run_checks(objects, both)} == {"SEC-PRIVILEGED"}
    off = Config(checks=ChecksConfig(disabled=["SEC-PRIVILEGED"]))
    assert {f.check_id for f in run_checks(objects, off)} == everything - {"SEC-PRIVILEGED"}


def test_results_are_sorted_by_severity_first():
    objects, _ = load_manifests(FIXTURES, ["SEC-PRIVILEGED/fail.yaml", "REL-MEM-LIMIT/fail.yaml"])
    findings = run_checks(objects)
    assert findings == sorted(findings, key=lambda f: f.sort_key())
    assert findings[0].severity == Severity.critical


def test_cronjob_pod_spec_is_checked():
    text = """apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - {name: report, image: "report:1.0", securityContext: {privileged: true}}
"""
    assert [f.message for f in fired(load(text), "SEC-PRIVILEGED")] == ["container 'report' is privileged"]


def test_netpol_reports_each_uncovered_workload_once():
    objects, _ = load_manifests(FIXTURES, ["SEC-NETPOL-COVERAGE/fail.yaml"])
    objects += [o.model_copy(update={"name": "api"}) for o in objects if o.kind == "Deployment"]
    assert sorted(f.resource.name for f in fired(objects, "SEC-NETPOL-COVERAGE")) == ["api", "web"]
