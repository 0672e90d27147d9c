"""Reading Spec-Kit artifacts as real repositories write them: one parser at a time, variants seen in the wild."""

from __future__ import annotations

from pathlib import Path

import pytest
from featurekit import FEATURE, analysis_file, analysis_phr, build, write

from tools.workflow.artifacts import (
    clarifications,
    constitution_check,
    constitution_version,
    open_markers,
    placeholders,
)
from tools.workflow.markdown import mask, tables
from tools.workflow.records import analysis_reports, prompt_records, record_stages
from tools.workflow.report import critical_findings
from tools.workflow.tasks import classify, parse_tasks

# --- constitution ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "version", "semantic"), [
    ("**Version**: 1.0.0 | **Ratified**: 2025-06-13 | **Last Amended**: 2025-07-16", "1.0.0", True),
    ("**Constitution Version:** 1.4.0", "1.4.0", True),
    ("Version: 2.1.1 | Ratified: 2025-06-13 | Last Amended: 2025-07-16", "2.1.1", True),
    ("- **Version**: v1.2.0", "1.2.0", True),
    ("| Version | 3.0.0 |\n|---|---|", "3.0.0", True),
    ("---\nversion: 0.9.1\n---\n# Constitution", "0.9.1", True),
    ("*Ratified: 2025-01-02 | **Version**: 1.0.3*", "1.0.3", True),
    ("**Constitution Version:** 1.0", "1.0", False),
    ("**Version**: [CONSTITUTION_VERSION] | **Ratified**: [RATIFICATION_DATE]", None, False),
    ("Use Python version 3.11.4 everywhere.", None, False),
    ("<!--\nVersion change: 1.0.0 → 2.0.0\n-->\n# Constitution", None, False),
])
def test_constitution_version_forms(text: str, version: str | None, semantic: bool) -> None:
    found = constitution_version(text)
    assert (found.value, found.semantic) == (version, semantic)


def test_placeholders_ignore_links_code_and_comments() -> None:
    text = ("# [PROJECT_NAME] Constitution\n<!-- Example: [PRINCIPLE_1_NAME] -->\nSee [API_DOCS](docs/api.md) and "
            "`[NOT_A_TOKEN]`.\n```\n[IN_A_FENCE]\n```\n[MUST] stays; [GOVERNANCE_RULES]\n")
    assert [token for _at, token in placeholders(text)] == ["[PROJECT_NAME]", "[GOVERNANCE_RULES]"]


# --- spec: clarifications -----------------------------------------------------------------------


def test_clarification_sessions_and_answers() -> None:
    text = ("# Spec\n\n## Clarifications\n\n### Session 2025-12-02\n\n- Q: Tags per task? → A: Up to 10\n"
            "- **Q**: Shared tags? **A**: No\n- Q: Colour?\n  A: Not in this feature\n\n### Session 2025-12-05\n\n"
            "- Q: Case-sensitive? → A:\n- Q: Limit? -> A: TBD\n\n## Requirements\n\n- Q: not a clarification\n")
    found = clarifications(text)
    assert found.sessions == [(5, "2025-12-02"), (12, "2025-12-05")]
    assert [q.answered for q in found.questions] == [True, True, True, False, False]
    assert [q.text for q in found.unanswered] == ["Case-sensitive? → A:", "Limit? -> A: TBD"]


def test_a_marker_quoted_by_its_answer_is_settled() -> None:
    text = ("## Clarifications\n\n### Session 2025-12-02\n\n- Q: [NEEDS CLARIFICATION: auth?] → A: OAuth\n"
            "- Q: [NEEDS CLARIFICATION: storage?] → A:\n\n## Requirements\n\n"
            "- **FR-001**: MUST log in via [NEEDS CLARIFICATION: SSO?]\n<!-- [NEEDS CLARIFICATION: template] -->\n")
    assert [marker for _at, marker in open_markers(text)] == ["[NEEDS CLARIFICATION: storage?]",
                                                              "[NEEDS CLARIFICATION: SSO?]"]


# --- plan: Constitution Check -------------------------------------------------------------------


def plan_with(check: str, complexity: str = "No violations to justify.") -> str:
    return (f"# Plan\n\n## Constitution Check\n\n*GATE: Must pass before Phase 0 research.*\n\n{check}\n\n"
            f"## Project Structure\n\nsrc/\n\n## Complexity Tracking\n\n{complexity}\n")


@pytest.mark.parametrize(("check", "violations"), [
    ("- I. Spec-Driven: ✅ PASS\n- II. Frozen code: ✅ PASS", 0),
    ("| Principle | Pass/Fail |\n|---|---|\n| I | ✅ |", 0),
    ("**Result**: PASS — no violations.", 0),
    ("Each gate either passes or fails; all of them pass here.", 0),
    ("- [x] Principle I verified\n- [x] Principle II verified", 0),
    ("| II | ❌ VIOLATED | edits backend/app |", 1),
    ("- II. Frozen code: FAIL (edits backend/app/models.py)", 1),
    ("- II. Frozen code: Violated — the filter edits tasks.py", 1),
    ("- II. ~~❌ VIOLATED~~ resolved by moving the filter", 0),
    ("### Post-design\n- ❌ III. Test-First: NON-COMPLIANT", 1),
    ("| Principle | Violation? | Status |\n|---|---|---|\n| I | ❌ | ✅ PASS |\n| II | No | PASS |", 0),
])
def test_constitution_check_results(check: str, violations: int) -> None:
    found = constitution_check(plan_with(check))
    assert found.filled and len(found.violations) == violations and not found.justified


@pytest.mark.parametrize(("complexity", "justified"), [
    ("No violations to justify.", False), ("N/A", False), ("", False),
    ("> **Fill ONLY if Constitution Check has violations that must be justified**\n\n| Violation | Why Needed | "
     "Simpler Alternative Rejected Because |\n|---|---|---|\n| [e.g., 4th project] | [current need] | [why 3 "
     "projects insufficient] |", False),
    ("| Violation | Why Needed | Simpler Alternative Rejected Because |\n|---|---|---|\n| Edit of tasks.py | the "
     "endpoint needs ?tag= | a second endpoint duplicates paging |", True),
    ("The edit of tasks.py is needed because the list endpoint must accept a tag filter.", True),
])
def test_complexity_tracking_justification(complexity: str, justified: bool) -> None:
    assert constitution_check(plan_with("| II | ❌ VIOLATED | x |", complexity)).justified is justified


def test_constitution_check_heading_variants_and_empty_section() -> None:
    assert constitution_check("## Constitutional Compliance Check ✅\n\n- all ✅\n").filled
    assert not constitution_check("## Constitution Check\n\n*GATE: Must pass before Phase 0 research.*\n\n## Next\n").filled
    assert constitution_check("## Gates\n\nnothing\n").section is None


# --- tasks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "status"), [
    ("✅ Done", "done"), ("[x]", "done"), ("Complete", "done"), ("**DONE**", "done"), ("✅ Done, no blockers", "done"),
    ("⏳ Pending", "open"), ("In progress", "open"), ("Incomplete", "open"), ("TODO", "open"), ("[ ]", "open"),
    ("❌", "open"), ("Not started", "open"), ("Cancelled", "closed"), ("N/A", "closed"), ("", "unknown"),
    ("Alice", "unknown"),
])
def test_task_status_cells(cell: str, status: str) -> None:
    assert classify(cell) == status


def test_checkbox_task_variants() -> None:
    found = parse_tasks(
        "# Tasks\n\n## Phase 1: Setup\n\n- [X] T001 Create project\n- [x] **T002** [P] Add config\n"
        "- [ ] T003: Write tests\n- [-] [T004] Wire routes\n* [x] [P] [US1] T005 Add model\n- [~] T012a Follow-up\n"
        "  - [ ] sub-step of T012a, not a task\n\n## Success Metrics\n\n- [ ] p95 under 200 ms\n\n"
        "```text\n- [ ] T999 example in a fence\n```\n<!-- - [ ] T998 in a comment -->\n")
    assert [(t.id, t.status, t.canonical) for t in found.tasks] == [
        ("T001", "done", True), ("T002", "done", False), ("T003", "open", False), ("T004", "open", False),
        ("T005", "done", False), ("T012A", "open", False)]
    assert found.loose == [] and found.duplicates == []


def test_idless_checkboxes_are_tasks_only_when_no_task_has_an_id() -> None:
    loose = "# Tasks\n\n## Phase 1: Setup\n\n- [x] Create project\n- [ ] Add config\n\n## Acceptance\n\n- [ ] Demo\n"
    assert [(t.id, t.status) for t in parse_tasks(loose).tasks] == [(None, "done"), (None, "open")]
    mixed = loose.replace("- [x] Create project", "- [x] T001 Create project")
    found = parse_tasks(mixed)
    assert [t.id for t in found.tasks] == ["T001"] and [t.text for t in found.loose] == ["Add config"]


def test_table_tasks_and_tables_that_are_not_task_lists() -> None:
    found = parse_tasks(
        "# Tasks\n\n| Phase | Tasks | Status |\n|---|---|---|\n| Setup | T001–T002 | ✅ |\n\n"
        "| ID | Task | Status |\n|---|---|---|\n| T001 | Create project | ✅ Done |\n| T002 | Add config | ⏳ Pending |\n"
        "| T002 | Add config again | Done |\n")
    assert [(t.id, t.status, t.kind) for t in found.tasks] == [
        ("T001", "done", "table"), ("T002", "open", "table"), ("T002", "done", "table")]
    assert found.duplicates == [("T002", [10, 11])]
    with_boxes = parse_tasks("## Phase 1\n\n- [x] T001 Create\n\n## Dependencies\n\n| Task | Depends on |\n"
                             "|---|---|\n| T002 | T001 |\n")
    assert [t.id for t in with_boxes.tasks] == ["T001"]  # a dependency table is not a second task list


def test_tables_and_masking_keep_line_numbers() -> None:
    text = "<!--\nnote\n-->\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert mask(text).count("\n") == text.count("\n")
    [table] = tables(mask(text))
    assert table.header == ("a", "b") and table.rows[0].line == 7 and table.rows[0].cells == ("1", "2")


# --- analyze reports ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "state"), [
    (analysis_phr(), "clean"), (analysis_phr(critical=1), "critical"),
    (analysis_file(), "clean"), (analysis_file(critical=1), "critical"),
    ("---\nverdict: ready\nissue_counts:\n  critical: 0\n  high: 1\n---\n## Specification Analysis Report\n", "clean"),
    ("---\nissue_counts:\n  critical: 2\n---\nbody\n", "critical"),
    ("| ID | Category | Severity | Location(s) | Summary | Recommendation |\n|---|---|---|---|---|---|\n"
     "| — | — | — | — | No findings | Proceed to implementation |\n", "clean"),
    ("Analyzed all artifacts; no critical issues found.", "clean"),
    ("Analysis done. Looks good overall.", "unknown"),
    ("| Category | Count | Severity |\n|---|---|---|\n| **CRITICAL** | 5 | 🔴 System-breaking |\n", "critical"),
    ("| Severity | Count |\n|---|---|\n| CRITICAL | 0 |\n| HIGH | 2 |\n", "clean"),
    ("### Findings\n\n- **CRITICAL**: FR-004 has zero task coverage (spec.md:L88)\n", "critical"),
    ("## 🔴 CRITICAL Issues\n\n1. **C1** Constitution conflict: plan.md edits frozen code\n", "critical"),
    ("### CRITICAL Issues\n\nNone.\n\n### HIGH Issues\n- H1 something\n", "clean"),
    ("## Next Actions\n- If CRITICAL issues exist: resolve before /sp.implement\n- Critical Issues Count: 0\n", "clean"),
    ("**C1 (CRITICAL)**: task T004 edits backend/app/main.py\n", "critical"),
    ("- Critical Issues: 2 (both resolved in tasks.md)\n", "clean"),
    ("Found 2 critical issues in plan.md; see below.", "critical"),
    ("Found 0 critical issues.", "clean"),
    ("- **CRITICAL**: Violates constitution MUST, missing core spec artifact\n", "unknown"),
])
def test_critical_findings_of_analyze_reports(text: str, state: str) -> None:
    assert critical_findings(text).state == state


def test_only_analyze_reports_are_read_as_reports(tmp_path: Path) -> None:
    risk = "# Risk Analysis\n\n| Risk | Severity |\n|---|---|\n| Neon outage | CRITICAL |\n"
    build(tmp_path, files={f"specs/{FEATURE}/risk-analysis.md": risk, f"specs/{FEATURE}/analysis.md": risk,
                           f"specs/{FEATURE}/analyze-report.md": analysis_file(critical=1)})
    reports = analysis_reports(tmp_path, tmp_path / f"specs/{FEATURE}", prompt_records(tmp_path))
    assert [r.path.name for r in reports] == ["analyze-report.md"]  # analysis.md here is not a report


def test_analyze_phr_prompt_text_is_not_the_report(tmp_path: Path) -> None:
    record = analysis_phr().replace("## Response snapshot", "Report any CRITICAL: issues.\n\n## Response snapshot")
    write(tmp_path, f"history/prompts/{FEATURE}/0006-analyze.misc.prompt.md", record)
    [report] = analysis_reports(tmp_path, tmp_path / f"specs/{FEATURE}", prompt_records(tmp_path))
    assert "Report any CRITICAL" not in report.text and critical_findings(report.text).state == "clean"


# --- prompt history records ---------------------------------------------------------------------


def test_prompt_records_by_front_matter_folder_and_file_name(tmp_path: Path) -> None:
    build(tmp_path, phrs={
        f"history/prompts/{FEATURE}/0002-first.prompt.md": '---\nid: "0002"\nstage: "spec"\ndate_iso: "2025-12-02"\n---\n',
        f"history/prompts/{FEATURE}/0003-named.plan.prompt.md": "no front-matter\n",
        "history/prompts/general/0009-misc.prompt.md": "---\nstage: general\nfeature: none\n---\n",
        f".history/prompts/{FEATURE}/0004-x.prompt.md": "---\nstage: tasks\n---\n",
        f"specs/{FEATURE}/prompts/0005-y.prompt.md": "---\ncommand: /speckit.implement\nstage: misc\n---\n",
        "history/prompts/0006-z.prompt.md": "---\nstage: clarify\nfeature: 003-task-tags\n---\n",
        "history/prompts/notes/README.md": "# About these records\n",
    })
    aliases = {"spec": "specify", "plan": "plan", "tasks": "tasks", "implement": "implement", "clarify": "clarify"}
    records = {r.path.name: r for r in prompt_records(tmp_path, tmp_path / f"specs/{FEATURE}")}
    assert set(records) == {"0002-first.prompt.md", "0003-named.plan.prompt.md", "0009-misc.prompt.md",
                            "0004-x.prompt.md", "0005-y.prompt.md", "0006-z.prompt.md"}
    assert (records["0002-first.prompt.md"].stage, records["0002-first.prompt.md"].date) == ("spec", "2025-12-02")
    assert {name: record_stages(r, aliases) for name, r in records.items()} == {
        "0002-first.prompt.md": {"specify"}, "0003-named.plan.prompt.md": {"plan"}, "0009-misc.prompt.md": set(),
        "0004-x.prompt.md": {"tasks"}, "0005-y.prompt.md": {"implement"}, "0006-z.prompt.md": {"clarify"}}
    assert records["0006-z.prompt.md"].feature == FEATURE and records["0004-x.prompt.md"].folder == FEATURE
