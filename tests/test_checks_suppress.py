"""Suppression annotations (ours and the peers' aliases), applied by every runner; never dropped."""

from __future__ import annotations

import pytest

from core.config import ChecksConfig, Config
from core.models import Category, K8sObject, Severity
from tools.checks import CHECK_ERROR_ID, CheckSpec, core, run_checks, run_diff_checks, run_dockerfile_checks
from tools.manifests import load_manifest_text

POD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations: {OBJECT}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {TEMPLATE}
    spec:
      containers:
        - {name: app, image: "app:latest"}
        - {name: side, image: "side:latest"}
"""


def load(object_annotations: str = "{}", template_annotations: str = "{}") -> list[K8sObject]:
    text = POD.replace("{OBJECT}", object_annotations).replace("{TEMPLATE}", template_annotations)
    objects, findings = load_manifest_text(text, "k8s/web.yaml")
    assert findings == []
    return objects


def image_tag(objects: list[K8sObject], config: Config | None = None) -> list[tuple[str, bool, str | None]]:
    """(container, suppressed, reason) of every SEC-IMAGE-TAG finding."""
    return sorted((f.message.split("'")[1], f.suppressed, f.suppression_reason)
                  for f in run_checks(objects, config) if f.check_id == "SEC-IMAGE-TAG")


def test_without_annotations_nothing_is_suppressed():
    assert image_tag(load()) == [("app", False, None), ("side", False, None)]


@pytest.mark.parametrize("where", ["object", "template"])
def test_our_annotation_on_object_or_pod_template(where):
    annotation = '{infra-orchestrator.io/ignore: "SEC-IMAGE-TAG, SEC-READONLY-ROOTFS: pinned by Argo image updater"}'
    objects = load(annotation) if where == "object" else load(template_annotations=annotation)
    reason = "infra-orchestrator.io/ignore: pinned by Argo image updater"
    assert image_tag(objects) == [("app", True, reason), ("side", True, reason)]


def test_container_annotation_suppresses_only_that_container():
    objects = load('{infra-orchestrator.io/ignore.side: "SEC-IMAGE-TAG: vendor sidecar, tracked in OPS-12"}')
    assert image_tag(objects) == [
        ("app", False, None), ("side", True, "infra-orchestrator.io/ignore.side: vendor sidecar, tracked in OPS-12")]


def test_peer_ids_work_in_our_annotation():
    assert image_tag(load('{infra-orchestrator.io/ignore: "latest-tag: mirrored nightly"}'))[0][1] is True


@pytest.mark.parametrize("value", ['"SEC-IMAGE-TAG"', '"SEC-IMAGE-TAG:   "', '": a reason without ids"'])
def test_our_annotation_without_reason_or_ids_suppresses_nothing_and_says_so(value):
    objects = load(f"{{infra-orchestrator.io/ignore: {value}}}")
    assert all(not suppressed for _, suppressed, _ in image_tag(objects))
    notes = [f for f in run_checks(objects) if f.check_id == "SUPPRESS-NO-REASON"]
    assert len(notes) == 1 and notes[0].severity == Severity.info


@pytest.mark.parametrize("annotation", [
    '{ignore-check.kube-linter.io/latest-tag: "mirrored"}',
    '{kube-linter.io/ignore-all: "legacy"}',
    '{polaris.fairwinds.com/tagNotSpecified-exempt: "true"}',
    '{polaris.fairwinds.com/exempt: "true"}',
    '{checkov.io/skip1: "CKV_K8S_14=mirrored"}',
    '{checkov.io/skip7: "CKV_K8S_14"}',
    '{bridgecrew.io/skip1: "CKV_K8S_14=mirrored"}',
    '{cortex.io/skip2: "CKV_K8S_14"}',
    '{kube-score/ignore: "pod-probes, container-image-tag"}',
])
def test_peer_annotations_are_aliases(annotation):
    suppressed = image_tag(load(annotation))
    assert [s for _, s, _ in suppressed] == [True, True]
    assert all(reason for _, _, reason in suppressed)


@pytest.mark.parametrize("annotation", [
    '{ignore-check.kube-linter.io/run-as-non-root: "x"}',          # another check's id
    '{polaris.fairwinds.com/tagNotSpecified-exempt: "false"}',
    '{checkov.io/skip1: "CKV_K8S_140"}',                           # prefix of nothing: exact ids only
    '{example.io/skip1: "CKV_K8S_14"}',                            # not a checkov key
    '{kube-score/ignore: "pod-probes"}',
])
def test_peer_annotations_for_other_checks_do_not_suppress(annotation):
    assert all(not s for _, s, _ in image_tag(load(annotation)))


def test_unsuppressible_checks_ignore_annotations():
    objects = load('{kube-linter.io/ignore-all: "legacy"}')
    config = Config(checks=ChecksConfig(unsuppressible=["SEC-IMAGE-TAG"]))
    assert all(not s for _, s, _ in image_tag(objects, config))
    readonly = [f for f in run_checks(objects, config) if f.check_id == "SEC-READONLY-ROOTFS"]
    assert readonly and all(f.suppressed for f in readonly)


def test_dockerfile_and_diff_runners_select_and_suppress(monkeypatch):
    def dockerfile(text, file):
        yield 2, f"{file} has {len(text.splitlines())} lines"

    def diff(base, head):
        for obj in head:
            yield obj, "changed"

    for spec in (CheckSpec(id="TEST-DOCKER", category=Category.security, severity=Severity.low, title="t",
                           description="d", remediation="r", fn=dockerfile, scope="dockerfile"),
                 CheckSpec(id="TEST-DIFF", category=Category.scalability, severity=Severity.high, title="t",
                           description="d", remediation="r", fn=diff, scope="diff",
                           peers={"kube-score": "diff-check"})):
        monkeypatch.setitem(core._REGISTRY, spec.id, spec)
    only_docker = Config(checks=ChecksConfig(enabled=["TEST-DOCKER"]))
    found = run_dockerfile_checks("FROM x\nRUN y\n", "app/Dockerfile", only_docker)
    assert [(f.check_id, f.file, f.line, f.resource.kind) for f in found] == [("TEST-DOCKER", "app/Dockerfile", 2, None)]
    disabled = Config(checks=ChecksConfig(disabled=["TEST-DOCKER"]))
    assert "TEST-DOCKER" not in {f.check_id for f in run_dockerfile_checks("FROM x\n", "Dockerfile", disabled)}
    crashing = run_dockerfile_checks(None, "Dockerfile", only_docker)  # type: ignore[arg-type]
    assert [(f.check_id, f.file) for f in crashing] == [(CHECK_ERROR_ID, "Dockerfile")]
    only_diff = Config(checks=ChecksConfig(enabled=["TEST-DIFF"]))
    head = load('{kube-score/ignore: "diff-check"}')
    assert [(f.check_id, f.suppressed) for f in run_diff_checks([], head, only_diff)] == [("TEST-DIFF", True)]


def test_peer_annotations_never_hide_a_critical_finding_and_need_a_reason():
    from core.models import K8sObject
    from tools.checks import run_checks

    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "shop", "annotations": {"kube-linter.io/ignore-all": ""}},
            "spec": {"hostPID": True, "containers": [{"name": "c", "image": "x:1",
                                                      "securityContext": {"privileged": True}}]}}
    pod = K8sObject(api_version="v1", kind="Pod", name="p", namespace="shop", file="p.yaml", body=body)
    live = {f.check_id for f in run_checks([pod]) if not f.suppressed}
    assert {"SEC-PRIVILEGED", "SEC-HOST-PID"} <= live  # an empty kube-linter value suppresses nothing
    body["metadata"]["annotations"] = {"kube-linter.io/ignore-all": "legacy workload", "polaris.fairwinds.com/exempt": "true"}
    findings = run_checks([pod])
    assert "SEC-PRIVILEGED" in {f.check_id for f in findings if not f.suppressed}  # critical: only ours
    assert "SEC-HOST-PID" in {f.check_id for f in findings if f.suppressed}  # a high one with a reason is honoured
