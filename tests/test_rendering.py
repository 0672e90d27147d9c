"""Helm and Kustomize rendering (tools/rendering.py) and its wiring into engine.collect."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from core.config import Config, HelmConfig
from core.models import ChangeRequest, Severity
from tools import rendering
from tools.engine import check_findings, collect, walk_files
from tools.rendering import (
    NOT_RENDERED_ID,
    RENDER_ID,
    UNDEFINED_ID,
    UNUSED_ID,
    helm_backend,
    is_defined,
    render_all,
    render_chart,
    render_kustomization,
    split_helm_output,
)

CHARTS = Path(__file__).parent / "fixtures" / "charts"
needs_helm = pytest.mark.skipif(helm_backend() is None, reason="neither helm nor helm-python-sdk is available")
needs_kustomize = pytest.mark.skipif(rendering.kustomize_command() is None, reason="no kubectl/kustomize")


def config(**helm) -> Config:
    return Config(helm=HelmConfig(**helm))


def test_split_helm_output_on_source_comments():
    text = ("---\n# Source: app/templates/a.yaml\nkind: A\n---\n# Source: app/templates/b.yaml\nkind: B\n"
            "---\n# Source: app/templates/a.yaml\nkind: A2\n")
    assert split_helm_output(text) == {"app/templates/a.yaml": "\nkind: A\n---\n\nkind: A2",
                                       "app/templates/b.yaml": "\nkind: B"}


@needs_helm
def test_rendered_objects_point_back_to_their_template_with_release_and_namespace():
    result = render_chart(CHARTS, "good", config(release_name="shop", namespace="prod"), helm_backend())
    assert result.findings == []
    got = sorted((o.kind, o.name, o.namespace, o.file, o.rendered_from) for o in result.objects)
    assert got == [
        ("Deployment", "shop-good", "prod", "good/templates/deployment.yaml", "good/templates/deployment.yaml"),
        ("Service", "shop-good", "prod", "good/templates/service.yaml", "good/templates/service.yaml"),
    ]
    deployment = next(o for o in result.objects if o.kind == "Deployment")
    assert deployment.body["spec"]["replicas"] == 2


@needs_helm
def test_values_files_from_config_override_chart_defaults(tmp_path):
    shutil.copytree(CHARTS / "good", tmp_path / "good")
    (tmp_path / "prod.yaml").write_text("replicaCount: 5\n")
    result = render_chart(tmp_path, "good", config(values={"good": ["prod.yaml"]}), helm_backend())
    assert next(o for o in result.objects if o.kind == "Deployment").body["spec"]["replicas"] == 5
    missing = render_chart(tmp_path, "good", config(values={"good": ["nope.yaml"]}), helm_backend())
    assert [f.check_id for f in missing.findings] == [RENDER_ID] and "nope.yaml" in missing.findings[0].message


@needs_helm
def test_a_chart_that_fails_to_render_is_a_finding_and_the_scan_goes_on():
    result = render_all(CHARTS, walk_files(CHARTS), Config())
    [failed] = [f for f in result.findings if f.check_id == RENDER_ID and f.file.startswith("broken/")]
    assert (failed.file, failed.line, failed.category.value) == ("broken/templates/cm.yaml", 5, "schema")
    assert "broken/templates/cm.yaml:5" in failed.message and "\n" not in failed.message
    assert {o.file for o in result.objects} >= {"good/templates/deployment.yaml", "values/templates/configmap.yaml"}


def test_without_a_renderer_a_chart_gets_an_info_finding():
    [finding] = render_chart(CHARTS, "good", Config(), backend=None).findings
    assert (finding.check_id, finding.severity, finding.file) == (NOT_RENDERED_ID, Severity.info, "good/Chart.yaml")
    assert "install helm or the helm extra" in finding.message


def test_values_used_but_undefined_and_defined_but_unused():
    findings = rendering.chart_values_findings(CHARTS, "values", Config())
    got = sorted((f.check_id, f.severity.value, f.file, f.line, f.message.split(" ")[0]) for f in findings)
    assert got == [
        (UNDEFINED_ID, "medium", "values/templates/configmap.yaml", 10, ".Values.mode"),
        (UNUSED_ID, "low", "values/values.yaml", 4, "value"),
        (UNUSED_ID, "low", "values/values.yaml", 8, "value"),
    ]
    assert {f.message.split("'")[1] for f in findings if f.check_id == UNUSED_ID} == {"unusedTop", "service.legacyPort"}


def test_is_defined_treats_an_empty_map_as_open():
    values = {"a": {"b": 1}, "open": {}}
    assert is_defined(values, "a.b") and is_defined(values, "open.anything")
    assert not is_defined(values, "a.c") and not is_defined(values, "a.b.c") and not is_defined(values, "z")


@needs_kustomize
def test_kustomize_output_points_at_the_kustomization():
    result = render_kustomization(CHARTS, "kustomize", rendering.kustomize_command())
    assert [(o.kind, o.name, o.namespace, o.file, o.rendered_from) for o in result.objects] == [
        ("Service", "prod-web", "shop", "kustomize/kustomization.yaml", "kustomize/kustomization.yaml")]


def test_without_kustomize_an_info_finding_says_it_was_not_rendered():
    [finding] = render_kustomization(CHARTS, "kustomize", None).findings
    assert finding.check_id == NOT_RENDERED_ID and "not rendered" in finding.message


@needs_helm
def test_collect_analyses_rendered_chart_objects_once(tmp_path):
    shutil.copytree(CHARTS / "good", tmp_path / "helm" / "good")
    (tmp_path / "helm/good/templates/static.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    collected = collect(ChangeRequest(workspace=str(tmp_path)), tmp_path, Config())
    assert sorted(o.file for o in collected.objects) == ["helm/good/templates/deployment.yaml",
                                                         "helm/good/templates/service.yaml",
                                                         "helm/good/templates/static.yaml"]
    assert all(o.rendered_from == o.file for o in collected.objects)


# --- one render per release, template errors, guards, values lines ------------------------------------------


def only_chart(chart: str) -> list[str]:
    return [f for f in walk_files(CHARTS) if f.startswith(chart + "/")]


PROD = {"umbrella": ["umbrella/values-prod.yaml"]}


@needs_helm
def test_an_umbrella_and_its_subcharts_are_rendered_once_with_the_umbrella_values():
    result = render_all(CHARTS, only_chart("umbrella"), config(values=PROD))
    got = sorted((o.kind, o.name, o.file) for o in result.objects)
    assert got == [("Deployment", "release-backend", "umbrella/charts/backend/templates/deployment.yaml"),
                   ("Deployment", "release-frontend", "umbrella/charts/frontend/templates/deployment.yaml"),
                   ("Ingress", "release", "umbrella/templates/ingress.yaml"),
                   ("Secret", "release-backend", "umbrella/charts/backend/templates/secret.yaml"),
                   ("Service", "release-backend", "umbrella/charts/backend/templates/service.yaml"),
                   ("Service", "release-frontend", "umbrella/charts/frontend/templates/service.yaml")]
    backend = next(o for o in result.objects if o.name == "release-backend" and o.kind == "Deployment")
    assert backend.body["spec"]["replicas"] == 3  # values-prod.yaml through the umbrella, not the subchart default
    assert [f for f in result.findings if f.check_id == RENDER_ID] == []
    assert {"umbrella/charts/backend", "umbrella/charts/frontend"} <= set(result.owned_dirs)


@needs_helm
def test_a_file_dependency_is_rendered_through_its_umbrella_only():
    result = render_all(CHARTS, only_chart("stack") + only_chart("stack-api"), Config())
    got = sorted((o.kind, o.file, o.body.get("spec", {}).get("replicas")) for o in result.objects)
    assert got == [("ConfigMap", "stack/templates/namespace.yaml", None),
                   ("Deployment", "stack-api/templates/deployment.yaml", 3)]
    assert "stack-api" in result.owned_dirs and result.findings == []


def test_a_configured_subchart_alone_is_still_rendered_alone(tmp_path):
    from tools.helmchart import release_roots
    assert release_roots(CHARTS, ["umbrella/charts/backend"], configured=True) == ["umbrella/charts/backend"]
    assert release_roots(CHARTS, ["umbrella", "umbrella/charts/backend"], configured=True) == ["umbrella"]
    assert release_roots(CHARTS, ["umbrella/charts/frontend", "stack-api"], configured=False) == ["stack", "umbrella"]


@needs_helm
def test_a_template_error_keeps_helms_whole_message_and_the_other_templates_are_checked():
    result = render_chart(CHARTS, "partial", Config(), helm_backend())
    [failed] = [f for f in result.findings if f.check_id == RENDER_ID]
    assert (failed.file, failed.line) == ("partial/templates/ingress.yaml", 17)
    assert "ingress.yaml:17:28" in failed.message and "nil pointer evaluating interface {}.secretName" in failed.message
    assert sorted(o.kind for o in result.objects) == ["Deployment", "Service"]


@needs_helm
def test_a_failing_subchart_template_is_left_out_of_the_umbrella_render(tmp_path):
    shutil.copytree(CHARTS / "umbrella", tmp_path / "umbrella")
    (tmp_path / "umbrella/charts/frontend/templates/service.yaml").write_text("{{ .Values.nope.deeper }}\n")
    result = render_chart(tmp_path, "umbrella", Config(), helm_backend())
    [failed] = [f for f in result.findings if f.check_id == RENDER_ID]
    assert failed.file == "umbrella/charts/frontend/templates/service.yaml" and failed.line == 1
    assert ("Service", "release-backend") in {(o.kind, o.name) for o in result.objects}
    assert ("Service", "release-frontend") not in {(o.kind, o.name) for o in result.objects}


def test_guarded_references_are_not_undefined():
    findings = rendering.chart_values_findings(CHARTS, "guards", Config())
    undefined = sorted((f.file, f.line, f.message.split()[0]) for f in findings if f.check_id == UNDEFINED_ID)
    # default, coalesce, required, with, if, hasKey, dig, ternary, empty, a flag that is off, an unused define:
    # none is undefined; the two references without any guard are
    assert undefined == [("guards/templates/deployment.yaml", 40, ".Values.service.targetPort"),
                         ("guards/templates/deployment.yaml", 54, ".Values.probes.path")]


def test_umbrella_values_checks_cover_subcharts_and_every_configured_values_file():
    findings = rendering.chart_values_findings(CHARTS, "umbrella", config(values={
        "umbrella": ["umbrella/values-dev.yaml", "umbrella/values-prod.yaml"]}))
    got = sorted((f.check_id, f.file, f.line, f.message.split("'")[1] if "'" in f.message else f.message)
                 for f in findings)
    # legacy.* lives in a define nothing includes; global.* comes from the parent; frontend.enabled is a condition
    assert got == [(UNUSED_ID, "umbrella/values-prod.yaml", 16, "monitoring")]


def test_a_feature_flag_that_is_on_makes_its_block_count(tmp_path):
    shutil.copytree(CHARTS / "guards", tmp_path / "guards")
    values = tmp_path / "guards/values.yaml"
    values.write_text(values.read_text().replace("autoscaling:\n  enabled: false", "autoscaling:\n  enabled: true"))
    findings = rendering.chart_values_findings(tmp_path, "guards", Config())
    assert {f.message.split()[0] for f in findings if f.check_id == UNDEFINED_ID} >= {
        ".Values.autoscaling.minReplicas", ".Values.autoscaling.maxReplicas"}


@needs_helm
def test_a_value_problem_is_reported_on_the_values_line_that_sets_it(tmp_path):
    shutil.copytree(CHARTS / "umbrella", tmp_path / "umbrella")
    collected = collect(ChangeRequest(workspace=str(tmp_path)), tmp_path, config(values=PROD))
    findings = check_findings(tmp_path, collected, config(values=PROD))
    secret = next(f for f in findings if f.check_id == "SEC-SECRET-ENV-LITERAL")
    assert (secret.file, secret.line) == ("umbrella/values-prod.yaml", 13)
    assert "backend.secrets.openaiApiKey" in secret.message and "charts/backend/templates/deployment.yaml" in secret.message
    latest = next(f for f in findings if f.check_id == "SEC-IMAGE-TAG")
    assert (latest.file, latest.line) == ("umbrella/values.yaml", 24) and "frontend.image.tag" in latest.message
    assert "sk-proj" not in secret.model_dump_json()
    empty = next(f for f in findings if f.check_id == "SEC-SECRET-EMPTY")
    assert empty.severity is Severity.low and "pods start without credentials" in empty.message
    assert not any(f.check_id == "SEC-SECRET-COMMITTED" for f in findings)


@needs_helm
def test_a_literal_written_in_the_template_stays_on_the_template(tmp_path):
    shutil.copytree(CHARTS / "umbrella", tmp_path / "umbrella")
    template = tmp_path / "umbrella/charts/backend/templates/deployment.yaml"
    template.write_text(template.read_text().replace("value: {{ .Values.secrets.openaiApiKey | quote }}",
                                                     'value: "sk-proj-inline-4f9a8b7c6d5e4f3a2b1c"'))
    findings = check_findings(tmp_path, collect(ChangeRequest(workspace=str(tmp_path)), tmp_path, Config()), Config())
    secret = next(f for f in findings if f.check_id == "SEC-SECRET-ENV-LITERAL")
    assert secret.file == "umbrella/charts/backend/templates/deployment.yaml" and "set by" not in secret.message


# --- hostile and odd charts ------------------------------------------------------------------------------


def write_chart(base: Path, chart_yaml: str, templates: dict[str, str], values: str = "") -> None:
    (base / "templates").mkdir(parents=True)
    (base / "Chart.yaml").write_text(chart_yaml)
    (base / "values.yaml").write_text(values)
    for name, text in templates.items():
        (base / "templates" / name).write_text(text)


def test_odd_chart_metadata_and_unclosed_actions_do_not_break_the_values_checks(tmp_path):
    write_chart(tmp_path / "odd", "apiVersion: v2\nname: odd\nversion: 1.0.0\ndependencies: {name: x}\n",
                {"cm.yaml": "data: {{ .Values.a " + "{{ " * 200_000}, "a: 1\nb: 2\n")
    findings = rendering.chart_values_findings(tmp_path, "odd", Config())
    assert [(f.check_id, f.message.split("'")[1]) for f in findings] == [(UNUSED_ID, "b")]


@needs_helm
def test_a_dependency_outside_the_workspace_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write_chart(outside, "apiVersion: v2\nname: outside\nversion: 1.0.0\n", {"cm.yaml": "kind: ConfigMap\n"})
    ws = tmp_path / "ws"
    write_chart(ws / "app", "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
                "  - {name: outside, version: 1.0.0, repository: 'file://../../outside'}\n", {})
    result = render_chart(ws, "app", Config(), helm_backend())
    [problem] = [f for f in result.findings if f.check_id == NOT_RENDERED_ID]
    assert problem.severity is Severity.medium and "outside the workspace" in problem.message
    assert result.objects == []


@needs_helm
def test_a_dependency_alias_cannot_write_outside_the_render_copy(tmp_path):
    ws = tmp_path / "ws"
    write_chart(ws / "lib", "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
                {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\n"})
    write_chart(ws / "app", "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
                "  - {name: lib, alias: ../../../escaped, version: 1.0.0, repository: 'file://../lib'}\n", {})
    render_chart(ws, "app", Config(), helm_backend())
    assert not any(p.name == "escaped" for p in Path(tempfile.gettempdir()).iterdir())
    assert not (ws / "escaped").exists() and not (tmp_path / "escaped").exists()
