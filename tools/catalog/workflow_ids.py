"""Catalog entries of the Spec-Kit Plus stage gates (``tools/workflow.py``) and the agents' findings."""

from __future__ import annotations

from core.models import Category, Severity
from tools.catalog.entry import Entry

_WORKFLOW = "tools/workflow.py"


def _gate(id: str, title: str, description: str, remediation: str, severity: Severity = Severity.high,
          **extra) -> Entry:
    """A stage gate: high (blocking) unless it is a warning; configured under ``workflow:``, never deselected."""
    return Entry(id=id, category=Category.workflow, severity=severity, title=title, description=description,
                 remediation=remediation, family="workflow", source=_WORKFLOW, disable=False, suppress=False,
                 **extra)


ENTRIES: tuple[Entry, ...] = (
    _gate("WF-CONSTITUTION-EXISTS", "Constitution missing",
          "`.specify/memory/constitution.md` does not exist: the constitution stage is not done.",
          "Run /sp.constitution."),
    _gate("WF-CONSTITUTION-PLACEHOLDERS", "Constitution placeholders left",
          "An `[ALL_CAPS]` template token is left outside the Sync Impact Report comment.",
          "Fill every [TOKEN] or defer it as TODO(<FIELD>): reason."),
    _gate("WF-CONSTITUTION-VERSION", "Constitution has no version",
          "The governance footer has no `**Version**: X.Y.Z` line.",
          "Add '**Version**: 1.0.0' to the governance footer."),
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
          "`spec.md` or `plan.md` still has a `[NEEDS CLARIFICATION:` marker; checked before entering plan.",
          "Resolve the markers with /sp.clarify and update the spec."),
    _gate("WF-CHECKLISTS-COMPLETE", "Checklist items open",
          "A checklist under `checklists/` has an unticked item; checked before entering implement.",
          "Tick every checklist item (or fix the artifact it checks)."),
    _gate("WF-PLAN-EXISTS", "Plan missing", "The feature has no `plan.md`.", "Run /sp.plan."),
    _gate("WF-PLAN-CONSTITUTION-CHECK", "Plan has no Constitution Check",
          "`plan.md` has no filled `## Constitution Check` section.",
          "Fill the Constitution Check with the constitution's gates."),
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
    _gate("WF-TASKS-FORMAT", "Task line not in the template's format",
          "A task is not written `- [ ] T001 [P] [US1] Description with file path`.",
          "Write tasks as '- [ ] T001 [P] [US1] Description with file path'."),
    _gate("WF-TASKS-SAMPLE", "Sample tasks left", "`tasks.md` keeps the template's sample tasks.",
          "Delete the template's sample tasks."),
    _gate("WF-IMPLEMENT-OPEN-TASKS", "Open tasks left",
          "`tasks.md` still has an open `- [ ] T###` task (or does not exist).",
          "Finish the task and mark it [X] (/sp.implement)."),
    _gate("WF-PHR-MISSING", "No prompt history record for the stage",
          "No `*.<stage>.prompt.md` record under `history/prompts/` (or the older `docs/prompts/`) for the "
          "stage. A warning unless `workflow.require_phr` is set.",
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
