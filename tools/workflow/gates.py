"""Every stage gate, matched to what the real Spec-Kit commands write, and whether they stop or ask.

The stage table (:mod:`tools.workflow.stages`) says which stage each gate belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from core.models import Severity
from tools.workflow.artifacts import (
    clarifications,
    constitution_check,
    constitution_version,
    open_markers,
    placeholders,
)
from tools.workflow.gate import Context, Gate, Hit, asking, exists_gate
from tools.workflow.markdown import Unreadable, blank, checkboxes, headings, line_of, mask, plain, section
from tools.workflow.records import adr_reference, analysis_reports, for_feature, list_adrs
from tools.workflow.report import critical_findings
from tools.workflow.tasks import open_tasks

REQUIREMENTS = "checklists/requirements.md"
PLAN_DOCS = ("research.md", "data-model.md", "quickstart.md")
"""Phase 0/1 documents written by /sp.plan besides plan.md (plan.md has its own leftover gate)."""
_TEMPLATE_SENTINEL = re.compile(
    r"\$ARGUMENTS|IMPORTANT: The checklist items below are SAMPLE ITEMS|<!--[ \t]*\n[ \t]*ACTION REQUIRED")
_PLAN_LEFTOVERS = re.compile("|".join(re.escape(s) for s in (
    "[REMOVE IF UNUSED]", "**Structure Decision**: [Document", "ACTION REQUIRED", "$ARGUMENTS")))
_BARE_CLARIFICATION = re.compile(r"(?<!\[)NEEDS CLARIFICATION")
_TASK_SAMPLE = re.compile(r"SAMPLE TASKS|DO NOT keep these sample tasks")
_LEGACY_SPEC = re.compile(r"^##[ \t]+(Review & Acceptance Checklist|Execution Status)", re.M)
_SECTIONS = (("User Scenarios & Testing", re.compile(r"\buser scenarios\b|\buser stories\b", re.I), True),
             ("Requirements", re.compile(r"\brequirements\b", re.I), True),
             ("Success Criteria", re.compile(r"\bsuccess criteria\b", re.I), False))
"""Mandatory spec sections; the last is not in the older template (``## Review & Acceptance Checklist``)."""
_ABOUT_MARKERS = re.compile(r"NEEDS CLARIFICATION", re.I)


def _grep(ctx: Context, path: Path, pattern: re.Pattern[str], message: Callable[[re.Match[str]], str],
          text: str | None = None) -> list[Hit]:
    text = ctx.read(path) if text is None else text
    if text is None:
        return []
    return [Hit(path, line_of(text, m.start()), message(m)) for m in pattern.finditer(text)]


def sentinel_gate(locate: Callable[[Context], list[Path]]) -> Gate:
    """WF-TEMPLATE-SENTINEL over the files ``locate`` names."""

    def scan(ctx: Context) -> list[Hit]:
        message = lambda m: f"untouched template text '{' '.join(m.group().split())}'"  # noqa: E731
        return [hit for path in locate(ctx) for hit in _grep(ctx, path, _TEMPLATE_SENTINEL, message)]

    return Gate("WF-TEMPLATE-SENTINEL", "Replace the template text with the feature's real content.", scan)


# --- constitution -------------------------------------------------------------------------------


def _placeholders(ctx: Context) -> list[Hit]:
    text = ctx.read(ctx.constitution)
    return [Hit(ctx.constitution, line_of(text, at), f"unfilled template placeholder {token}")
            for at, token in placeholders(text or "")]


def _version(ctx: Context) -> list[Hit]:
    text = ctx.read(ctx.constitution)
    if text is None:
        return []
    version = constitution_version(text)
    if version.value is not None:
        return []
    return [Hit(ctx.constitution, version.line, "constitution has no version: expected a line such as "
                "'**Version**: 1.0.0 | **Ratified**: …' or '**Constitution Version:** 1.0.0'")]


def _short_version(ctx: Context) -> list[Hit]:
    version = constitution_version(ctx.read(ctx.constitution) or "")
    if version.value is None or version.semantic:
        return []
    return [Hit(ctx.constitution, version.line, f"constitution version '{version.value}' is not MAJOR.MINOR.PATCH")]


CONSTITUTION = (
    exists_gate("WF-CONSTITUTION-EXISTS", lambda c: c.constitution, "Run /sp.constitution."),
    Gate("WF-CONSTITUTION-PLACEHOLDERS", "Fill every [TOKEN] or defer it as TODO(<FIELD>): reason.", _placeholders),
    Gate("WF-CONSTITUTION-VERSION", "Add '**Version**: 1.0.0 | **Ratified**: <date> | **Last Amended**: <date>' to "
         "the governance footer.", _version),
    Gate("WF-CONSTITUTION-VERSION-FORMAT", "Write the version as MAJOR.MINOR.PATCH (e.g. 1.0.0).", _short_version,
         Severity.low),
    sentinel_gate(lambda c: [c.constitution]),
)

# --- specify ------------------------------------------------------------------------------------


def _sections(ctx: Context) -> list[Hit]:
    path = ctx.path("spec.md")
    text = ctx.read(path)
    if text is None:
        return []
    titles = [h.title for h in headings(mask(text)) if h.level <= 2]
    legacy = bool(_LEGACY_SPEC.search(text))
    return [Hit(path, None, f"mandatory section '## {name}' is missing") for name, pattern, always in _SECTIONS
            if (always or not legacy) and not any(pattern.search(t) for t in titles)]


def _ids(ctx: Context) -> list[Hit]:
    path = ctx.path("spec.md")
    text = ctx.read(path)
    if text is None:
        return []
    kinds = (("FR", "functional requirement", True), ("SC", "success criterion", not _LEGACY_SPEC.search(text)))
    return [Hit(path, None, f"no {label} id ({prefix}-001 style) in the spec")
            for prefix, label, needed in kinds if needed and not re.search(rf"\b{prefix}-?\d+\b", text)]


SPECIFY = (
    exists_gate("WF-SPECIFY-EXISTS", lambda c: c.path("spec.md"), "Run /sp.specify."),
    Gate("WF-SPECIFY-SECTIONS", "Add the missing mandatory section to spec.md.", _sections),
    Gate("WF-SPECIFY-IDS", "Number requirements **FR-001** and success criteria **SC-001**.", _ids),
    exists_gate("WF-SPECIFY-CHECKLIST", lambda c: c.path(REQUIREMENTS),
                "Re-run /sp.specify to generate the spec quality checklist."),
    sentinel_gate(lambda c: [c.path("spec.md"), *c.checklists()]),
)

# --- clarify / spec ready for plan ----------------------------------------------------------------


def _markers(ctx: Context) -> list[Hit]:
    hits = []
    for name in ("spec.md", "plan.md"):
        path = ctx.path(name)
        text = ctx.read(path)
        hits += [Hit(path, line_of(text, at), f"open clarification marker {marker}")
                 for at, marker in open_markers(text or "")]
    return hits


def _unanswered(ctx: Context) -> list[Hit]:
    path = ctx.path("spec.md")
    text = ctx.read(path) or ""
    return [Hit(path, line_of(text, q.start), f"clarification question without an answer: {q.text[:120]}")
            for q in clarifications(text).unanswered]


def _spec_checklist(ctx: Context) -> list[Hit]:
    """Unticked items of the spec quality checklist, except "No [NEEDS CLARIFICATION] markers remain": the
    markers gate judges that one from the spec itself (older /sp.clarify never re-ticks it)."""
    path = ctx.path(REQUIREMENTS)
    text = ctx.read(path)
    if text is None:
        return []
    return [Hit(path, box.line, f"unchecked spec quality item: {plain(box.text)}")
            for box in checkboxes(mask(text)) if not box.checked and not _ABOUT_MARKERS.search(box.text)]


CLARIFY_MARKERS = asking(
    "WF-CLARIFY-MARKERS", "Resolve the markers with /sp.clarify and update the spec.", _markers,
    "The spec still has open [NEEDS CLARIFICATION] markers: proceed without resolving them (/sp.clarify)? [y/N]")
CLARIFY_UNANSWERED = asking(
    "WF-CLARIFY-UNANSWERED", "Record the answer as '- Q: <question> → A: <answer>' (or rerun /sp.clarify).",
    _unanswered, "A clarification question in spec.md has no answer: proceed without it? [y/N]")
SPEC_CHECKLIST_OPEN = Gate(
    "WF-SPEC-CHECKLIST-OPEN", "Update the spec until the quality item passes and tick it in "
    "checklists/requirements.md (items left open require spec updates before /sp.clarify or /sp.plan).",
    _spec_checklist)
CLARIFY = (CLARIFY_MARKERS, CLARIFY_UNANSWERED, SPEC_CHECKLIST_OPEN)

# --- plan ---------------------------------------------------------------------------------------


def _constitution_check(ctx: Context) -> list[Hit]:
    path = ctx.path("plan.md")
    text = ctx.read(path)
    if text is None:
        return []
    check = constitution_check(text)
    if check.section is None:
        return [Hit(path, None, "plan has no '## Constitution Check' section")]
    if check.placeholder is not None:
        return [Hit(path, line_of(text, check.placeholder), "Constitution Check gates were never filled in")]
    if not check.filled:
        return [Hit(path, check.section.line, "Constitution Check section is empty")]
    return []


def _violations(ctx: Context) -> list[Hit]:
    path = ctx.path("plan.md")
    text = ctx.read(path)
    check = constitution_check(text or "")
    if check.justified:
        return []
    return [Hit(path, line_of(text, at), f"Constitution Check reports a violation without a Complexity Tracking "
                f"justification: {line[:160]}") for at, line in check.violations]


def _tech_context(ctx: Context) -> list[Hit]:
    path = ctx.path("plan.md")
    text = mask(ctx.read(path) or "")
    head = section(text, re.compile(r"^technical context\b", re.I))
    if head is None:
        return []
    masked = blank(text[:head.start]) + text[head.start:head.end]
    return _grep(ctx, path, _BARE_CLARIFICATION, lambda _m: "Technical Context still says NEEDS CLARIFICATION", masked)


def _research(ctx: Context) -> list[Hit]:
    path = ctx.path("research.md")
    if path.exists():
        return []
    plan = mask(ctx.safe(ctx.path("plan.md")))
    head = section(plan, re.compile(r"\bresearch\b", re.I), (2, 3))
    if head is not None and re.search(r"\bDecision\b", plan[head.start:head.end]):
        return []  # Phase 0 decisions kept in the plan itself
    return [Hit(path, None, f"{ctx.rel(path)} does not exist (Phase 0 research)")]


def _proposed_adrs(ctx: Context) -> list[Hit]:
    path = ctx.path("plan.md")
    text = ctx.read(path)
    if text is None:
        return []
    hits = []
    for adr in list_adrs(ctx.root):
        ref = adr_reference(adr).search(text) if adr.status == "Proposed" else None
        if ref:
            hits.append(Hit(path, line_of(text, ref.start()),
                            f"plan relies on {adr.path} ('{adr.title}') whose status is still Proposed"))
    return hits


PLAN = (
    exists_gate("WF-PLAN-EXISTS", lambda c: c.path("plan.md"), "Run /sp.plan."),
    Gate("WF-PLAN-CONSTITUTION-CHECK", "Fill the Constitution Check with the constitution's gates.",
         _constitution_check),
    Gate("WF-PLAN-CONSTITUTION-VIOLATION", "Change the plan so the gate passes, or justify the violation in "
         "'## Complexity Tracking' (Violation | Why Needed | Simpler Alternative Rejected Because).", _violations),
    Gate("WF-PLAN-TEMPLATE-LEFTOVERS", "Delete unused template options and document the structure decision.",
         lambda c: _grep(c, c.path("plan.md"), _PLAN_LEFTOVERS, lambda m: f"plan template leftover '{m.group()}'")),
    Gate("WF-PLAN-TECH-CONTEXT", "Resolve the unknowns in research.md and update the Technical Context.",
         _tech_context),
    Gate("WF-PLAN-RESEARCH", "Write Phase 0 research.md (/sp.plan).", _research),
    sentinel_gate(lambda c: [c.path(name) for name in PLAN_DOCS]),
    Gate("WF-ADR-PROPOSED", "Accept (or reject and re-plan) the ADR before building on it.", _proposed_adrs,
         Severity.low),
)

# --- tasks --------------------------------------------------------------------------------------


def _no_tasks(ctx: Context) -> list[Hit]:
    found = ctx.tasks()
    if found is None or found.tasks:
        return []
    return [Hit(ctx.path("tasks.md"), None, "tasks.md lists no task: expected '- [ ] T001 Description' lines or a "
                "table with a task id and a Status column")]


def _task_format(ctx: Context) -> list[Hit]:
    found = ctx.tasks()
    if found is None:
        return []
    path = ctx.path("tasks.md")
    hits = [Hit(path, t.line, f"task line does not follow '- [ ] T### [P] [US#] description': {t.text}")
            for t in found.tasks if t.kind == "checkbox" and t.id and not t.canonical]
    hits += [Hit(path, t.line, f"checkbox without a task id is not counted as a task: {t.text}") for t in found.loose]
    hits += [Hit(path, at[1], f"task id {ident} appears more than once (lines {', '.join(map(str, at))})")
             for ident, at in found.duplicates]
    return sorted(hits, key=lambda h: h.line or 0)


TASKS = (
    exists_gate("WF-TASKS-EXISTS", lambda c: c.path("tasks.md"), "Run /sp.tasks."),
    Gate("WF-TASKS-EMPTY", "Regenerate the task list with /sp.tasks.", _no_tasks),
    Gate("WF-TASKS-FORMAT", "Write tasks as '- [ ] T001 [P] [US1] Description with file path'.", _task_format,
         Severity.low),
    Gate("WF-TASKS-SAMPLE", "Delete the template's sample tasks.", lambda c: _grep(
        c, c.path("tasks.md"), _TASK_SAMPLE, lambda m: f"template sample-task sentinel '{m.group()}'")),
    sentinel_gate(lambda c: [c.path("tasks.md")]),
)

# --- analyze ------------------------------------------------------------------------------------


def latest_report(ctx: Context):  # noqa: ANN201 - a Report or None
    reports = analysis_reports(ctx.root, ctx.feature_dir, ctx.records())
    return reports[-1] if reports else None


def _critical(ctx: Context) -> list[Hit]:
    report = latest_report(ctx)
    if report is None:
        return []
    verdict = critical_findings(report.text)
    return [Hit(report.path, report.file_line(line), f"the latest analyze report lists a CRITICAL finding: "
                f"{what[:160]}") for line, what in verdict.items] if verdict.state == "critical" else []


def _unread(ctx: Context) -> list[Hit]:
    report = latest_report(ctx)
    if report is None or critical_findings(report.text).state != "unknown":
        return []
    return [Hit(report.path, None, "the analyze report states no severity summary: check it for CRITICAL "
                "findings by hand")]


ANALYZE_CRITICAL = Gate("WF-ANALYZE-CRITICAL", "Resolve the CRITICAL findings in spec.md, plan.md or tasks.md and "
                        "re-run /sp.analyze before /sp.implement.", _critical)
ANALYZE_UNREAD = Gate("WF-ANALYZE-UNREAD", "Add the report's Metrics ('Critical Issues Count: N') or its findings "
                      "table.", _unread, Severity.low)
ANALYZE = (ANALYZE_CRITICAL, ANALYZE_UNREAD)


def analysis_started(ctx: Context) -> bool:
    return latest_report(ctx) is not None


# --- implement ----------------------------------------------------------------------------------


def _open_checklist_items(ctx: Context) -> list[Hit]:
    """Open items of every checklist but the spec quality one (judged before planning)."""
    hits = []
    for path in ctx.checklists():
        if path == ctx.path(REQUIREMENTS):
            continue
        hits += [Hit(path, box.line, f"unchecked checklist item: {plain(box.text)}")
                 for box in checkboxes(mask(ctx.read(path) or "")) if not box.checked]
    return hits


def _open_tasks(ctx: Context) -> list[Hit]:
    path = ctx.path("tasks.md")
    found = ctx.tasks()
    if found is None:
        return [Hit(path, None, f"{ctx.rel(path)} does not exist; there is nothing to implement")]
    return [Hit(path, t.line, f"open task {t.text}") for t in open_tasks(found)]


def _unclear_tasks(ctx: Context) -> list[Hit]:
    found = ctx.tasks()
    if found is None:
        return []
    path = ctx.path("tasks.md")
    hits = [Hit(path, t.line, f"task {t.id or ''} has no status the gate can read: {t.text}".replace("  ", " "))
            for t in found.with_status("unknown")]
    hits += [Hit(path, t.line, f"unticked checkbox without a task id: {t.text}") for t in found.loose
             if t.status == "open"]
    return sorted(hits, key=lambda h: h.line or 0)


CHECKLISTS_COMPLETE = asking(
    "WF-CHECKLISTS-COMPLETE", "Tick every checklist item (or fix what it checks).", _open_checklist_items,
    "Some checklists are incomplete. Do you want to proceed with implementation anyway? [y/N]")
IMPLEMENT = (
    Gate("WF-IMPLEMENT-OPEN-TASKS", "Finish the task and mark it [X] (/sp.implement).", _open_tasks),
    asking("WF-IMPLEMENT-UNCLEAR-TASKS", "Give the task an id and tick it, or state its status (done / pending).",
           _unclear_tasks, "tasks.md has items whose status cannot be read: are they all done? [y/N]"),
)


def tasks_started(ctx: Context) -> bool:
    """Implement has begun: a task is done (or its status cannot be read, so it must be judged); an unreadable
    tasks.md counts as begun, so that its gates report it."""
    try:
        found = ctx.tasks()
    except Unreadable:
        return True
    return bool(found and found.with_status("done", "unknown"))


def feature_records(ctx: Context, names: tuple[str, ...], command: str, pre_feature: bool) -> list:
    """PHRs documenting a stage: ``stage:`` (or file-name stage) in ``names``, or ``command: /sp.<command>``;
    for the feature (``pre_feature``: anywhere, as the constitution's record lives outside every feature)."""
    return [r for r in ctx.records() if (r.stage in names or r.command == command)
            and (pre_feature or for_feature(r, ctx.feature_dir))]
