"""Spec-Kit Plus stage gates (tools/workflow.py).

``complete`` is a realistic feature that passes every gate (newer ``history/prompts`` layout); ``legacy`` is a
feature stuck before planning (older ``docs/prompts`` layout). Failure cases copy ``complete`` into tmp_path and
change one artifact, so each test shows exactly which edit trips which gate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.config import STAGES, WorkflowConfig
from core.errors import InputError
from core.models import Category, Severity
from tools import ledger
from tools.workflow import (
    DONE,
    GATES,
    default_feature,
    evaluate_stage,
    evaluate_transition,
    feature_from_branch,
    judged_artifacts,
    list_adrs,
    resolve_feature,
    stage_table,
    stale_approvals,
)

FIXTURES = Path(__file__).parent / "fixtures" / "features"
FEATURE = "specs/001-todo-k8s"
LEGACY_FEATURE = "specs/002-chat-api"
LEGACY_MARKER_LINE = 22
LEGACY_OPEN_ITEM_LINE = 12
DEFAULT = WorkflowConfig()


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drift: {old!r} not in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(root: Path, rel: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``: the oracle for expected locations."""
    return next(n for n, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def stage(root: Path, name: str, feature: str = FEATURE) -> list:
    return evaluate_stage(root, root / feature, name)


def hits(findings: list, check_id: str) -> list[tuple[str | None, int | None]]:
    return [(f.file, f.line) for f in findings if f.check_id == check_id]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_fixture("complete", tmp_path)


# --- feature resolution -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["001", "1", "001-todo-k8s", "todo-k8s", "specs/001-todo-k8s/", " 001 "])
def test_resolve_feature_by_number_or_name(repo: Path, name: str) -> None:
    assert resolve_feature(repo, name) == repo / FEATURE


def test_resolve_feature_picks_among_several(repo: Path) -> None:
    (repo / "specs/002-chat-api").mkdir()
    (repo / "specs/templates").mkdir()  # not a feature directory
    assert resolve_feature(repo, "2") == repo / "specs/002-chat-api"
    assert resolve_feature(repo, "chat-api") == repo / "specs/002-chat-api"


def test_unknown_feature_lists_the_features_found(repo: Path) -> None:
    (repo / "specs/002-chat-api").mkdir()
    with pytest.raises(InputError) as err:
        resolve_feature(repo, "9")
    message = str(err.value)
    assert "'9'" in message and "001-todo-k8s, 002-chat-api" in message
    assert "\n" not in message


def test_unknown_feature_without_specs_dir(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no specs/NNN-name/ directories"):
        resolve_feature(tmp_path, "001")


def test_ambiguous_feature_number(repo: Path) -> None:
    (repo / "specs/001-other").mkdir()
    with pytest.raises(InputError, match="ambiguous: 001-other, 001-todo-k8s"):
        resolve_feature(repo, "1")


@pytest.mark.parametrize(
    ("branch", "expected"),
    [("001-todo-k8s", "001-todo-k8s"), ("refs/heads/002-chat-api", "002-chat-api"), ("origin/003-x", "003-x"),
     ("main", None), ("1-short", None), ("feature/login", None), ("", None)],
)
def test_feature_from_branch(branch: str, expected: str | None) -> None:
    assert feature_from_branch(branch) == expected


# --- the complete fixture passes every gate -------------------------------------------------------


@pytest.mark.parametrize("name", STAGES)
def test_complete_feature_passes_every_gate(name: str) -> None:
    root = FIXTURES / "complete"
    assert stage(root, name) == []


def test_complete_feature_status_and_transitions() -> None:
    root = FIXTURES / "complete"
    rows = stage_table(root, "1", DEFAULT)
    assert [(r.stage, r.status, r.failing) for r in rows] == [(s, "pass", []) for s in STAGES]
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


def test_unchecked_checklist_items_reported_with_lines(repo: Path) -> None:
    write(repo, f"{FEATURE}/checklists/security.md",
          "# Security\n\n- [x] CHK001 Secrets\n- [ ] CHK002 RBAC\n  - [ ] CHK003 PSS\n")
    findings = stage(repo, "clarify")
    assert hits(findings, "WF-CHECKLISTS-COMPLETE") == [(f"{FEATURE}/checklists/security.md", 4),
                                                        (f"{FEATURE}/checklists/security.md", 5)]
    assert findings[0].message == "unchecked checklist item: CHK002 RBAC"


def test_legacy_checklist_open_item_line() -> None:
    findings = stage(FIXTURES / "legacy", "clarify", LEGACY_FEATURE)
    assert hits(findings, "WF-CHECKLISTS-COMPLETE") == [
        (f"{LEGACY_FEATURE}/checklists/requirements.md", LEGACY_OPEN_ITEM_LINE)]


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


def test_malformed_task_lines_reported_with_lines(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T002 [P] Add", "- [X] Add")
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T003 Write", "- [X] T3 Write")
    edit(repo, f"{FEATURE}/tasks.md", "- [x] T005 [US1] Add", "* [ ] [US1] T005 Add")
    findings = stage(repo, "tasks")
    lines = [line_of(repo, f"{FEATURE}/tasks.md", s) for s in ("- [X] Add", "T3 Write", "[US1] T005")]
    assert hits(findings, "WF-TASKS-FORMAT") == [(f"{FEATURE}/tasks.md", n) for n in lines]
    assert findings[0].message.endswith("- [X] Add .dockerignore files in frontend/ and backend/")


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
    assert "*.plan|architect.prompt.md" in findings[0].message
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


def test_directory_in_place_of_plan_is_a_finding(repo: Path) -> None:
    (repo / FEATURE / "plan.md").unlink()
    (repo / FEATURE / "plan.md").mkdir()
    assert "WF-FILE-UNREADABLE" in {f.check_id for f in stage(repo, "plan")}


# --- transitions --------------------------------------------------------------------------------


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


def test_open_marker_blocks_entering_plan_naming_file_and_line() -> None:
    result = evaluate_transition(FIXTURES / "legacy", "2", "plan", DEFAULT)
    assert not result.passed and result.current_stage == "specify"
    assert [(f.check_id, f.location()) for f in result.findings] == [
        ("WF-CLARIFY-MARKERS", f"{LEGACY_FEATURE}/spec.md:{LEGACY_MARKER_LINE}")]
    assert f"{LEGACY_FEATURE}/spec.md:{LEGACY_MARKER_LINE}" in result.next_action


def test_optional_clarify_not_done_is_not_a_skip(repo: Path) -> None:
    edit(repo, f"{FEATURE}/checklists/requirements.md", "- [x] Requirements", "- [ ] Requirements")
    result = evaluate_transition(repo, "1", "plan", DEFAULT)
    assert result.passed and result.findings == [] and result.required == ["constitution", "specify"]
    assert result.current_stage == "implement"  # a failing optional stage does not stop the walk
    strict = evaluate_transition(repo, "1", "plan", WorkflowConfig(optional_stages=["analyze"]))
    assert not strict.passed and strict.required == ["constitution", "specify", "clarify"]
    assert [f.message for f in strict.findings if f.check_id == "WF-STAGE-SKIPPED"] == [
        "required stage 'clarify' is not complete (its gates fail) before entering 'plan'"]


def test_incomplete_checklist_blocks_implement(repo: Path) -> None:
    write(repo, f"{FEATURE}/checklists/security.md", "# Security\n\n- [ ] CHK001 Secrets are not in values.yaml\n")
    assert evaluate_transition(repo, "1", "tasks", DEFAULT).passed
    result = evaluate_transition(repo, "1", "implement", DEFAULT)
    assert not result.passed
    assert [(f.check_id, f.location()) for f in result.findings] == [
        ("WF-CHECKLISTS-COMPLETE", f"{FEATURE}/checklists/security.md:3")]


def test_required_stage_with_failing_gates_is_reported_as_skipped(repo: Path) -> None:
    edit(repo, f"{FEATURE}/tasks.md", "- [X] T003 Write", "- [X] Write")
    result = evaluate_transition(repo, "1", "implement", DEFAULT)
    assert [f.check_id for f in result.findings] == ["WF-TASKS-FORMAT", "WF-STAGE-SKIPPED"]
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
        ("clarify", "fail", ["WF-CHECKLISTS-COMPLETE", "WF-CLARIFY-MARKERS"], True),
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


def test_default_feature_prefers_specify_feature(tmp_path: Path) -> None:
    assert default_feature(tmp_path, " 002-chat ") == "002-chat"
    with pytest.raises(InputError, match="not on a feature branch"):
        default_feature(tmp_path, None)  # not a git repository: no branch


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
