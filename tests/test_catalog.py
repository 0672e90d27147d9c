"""The one catalog: every id the code can emit is catalogued, the factory honours it, and selection obeys it.

Two nets catch an uncatalogued id: a scan of the product's source for id-shaped string literals, and a run of the
engine (checks, schema, rendering, contract, guard, stage gates) over every fixture and the bundled example.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from core.config import STAGES, ChecksConfig, Config, WorkflowConfig, load_config
from core.errors import ConfigError
from core.models import Category, ChangeRequest, Finding, Severity
from tools import engine
from tools.catalog import ENGINE_ENTRIES, ID_PATTERN, deselect, finding
from tools.checks import registry, run_checks, run_diff_checks, selected
from tools.checks.catalog import entries, entry
from tools.manifests import load_manifest_text
from tools.workflow import evaluate_transition

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "core", "graph", "infra_orchestrator", "tools", "prompts")
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "examples" / "todo-phase-iv"
STRICT = Config(checks=ChecksConfig(profile="strict"))


def id_literals(source: str) -> set[str]:
    """Every string literal of ``source`` that is shaped like a finding id."""
    return {node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ID_PATTERN.match(node.value)}


def uncatalogued(ids: set[str]) -> set[str]:
    return {i for i in ids if entry(i) is None}


# --- the catalog itself ---------------------------------------------------------------------------------------


def test_every_entry_is_complete_and_ids_are_unique():
    catalog = entries()
    assert len(catalog) == len({e.id for e in catalog}) == len(registry()) + len(ENGINE_ENTRIES)
    for e in catalog:
        assert (ID_PATTERN.match(e.id) or (e.pattern and e.id.endswith("-*"))), e.id
        assert e.title and e.description and e.remediation and e.source, e.id
        assert (ROOT / e.source.split(",")[0].strip()).is_file(), (e.id, e.source)
        assert bool(e.severities or e.categories) == bool(e.variation) or e.pattern, e.id


def test_phase3_ids_can_be_neither_disabled_nor_suppressed():
    phase3 = [e for e in entries() if e.id.startswith("PHASE3-")]
    assert len(phase3) == 7 and all(not e.disable and not e.suppress for e in phase3)


def test_source_scan_finds_an_uncatalogued_literal():
    assert uncatalogued(id_literals('f = finding("SCH-NOT-A-REAL-ID", "m")\nok = "SEC-PRIVILEGED"\n')) == {
        "SCH-NOT-A-REAL-ID"}


def test_no_id_literal_in_the_source_is_uncatalogued():
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for literal in id_literals(path.read_text(encoding="utf-8")):
                found.setdefault(literal, str(path.relative_to(ROOT)))
    assert {i: found[i] for i in uncatalogued(set(found))} == {}
    engine_ids = {e.id for e in ENGINE_ENTRIES.values() if not e.pattern}
    assert engine_ids <= set(found), "catalogued ids that no code emits"


# --- the factory ----------------------------------------------------------------------------------------------


def test_factory_takes_severity_category_and_remediation_from_the_catalog():
    f = finding("SCH-DUPLICATE-KEY", "duplicate key 'a'", file="k8s/a.yaml", line=3)
    assert (f.severity, f.category, f.remediation) == (Severity.medium, Category.schema,
                                                       ENGINE_ENTRIES["SCH-DUPLICATE-KEY"].remediation)
    assert finding("SCH-SCHEMA-VALID", "m", severity=Severity.info).severity is Severity.info  # documented
    assert finding("PHASE3-NEEDS-APPROVAL", "m", remediation="Revert x.").remediation == "Revert x."


def test_factory_refuses_undocumented_ids_and_severities():
    with pytest.raises(KeyError, match="not in the catalog"):
        finding("SCH-NOT-A-REAL-ID", "m")
    with pytest.raises(ValueError, match="not a documented variation"):
        finding("PHASE3-PROTECTED-MODIFIED", "m", severity=Severity.low)
    with pytest.raises(ValueError, match="not a documented variation"):
        finding("SCH-YAML-INVALID", "m", category=Category.security)


# --- every id the engine emits over the fixtures and the example is catalogued --------------------------------


def _engine(root: Path, config: Config, paths: list[str] | None = None) -> list[Finding]:
    req = ChangeRequest(workspace=str(root), paths=paths or [])
    return engine.analyse(req, config).findings


def _hostile_repo(root: Path) -> list[Finding]:
    """A repository built to make the loader, the renderer and the guard speak: their ids are catalogued too."""
    (root / "k8s").mkdir(parents=True)
    (root / "k8s" / "a.yaml").write_text("a: [1\n---\nkind: x\n---\nb: {c: 1, c: 2}\n---\nx: &a [*a]\n")
    (root / "deploy").mkdir()
    (root / "deploy" / "t.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Values.n }}}\n")
    (root / "k8s" / "bin.yaml").write_bytes(b"\0\1binary")
    (root / "backend").mkdir()
    (root / "backend" / "main.py").write_text("import os\nPORT = os.environ['DATABASE_URL']\n")
    (root / "package.json").write_text("{}\n")
    (root / "k8s" / "link").symlink_to("../backend")
    shutil.copytree(FIXTURES / "charts" / "broken", root / "chart")
    config = Config(checks=ChecksConfig(profile="strict"), phase3={
        "protected": ["backend/**"], "needs_approval": ["package.json"], "app_roots": ["backend"]})
    return _engine(root, config, ["."])


def _diff_fixtures() -> list[Finding]:
    out = []
    for base in sorted((FIXTURES / "checks").glob("*/base.yaml")):
        for head in ("fail.yaml", "pass.yaml"):
            objects = load_manifest_text((base.parent / head).read_text(), head)[0]
            out += run_diff_checks(load_manifest_text(base.read_text(), "base.yaml")[0], objects, STRICT)
    return out


def _stage_findings() -> list[Finding]:
    out = []
    for workflow in (WorkflowConfig(), WorkflowConfig(require_phr=True)):
        for repo in sorted((FIXTURES / "features").iterdir()):
            for feature in sorted((repo / "specs").iterdir()):
                for target in (*STAGES, "done"):
                    out += evaluate_transition(repo, feature.name, target, workflow).findings
    for target in (*STAGES, "done"):
        out += evaluate_transition(EXAMPLE, "001", target, WorkflowConfig()).findings
    return out


def test_engine_over_every_fixture_and_the_example_emits_only_catalogued_ids(tmp_path):
    example = load_config(EXAMPLE).config
    example.checks.profile = "strict"
    findings = _engine(EXAMPLE, example) + _diff_fixtures() + _stage_findings()
    for directory in sorted(p for p in (FIXTURES / "checks").iterdir()) + sorted((FIXTURES / "charts").iterdir()):
        findings += _engine(directory, STRICT)
    findings += _hostile_repo(tmp_path / "hostile")
    emitted = {f.check_id for f in findings}
    assert uncatalogued(emitted) == set()
    wrong = {(f.check_id, f.severity.value, f.category.value) for f in findings
             if not entry(f.check_id).allows(f.severity, f.category)}
    assert wrong == set(), "severity or category not documented in the catalog entry"
    families = {entry(i).family for i in emitted}
    assert families == {"check", "engine", "phase3", "workflow"} and len(emitted) > 100


# --- selection: checks.enabled / checks.disabled ----------------------------------------------------------------


def test_every_deselectable_id_is_dropped_by_disabled_and_kept_out_by_enabled():
    checks = {s.id for s in registry()}
    engine = [e.id for e in ENGINE_ENTRIES.values() if e.disable]
    probe = [Finding(check_id=i, severity=Severity.info, category=Category.schema, message="m") for i in engine]
    for i in engine:  # engine ids: their findings are filtered
        assert i not in {f.check_id for f in deselect(probe, ChecksConfig(disabled=[i]))}
        assert {f.check_id for f in deselect(probe, ChecksConfig(enabled=[i]))} == {i}
    for i in checks:  # registry checks: they are not even run
        assert i not in {s.id for s in selected(Config(checks=ChecksConfig(profile="strict", disabled=[i])))}
        assert [s.id for s in selected(Config(checks=ChecksConfig(enabled=[i])))] == [i]
    fixed = [e.id for e in ENGINE_ENTRIES.values() if not e.disable and not e.pattern]
    kept = [Finding(check_id=i, severity=Severity.info, category=Category.schema, message="m") for i in fixed]
    assert deselect(kept, ChecksConfig(enabled=["SEC-PRIVILEGED"])) == kept


def test_engine_ids_follow_enabled_and_disabled(tmp_path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
                                             "data: {x: '1', x: '2'}\nbogus: 1\n")
    seen = {f.check_id for f in _engine(tmp_path, STRICT)}
    assert {"SCH-DUPLICATE-KEY", "SCH-SCHEMA-VALID"} <= seen
    off = Config(checks=ChecksConfig(profile="strict", disabled=["SCH-DUPLICATE-KEY", "SCH-SCHEMA-VALID"]))
    assert not {"SCH-DUPLICATE-KEY", "SCH-SCHEMA-VALID"} & {f.check_id for f in _engine(tmp_path, off)}
    only = Config(checks=ChecksConfig(enabled=["SCH-DUPLICATE-KEY"]))
    kept = {f.check_id for f in _engine(tmp_path, only)}
    assert "SCH-DUPLICATE-KEY" in kept and not kept & ({s.id for s in registry()} | {"SCH-SCHEMA-VALID"})
    assert "PHASE3-BOUNDARIES-UNDEFINED" in kept  # a fixed id is never deselected by an enabled list


@pytest.mark.parametrize("key", ["enabled", "disabled"])
def test_phase3_gates_and_not_analysed_notices_cannot_be_deselected(key):
    for fixed in ("PHASE3-PROTECTED-MODIFIED", "WF-STAGE-SKIPPED", "SCH-YAML-INVALID", "AGENT-CONFLICT"):
        with pytest.raises(ConfigError, match=f"checks.{key}: {fixed} cannot be enabled or disabled"):
            run_checks([], Config(checks=ChecksConfig(**{key: [fixed]})))


def test_unknown_ids_are_configuration_errors_with_a_hint():
    with pytest.raises(ConfigError, match="unknown finding id 'SEC-PRIVILEDGED' .did you mean SEC-PRIVILEGED"):
        selected(Config(checks=ChecksConfig(disabled=["SEC-PRIVILEDGED"])))
    with pytest.raises(ConfigError, match="privileged-container is kube-linter's id: use SEC-PRIVILEGED"):
        selected(Config(checks=ChecksConfig(enabled=["privileged-container"])))
    with pytest.raises(ConfigError, match="checks.unsuppressible: unknown finding id"):
        selected(Config(checks=ChecksConfig(unsuppressible=["NOPE-NOPE"])))
    assert selected(Config(checks=ChecksConfig(unsuppressible=["PHASE3-PROTECTED-MODIFIED"])))


def test_a_config_file_that_disables_a_phase3_id_makes_check_exit_2(tmp_path, monkeypatch):
    from tests.clirun import invoke

    (tmp_path / ".infra-orchestrator.yaml").write_text("checks:\n  disabled: [PHASE3-LOCK-MISMATCH]\n")
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", ".")
    assert result.returncode == 2 and "PHASE3-LOCK-MISMATCH cannot be enabled or disabled" in result.stderr


def test_the_catalog_answers_for_an_id_or_a_peers_id(capsys):
    from tools.checks.catalog import main

    assert main(["DL3002", "WF-PHR-MISSING"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("DOCKER-USER-ROOT: ") and "varies: high (blocking)" in out and "#wf-phr-missing" in out
    assert main(["NOPE-NOPE"]) == 2 and "not in the catalog" in capsys.readouterr().err
