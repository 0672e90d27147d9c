"""Catalog entries of the Spec-Kit Plus stage gates (``tools/workflow/``) and the agents' findings."""

from __future__ import annotations

from core.models import Category, Severity
from tools.catalog.entry import Entry

_SOURCES = {"WF-FILE-UNREADABLE": "tools/workflow/gate.py", "WF-PHR-MISSING": "tools/workflow/stages.py",
            "WF-STAGE-SKIPPED": "tools/workflow/transition.py", "WF-STALE-APPROVAL": "tools/workflow/transition.py"}


def _gate(id: str, title: str, description: str, remediation: str, severity: Severity = Severity.high,
          **extra) -> Entry:
    """A stage gate: high (blocking) unless it is a warning or a question (medium, asks); configured under
    ``workflow:``, never deselected."""
    return Entry(id=id, category=Category.workflow, severity=severity, title=title, description=description,
                 remediation=remediation, family="workflow", source=_SOURCES.get(id, "tools/workflow/gates.py"),
                 disable=False, suppress=False, **extra)


ENTRIES: tuple[Entry, ...] = (
    _gate("WF-CONSTITUTION-EXISTS", "Constitution missing",
          "`.specify/memory/constitution.md` does not exist: the constitution stage is not done.",
          "Run /sp.constitution."),
    _gate("WF-CONSTITUTION-PLACEHOLDERS", "Constitution placeholders left",
          "An `[ALL_CAPS]` template token is left outside the Sync Impact Report comment.",
          "Fill every [TOKEN] or defer it as TODO(<FIELD>): reason."),
    _gate("WF-CONSTITUTION-VERSION", "Constitution has no version",
          "The constitution states no version in any real form (`**Version**: X.Y.Z`, `**Constitution "
          "Version:** X.Y.Z`, `Version: X.Y.Z | Ratified: …`, a table row or front-matter).",
          "Add '**Version**: 1.0.0' to the governance footer."),
    _gate("WF-CONSTITUTION-VERSION-FORMAT", "Constitution version is not MAJOR.MINOR.PATCH",
          "The constitution's version is stated but not as semantic versioning (e.g. `1.0`). A warning.",
          "Write the version as MAJOR.MINOR.PATCH, e.g. 1.0.0.", Severity.low),
    _gate("WF-TEMPLATE-SENTINEL", "Template text left in an artifact",
          "An artifact (constitution, spec, research, data model, quickstart, tasks) still carries the "
          "template's own example text.",
          "Replace the template text with the feature's real content."),
    _gate("WF-SPECIFY-EXISTS", "Spec missing", "The feature has no `spec.md`.", "Run /sp.specify."),
    _gate("WF-SPECIFY-SECTIONS", "Mandatory spec section missing",
          "`spec.md` lacks one of the three mandatory sections of the template.",
          "Add the missing mandatory section to spec.md."),
    _gate("WF-SPECIFY-IDS", "Spec requirements not numbered",
          "`spec.md` has no functional requirement (`FR-001`) or success criterion (`SC-001`) id.",
          "Number requirements **FR-001** and success criteria **SC-001**."),
    _gate("WF-SPECIFY-CHECKLIST", "Requirements checklist missing",
          "The feature has no `checklists/requirements.md`.",
          "Generate the requirements checklist (/sp.specify writes it)."),
    _gate("WF-CLARIFY-MARKERS", "Open clarification markers",
          "`spec.md` or `plan.md` still has a `[NEEDS CLARIFICATION:` marker that no answered clarification "
          "settles; checked before entering plan. The real commands stop and ask: so does the gate.",
          "Resolve the markers with /sp.clarify and update the spec.", Severity.medium),
    _gate("WF-CLARIFY-UNANSWERED", "Clarification question without an answer",
          "A `- Q:` bullet under `## Clarifications` / `### Session YYYY-MM-DD` has no answer. The gate asks.",
          "Answer the question in the session (/sp.clarify) or remove it.", Severity.medium),
    _gate("WF-SPEC-CHECKLIST-OPEN", "Spec quality checklist item open",
          "`checklists/requirements.md` (the spec quality checklist /sp.specify writes) has an unticked item; "
          "it gates clarify and plan. Its 'No [NEEDS CLARIFICATION] markers remain' item is judged from the "
          "spec itself.",
          "Fix the spec until the item holds, then tick it."),
    _gate("WF-CHECKLISTS-COMPLETE", "Checklist items open",
          "A checklist under `checklists/` other than the spec quality checklist has an unticked item; checked "
          "before entering implement. The real /sp.implement stops and asks: so does the gate.",
          "Tick every checklist item (or fix the artifact it checks).", Severity.medium),
    _gate("WF-PLAN-EXISTS", "Plan missing", "The feature has no `plan.md`.", "Run /sp.plan."),
    _gate("WF-PLAN-CONSTITUTION-CHECK", "Plan has no Constitution Check",
          "`plan.md` has no filled `## Constitution Check` section.",
          "Fill the Constitution Check with the constitution's gates."),
    _gate("WF-PLAN-CONSTITUTION-VIOLATION", "Plan violates the constitution",
          "The plan's Constitution Check marks a gate violated (`❌`, `VIOLATED`, `FAIL`) and Complexity "
          "Tracking gives no real justification for it.",
          "Change the plan to satisfy the gate, or justify the violation in Complexity Tracking."),
    _gate("WF-PLAN-TEMPLATE-LEFTOVERS", "Template options left in the plan",
          "`plan.md` keeps the template's alternative options or `$ARGUMENTS`.",
          "Delete unused template options and document the structure decision."),
    _gate("WF-PLAN-TECH-CONTEXT", "Unknowns left in the Technical Context",
          "The plan's Technical Context still says `NEEDS CLARIFICATION`.",
          "Resolve the unknowns in research.md and update the Technical Context."),
    _gate("WF-PLAN-RESEARCH", "Research missing", "The feature has no Phase 0 `research.md`.",
          "Write Phase 0 research.md (/sp.plan)."),
    _gate("WF-ADR-PROPOSED", "Plan builds on a proposed ADR",
          "`plan.md` refers to an ADR (`history/adr/`, `docs/adr/`) whose status is still Proposed. A warning.",
          "Accept (or reject and re-plan) the ADR before building on it.", Severity.low),
    _gate("WF-TASKS-EXISTS", "Tasks missing", "The feature has no `tasks.md`.", "Run /sp.tasks."),
    _gate("WF-TASKS-EMPTY", "No task listed", "`tasks.md` lists no task (neither checkbox tasks nor a task "
          "table).", "Generate the tasks with /sp.tasks."),
    _gate("WF-TASKS-FORMAT", "Task line not in the template's format",
          "A task is not written `- [ ] T001 [P] [US1] Description with file path`, an id repeats, or a "
          "checkbox has no task id. A warning.",
          "Write tasks as '- [ ] T001 [P] [US1] Description with file path'.", Severity.low),
    _gate("WF-TASKS-SAMPLE", "Sample tasks left", "`tasks.md` keeps the template's sample tasks.",
          "Delete the template's sample tasks."),
    _gate("WF-IMPLEMENT-OPEN-TASKS", "Open tasks left",
          "`tasks.md` still has an open task (an unticked `- [ ] T###`, or a table row whose status is not "
          "done), or does not exist.",
          "Finish the task and mark it [X] (/sp.implement)."),
    _gate("WF-IMPLEMENT-UNCLEAR-TASKS", "Task status cannot be read",
          "A task's status cannot be read (a task table without a status column, an unticked checkbox without "
          "an id). The gate asks.",
          "Give every task a status the template knows ([ ]/[X], or a Status column).", Severity.medium),
    _gate("WF-ANALYZE-CRITICAL", "Analyze report has an open CRITICAL finding",
          "The latest /sp.analyze report (in its PHR's response or an analysis report file) lists a CRITICAL "
          "finding not marked fixed; it blocks implement.",
          "Fix the CRITICAL finding and re-run /sp.analyze."),
    _gate("WF-ANALYZE-UNREAD", "Analyze report states no severities",
          "The analyze report names no severity summary, so the gate cannot tell if CRITICAL findings remain. "
          "A warning.", "Re-run /sp.analyze so the report states its findings by severity.", Severity.low),
    _gate("WF-PHR-MISSING", "No prompt history record for the stage",
          "No prompt history record for the stage under `history/prompts/` (or the older `docs/prompts/`), "
          "by front-matter `stage:` or by file name `*.<stage>.prompt.md`. A warning unless `workflow.require_phr` is set.",
          "Record the session with /sp.phr.", Severity.low, severities=(Severity.high,),
          variation="high (blocking) with `workflow.require_phr: true`."),
    _gate("WF-STAGE-SKIPPED", "Required stage not complete",
          "A required stage before the target is not started or its gates fail. Optional stages are listed "
          "in `workflow.optional_stages`.",
          "Complete the stage with its /sp.<stage> command, then request the target again."),
    _gate("WF-STALE-APPROVAL", "Approval of an earlier stage is stale",
          "An artifact judged by the latest approval of an earlier stage changed since (ticking a box does "
          "not count): that stage must be approved again first.",
          "Re-approve the stage: `stage approve FEATURE --to STAGE`."),
    _gate("WF-FILE-UNREADABLE", "Stage artifact unreadable",
          "An artifact a gate reads is not readable UTF-8 text, so the gate cannot judge it.",
          "Save the file as readable UTF-8 text."),
    Entry(id="AGENT-CONFLICT", category=Category.security, severity=Severity.info, family="agent",
          source="agents/llm/opinion.py", disable=False, suppress=False,
          categories=(Category.scalability, Category.observability, Category.phase3),
          title="Specialists disagree on an object",
          description="A specialist declared a trade-off with another specialist's likely recommendation on one "
                      "object (`conflicts_with` in its answer). The supervisor resolves it and the decision "
                      "shows the trade-off.",
          variation="the category is the declaring specialist's.",
          remediation="Read the trade-off and choose; the decision's reasoning says which side the policy took."),
    Entry(id="AGENT-*", category=Category.security, severity=Severity.medium, family="agent", pattern=True,
          source="agents/llm/opinion.py", disable=False, suppress=False,
          title="Finding added by a specialist agent",
          description="An agent cites a catalog id when one fits; otherwise it names its finding "
                      "`AGENT-<SHORT-NAME>`. Its severity and category are the agent's; the finding must cite an "
                      "object or a file and line of the agent's input, or it is dropped.",
          variation="any severity and category.",
          remediation="Follow the finding's message; it names the object or file it is about."),
)
