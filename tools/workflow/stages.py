"""The Spec-Kit Plus stages, one record each: what a stage produces, when it has started, the gates that
mark it complete, the conditions for entering it, and the prompt-history-record names that document it.

Adding a stage gate is one edit: put the gate in the stage's ``gates`` (complete) or ``entry`` (may be entered:
checked for that stage and every later one, whether or not optional stages ran).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.config import STAGES
from core.errors import InputError
from core.models import Severity
from tools.workflow import gates as g
from tools.workflow.gate import Context, Gate, Hit
from tools.workflow.records import report_files

DONE = "done"
TARGETS = (*STAGES, DONE)
"""What ``stage approve --to`` accepts: a stage to enter, or ``done`` (the feature is finished: implement complete)."""


@dataclass(frozen=True)
class Stage:
    name: str
    artifacts: Callable[[Context], list[Path]]
    """The files its gates judge (an approval to enter a later stage records their digests)."""
    started: Callable[[Context], bool]
    """Whether it can be judged: its artifact exists (clarify: its input)."""
    gates: tuple[Gate, ...] = ()
    """Complete when none of these rejects or asks."""
    entry: tuple[Gate, ...] = ()
    """Conditions for entering this stage and every later one."""
    optional: bool = False
    """Optional by default (``workflow.optional_stages``)."""
    phr: tuple[str, ...] = ()
    """PHR ``stage:`` names that document it (``architect`` is the older Plus name of plan); none: no PHR gate."""
    rewrites: str | None = None
    """The earlier stage whose artifacts it edits by design (editing them does not make its approval stale)."""

    @property
    def command(self) -> str:
        return f"/sp.{self.name}"

    def all_gates(self) -> tuple[Gate, ...]:
        return (*self.gates, phr_gate(self)) if self.phr else self.gates


def phr_gate(stage: Stage) -> Gate:
    """WF-PHR-MISSING: a warning unless a prompt history record documents ``stage``."""
    pre_feature = stage.name == "constitution"

    def scan(ctx: Context) -> list[Hit]:
        if g.feature_records(ctx, stage.phr, stage.name, pre_feature):
            return []
        folder = ctx.root / "history" / "prompts" / ("constitution" if pre_feature else ctx.feature_dir.name)
        return [Hit(folder, None, f"no prompt history record for stage '{stage.name}' (front-matter 'stage: "
                    f"{'|'.join(stage.phr)}', 'command: {stage.command}', or a *.{stage.phr[0]}.prompt.md file)")]

    return Gate("WF-PHR-MISSING", "Record the session with /sp.phr.", scan, Severity.low)


def _spec_and_checklists(ctx: Context) -> list[Path]:
    return [ctx.path("spec.md"), *ctx.checklists()]


STAGE_TABLE: tuple[Stage, ...] = (
    Stage("constitution", lambda c: [c.constitution], lambda c: c.constitution.exists(), g.CONSTITUTION,
          phr=("constitution",)),
    Stage("specify", _spec_and_checklists, lambda c: c.path("spec.md").exists(), g.SPECIFY,
          phr=("spec", "specify", "specification")),
    Stage("clarify", _spec_and_checklists, lambda c: c.path("spec.md").exists(), g.CLARIFY, optional=True,
          rewrites="specify"),
    Stage("plan", lambda c: [c.path("plan.md"), *(c.path(n) for n in g.PLAN_DOCS)],
          lambda c: c.path("plan.md").exists(), g.PLAN,
          entry=(g.CLARIFY_MARKERS, g.CLARIFY_UNANSWERED, g.SPEC_CHECKLIST_OPEN), phr=("plan", "architect", "planning")),
    Stage("tasks", lambda c: [c.path("tasks.md")], lambda c: c.path("tasks.md").exists(), g.TASKS,
          phr=("tasks", "task")),
    Stage("analyze", lambda c: report_files(c.feature_dir), g.analysis_started, g.ANALYZE, optional=True),
    Stage("implement", lambda c: [c.path("tasks.md")], g.tasks_started, g.IMPLEMENT,
          entry=(g.CHECKLISTS_COMPLETE, g.ANALYZE_CRITICAL, g.ANALYZE_UNREAD),
          phr=("red", "green", "refactor", "implement", "implementation")),
)
STAGE = {s.name: s for s in STAGE_TABLE}

GATES: dict[str, tuple[Gate, ...]] = {s.name: s.all_gates() for s in STAGE_TABLE}
"""Stage -> the gates that mark it complete."""
ENTRY_GATES: dict[str, tuple[Gate, ...]] = {s.name: s.entry for s in STAGE_TABLE if s.entry}
"""Stage -> extra conditions for entering it (and every later stage)."""
PHR_STAGES: dict[str, tuple[str, ...]] = {s.name: s.phr for s in STAGE_TABLE if s.phr}
"""Workflow stage -> PHR ``stage`` names accepted as its record."""


def check_stage(stage: str, allowed: tuple[str, ...] = STAGES) -> None:
    if stage not in allowed:
        raise InputError(f"unknown stage '{stage}'; stages are: {', '.join(allowed)}")


def earlier(target: str) -> tuple[str, ...]:
    """The stages before ``target`` (every stage for ``done``)."""
    return STAGES[: TARGETS.index(target)]


def entry_gates(target: str) -> list[Gate]:
    """The entry conditions of ``target`` and of every stage before it."""
    upto = STAGES[: len(earlier(target)) + 1]
    return [gate for name in upto for gate in STAGE[name].entry]
