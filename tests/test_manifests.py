"""Manifest loading and safe workspace file access."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from core.errors import InputError
from core.models import Category, Severity
from tools.manifests import load_manifest_text, load_manifests
from tools.workspace import MAX_FILE_BYTES, read_text, resolve_inside

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: shop\nspec: {{}}\n"


def ids(findings) -> list[str]:
    return [f.check_id for f in findings]


def write(root: Path, rel: str, content: str | bytes) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return rel


# --- multi-document loading ------------------------------------------------------------------------------


def test_each_document_reports_its_own_start_line_and_index():
    # doc 1 spans lines 1-10, '---' is line 11, doc 2 starts on line 12
    doc1 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n" + "".join(
        f"  k{i}: v\n" for i in range(5)
    )
    assert doc1.count("\n") == 10
    text = doc1 + "---\n" + POD.format(name="two")
    objects, findings = load_manifest_text(text, "k8s/app.yaml")
    assert findings == []
    assert [(o.kind, o.name, o.line, o.doc_index) for o in objects] == [
        ("ConfigMap", "one", 1, 0), ("Pod", "two", 12, 1)]
    assert objects[1].namespace == "shop" and objects[1].file == "k8s/app.yaml"


def test_list_is_unpacked_with_the_line_of_each_item():
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n"
        "- just: data\n"
    )
    objects, findings = load_manifest_text(text, "list.yaml")
    assert [(o.kind, o.name, o.line) for o in objects] == [("ConfigMap", "a", 4), ("Service", "b", 7)]
    assert [(f.check_id, f.line) for f in findings] == [("SCH-NOT-K8S-OBJECT", 10)]


def test_malformed_yaml_is_a_finding_with_a_line_and_later_documents_still_load():
    text = POD.format(name="before") + "---\nkind: [unclosed\n---\n" + POD.format(name="after")
    objects, findings = load_manifest_text(text, "k8s/bad.yaml")
    assert [o.name for o in objects] == ["before", "after"]
    assert ids(findings) == ["SCH-YAML-INVALID"]
    bad = findings[0]
    assert bad.severity == Severity.high and bad.category == Category.schema
    assert bad.file == "k8s/bad.yaml" and bad.line == 9  # libyaml notices at the '---' that ends the broken document


@pytest.mark.timeout(5)  # an expanded bomb would eat memory for minutes
@pytest.mark.parametrize(("value", "line"), [
    ("!!python/object:os.system {}", 11),  # the constructor error carries the value's line
    ("!!int hunter2", 11),  # go-yaml's rules (core.yamlsafe) fail with the value's mark too
    ("!!timestamp 2020-13-45x", 11),
    ("!!bool maybe", 11),
    ("!!binary a$b", 11),
])
def test_unconstructable_values_are_invalid_yaml_without_echoing_them(value, line):
    text = POD.format(name="before") + f"---\napiVersion: v1\nkind: ConfigMap\ndata:\n  a: {value}\n"
    objects, findings = load_manifest_text(text, "cm.yaml")
    assert [o.name for o in objects] == ["before"]
    assert [(f.check_id, f.line) for f in findings] == [("SCH-YAML-INVALID", line)]
    assert "hunter2" not in findings[0].message


def test_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: laughs}\ndata:\n" + "\n".join("  " + x for x in lines)
    started = time.perf_counter()
    objects, findings = load_manifest_text(text, "k8s/bomb.yaml")
    assert time.perf_counter() - started < 0.5
    assert objects == []
    assert ids(findings) == ["SCH-YAML-BOMB"] and findings[0].line == 1


def test_recursive_alias_is_refused():
    objects, findings = load_manifest_text("apiVersion: v1\nkind: X\nloop: &a [*a]\n", "x.yaml")
    assert objects == [] and ids(findings) == ["SCH-YAML-BOMB"]


def test_a_few_legitimate_aliases_are_fine():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: &l {app: x}}\ndata:\n  copy: ok\nextra: *l\n"
    objects, findings = load_manifest_text(text, "x.yaml")
    assert findings == [] and objects[0].body["extra"] == {"app": "x"}


def test_duplicate_key_is_reported_with_its_line_and_the_object_still_loads():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  name: second\n"
    objects, findings = load_manifest_text(text, "cm.yaml")
    assert [o.name for o in objects] == ["second"]
    assert ids(findings) == ["SCH-DUPLICATE-KEY"]
    assert findings[0].line == 5 and findings[0].severity == Severity.medium and "'name'" in findings[0].message


@pytest.mark.parametrize("metadata", ["", "metadata: just-a-string\n"])
def test_object_without_usable_metadata_loads_unnamed(metadata):
    objects, findings = load_manifest_text(f"apiVersion: v1\nkind: Namespace\n{metadata}", "ns.yaml")
    assert findings == []
    assert [(o.kind, o.name, o.namespace) for o in objects] == [("Namespace", "", None)]


def test_generate_name_is_used_when_name_is_missing():
    objects, _ = load_manifest_text("apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: run-}\n", "j.yaml")
    assert objects[0].name == "run-"


def test_non_kubernetes_documents_reported_only_next_to_objects_or_in_manifest_dirs():
    text = "just: config\n---\n- a\n---\n"
    assert load_manifest_text(text, "config/settings.yaml") == ([], [])
    _, findings = load_manifest_text(text, "deploy/settings.yaml")
    assert ids(findings) == ["SCH-NOT-K8S-OBJECT", "SCH-NOT-K8S-OBJECT"]
    assert [f.line for f in findings] == [1, 3] and {f.severity for f in findings} == {Severity.info}
    objects, findings = load_manifest_text(POD.format(name="p") + "---\nnot: k8s\n", "app.yaml")
    assert len(objects) == 1 and ids(findings) == ["SCH-NOT-K8S-OBJECT"]


@pytest.mark.parametrize("path", ["chart/Chart.yaml", "chart/values-prod.yaml", "k8s/kustomization.yaml",
                                  "docker-compose.yml", ".github/workflows/ci.yaml",
                                  "k8s/.infra-orchestrator.yaml"])
def test_non_kubernetes_files_are_skipped_silently(path):
    assert load_manifest_text("name: x\nversion: 1.0.0\n", path) == ([], [])


def test_helm_template_is_not_loaded():
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cfg\n"
    objects, findings = load_manifest_text(template, "k8s/raw-template.yaml")
    assert objects == [] and ids(findings) == ["SCH-TEMPLATE-NOT-RENDERED"]
    assert findings[0].severity == Severity.medium and "approve it unanalysed" in findings[0].question
    assert load_manifest_text(template, "charts/web/templates/cm.yaml") == ([], [])
    # no Helm object referenced, but '{{' and not valid YAML: still a template, not an invalid manifest
    assert ids(load_manifest_text("{{- if true }}\nkind: [\n{{- end }}\n", "x.yaml")[1]) == [
        "SCH-TEMPLATE-NOT-RENDERED"]


def test_plain_manifest_with_braces_in_strings_still_loads():
    rule = ("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n"
            "  groups:\n  - name: g\n    rules:\n    - alert: Down\n      annotations:\n"
            "        summary: '{{ $labels.instance }} is down'\n")
    objects, findings = load_manifest_text(rule, "k8s/rule.yaml")
    assert findings == [] and [o.kind for o in objects] == ["PrometheusRule"]


# --- files and the workspace -----------------------------------------------------------------------------


def test_load_manifests_reads_yaml_files_and_keeps_going_past_bad_ones(tmp_path):
    good = write(tmp_path, "k8s/pod.yaml", POD.format(name="p"))
    bad = write(tmp_path, "k8s/latin1.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {a: caf\xe9}\n".encode("latin-1"))
    write(tmp_path, "Dockerfile", "FROM scratch\n")
    objects, findings = load_manifests(tmp_path, [bad, "Dockerfile", good, "../outside.yaml"])
    assert [o.name for o in objects] == ["p"]
    assert [(f.check_id, f.file) for f in findings] == [("SCH-UNREADABLE", bad), ("WS-OUTSIDE-WORKSPACE", "../outside.yaml")]
    assert "UTF-8" in findings[0].message and "outside the workspace" in findings[1].message


def test_non_utf8_file(tmp_path):
    rel = write(tmp_path, "a.yaml", b"kind: \xff\xfe\n")
    text, finding = read_text(tmp_path, rel)
    assert text is None and finding.check_id == "SCH-UNREADABLE" and "not valid UTF-8" in finding.message
    assert finding.category == Category.schema and finding.file == rel


def test_binary_file(tmp_path):
    rel = write(tmp_path, "a.yaml", b"apiVersion: v1\n\x00\x01\x02")
    text, finding = read_text(tmp_path, rel)
    assert text is None and "binary" in finding.message


def test_oversized_file_is_refused_by_size(tmp_path):
    rel = write(tmp_path, "big.yaml", b"# " + b"x" * (6 * 1024 * 1024))
    size = (tmp_path / rel).stat().st_size
    text, finding = read_text(tmp_path, rel)
    assert text is None and finding.check_id == "SCH-UNREADABLE"
    assert f"{size:,} bytes" in finding.message and f"{MAX_FILE_BYTES:,}" in finding.message


def test_small_utf8_file_is_read_without_bom(tmp_path):
    rel = write(tmp_path, "ok.yaml", "\ufeffkind: café\n")
    assert read_text(tmp_path, rel) == ("kind: café\n", None)


@pytest.mark.parametrize("rel", ["../x.yaml", "a/../../x.yaml", "/etc/passwd"])
def test_paths_outside_the_workspace_raise(tmp_path, rel):
    root = tmp_path / "ws"
    root.mkdir()
    with pytest.raises(InputError, match="outside the workspace"):
        resolve_inside(root, rel)
    with pytest.raises(InputError):
        read_text(root, rel)


def test_symlink_escaping_the_workspace_raises(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (tmp_path / "secret.yaml").write_text("x: 1\n")
    os.symlink(tmp_path / "secret.yaml", root / "link.yaml")
    with pytest.raises(InputError):
        resolve_inside(root, "link.yaml")


def test_normalised_paths_inside_the_workspace_resolve(tmp_path):
    (tmp_path / "k8s").mkdir()
    assert resolve_inside(tmp_path, "./k8s/../k8s/a.yaml") == Path(os.path.realpath(tmp_path)) / "k8s" / "a.yaml"


def test_a_manifest_under_a_values_or_compose_name_is_still_analysed():
    objects, _ = load_manifest_text(POD.format(name="p"), "k8s/values-web.yaml")
    assert [o.name for o in objects] == ["p"]
    objects, _ = load_manifest_text(POD.format(name="q"), "compose-web.yaml")
    assert [o.name for o in objects] == ["q"]


def test_template_syntax_in_a_comment_does_not_hide_a_manifest():
    objects, findings = load_manifest_text("# rendered from {{ .Values.image }}\n" + POD.format(name="p"), "k8s/p.yaml")
    assert [o.name for o in objects] == ["p"] and "SCH-TEMPLATE-NOT-RENDERED" not in ids(findings)
