"""Helm and Kustomize rendering (tools/rendering.py) and its wiring into engine.collect."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.config import Config, HelmConfig
from core.models import ChangeRequest, Severity
from tools import rendering
from tools.engine import collect, walk_files
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
    [failed] = [f for f in result.findings if f.check_id == RENDER_ID]
    assert failed.file == "broken/Chart.yaml" and failed.category.value == "schema"
    assert "broken/templates/cm.yaml" in failed.message and "\n" not in failed.message
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
