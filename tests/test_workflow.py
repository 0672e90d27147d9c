"""Spec-Kit Plus stage gates on the bundled fixtures: one gate at a time.

``complete`` is a realistic feature that passes every gate (newer ``history/prompts`` layout); ``legacy`` is a
feature stuck before planning (older ``docs/prompts`` layout). Failure cases copy ``complete`` into tmp_path and
change one artifact, so each test shows exactly which edit trips which gate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from featurekit import FIXTURES, edit, hits, line_of, write
from workflowkit import (  # noqa: F401
    DEFAULT,
    FEATURE,
    LEGACY_FEATURE,
    LEGACY_MARKER_LINE,
    LEGACY_OPEN_ITEM_LINE,
    complete_repo,
    stage,
)

from core.config import STAGES
from core.models import Category, Severity
from tools.workflow import DONE, GATES, evaluate_transition, stage_table

# --- the complete fixture passes every gate -------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return complete_repo(tmp_path)


@pytest.mark.parametrize("name", STAGES)
def test_complete_feature_passes_every_gate(name: str) -> None:
    root = FIXTURES / "complete"
    assert stage(root, name) == []


def test_complete_feature_status_and_transitions() -> None:
    root = FIXTURES / "complete"
    rows = stage_table(root, "1", DEFAULT)
    assert [(r.stage, r.status, r.failing) for r in rows] == [
        (s, "not started" if s == "analyze" else "pass", []) for s in STAGES]  # no analyze report was kept
    result = evaluate_transition(root, "todo-k8s", "implement", DEFAULT)
    assert result.passed and result.findings == []
    assert result.feature == "001-todo-k8s" and result.current_stage == "implement"
    assert result.next_action == "Proceed with /sp.implement."


def test_every_stage_has_its_gates_and_findings_are_workflow_findings(repo: Path) -> None:
    assert set(GATES) == set(STAGES)
    shutil.rmtree(repo / "specs/001-todo-k8s")
    (repo / "specs/001-todo-k8s").mkdir()
    (repo / ".specify/memory/constitution.md").unlink()
    findings = [f for name in STAGES for f in stage(repo, name)]
    assert findings and all(f.category is Category.workflow for f in findings)
    assert all(f.check_id.startswith("WF-") for f in findings)


# --- constitution -------------------------------------------------------------------------------


def test_constitution_missing(repo: Path) -> None:
    (repo / ".specify/memory/constitution.md").unlink()
    findings = stage(repo, "constitution")
    assert hits(findings, "WF-CONSTITUTION-EXISTS") == [(".specify/memory/constitution.md", None)]
    assert {f.check_id for f in findings} == {"WF-CONSTITUTION-EXISTS"}
    assert findings[0].severity is Severity.high


def test_constitution_placeholders_reported_with_lines(repo: Path) -> None:
    edit(repo, ".specify/memory/constitution.md", "# Todo Platform Constitution", "# [PROJECT_NAME] Constitution")
    edit(repo, ".specify/memory/constitution.md", "**Version**: 1.0.0 | **Ratified**: 2025-11-02",
         "**Version**: [CONSTITUTION_VERSION] | **Ratified**: [RATIFICATION_DATE]")
    findings = stage(repo, "constitution")
    path = ".specify/memory/constitution.md"
    title, version = line_of(repo, path, "[PROJECT_NAME]"), line_of(repo, path, "**Version**")
    assert hits(findings, "WF-CONSTITUTION-PLACEHOLDERS") == [(path, title), (path, version), (path, version)]
    assert "[PROJECT_NAME]" in findings[0].message
    assert hits(findings, "WF-CONSTITUTION-VERSION") == [(path, version)]


def test_sync_impact_report_comment_is_not_a_placeholder() -> None:
    text = (FIXTURES / "complete/.specify/memory/constitution.md").read_text(encoding="utf-8")
    assert "[PRINCIPLE_1_NAME]" in text  # inside the HTML comment, so the gate must ignore it
    assert stage(FIXTURES / "complete", "constitution") == []


def test_constitution_without_version_line(repo: Path) -> None:
    edit(repo, ".specify/memory/constitution.md", "**Version**: 1.0.0 | ", "")
    assert hits(stage(repo, "constitution"), "WF-CONSTITUTION-VERSION") == [(".specify/memory/constitution.md", None)]


# --- specify ------------------------------------------------------------------------------------


def test_spec_missing_reports_only_existence(repo: Path) -> None:
    (repo / FEATURE / "spec.md").unlink()
    assert [f.check_id for f in stage(repo, "specify")] == ["WF-SPECIFY-EXISTS"]


def test_spec_missing_mandatory_section(repo: Path) -> None:
    edit(repo, f"{FEATURE}/spec.md", "## Success Criteria *(mandatory)*", "## Outcomes")
    findings = stage(repo, "specify")
    assert [f.message for f in findings if f.check_id == "WF-SPECIFY-SECTIONS"] == [
        "mandatory section '## Success Criteria' is missing"]


def test_spec_sections_accepted_without_mandatory_suffix(repo: Path) -> None:
    for title in ("User Scenarios & Testing", "Requirements", "Success Criteria"):
        edit(repo, f"{FEATURE}/spec.md", f"## {title} *(mandatory)*", f"## {title}")
    assert stage(repo, "specify") == []


def test_spec_requires_requirement_and_success_ids(repo: Path) -> None:
    edit(repo, f"{FEATURE}/spec.md", "**SC-001**", "**Outcome 1**")
    edit(repo, f"{FEATURE}/spec.md", "**FR-001**", "**Req**")
    edit(repo, f"{FEATURE}/spec.md", "**FR-002**", "**Req**")
    messages = [f.message for f in stage(repo, "specify") if f.check_id == "WF-SPECIFY-IDS"]
    assert len(messages) == 2 and "FR-001" in messages[0] and "SC-001" in messages[1]


def test_spec_quality_checklist_missing(repo: Path) -> None:
    (repo / FEATURE / "checklists/requirements.md").unlink()
    assert hits(stage(repo, "specify"), "WF-SPECIFY-CHECKLIST") == [(f"{FEATURE}/checklists/requirements.md", None)]


def test_template_sentinels_in_spec_and_checklists(repo: Path) -> None:
    edit(repo, f"{FEATURE}/spec.md", '"Deploy the Phase III todo chatbot to a local Minikube cluster with Helm"',
         '"$ARGUMENTS"')
    edit(repo, f"{FEATURE}/spec.md", "### Functional Requirements\n",
          "### Functional Requirements\n\n<!--\n  ACTION REQUIRED: The content in this section represents"
          " placeholders.\n-->\n")
    write(repo, f"{FEATURE}/checklists/ux.md",
          "# UX Checklist\n\n**Note**: IMPORTANT: The checklist items below are SAMPLE ITEMS for illustration only.\n")
    spec = f"{FEATURE}/spec.md"
    assert hits(stage(repo, "specify"), "WF-TEMPLATE-SENTINEL") == [
        (spec, line_of(repo, spec, "$ARGUMENTS")), (spec, line_of(repo, spec, "<!--")),
        (f"{FEATURE}/checklists/ux.md", 3)]


# --- clarify / spec ready for plan ----------------------------------------------------------------


def test_open_marker_reported_with_file_and_line_only_in_spec_and_plan() -> None:
    root = FIXTURES / "legacy"
    findings = stage(root, "clarify", LEGACY_FEATURE)
    # the quality checklist's "[NEEDS CLARIFICATION]" (no colon) is not a marker
    assert hits(findings, "WF-CLARIFY-MARKERS") == [(f"{LEGACY_FEATURE}/spec.md", LEGACY_MARKER_LINE)]
    assert "auth method not specified" in findings[0].message


def test_marker_in_plan_is_reported(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "Neon PostgreSQL (external to the cluster)",
         "Neon PostgreSQL [NEEDS CLARIFICATION: backups?]")
    line = line_of(repo, f"{FEATURE}/plan.md", "backups?")
    assert hits(stage(repo, "clarify"), "WF-CLARIFY-MARKERS") == [(f"{FEATURE}/plan.md", line)]


def test_marker_needs_the_colon(repo: Path) -> None:
    edit(repo, f"{FEATURE}/spec.md", "### Edge Cases", "### Edge Cases\n\nNo [NEEDS CLARIFICATION] markers remain.")
    assert stage(repo, "clarify") == []


def test_markers_outside_spec_and_plan_are_ignored(repo: Path) -> None:
    edit(repo, f"{FEATURE}/research.md", "- Decision: python:3.11-slim",
         "- Decision: python:3.11-slim (was [NEEDS CLARIFICATION: base image])")
    assert stage(repo, "clarify") == []


def test_unchecked_checklist_items_ask_before_implement(repo: Path) -> None:
    write(repo, f"{FEATURE}/checklists/security.md",
          "# Security\n\n- [x] CHK001 Secrets\n- [ ] CHK002 RBAC\n  - [ ] CHK003 PSS\n")
    assert stage(repo, "clarify") == []  # only the spec quality checklist belongs to the spec's readiness
    result = evaluate_transition(repo, "1", "implement", DEFAULT)
    asked = [f for f in result.findings if f.check_id == "WF-CHECKLISTS-COMPLETE"]
    assert [(f.file, f.line) for f in asked] == [(f"{FEATURE}/checklists/security.md", 4),
                                                 (f"{FEATURE}/checklists/security.md", 5)]
    assert asked[0].message == "unchecked checklist item: CHK002 RBAC" and asked[0].severity is Severity.medium
    assert not result.passed and result.questions == [
        "Some checklists are incomplete. Do you want to proceed with implementation anyway? [y/N]"]


def test_open_spec_quality_item_rejects_planning(repo: Path) -> None:
    edit(repo, f"{FEATURE}/checklists/requirements.md", "- [X] Scope is clearly bounded", "- [ ] Scope is clearly bounded")
    line = line_of(repo, f"{FEATURE}/checklists/requirements.md", "- [ ] Scope")
    assert hits(stage(repo, "clarify"), "WF-SPEC-CHECKLIST-OPEN") == [(f"{FEATURE}/checklists/requirements.md", line)]
    result = evaluate_transition(repo, "1", "plan", DEFAULT)
    assert [(f.check_id, f.severity) for f in result.findings] == [("WF-SPEC-CHECKLIST-OPEN", Severity.high)]
    assert evaluate_transition(repo, "1", "clarify", DEFAULT).passed  # /sp.clarify is where it gets fixed


def test_legacy_markers_item_is_judged_from_the_spec() -> None:
    findings = stage(FIXTURES / "legacy", "clarify", LEGACY_FEATURE)
    assert "- [ ] No [NEEDS CLARIFICATION] markers remain" in (
        FIXTURES / "legacy" / LEGACY_FEATURE / "checklists/requirements.md").read_text().splitlines()[LEGACY_OPEN_ITEM_LINE - 1]
    assert [f.check_id for f in findings] == ["WF-CLARIFY-MARKERS"]


# --- plan ---------------------------------------------------------------------------------------


def test_plan_missing(repo: Path) -> None:
    (repo / FEATURE / "plan.md").unlink()
    assert [f.check_id for f in stage(repo, "plan")] == ["WF-PLAN-EXISTS"]


def test_plan_without_constitution_check(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "## Constitution Check", "## Principles")
    assert hits(stage(repo, "plan"), "WF-PLAN-CONSTITUTION-CHECK") == [(f"{FEATURE}/plan.md", None)]


def test_plan_with_unfilled_constitution_gates(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "- I. Spec-Driven",
         "[Gates determined based on constitution file]\n- I. Spec-Driven")
    line = line_of(repo, f"{FEATURE}/plan.md", "[Gates determined")
    assert hits(stage(repo, "plan"), "WF-PLAN-CONSTITUTION-CHECK") == [(f"{FEATURE}/plan.md", line)]


def test_plan_template_leftovers(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "```text\ncharts",
         "```text\n# [REMOVE IF UNUSED] Option 1: Single project\ncharts")
    edit(repo, f"{FEATURE}/plan.md", "**Structure Decision**: Infrastructure only",
         "**Structure Decision**: [Document the selected structure]")
    edit(repo, f"{FEATURE}/plan.md", "## Complexity Tracking\n",
         "## Complexity Tracking\n<!--\n  ACTION REQUIRED: Replace the content in this section\n-->\n")
    findings = stage(repo, "plan")
    lines = [line_of(repo, f"{FEATURE}/plan.md", s) for s in ("[REMOVE IF", "[Document", "ACTION REQUIRED")]
    assert hits(findings, "WF-PLAN-TEMPLATE-LEFTOVERS") == [(f"{FEATURE}/plan.md", n) for n in lines]
    assert "WF-TEMPLATE-SENTINEL" not in {f.check_id for f in findings}  # one finding per leftover


def test_tech_context_needs_clarification_only_inside_the_section(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "**Testing**: helm lint, kubeconform", "**Testing**: NEEDS CLARIFICATION")
    edit(repo, f"{FEATURE}/plan.md", "No violations to justify.", "Resolved every NEEDS CLARIFICATION in research.md.")
    line = line_of(repo, f"{FEATURE}/plan.md", "**Testing**")
    assert hits(stage(repo, "plan"), "WF-PLAN-TECH-CONTEXT") == [(f"{FEATURE}/plan.md", line)]


def test_bracketed_marker_in_tech_context_is_a_clarify_marker_only(repo: Path) -> None:
    edit(repo, f"{FEATURE}/plan.md", "**Testing**: helm lint, kubeconform", "**Testing**: [NEEDS CLARIFICATION: which?]")
    line = line_of(repo, f"{FEATURE}/plan.md", "**Testing**")
    assert stage(repo, "plan") == []
    assert hits(stage(repo, "clarify"), "WF-CLARIFY-MARKERS") == [(f"{FEATURE}/plan.md", line)]


def test_research_missing(repo: Path) -> None:
    (repo / FEATURE / "research.md").unlink()
    assert [f.check_id for f in stage(repo, "plan")] == ["WF-PLAN-RESEARCH"]


# --- tasks --------------------------------------------------------------------------------------


def test_tasks_missing(repo: Path) -> None:
    (repo / FEATURE / "tasks.md").unlink()
    assert [f.check_id for f in stage(repo, "tasks")] == ["WF-TASKS-EXISTS"]


def test_malformed_task_lines_are_warnings_with_lines(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T002 [P] Add", "- [X] Add")
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T003 Write", "- [X] T3 Write")
    edit(repo, f"{FEATURE}/tasks.md", "- [x] T005 [US1] Add", "* [ ] [US1] T005 Add")
    findings = stage(repo, "tasks")
    lines = [line_of(repo, f"{FEATURE}/tasks.md", s) for s in ("- [X] Add", "T3 Write", "[US1] T005")]
    assert hits(findings, "WF-TASKS-FORMAT") == [(f"{FEATURE}/tasks.md", n) for n in lines]
    assert {f.severity for f in findings} == {Severity.low}
    assert findings[0].message == ("checkbox without a task id is not counted as a task: Add .dockerignore files in "
                                   "frontend/ and backend/")
    assert [f.message for f in stage(repo, "implement")] == ["open task [US1] T005 Add liveness and readiness probes "
                                                              "in charts/todo/templates/backend.yaml"]


def test_sample_tasks_left_in(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "## Format:",
         "<!--\n  IMPORTANT: The tasks below are SAMPLE TASKS for illustration purposes only.\n"
         "  DO NOT keep these sample tasks in the generated tasks.md file.\n-->\n\n## Format:")
    assert hits(stage(repo, "tasks"), "WF-TASKS-SAMPLE") == [(f"{FEATURE}/tasks.md", 7), (f"{FEATURE}/tasks.md", 8)]


def test_user_story_phase_headings_are_not_phase_iii_code(repo: Path) -> None:
    text = (repo / FEATURE / "tasks.md").read_text(encoding="utf-8")
    assert "## Phase 3: User Story 1" in text
    findings = [f for name in ("tasks", "implement") for f in stage(repo, name)]
    assert findings == []
    edit(repo, f"{FEATURE}/tasks.md", "- [x] T005", "- [ ] T005")
    findings = [f for name in ("tasks", "implement") for f in stage(repo, name)]
    assert [(f.check_id, f.category) for f in findings] == [("WF-IMPLEMENT-OPEN-TASKS", Category.workflow)]
    assert not any(f.category is Category.phase3 for f in findings)


# --- implement ----------------------------------------------------------------------------------


def test_open_tasks_reported_with_lines(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T001", "- [ ] T001")
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T004", "- [ ] T004")
    findings = stage(repo, "implement")
    lines = [line_of(repo, f"{FEATURE}/tasks.md", s) for s in ("- [ ] T001", "- [ ] T004")]
    assert hits(findings, "WF-IMPLEMENT-OPEN-TASKS") == [(f"{FEATURE}/tasks.md", n) for n in lines]
    assert findings[0].message.startswith("open task T001 Create the chart skeleton")


def test_implement_without_tasks_file(repo: Path) -> None:
    (repo / FEATURE / "tasks.md").unlink()
    assert hits(stage(repo, "implement"), "WF-IMPLEMENT-OPEN-TASKS") == [(f"{FEATURE}/tasks.md", None)]


# --- prompt history records ---------------------------------------------------------------------


def test_phr_missing_is_a_warning(repo: Path) -> None:
    shutil.rmtree(repo / "history/prompts/001-todo-k8s")
    findings = stage(repo, "plan")
    assert [(f.check_id, f.severity, f.file) for f in findings] == [
        ("WF-PHR-MISSING", Severity.low, "history/prompts/001-todo-k8s")]
    assert "'stage: plan|architect|planning', 'command: /sp.plan'" in findings[0].message
    assert stage(repo, "constitution") == []  # its record lives in history/prompts/constitution/


def test_constitution_phr_missing(repo: Path) -> None:
    shutil.rmtree(repo / "history/prompts/constitution")
    assert hits(stage(repo, "constitution"), "WF-PHR-MISSING") == [("history/prompts/constitution", None)]


@pytest.mark.parametrize("record", ["0009-red.red.prompt.md", "0009-refactor.refactor.prompt.md"])
def test_implement_phr_accepts_red_green_refactor(repo: Path, record: str) -> None:
    (repo / "history/prompts/001-todo-k8s/0005-implement-chart.green.prompt.md").unlink()
    assert hits(stage(repo, "implement"), "WF-PHR-MISSING") == [("history/prompts/001-todo-k8s", None)]
    write(repo, f"history/prompts/001-todo-k8s/{record}", "no front-matter at all\n")
    assert stage(repo, "implement") == []


def test_phr_in_older_docs_prompts_layout() -> None:
    root = FIXTURES / "legacy"
    for name in ("constitution", "specify"):
        # docs/prompts/*.constitution|spec.prompt.md; the spec record has no front-matter
        assert stage(root, name, LEGACY_FEATURE) == []
    assert hits(stage(root, "plan", LEGACY_FEATURE), "WF-PHR-MISSING") == [("history/prompts/002-chat-api", None)]


def test_older_architect_record_counts_for_plan(repo: Path) -> None:
    shutil.rmtree(repo / "history/prompts/001-todo-k8s")
    write(repo, "docs/prompts/0003-design.architect.prompt.md", "Design.\n")
    assert stage(repo, "plan") == []


# --- unreadable input ---------------------------------------------------------------------------


def test_unreadable_spec_is_a_finding(repo: Path) -> None:
    (repo / FEATURE / "spec.md").write_bytes(b"# Spec\n\xff\xfe broken\n")
    findings = stage(repo, "specify")
    assert hits(findings, "WF-FILE-UNREADABLE") == [(f"{FEATURE}/spec.md", None)]
    assert all(f.severity is Severity.high for f in findings)
    rows = {r.stage: r for r in stage_table(repo, "1", DEFAULT)}
    assert rows["specify"].status == "fail" and rows["specify"].failing == ["WF-FILE-UNREADABLE"]


def test_unreadable_tasks_is_a_finding_in_every_stage_that_reads_it(repo: Path) -> None:
    (repo / FEATURE / "tasks.md").write_bytes(b"- [x] T001 \xff\n")
    rows = {r.stage: r for r in stage_table(repo, "1", DEFAULT)}
    assert (rows["tasks"].failing, rows["implement"].failing) == (["WF-FILE-UNREADABLE"], ["WF-FILE-UNREADABLE"])
    result = evaluate_transition(repo, "1", DONE, DEFAULT)
    assert not result.passed and hits(result.findings, "WF-FILE-UNREADABLE") == [(f"{FEATURE}/tasks.md", None)]


def test_directory_in_place_of_plan_is_a_finding(repo: Path) -> None:
    (repo / FEATURE / "plan.md").unlink()
    (repo / FEATURE / "plan.md").mkdir()
    assert "WF-FILE-UNREADABLE" in {f.check_id for f in stage(repo, "plan")}
