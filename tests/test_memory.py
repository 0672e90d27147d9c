"""What a scan holds per object and per finding (benchmarks/README.md "Memory"): equal parts are held once, the
JSON report is written as it is rendered, and none of it changes what is reported."""

from __future__ import annotations

import copy
import json
import pickle
import shutil
import tracemalloc
from pathlib import Path

import pytest

from core.config import Config, HelmConfig
from core.models import Category, ChangeRequest, FieldMarks, Finding, K8sObject, ResourceRef, Severity
from infra_orchestrator.commands import check as check_cmd
from infra_orchestrator.commands import check_output
from tools import rendering
from tools.engine import check_findings, collect
from tools.manifests import load_manifest_text

APP = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: app
          image: registry.example.com/{name}:latest
          resources:
            limits: {{memory: 128Mi}}
"""


def _two_apps() -> tuple[K8sObject, K8sObject]:
    objects, problems = load_manifest_text(APP.format(name="a") + "---\n" + APP.format(name="b"), "k8s/apps.yaml")
    assert problems == [] and len(objects) == 2
    return objects[0], objects[1]


def test_objects_of_one_file_share_their_equal_parts_and_read_as_before():
    a, b = _two_apps()
    pod_a, pod_b = a.body["spec"]["template"]["spec"], b.body["spec"]["template"]["spec"]
    assert pod_a["securityContext"] is pod_b["securityContext"]  # equal subtrees are built once
    assert pod_a["containers"] is not pod_b["containers"]  # the images differ
    assert pod_a["containers"][0]["resources"] is pod_b["containers"][0]["resources"]
    assert a.body["metadata"] == {"name": "a"} and b.body["metadata"] == {"name": "b"}
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__
    assert a.values_lines is b.values_lines and a.values_lines == {} and a.value_sources == {}
    # marks: one layout for both, each read at its own lines
    assert isinstance(a.marks, FieldMarks) and a.marks.layout is b.marks.layout
    assert a.marks[""] == (1, 1) and b.marks[""] == (18, 1) and b.line == 18
    assert a.marks["spec.template.spec.containers[0].image"] == (14, 11)
    assert b.marks["spec.template.spec.containers[0].image"] == (31, 11)
    assert b.marks.get("spec.nothing") is None and "spec.replicas" in b.marks and len(b.marks) == len(a.marks)


def test_shared_parts_keep_every_scalar_type_apart():
    docs = ["x: 1", "x: true", "x: 1.0", "x: -0.0", "x: 0.0", 'x: "1"', "x: null", "x: [1]", "x: [true]"]
    text = "\n---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{{d}}}"
                          for i, d in enumerate(docs))
    objects, _ = load_manifest_text(text, "cm.yaml")
    values = [o.body["data"]["x"] for o in objects]
    assert [type(v).__name__ for v in values] == ["int", "bool", "float", "float", "float", "str", "NoneType",
                                                  "list", "list"]
    assert json.dumps(values) == '[1, true, 1.0, -0.0, 0.0, "1", null, [1], [true]]'


def test_loaded_objects_serialise_copy_and_compare_as_before():
    a, _ = _two_apps()
    dumped = a.model_dump(mode="json")
    assert dumped["marks"]["spec.replicas"] == [6, 3] and a.model_dump()["marks"]["spec.replicas"] == (6, 3)
    again = K8sObject.model_validate(dumped)
    assert again == a and a == again and type(again.marks) is dict
    assert pickle.loads(pickle.dumps(a)) == a and copy.deepcopy(a) == a and a.model_copy(deep=True) == a
    assert json.loads(a.model_dump_json())["marks"] == dumped["marks"]


def test_a_shared_fields_set_is_never_changed_in_place():
    ref = ResourceRef(kind="Deployment", name="a")
    first = Finding(check_id="X", severity=Severity.high, category=Category.security, message="m", resource=ref)
    second = Finding(check_id="Y", severity=Severity.low, category=Category.security, message="n", resource=ref)
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    first.line = 3
    copied = second.model_copy(update={"file": "f.yaml"})
    assert first.model_fields_set == {"check_id", "severity", "category", "message", "resource", "line"}
    assert copied.model_fields_set == {"check_id", "severity", "category", "message", "resource", "file"}
    assert second.model_fields_set == {"check_id", "severity", "category", "message", "resource"}
    assert second.model_dump(exclude_unset=True) == {"check_id": "Y", "severity": Severity.low,
                                                     "category": Category.security, "message": "n",
                                                     "resource": {"kind": "Deployment", "name": "a"}}
    with pytest.raises(ValueError):
        ref.kind = "Service"  # frozen, as before
    assert ref.model_fields_set == {"kind", "name"}


def test_findings_about_one_object_share_its_reference(tmp_path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s/apps.yaml").write_text(APP.format(name="a"))
    found = check_cmd.run_engine(tmp_path, [], Config())
    about_a = [f for f in found if f.resource.name == "a"]
    assert len(about_a) >= 2 and len({id(f.resource) for f in about_a}) == 1


@pytest.mark.skipif(rendering.helm_backend() is None, reason="neither helm nor helm-python-sdk is available")
def test_values_lines_of_a_rendered_object_are_its_own(tmp_path):
    charts = Path(__file__).parent / "fixtures" / "charts"
    shutil.copytree(charts / "umbrella", tmp_path / "umbrella")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s/apps.yaml").write_text(APP.format(name="plain"))
    config = Config(helm=HelmConfig(values={"umbrella": ["umbrella/values.yaml", "umbrella/values-prod.yaml"]}))
    collected = collect(ChangeRequest(workspace=str(tmp_path)), tmp_path, config)
    check_findings(tmp_path, collected, config)
    rendered = [o for o in collected.objects if o.values_lines]
    plain = next(o for o in collected.objects if o.name == "plain")
    assert rendered and plain.values_lines == {} and load_manifest_text(APP.format(name="z"), "x.yaml")[0][0].values_lines == {}


def _findings(n: int) -> list[Finding]:
    ref = ResourceRef(api_version="apps/v1", kind="Deployment", namespace="ns", name="app")
    return [Finding(check_id="SEC-IMAGE-TAG", severity=Severity.high, category=Category.security,
                    message=f"container 'app' image 'r/app-{i}:latest' uses the mutable ':latest' tag — é",
                    resource=ref, file=f"k8s/apps-{i // 10}.yaml", line=i, column=11,
                    field="spec.template.spec.containers[0].image", remediation="Pin every image.",
                    suppressed=i % 7 == 0, suppression_reason="ok" if i % 7 == 0 else None, object_line=1)
            for i in range(n)]


def _as_before(findings: list[Finding], fail_on: Severity, failed: bool) -> str:
    active = [f for f in findings if not f.suppressed]
    summary = {"total": len(active), "suppressed": len(findings) - len(active), "fail_on": fail_on.value,
               "failed": failed, "by_severity": {s.value: sum(f.severity is s for f in active) for s in Severity}}
    return json.dumps({"findings": [f.model_dump(mode="json") for f in findings], "summary": summary},
                      indent=2) + "\n"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_json_report_is_the_one_document_it_always_was(count):
    findings = _findings(count)
    parts = check_cmd._render(check_cmd.OutputFormat.json, findings, Severity.medium, True, True, False)
    text = parts if isinstance(parts, str) else "".join(parts)
    assert text == _as_before(findings, Severity.medium, True)


class _Sink:
    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_the_json_report_is_written_as_it_is_rendered(monkeypatch):
    findings = _findings(3000)
    sink = _Sink()
    monkeypatch.setattr(check_output.sys, "stdout", sink)
    tracemalloc.start()
    try:
        check_output.write(check_cmd._render(check_cmd.OutputFormat.json, findings, Severity.medium, True, True,
                                             False), None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sink.size > 1_500_000
    assert peak < sink.size / 4  # never the whole document (nor its dicts) at once


def test_the_output_file_gets_the_same_report(tmp_path):
    findings = _findings(50)
    out = tmp_path / "deep" / "report.json"
    check_output.write(check_cmd._render(check_cmd.OutputFormat.json, findings, Severity.medium, True, True, False),
                       out)
    assert out.read_text(encoding="utf-8") == _as_before(findings, Severity.medium, True)
