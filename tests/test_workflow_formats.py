"""Every stage gate against the formats real Spec-Kit Plus repositories contain: a pass and a fail fixture
per gate and format, built from parts by ``featurekit.build``.

``CASES`` is the table the decisions are measured on: one feature, one target, the decision the real tools
imply (the command stops with an error: REJECTED; it stops and asks: REQUIRES CLARIFICATION).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from featurekit import (
    CHECK_FAIL_BULLET,
    CHECK_TABLE,
    CHECK_VIOLATED,
    CLARIFICATIONS,
    FEATURE,
    FEATURE_DIR,
    FENCED_EXAMPLE,
    JUSTIFIED,
    PIPE_VERSION,
    PLUS_VERSION,
    SUCCESS_METRICS,
    TEMPLATE_COMPLEXITY,
    UNFILLED_VERSION,
    analysis_file,
    analysis_phr,
    build,
    checkbox_tasks,
    constitution,
    default_phrs,
    phr,
    plan,
    requirements,
    spec,
    table_tasks,
)

from core.config import WorkflowConfig
from core.models import StageRequest
from tools.workflow import TARGETS, evaluate_transition

APPROVED, REJECTED, ASK = "APPROVED", "REJECTED", "REQUIRES CLARIFICATION"
STRICT_PHR = WorkflowConfig(require_phr=True)
MARKER = "- **FR-003**: Tag names MUST be [NEEDS CLARIFICATION: case-sensitive or not?]\n"
QUOTED = CLARIFICATIONS.replace("- Q: Are tags", "- Q: [NEEDS CLARIFICATION: case-sensitive or not?] → A: Not "
                                "case-sensitive\n- Q: Are tags")
UNANSWERED = CLARIFICATIONS.replace("\n\n", "\n- Q: May a tag have a colour? → A: \n\n", 2)
IDLESS = "\n## Phase 4: Polish\n\n- [ ] Update the README with the tag filter\n"
UX_OPEN = "# UX Checklist\n\n- [x] CHK001 Tag chips are readable\n- [ ] CHK002 Keyboard users can remove a tag\n"
UX_DONE = UX_OPEN.replace("- [ ]", "- [x]")
HISTORY = f"history/prompts/{FEATURE}"


class Case(NamedTuple):
    name: str
    parts: Callable[[], dict]
    target: str
    expected: str
    config: WorkflowConfig = WorkflowConfig()


def with_phrs(**extra: str) -> dict:
    return {"phrs": {**default_phrs(), **extra}}


CASES: list[Case] = [
    *(Case(f"app-only/{t}", dict, t, APPROVED) for t in TARGETS),
    # constitution: both version styles, the pipe style, unfilled and missing
    Case("constitution/template-version", lambda: {"constitution": constitution()}, "specify", APPROVED),
    Case("constitution/plus-version", lambda: {"constitution": constitution(PLUS_VERSION)}, "specify", APPROVED),
    Case("constitution/pipe-version", lambda: {"constitution": constitution(PIPE_VERSION)}, "specify", APPROVED),
    Case("constitution/unfilled-version", lambda: {"constitution": constitution(UNFILLED_VERSION)}, "specify",
         REJECTED),
    Case("constitution/no-version", lambda: {"constitution": constitution("")}, "specify", REJECTED),
    Case("constitution/missing", lambda: {"constitution": None}, "specify", REJECTED),
    # specify: the older template (no Success Criteria) and a missing section
    Case("specify/older-template", lambda: {"spec": spec(legacy=True)}, "plan", APPROVED),
    Case("specify/missing-requirements", lambda: {"spec": spec().replace("## Requirements", "## Notes")}, "plan",
         REJECTED),
    # clarify: sessions, open markers, a marker quoted by its answer, an unanswered question
    Case("clarify/sessions-answered", dict, "plan", APPROVED),
    Case("clarify/open-marker", lambda: {"spec": spec(requirements_extra=MARKER)}, "plan", ASK),
    Case("clarify/marker-quoted-by-answer", lambda: {"spec": spec(clarifications=QUOTED)}, "plan", APPROVED),
    Case("clarify/unanswered-question", lambda: {"spec": spec(clarifications=UNANSWERED)}, "plan", ASK),
    # the spec quality checklist gates plan; its NEEDS CLARIFICATION item is judged from the spec itself
    Case("requirements/open-item", lambda: {"requirements": requirements(open_items=("Scope is clearly bounded",))},
         "plan", REJECTED),
    Case("requirements/markers-item-unticked-but-resolved", lambda: {"requirements": requirements(
        markers_item_open=True)}, "plan", APPROVED),
    Case("requirements/open-item-at-implement", lambda: {"requirements": requirements(
        open_items=("Scope is clearly bounded",))}, "implement", REJECTED),
    # plan: Constitution Check as bullets (default), as a table, violated, justified, failing, unfilled
    Case("plan/check-table", lambda: {"plan": plan(check=CHECK_TABLE)}, "tasks", APPROVED),
    Case("plan/check-violated", lambda: {"plan": plan(check=CHECK_VIOLATED)}, "tasks", REJECTED),
    Case("plan/check-violated-template-tracking", lambda: {"plan": plan(check=CHECK_VIOLATED,
                                                                        complexity=TEMPLATE_COMPLEXITY)}, "tasks",
         REJECTED),
    Case("plan/check-violated-justified", lambda: {"plan": plan(check=CHECK_VIOLATED, complexity=JUSTIFIED)},
         "tasks", APPROVED),
    Case("plan/check-fail-bullet", lambda: {"plan": plan(check=CHECK_FAIL_BULLET)}, "tasks", REJECTED),
    Case("plan/check-unfilled", lambda: {"plan": plan(check="[Gates determined based on constitution file]\n")},
         "tasks", REJECTED),
    Case("plan/tech-context-unknown", lambda: {"plan": plan(tech_extra="\n**Performance Goals**: NEEDS "
                                                            "CLARIFICATION")}, "tasks", REJECTED),
    # tasks: checkbox and table styles, non-task checkboxes, id-less items, unreadable statuses
    Case("tasks/checkbox-open-enter-implement", lambda: {"tasks": checkbox_tasks(open_ids={"T005"})}, "implement",
         APPROVED),
    Case("tasks/checkbox-open-done", lambda: {"tasks": checkbox_tasks(open_ids={"T005"})}, "done", REJECTED),
    Case("tasks/in-progress-checkbox", lambda: {"tasks": checkbox_tasks().replace("- [X] T005", "- [-] T005")}, "done",
         REJECTED),
    Case("tasks/checkbox-lowercase-x", lambda: {"tasks": checkbox_tasks(box="x")}, "done", APPROVED),
    Case("tasks/success-metrics-checkboxes", lambda: {"tasks": checkbox_tasks(extra=SUCCESS_METRICS)}, "done",
         APPROVED),
    Case("tasks/success-metrics-enter-implement", lambda: {"tasks": checkbox_tasks(extra=SUCCESS_METRICS)},
         "implement", APPROVED),
    Case("tasks/fenced-example-task", lambda: {"tasks": checkbox_tasks(example=FENCED_EXAMPLE)}, "done", APPROVED),
    Case("tasks/idless-open-item-done", lambda: {"tasks": checkbox_tasks(extra=IDLESS)}, "done", ASK),
    Case("tasks/table-done", lambda: {"tasks": table_tasks()}, "done", APPROVED),
    Case("tasks/table-open-done", lambda: {"tasks": table_tasks(open_ids={"T004"})}, "done", REJECTED),
    Case("tasks/table-open-enter-implement", lambda: {"tasks": table_tasks(open_ids={"T004"})}, "implement",
         APPROVED),
    Case("tasks/table-words-open", lambda: {"tasks": table_tasks(open_ids={"T002"}, done="Complete",
                                                                 todo="In progress")}, "done", REJECTED),
    Case("tasks/table-words-done", lambda: {"tasks": table_tasks(done="Complete")}, "done", APPROVED),
    Case("tasks/table-without-status", lambda: {"tasks": table_tasks(status_column=False)}, "done", ASK),
    Case("tasks/no-tasks", lambda: {"tasks": "# Tasks: Task Tags\n\nTo be written.\n"}, "implement", REJECTED),
    # checklists at implement: the real command stops and asks
    Case("checklists/ux-open", lambda: {"checklists": {"ux.md": UX_OPEN}}, "implement", ASK),
    Case("checklists/ux-done", lambda: {"checklists": {"ux.md": UX_DONE}}, "implement", APPROVED),
    # analyze: the report in a PHR or a file, clean, critical, struck out, re-run
    Case("analyze/phr-clean", lambda: with_phrs(**{f"{HISTORY}/0006-analyze.misc.prompt.md": analysis_phr()}),
         "implement", APPROVED),
    Case("analyze/phr-critical", lambda: with_phrs(**{f"{HISTORY}/0006-analyze.misc.prompt.md": analysis_phr(
        critical=1)}), "implement", REJECTED),
    Case("analyze/phr-stage-analysis-critical", lambda: with_phrs(**{f"{HISTORY}/0006-x.prompt.md": analysis_phr(
        critical=1, stage="analysis")}), "done", REJECTED),
    Case("analyze/rerun-clean", lambda: with_phrs(**{
        f"{HISTORY}/0006-analyze.misc.prompt.md": analysis_phr(critical=1),
        f"{HISTORY}/0008-analyze-again.misc.prompt.md": analysis_phr(ident="0008", date="2025-12-06")}),
         "implement", APPROVED),
    Case("analyze/file-clean-struck-critical", lambda: {"files": {f"{FEATURE_DIR}/ANALYSIS-REPORT.md":
                                                                  analysis_file()}}, "implement", APPROVED),
    Case("analyze/file-critical", lambda: {"files": {f"{FEATURE_DIR}/ANALYSIS-REPORT.md": analysis_file(
        critical=1)}}, "implement", REJECTED),
    # prompt history records: front-matter stage without the file-name suffix, and none at all
    Case("phr/front-matter-only", lambda: {"phrs": {
        f"{HISTORY}/{n:04d}-record.prompt.md": phr(s, s, ident=f"{n:04d}", command=c)
        for n, s, c in ((2, "spec", ""), (4, "plan", "/sp.plan"), (5, "tasks", ""), (7, "implementation", ""))} | {
        "history/prompts/constitution/0001-record.prompt.md": phr("constitution", "c", ident="0001")}},
         "done", APPROVED, STRICT_PHR),
    Case("phr/missing", lambda: {"phrs": {}}, "plan", REJECTED, STRICT_PHR),
]


def outcome(result) -> str:  # noqa: ANN001 - a TransitionResult
    if any(f.severity.value in ("high", "critical") and not getattr(f, "question", None) for f in result.findings):
        return REJECTED
    return ASK if any(getattr(f, "question", None) for f in result.findings) else APPROVED


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_gate_decision_matches_the_real_tools(tmp_path: Path, case: Case) -> None:
    root = build(tmp_path, **case.parts())
    result = evaluate_transition(root, FEATURE, case.target, case.config)
    assert outcome(result) == case.expected, [(f.check_id, f.location(), f.message) for f in result.findings]
    if case.expected == APPROVED:
        assert result.passed and not result.questions
    if case.expected == ASK:
        assert result.questions and result.next_action.startswith("Answer ")


def test_every_gate_has_a_passing_and_a_failing_case() -> None:
    prefixes = {c.name.split("/")[0] for c in CASES}
    for prefix in prefixes - {"app-only"}:
        expected = {c.expected for c in CASES if c.name.startswith(prefix + "/")}
        assert APPROVED in expected and expected - {APPROVED}, prefix


def test_app_only_feature_is_approved_through_every_stage_end_to_end(tmp_path: Path) -> None:
    from graph.runner import run_request

    root = build(tmp_path)
    for target in TARGETS:
        decision, _ = run_request(StageRequest(workspace=str(root), feature="003", target=target))
        assert decision.outcome.value == APPROVED, (target, [f.check_id for f in decision.findings])
        assert decision.spec_kit_compliance.status == "PASS", target


def test_asking_gate_reaches_the_decision_as_a_question(tmp_path: Path) -> None:
    from graph.runner import run_request

    root = build(tmp_path, checklists={"ux.md": UX_OPEN})
    decision, _ = run_request(StageRequest(workspace=str(root), feature="003", target="implement"))
    assert decision.outcome.value == ASK
    asked = [f for f in decision.findings if f.check_id == "WF-CHECKLISTS-COMPLETE"]
    assert asked and asked[0].question and asked[0].location() == f"{FEATURE_DIR}/checklists/ux.md:4"
    assert decision.spec_kit_compliance.status == "NEEDS INPUT"


@pytest.mark.parametrize(("answer", "expected"), [("yes", APPROVED), ("no", REJECTED)])
def test_answering_the_gate_question_decides(tmp_path: Path, answer: str, expected: str) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from core.config import load_config
    from graph.builder import build_graph
    from graph.runner import resume_turn, start_turn
    from graph.state import GraphContext

    root = build(tmp_path, checklists={"ux.md": UX_OPEN})
    graph, ctx = build_graph(checkpointer=InMemorySaver()), GraphContext(interactive=True, record=False)
    loaded = load_config(root)
    turn = start_turn(graph, "t", StageRequest(workspace=str(root), feature="003", target="implement"),
                      config=loaded.config, config_path=loaded.path, ctx=ctx)
    assert turn.question and "checklists are incomplete" in turn.question
    done = resume_turn(graph, "t", answer, ctx)
    assert done.decision is not None and done.decision.outcome.value == expected
    assert done.decision.spec_kit_compliance.status != "NEEDS INPUT"
