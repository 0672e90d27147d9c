"""Stage transitions, the ``stage status`` table, ADRs, judged artifacts and drift, on the bundled fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from featurekit import FIXTURES, copy_fixture, edit, hits, line_of, write
from workflowkit import (  # noqa: F401
    DEFAULT,
    FEATURE,
    LEGACY_FEATURE,
    LEGACY_MARKER_LINE,
    LEGACY_OPEN_ITEM_LINE,
    complete_repo,
    stage,
)

from core.config import STAGES, WorkflowConfig
from core.errors import InputError
from core.models import Severity
from tools import ledger
from tools.workflow import (
    DONE,
    evaluate_stage,
    evaluate_transition,
    judged_artifacts,
    list_adrs,
    stage_table,
    stale_approvals,
)

# --- transitions --------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return complete_repo(tmp_path)


def test_skip_attempt_to_tasks_without_plan(repo: Path) -> None:
    for name in ("plan.md", "research.md", "tasks.md"):
        (repo / FEATURE / name).unlink()
    result = evaluate_transition(repo, "001", "tasks", DEFAULT)
    assert not result.passed
    assert result.required == ["constitution", "specify", "plan"]
    skipped = [f for f in result.findings if f.check_id == "WF-STAGE-SKIPPED"]
    assert len(skipped) == 1 and "'plan'" in skipped[0].message and skipped[0].severity is Severity.high
    assert {"WF-PLAN-EXISTS", "WF-PLAN-RESEARCH"} <= {f.check_id for f in result.findings}
    assert result.current_stage == "clarify"
    assert result.next_action == "Complete 'plan' with /sp.plan, then request 'tasks' again."


def test_open_marker_asks_before_entering_plan_naming_file_and_line() -> None:
    result = evaluate_transition(FIXTURES / "legacy", "2", "plan", DEFAULT)
    assert not result.passed and result.current_stage == "specify"
    assert [(f.check_id, f.severity, f.location()) for f in result.findings] == [
        ("WF-CLARIFY-MARKERS", Severity.medium, f"{LEGACY_FEATURE}/spec.md:{LEGACY_MARKER_LINE}")]
    assert result.findings[0].question and result.questions == [result.findings[0].question]
    assert f"{LEGACY_FEATURE}/spec.md:{LEGACY_MARKER_LINE}" in result.next_action


def test_optional_clarify_not_done_is_not_a_skip(repo: Path) -> None:
    edit(repo, f"{FEATURE}/spec.md", "### Edge Cases", "### Edge Cases\n\n- Backups: [NEEDS CLARIFICATION: how often?]")
    result = evaluate_transition(repo, "1", "tasks", DEFAULT)
    assert [f.check_id for f in result.findings] == ["WF-CLARIFY-MARKERS"]  # asked at entry, not a skip
    assert result.required == ["constitution", "specify", "plan"] and result.gates["clarify"] == "ask"
    assert result.current_stage == "implement"  # an unfinished optional stage does not stop the walk
    strict = evaluate_transition(repo, "1", "tasks", WorkflowConfig(optional_stages=["analyze"]))
    assert strict.required == ["constitution", "specify", "clarify", "plan"]
    assert [f.check_id for f in strict.findings] == ["WF-CLARIFY-MARKERS"] and strict.questions
    edit(repo, f"{FEATURE}/checklists/requirements.md", "- [x] Requirements", "- [ ] Requirements")
    strict = evaluate_transition(repo, "1", "tasks", WorkflowConfig(optional_stages=["analyze"]))
    assert [f.message for f in strict.findings if f.check_id == "WF-STAGE-SKIPPED"] == [
        "required stage 'clarify' is not complete (its gates fail) before entering 'tasks'"]


def test_incomplete_checklist_asks_before_implement(repo: Path) -> None:
    write(repo, f"{FEATURE}/checklists/security.md", "# Security\n\n- [ ] CHK001 Secrets are not in values.yaml\n")
    assert evaluate_transition(repo, "1", "tasks", DEFAULT).passed
    result = evaluate_transition(repo, "1", "implement", DEFAULT)
    assert not result.passed and result.questions
    assert [(f.check_id, f.location()) for f in result.findings] == [
        ("WF-CHECKLISTS-COMPLETE", f"{FEATURE}/checklists/security.md:3")]
    assert result.next_action.startswith("Answer 1 open question(s), or fix them first, starting with "
                                         "WF-CHECKLISTS-COMPLETE at")


def test_required_stage_with_failing_gates_is_reported_as_skipped(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "## Format:", "IMPORTANT: The tasks below are SAMPLE TASKS\n\n## Format:")
    result = evaluate_transition(repo, "1", "implement", DEFAULT)
    assert [f.check_id for f in result.findings] == ["WF-TASKS-SAMPLE", "WF-STAGE-SKIPPED"]
    assert result.current_stage == "plan"


def test_require_phr_turns_the_warning_into_a_block(repo: Path) -> None:
    shutil.rmtree(repo / "history/prompts/001-todo-k8s")
    relaxed = evaluate_transition(repo, "1", "tasks", DEFAULT)
    assert relaxed.passed and {f.check_id for f in relaxed.findings} == {"WF-PHR-MISSING"}
    strict = evaluate_transition(repo, "1", "tasks", WorkflowConfig(require_phr=True))
    assert not strict.passed
    assert {f.check_id for f in strict.findings} == {"WF-PHR-MISSING", "WF-STAGE-SKIPPED"}


def test_entering_constitution_requires_nothing(tmp_path: Path) -> None:
    (tmp_path / "specs/001-new").mkdir(parents=True)
    result = evaluate_transition(tmp_path, "1", "constitution", DEFAULT)
    assert result.passed and result.required == [] and result.current_stage is None
    assert result.next_action == "Proceed with /sp.constitution."


def test_unknown_target_lists_the_stages(repo: Path) -> None:
    with pytest.raises(InputError) as err:
        evaluate_transition(repo, "1", "deploy", DEFAULT)
    assert str(err.value) == f"unknown stage 'deploy'; stages are: {', '.join(STAGES)}, done"


def test_unknown_stage_in_evaluate_stage(repo: Path) -> None:
    with pytest.raises(InputError, match="stages are: constitution, specify"):
        evaluate_stage(repo, repo / FEATURE, "review")


def test_unknown_feature_in_transition_and_table(repo: Path) -> None:
    with pytest.raises(InputError, match="features found: 001-todo-k8s"):
        evaluate_transition(repo, "chat-api", "plan", DEFAULT)
    with pytest.raises(InputError, match="features found: 001-todo-k8s"):
        stage_table(repo, "7", DEFAULT)


# --- stage table --------------------------------------------------------------------------------


def test_stage_table_of_a_feature_before_planning() -> None:
    rows = stage_table(FIXTURES / "legacy", "chat-api", DEFAULT)
    assert [(r.stage, r.status, r.failing, r.optional) for r in rows] == [
        ("constitution", "pass", [], False),
        ("specify", "pass", [], False),
        ("clarify", "ask", ["WF-CLARIFY-MARKERS"], True),
        ("plan", "not started", [], False),
        ("tasks", "not started", [], False),
        ("analyze", "not started", [], True),
        ("implement", "not started", [], False),
    ]


def test_stage_table_implement_fails_on_open_tasks(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "- [x] T005", "- [ ] T005")
    rows = {r.stage: r for r in stage_table(repo, "1", DEFAULT)}
    assert (rows["implement"].status, rows["implement"].failing) == ("fail", ["WF-IMPLEMENT-OPEN-TASKS"])
    assert rows["tasks"].status == "pass"


# --- architecture decision records, plan documents ------------------------------------------------

PLANNED = FIXTURES / "planned"


def test_planned_feature_stops_before_tasks_with_a_proposed_adr_warning() -> None:
    rows = {r.stage: r.status for r in stage_table(PLANNED, "1", DEFAULT)}
    assert [rows[s] for s in STAGES] == ["pass", "pass", "pass", "pass", "not started", "not started", "not started"]
    findings = stage(PLANNED, "plan")
    line = line_of(PLANNED, f"{FEATURE}/plan.md", "ADR-0001")
    assert [(f.check_id, f.severity, f.location()) for f in findings] == [
        ("WF-ADR-PROPOSED", Severity.low, f"{FEATURE}/plan.md:{line}")]
    assert "docs/adr/0001-helm-over-kustomize.md" in findings[0].message
    result = evaluate_transition(PLANNED, "1", "tasks", DEFAULT)
    assert result.passed and [f.check_id for f in result.findings] == ["WF-ADR-PROPOSED"]
    assert result.gates == {"constitution": "pass", "specify": "pass", "clarify": "pass", "plan": "pass"}


def test_adrs_in_both_layouts_are_listed() -> None:
    assert [(a.path, a.number, a.status) for a in list_adrs(PLANNED)] == [
        ("history/adr/0002-external-database.md", 2, "Accepted"), ("docs/adr/0001-helm-over-kustomize.md", 1, "Proposed")]
    assert list_adrs(FIXTURES / "complete") == []


@pytest.mark.parametrize(("status", "reference"), [("Accepted", "ADR-0001"), ("Proposed", "a chart")])
def test_accepted_or_unreferenced_adr_is_no_warning(tmp_path: Path, status: str, reference: str) -> None:
    root = copy_fixture("planned", tmp_path)
    edit(root, "docs/adr/0001-helm-over-kustomize.md", "Proposed", status)
    edit(root, f"{FEATURE}/plan.md", "(see ADR-0001)", f"(see {reference})")
    assert stage(root, "plan") == []


def test_adr_referenced_by_file_name(tmp_path: Path) -> None:
    root = copy_fixture("planned", tmp_path)
    edit(root, f"{FEATURE}/plan.md", "(see ADR-0001)", "(see docs/adr/0001-helm-over-kustomize.md)")
    assert [f.check_id for f in stage(root, "plan")] == ["WF-ADR-PROPOSED"]


def test_arguments_sentinel_in_plan_and_research(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "## Summary", "## Summary\n\n$ARGUMENTS")
    write(repo, f"{FEATURE}/data-model.md", "# Data model\n\n<!--\n  ACTION REQUIRED: fill in\n-->\n")
    findings = stage(repo, "plan")
    assert hits(findings, "WF-PLAN-TEMPLATE-LEFTOVERS") == [(f"{FEATURE}/plan.md", line_of(repo, f"{FEATURE}/plan.md",
                                                                                        "$ARGUMENTS"))]
    assert hits(findings, "WF-TEMPLATE-SENTINEL") == [(f"{FEATURE}/data-model.md", 3)]


# --- done, judged artifacts, default feature ------------------------------------------------------


def test_done_requires_implement_complete(repo: Path) -> None:
    assert evaluate_transition(repo, "1", DONE, DEFAULT).next_action == "The feature is complete."
    edit(repo, f"{FEATURE}/tasks.md", "- [x] T005", "- [ ] T005")
    result = evaluate_transition(repo, "1", DONE, DEFAULT)
    assert not result.passed and result.gates["implement"] == "fail"
    assert [f.check_id for f in result.findings] == ["WF-IMPLEMENT-OPEN-TASKS", "WF-STAGE-SKIPPED"]
    assert evaluate_transition(repo, "1", "implement", DEFAULT).passed  # entering implement with open tasks is fine


def test_judged_artifacts_grow_with_the_target(repo: Path) -> None:
    def names(target: str) -> list[str]:
        return [p.relative_to(repo).as_posix() for p in judged_artifacts(repo, repo / FEATURE, target)]

    assert names("constitution") == []
    assert names("specify") == [".specify/memory/constitution.md"]
    assert names("plan") == [".specify/memory/constitution.md", f"{FEATURE}/spec.md",
                             f"{FEATURE}/checklists/requirements.md"]
    assert names("tasks")[-2:] == [f"{FEATURE}/plan.md", f"{FEATURE}/research.md"]
    assert names(DONE)[-1] == f"{FEATURE}/tasks.md" and names(DONE).count(f"{FEATURE}/tasks.md") == 1


# --- drift (ledger-backed) ------------------------------------------------------------------------


def approve_in_ledger(root: Path, target: str) -> None:
    artifacts = ledger.file_digests(root, judged_artifacts(root, root / FEATURE, target))
    ledger.append(root, {"kind": "stage", "outcome": "APPROVED", "subject": {"feature": "001-todo-k8s", "target": target},
                         "artifacts": artifacts})


def test_edit_or_removal_after_approval_makes_it_stale(repo: Path) -> None:
    approve_in_ledger(repo, "plan")
    approve_in_ledger(repo, "implement")
    assert stale_approvals(repo, repo / FEATURE) == {}
    edit(repo, f"{FEATURE}/spec.md", "**FR-001**", "**FR-001** (edited)")
    (repo / FEATURE / "research.md").unlink()
    stale = stale_approvals(repo, repo / FEATURE)
    assert stale["plan"].changed == [f"{FEATURE}/spec.md"]
    assert stale["implement"].changed == [f"{FEATURE}/research.md", f"{FEATURE}/spec.md"]
    assert (stale["plan"].record, stale["implement"].record) == (0, 1)


def test_stale_upstream_approval_blocks_the_next_transition(repo: Path) -> None:
    approve_in_ledger(repo, "plan")
    edit(repo, f"{FEATURE}/spec.md", "**FR-001**", "**FR-001** (edited)")
    assert evaluate_transition(repo, "1", "plan", DEFAULT).passed  # re-approving plan itself is the fix
    result = evaluate_transition(repo, "1", "tasks", DEFAULT)
    assert not result.passed and result.gates["plan"] == "stale" and result.gates["specify"] == "pass"
    assert [(f.check_id, f.severity, f.file) for f in result.findings] == [
        ("WF-STALE-APPROVAL", Severity.high, f"{FEATURE}/spec.md")]
    assert [s.stage for s in result.stale] == ["plan"]
    assert result.next_action == "Re-approve 'plan': stage approve 001-todo-k8s --to plan, then request 'tasks' again."


def test_rejected_and_malformed_records_are_not_approvals(repo: Path) -> None:
    ledger.append(repo, {"kind": "stage", "outcome": "REJECTED", "subject": {"feature": "001-todo-k8s", "target": "plan"},
                         "artifacts": {f"{FEATURE}/spec.md": {"sha256_unticked": "0"}}})
    ledger.append(repo, {"kind": "stage", "outcome": "APPROVED", "subject": ["not", "a", "dict"]})
    ledger.append(repo, {"kind": "stage", "outcome": "APPROVED", "subject": {"feature": "001-todo-k8s", "target": "tasks"},
                         "artifacts": {"../../etc/passwd": {"sha256_unticked": "0"}, "x": "not a digest"}})
    assert stale_approvals(repo, repo / FEATURE) == {}
    assert {r.stage: r.approval for r in stage_table(repo, "1", DEFAULT)}["tasks"] == "approved"


@pytest.mark.parametrize(("target", "remove", "skipped"), [
    ("specify", ".specify/memory/constitution.md", "constitution"),
    ("clarify", f"{FEATURE}/spec.md", "specify"),
    ("plan", f"{FEATURE}/spec.md", "specify"),
    ("tasks", f"{FEATURE}/plan.md", "plan"),
    ("analyze", f"{FEATURE}/tasks.md", "tasks"),
    ("implement", f"{FEATURE}/tasks.md", "tasks"),
])
def test_every_skip_attempt_names_the_missing_stage(repo: Path, target: str, remove: str, skipped: str) -> None:
    assert evaluate_transition(repo, "1", target, DEFAULT).passed
    (repo / remove).unlink()
    result = evaluate_transition(repo, "1", target, DEFAULT)
    messages = [f.message for f in result.findings if f.check_id == "WF-STAGE-SKIPPED"]
    assert not result.passed and messages[0] == (
        f"required stage '{skipped}' is not complete (not started) before entering '{target}'")
    assert result.gates[skipped] == "not started"
