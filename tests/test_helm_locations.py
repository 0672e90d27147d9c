"""Helm findings point at the template line that produced the field, and name the values file line behind it
(tools/helm_locations.py). Expected positions are searched for in the template and values texts.

The fixture chart (tests/fixtures/locations/chart) is scaffolded like `helm create` output: helpers expanded
with ``include``, blocks with ``toYaml ... | nindent``, ``with`` and ``range`` blocks, an ``if`` around a
whole document, a multi-document template, and the typical Phase IV defects (``tag: latest``, a secret in
``env``, a password in a ConfigMap, a hard-coded namespace).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.config import ChecksConfig, Config, HelmConfig
from core.models import Finding
from tools.checks import run_checks
from tools.helm_locations import parse_template, relocate
from tools.manifests import load_manifest_text
from tools.rendering import helm_backend, render_chart

FIXTURE = Path(__file__).parent / "fixtures" / "locations"
CONTAINER = "spec.template.spec.containers[0]"
needs_helm = pytest.mark.skipif(helm_backend() is None, reason="neither helm nor helm-python-sdk is available")


def at(text: str, needle: str) -> tuple[int, int]:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def text_of(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def rendered_findings(root: Path, values: list[str] | None = None) -> dict[str, list[Finding]]:
    config = Config(helm=HelmConfig(values={"chart": values or []}), checks=ChecksConfig(profile="strict"))
    result = render_chart(root, "chart", config, helm_backend())
    assert result.findings == []
    out: dict[str, list[Finding]] = {}
    for f in run_checks(result.objects, config):
        out.setdefault(f.check_id, []).append(f)
    return out


@pytest.fixture()
def chart(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "chart", tmp_path / "chart")
    return tmp_path


@needs_helm
def test_a_literal_template_field_points_at_its_template_line(chart):
    found = rendered_findings(chart)
    template = text_of(chart, "chart/templates/deployment.yaml")
    [probe] = found["REL-PROBE-DOCS-PATH"]
    assert (probe.file, probe.field) == ("chart/templates/deployment.yaml", f"{CONTAINER}.livenessProbe.httpGet.path")
    assert (probe.line, probe.column) == at(template, "path: /docs")
    [namespace] = found["SEC-DEFAULT-NAMESPACE"]
    config = text_of(chart, "chart/templates/config.yaml")
    assert (namespace.file, namespace.line, namespace.column) == ("chart/templates/config.yaml",
                                                                 *at(config, "namespace: default"))
    [password] = found["SEC-SECRET-IN-CONFIGMAP"]  # second document of a multi-document template
    assert (password.field, password.line) == ('data.db_password', at(config, "db_password")[0])
    assert password.object_line == at(config, "apiVersion: v1\nkind: ConfigMap")[0]


@needs_helm
def test_a_value_from_values_yaml_names_the_template_line_and_the_values_line(chart):
    found = rendered_findings(chart)
    template = text_of(chart, "chart/templates/deployment.yaml")
    values = text_of(chart, "chart/values.yaml")
    [tag] = found["SEC-IMAGE-TAG"]
    assert (tag.field, tag.line, tag.column) == (f"{CONTAINER}.image", *at(template, "image: \"{{"))
    assert f".Values.image.tag at chart/values.yaml:{at(values, 'tag: latest')[0]}" in tag.message
    [escalation] = found["SEC-PRIV-ESCALATION"]  # expanded by toYaml: the action's line, the value's line
    assert escalation.line == at(template, "{{- toYaml .Values.securityContext")[0]
    assert f".Values.securityContext.allowPrivilegeEscalation at chart/values.yaml:" \
           f"{at(values, 'allowPrivilegeEscalation: true')[0]}" in escalation.message


@needs_helm
def test_a_range_item_names_the_values_entry_it_came_from(chart):
    found = rendered_findings(chart)
    template = text_of(chart, "chart/templates/deployment.yaml")
    values = text_of(chart, "chart/values.yaml")
    [secret] = found["SEC-SECRET-ENV-LITERAL"]
    assert (secret.line, secret.column) == at(template, "value: {{ $value")
    assert f".Values.env.API_TOKEN at chart/values.yaml:{at(values, 'API_TOKEN')[0]}" in secret.message


@needs_helm
def test_a_missing_field_under_an_expanded_value_points_at_its_parent_and_values_line(chart):
    found = rendered_findings(chart)
    template = text_of(chart, "chart/templates/deployment.yaml")
    values = text_of(chart, "chart/values.yaml")
    [memory] = found["REL-MEM-LIMIT"]
    assert memory.field == f"{CONTAINER}.resources.limits.memory"
    assert (memory.line, memory.column) == at(template, "resources:\n            {{- toYaml")
    assert f".Values.resources at chart/values.yaml:{at(values, 'resources:')[0]}" in memory.message
    assert "Add `limits.memory` under" in memory.remediation


@needs_helm
def test_an_override_values_file_wins_over_values_yaml(chart):
    (chart / "prod.yaml").write_text("replicaCount: 3\nimage:\n  tag: edge\n")
    found = rendered_findings(chart, ["prod.yaml"])
    [pull] = found["REL-IMAGE-PULL-ALWAYS"]
    assert "chart/values.yaml:" in pull.message  # pullPolicy comes from the chart's defaults
    [digest] = found["SEC-IMAGE-DIGEST"]
    assert ".Values.image.tag at prod.yaml:3" in digest.message


@needs_helm
def test_a_template_that_cannot_be_read_keeps_the_rendered_lines(chart):
    config = Config(checks=ChecksConfig(enabled=["SEC-DEFAULT-NAMESPACE"]))
    result = render_chart(chart, "chart", config, helm_backend())
    rendered = {o.kind: o.line for o in result.objects}
    (chart / "chart" / "templates" / "config.yaml").unlink()
    objects, _ = load_manifest_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  namespace: default\n",
                                    "chart/templates/config.yaml")
    relocate(chart, "chart", objects, [])
    assert objects[0].line == 1 and objects[0].marks["metadata.namespace"] == (5, 3)
    assert rendered["ServiceAccount"] == at(
        (FIXTURE / "chart/templates/config.yaml").read_text(encoding="utf-8"), "apiVersion")[0]


def test_relocation_follows_keys_items_and_expansions_without_a_renderer(tmp_path):
    template = """{{- range .Values.apps }}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ .name }}
  labels:
    {{- include "x.labels" $ | nindent 4 }}
spec:
  containers:
    - name: main
      image: {{ .image }}
    - name: sidecar
      image: "proxy:1.0"
      {{- with $.Values.sidecar }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      {{- end }}
{{- end }}
"""
    (tmp_path / "c" / "templates").mkdir(parents=True)
    (tmp_path / "c" / "templates" / "pod.yaml").write_text(template)
    values = "apps:\n  - {name: a, image: 'a:1'}\n  - {name: b, image: 'b:2'}\nsidecar:\n  resources:\n    limits: {cpu: 1}\n"
    (tmp_path / "c" / "values.yaml").write_text(values)
    doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {n}\n  labels:\n    app: x\n    tier: y\nspec:\n" \
          "  containers:\n    - name: sidecar\n      image: proxy:1.0\n      resources:\n        limits:\n" \
          "          cpu: 1\n    - name: main\n      image: {n}:1\n"
    rendered = "\n" + doc.replace("{n}", "a") + "---\n" + doc.replace("{n}", "b")
    objects, problems = load_manifest_text(rendered, "c/templates/pod.yaml")
    assert not problems and len(objects) == 2
    relocate(tmp_path, "c", objects, [])
    for obj in objects:  # both range iterations map to the same template lines
        assert obj.line == at(template, "apiVersion")[0]
        assert obj.marks["metadata.labels.tier"][0] == at(template, "{{- include")[0]  # from the helper
        # items are matched by name, not position: the rendered order differs from the template's
        assert obj.marks["spec.containers[0]"] == at(template, "name: sidecar")
        assert obj.marks["spec.containers[1].image"] == at(template, "image: {{ .image }}")
        assert obj.marks["spec.containers[0].resources.limits.cpu"][0] == at(template, "{{- toYaml .resources")[0]
        assert obj.value_sources["spec.containers[0].resources.limits.cpu"] == ".Values.sidecar.resources.limits.cpu" \
            f" at c/values.yaml:{at(values, 'limits')[0]}"


def test_the_template_tree_skips_control_lines_and_block_scalars():
    lines = """{{- if .Values.enabled }}
apiVersion: v1
kind: ConfigMap
data:
  script.sh: |
    name: not-a-key
    key: value
  other: x
{{- end }}""".split("\n")
    root = parse_template(lines)
    assert [c.key for c in root.children] == ["apiVersion", "kind", "data"]
    data = root.children[2]
    assert [c.key for c in data.children] == ["script.sh", "other"] and data.children[1].line == 8


@needs_helm
def test_range_items_and_variables_name_their_values_lines(chart):
    result = render_chart(chart, "chart", Config(), helm_backend())
    [ingress] = [o for o in result.objects if o.kind == "Ingress"]
    template = text_of(chart, "chart/templates/ingress.yaml")
    values = text_of(chart, "chart/values.yaml")
    assert ingress.body["spec"]["rules"][1]["host"] == "localhost"
    assert ingress.marks["spec.rules[1].host"] == at(template, "host: {{")  # both items: the range body
    assert ingress.value_sources["spec.rules[1].host"] == \
        f".Values.ingress.hosts[1].host at chart/values.yaml:{at(values, 'host: localhost')[0]}"
    port = "spec.rules[0].http.paths[0].backend.service.port.number"
    assert ingress.marks[port] == at(template, "number: {{ $svcPort")
    assert ingress.value_sources[port] == f".Values.service.port at chart/values.yaml:{at(values, 'port: 80')[0]}"
    [tls] = [f for f in run_checks(result.objects, Config()) if f.check_id == "SEC-INGRESS-TLS"]
    assert (tls.file, tls.field, tls.line) == ("chart/templates/ingress.yaml", "spec.tls", at(template, "spec:")[0])
