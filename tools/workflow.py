"""Spec-Kit Plus stage gates: deterministic checks that a feature under ``specs/NNN-name/`` finished a stage.

Each :class:`Gate` is a named check (id ``WF-<STAGE>-<GATE>``) that scans the feature's artifacts and
returns :class:`~infra_orchestrator.models.Finding` objects of category ``workflow``: severity ``high``
for blocking failures, ``low`` for warnings. ``GATES`` maps every stage to the gates that mark it
complete; ``ENTRY_GATES`` adds conditions for *entering* a stage (no open clarification markers before
``plan``, all checklists ticked before ``implement``). Unreadable files become findings, never tracebacks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from infra_orchestrator.config import STAGES, WorkflowConfig
from infra_orchestrator.errors import InputError
from infra_orchestrator.models import Category, Finding, Severity

CONSTITUTION_PATH = Path(".specify/memory/constitution.md")
_FEATURE_DIR = re.compile(r"^(\d+)-(.+)$")
_FEATURE_BRANCH = re.compile(r"^\d{3}-\S+$")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]+\]")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_VERSION = re.compile(r"\*\*Version\*\*:[ \t]*\d+\.\d+\.\d+")
_VERSION_LINE = re.compile(r"\*\*Version\*\*:.*")
_MANDATORY_SECTIONS = ("User Scenarios & Testing", "Requirements", "Success Criteria")
_CLARIFICATION_MARKER = re.compile(r"\[NEEDS CLARIFICATION:[^\]\n]*\]?")
_BARE_CLARIFICATION = re.compile(r"(?<!\[)NEEDS CLARIFICATION")
_OPEN_CHECKBOX = re.compile(r"^[ \t]*[-*] \[ \] ?(.*)$", re.M)
_GATES_PLACEHOLDER = re.compile(re.escape("[Gates determined based on constitution file]"))
_PLAN_LEFTOVERS = re.compile(
    "|".join(re.escape(s) for s in ("[REMOVE IF UNUSED]", "**Structure Decision**: [Document", "ACTION REQUIRED"))
)
_TASK_FORMAT = r"- \[( |x|X)\] T\d{3}( \[P\])?( \[US\d+\])? .+"
_MALFORMED_TASK = re.compile(rf"^(?!{_TASK_FORMAT})[-*+][ \t]*\[[ xX]\].*$", re.M)
"""A top-level checkbox line (a task, by its look) that does not follow the required task format."""
_TASK_SAMPLE = re.compile(r"SAMPLE TASKS|DO NOT keep these sample tasks")
_OPEN_TASK = re.compile(r"^- \[ \] (T\d{3}.*)$", re.M)
_DONE_TASK = re.compile(r"^- \[[xX]\] T\d{3}", re.M)
_TEMPLATE_SENTINEL = re.compile(
    r"\$ARGUMENTS|IMPORTANT: The checklist items below are SAMPLE ITEMS|<!--[ \t]*\n[ \t]*ACTION REQUIRED"
)

PHR_STAGES: dict[str, tuple[str, ...]] = {
    "constitution": ("constitution",),
    "specify": ("spec",),
    "plan": ("plan", "architect"),
    "tasks": ("tasks",),
    "implement": ("red", "green", "refactor"),
}
"""Workflow stage -> PHR ``stage`` names accepted as its record (``architect`` is the older Plus name)."""


class Hit(NamedTuple):
    """One raw observation of a gate: where and what; the gate adds id, severity and remediation."""

    path: Path
    line: int | None
    message: str


class _Unreadable(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _read(path: Path) -> str | None:
    """Text of ``path``; None when it does not exist; raises ``_Unreadable`` when it cannot be decoded."""
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else exc.strerror or type(exc).__name__
        raise _Unreadable(path, reason) from None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _grep(path: Path, pattern: re.Pattern[str], message: Callable[[re.Match[str]], str],
          text: str | None = None) -> list[Hit]:
    """A hit per match of ``pattern`` in ``path`` (or in ``text`` standing for it); none if the file is missing."""
    text = _read(path) if text is None else text
    if text is None:
        return []
    return [Hit(path, _line_of(text, m.start()), message(m)) for m in pattern.finditer(text)]


def _blank(text: str) -> str:
    """``text`` with everything but newlines replaced by spaces: hides it from a scan, keeps line numbers."""
    return re.sub(r"[^\n]", " ", text)


def _rel(root: Path, path: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


@dataclass(frozen=True)
class Gate:
    """A named check: ``scan(root, feature_dir)`` yields hits that :meth:`run` turns into findings."""

    check_id: str
    remediation: str
    scan: Callable[[Path, Path], Iterable[Hit]]
    severity: Severity = Severity.high

    def run(self, root: Path, feature_dir: Path) -> list[Finding]:
        """Findings of this gate for ``feature_dir``; an unreadable artifact is itself a finding."""
        try:
            hits = list(self.scan(root, feature_dir))
        except _Unreadable as exc:
            hit = Hit(exc.path, None, f"cannot read file ({exc.reason})")
            return [_finding("WF-FILE-UNREADABLE", Severity.high, root, hit, "Save the file as readable UTF-8 text.")]
        return [_finding(self.check_id, self.severity, root, hit, self.remediation) for hit in hits]


def _finding(check_id: str, severity: Severity, root: Path, hit: Hit, remediation: str) -> Finding:
    return Finding(check_id=check_id, severity=severity, category=Category.workflow, message=hit.message,
                   file=_rel(root, hit.path), line=hit.line, remediation=remediation)


def _exists_gate(check_id: str, locate: Callable[[Path, Path], Path], remediation: str) -> Gate:
    def scan(root: Path, feature_dir: Path) -> list[Hit]:
        path = locate(root, feature_dir)
        return [] if path.exists() else [Hit(path, None, f"{_rel(root, path)} does not exist")]

    return Gate(check_id, remediation, scan)


def _in_feature(name: str) -> Callable[[Path, Path], Path]:
    return lambda _root, feature_dir: feature_dir / name


def _constitution(root: Path, _feature_dir: Path) -> Path:
    return root / CONSTITUTION_PATH


def _checklists(feature_dir: Path) -> list[Path]:
    return sorted((feature_dir / "checklists").glob("*.md"))


# --- constitution -------------------------------------------------------------------------------


def _scan_placeholders(root: Path, feature_dir: Path) -> list[Hit]:
    path = _constitution(root, feature_dir)
    text = _read(path)
    if text is None:
        return []
    # The Sync Impact Report comment legitimately names the template tokens it replaced.
    masked = _HTML_COMMENT.sub(lambda m: _blank(m.group()), text)
    return _grep(path, _PLACEHOLDER, lambda m: f"unfilled template placeholder {m.group()}", masked)


def _scan_version(root: Path, feature_dir: Path) -> list[Hit]:
    path = _constitution(root, feature_dir)
    text = _read(path)
    if text is None or _VERSION.search(text):
        return []
    line = _VERSION_LINE.search(text)
    return [Hit(path, _line_of(text, line.start()) if line else None,
                "constitution has no semantic version line '**Version**: X.Y.Z'")]


# --- specify ------------------------------------------------------------------------------------


def _scan_sections(_root: Path, feature_dir: Path) -> list[Hit]:
    path = feature_dir / "spec.md"
    text = _read(path)
    if text is None:
        return []
    return [Hit(path, None, f"mandatory section '## {title}' is missing")
            for title in _MANDATORY_SECTIONS
            if not re.search(rf"^##[ \t]+{re.escape(title)}([ \t]+\*\(mandatory\)\*)?[ \t]*$", text, re.M)]


def _scan_ids(_root: Path, feature_dir: Path) -> list[Hit]:
    path = feature_dir / "spec.md"
    text = _read(path)
    if text is None:
        return []
    kinds = (("FR", "functional requirement"), ("SC", "success criterion"))
    return [Hit(path, None, f"no {label} id ({prefix}-001 style) in the spec")
            for prefix, label in kinds if not re.search(rf"\b{prefix}-\d{{3}}\b", text)]


def _sentinel_gate(locate: Callable[[Path, Path], list[Path]]) -> Gate:
    """WF-TEMPLATE-SENTINEL over the files ``locate(root, feature_dir)`` names."""

    def scan(root: Path, feature_dir: Path) -> list[Hit]:
        message = lambda m: f"untouched template text '{' '.join(m.group().split())}'"  # noqa: E731
        return [hit for path in locate(root, feature_dir) for hit in _grep(path, _TEMPLATE_SENTINEL, message)]

    return Gate("WF-TEMPLATE-SENTINEL", "Replace the template text with the feature's real content.", scan)


# --- clarify / readiness ------------------------------------------------------------------------


def _scan_markers(_root: Path, feature_dir: Path) -> list[Hit]:
    message = lambda m: f"open clarification marker {m.group()}"  # noqa: E731
    return [hit for name in ("spec.md", "plan.md") for hit in _grep(feature_dir / name, _CLARIFICATION_MARKER, message)]


def _scan_open_checklist_items(_root: Path, feature_dir: Path) -> list[Hit]:
    return [hit for path in _checklists(feature_dir)
            for hit in _grep(path, _OPEN_CHECKBOX, lambda m: f"unchecked checklist item: {m.group(1).strip()}")]


# --- plan ---------------------------------------------------------------------------------------


def _scan_constitution_check(_root: Path, feature_dir: Path) -> list[Hit]:
    path = feature_dir / "plan.md"
    text = _read(path)
    if text is None:
        return []
    missing = [] if re.search(r"^## Constitution Check\b", text, re.M) else [
        Hit(path, None, "plan has no '## Constitution Check' section")]
    return missing + _grep(path, _GATES_PLACEHOLDER, lambda _m: "Constitution Check gates were never filled in", text)


def _scan_plan_leftovers(_root: Path, feature_dir: Path) -> list[Hit]:
    return _grep(feature_dir / "plan.md", _PLAN_LEFTOVERS, lambda m: f"plan template leftover '{m.group()}'")


def _scan_tech_context(_root: Path, feature_dir: Path) -> list[Hit]:
    path = feature_dir / "plan.md"
    text = _read(path)
    section = re.search(r"^## Technical Context\b.*?(?=^## |\Z)", text or "", re.M | re.S)
    if section is None:
        return []
    masked = _blank(text[: section.start()]) + section.group()
    return _grep(path, _BARE_CLARIFICATION, lambda _m: "Technical Context still says NEEDS CLARIFICATION", masked)


# --- tasks / implement --------------------------------------------------------------------------


def _scan_task_format(_root: Path, feature_dir: Path) -> list[Hit]:
    return _grep(feature_dir / "tasks.md", _MALFORMED_TASK,
                 lambda m: f"task line does not follow '- [ ] T### [P] [US#] description': {m.group().strip()}")


def _scan_task_sample(_root: Path, feature_dir: Path) -> list[Hit]:
    return _grep(feature_dir / "tasks.md", _TASK_SAMPLE, lambda m: f"template sample-task sentinel '{m.group()}'")


def _scan_open_tasks(root: Path, feature_dir: Path) -> list[Hit]:
    path = feature_dir / "tasks.md"
    if not path.exists():
        return [Hit(path, None, f"{_rel(root, path)} does not exist; there is nothing to implement")]
    return _grep(path, _OPEN_TASK, lambda m: f"open task {m.group(1).strip()}")


# --- prompt history records ---------------------------------------------------------------------


def _phr_gate(stage: str) -> Gate:
    """WF-PHR-MISSING: a warning unless a ``*.<phr-stage>.prompt.md`` record exists for ``stage``."""
    phr_stages = PHR_STAGES[stage]

    def scan(root: Path, feature_dir: Path) -> list[Hit]:
        folder = root / "history" / "prompts" / ("constitution" if stage == "constitution" else feature_dir.name)
        patterns = [f"*.{phr_stage}.prompt.md" for phr_stage in phr_stages]
        if any(next(f.rglob(p), None) for f in (folder, root / "docs" / "prompts") for p in patterns):
            return []
        expected = f"*.{'|'.join(phr_stages)}.prompt.md"
        return [Hit(folder, None, f"no prompt history record ({expected}) for stage '{stage}'")]

    return Gate("WF-PHR-MISSING", "Record the session with /sp.phr.", scan, Severity.low)


# --- registry -----------------------------------------------------------------------------------

CLARIFY_MARKERS = Gate("WF-CLARIFY-MARKERS", "Resolve the markers with /sp.clarify and update the spec.", _scan_markers)
CHECKLISTS_COMPLETE = Gate("WF-CHECKLISTS-COMPLETE", "Tick every checklist item (or fix the artifact it checks).",
                           _scan_open_checklist_items)

GATES: dict[str, tuple[Gate, ...]] = {
    "constitution": (
        _exists_gate("WF-CONSTITUTION-EXISTS", _constitution, "Run /sp.constitution."),
        Gate("WF-CONSTITUTION-PLACEHOLDERS", "Fill every [TOKEN] or defer it as TODO(<FIELD>): reason.",
             _scan_placeholders),
        Gate("WF-CONSTITUTION-VERSION", "Add '**Version**: 1.0.0' to the governance footer.", _scan_version),
        _sentinel_gate(lambda root, feature_dir: [_constitution(root, feature_dir)]),
        _phr_gate("constitution"),
    ),
    "specify": (
        _exists_gate("WF-SPECIFY-EXISTS", _in_feature("spec.md"), "Run /sp.specify."),
        Gate("WF-SPECIFY-SECTIONS", "Add the missing mandatory section to spec.md.", _scan_sections),
        Gate("WF-SPECIFY-IDS", "Number requirements **FR-001** and success criteria **SC-001**.", _scan_ids),
        _exists_gate("WF-SPECIFY-CHECKLIST", _in_feature("checklists/requirements.md"),
                     "Re-run /sp.specify to generate the spec quality checklist."),
        _sentinel_gate(lambda _root, feature_dir: [feature_dir / "spec.md", *_checklists(feature_dir)]),
        _phr_gate("specify"),
    ),
    "clarify": (CLARIFY_MARKERS, CHECKLISTS_COMPLETE),
    "plan": (
        _exists_gate("WF-PLAN-EXISTS", _in_feature("plan.md"), "Run /sp.plan."),
        Gate("WF-PLAN-CONSTITUTION-CHECK", "Fill the Constitution Check with the constitution's gates.",
             _scan_constitution_check),
        Gate("WF-PLAN-TEMPLATE-LEFTOVERS", "Delete unused template options and document the structure decision.",
             _scan_plan_leftovers),
        Gate("WF-PLAN-TECH-CONTEXT", "Resolve the unknowns in research.md and update the Technical Context.",
             _scan_tech_context),
        _exists_gate("WF-PLAN-RESEARCH", _in_feature("research.md"), "Write Phase 0 research.md (/sp.plan)."),
        _phr_gate("plan"),
    ),
    "tasks": (
        _exists_gate("WF-TASKS-EXISTS", _in_feature("tasks.md"), "Run /sp.tasks."),
        Gate("WF-TASKS-FORMAT", "Write tasks as '- [ ] T001 [P] [US1] Description with file path'.", _scan_task_format),
        Gate("WF-TASKS-SAMPLE", "Delete the template's sample tasks.", _scan_task_sample),
        _sentinel_gate(lambda _root, feature_dir: [feature_dir / "tasks.md"]),
        _phr_gate("tasks"),
    ),
    "analyze": (),
    "implement": (
        Gate("WF-IMPLEMENT-OPEN-TASKS", "Finish the task and mark it [X] (/sp.implement).", _scan_open_tasks),
        _phr_gate("implement"),
    ),
}
"""Stage -> the gates that mark it complete. ``analyze`` is read-only and leaves no artifact to check."""

ENTRY_GATES: dict[str, tuple[Gate, ...]] = {"plan": (CLARIFY_MARKERS,), "implement": (CHECKLISTS_COMPLETE,)}
"""Stage -> extra conditions for entering it (and every later stage), whether or not optional stages ran."""


def _safe_text(path: Path) -> str:
    """Text of ``path``, or "" when it is missing or unreadable (the gates report unreadable files)."""
    try:
        return _read(path) or ""
    except _Unreadable:
        return ""


_STARTED: dict[str, Callable[[Path, Path], bool]] = {
    "constitution": lambda root, _f: (root / CONSTITUTION_PATH).exists(),
    "specify": lambda _r, feature_dir: (feature_dir / "spec.md").exists(),
    "clarify": lambda _r, feature_dir: (feature_dir / "spec.md").exists(),
    "plan": lambda _r, feature_dir: (feature_dir / "plan.md").exists(),
    "tasks": lambda _r, feature_dir: (feature_dir / "tasks.md").exists(),
    "analyze": lambda _r, feature_dir: (feature_dir / "tasks.md").exists(),
    "implement": lambda _r, feature_dir: bool(_DONE_TASK.search(_safe_text(feature_dir / "tasks.md"))),
}
"""Stage -> whether it can be judged: its artifact exists (``clarify`` and the read-only ``analyze``: their input)."""


# --- public API ---------------------------------------------------------------------------------


class TransitionResult(BaseModel):
    """Whether ``feature`` may enter stage ``target``, with the evidence."""

    feature: str
    target: str
    current_stage: str | None
    required: list[str]
    findings: list[Finding] = Field(default_factory=list)
    passed: bool
    next_action: str


class StageRow(BaseModel):
    """One line of the ``stage status`` table."""

    stage: str
    status: Literal["pass", "fail", "not started"]
    optional: bool
    failing: list[str] = Field(default_factory=list)


def _features(root: Path) -> list[Path]:
    specs = root / "specs"
    return sorted(p for p in specs.iterdir() if p.is_dir() and _FEATURE_DIR.match(p.name)) if specs.is_dir() else []


def resolve_feature(root: Path, name: str) -> Path:
    """The ``specs/NNN-name/`` directory for ``001``, ``1``, ``001-name``, ``name`` or ``specs/001-name``."""
    wanted = name.strip().rstrip("/").rsplit("/", 1)[-1]
    features = _features(root)

    def matches(path: Path) -> bool:
        number, short = _FEATURE_DIR.match(path.name).groups()
        return int(number) == int(wanted) if wanted.isdigit() else wanted in (path.name, short)

    found = [p for p in features if matches(p)]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"feature '{name}' is ambiguous: {', '.join(p.name for p in found)}")
    choices = ", ".join(p.name for p in features) or f"none (no specs/NNN-name/ directories under {root})"
    raise InputError(f"unknown feature '{name}'; features found: {choices}")


def feature_from_branch(branch: str) -> str | None:
    """The feature name of an ``NNN-name`` branch (``refs/heads/`` or remote prefixes allowed), else None."""
    name = branch.strip().rsplit("/", 1)[-1]
    return name if _FEATURE_BRANCH.match(name) else None


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise InputError(f"unknown stage '{stage}'; stages are: {', '.join(STAGES)}")


def _run(gates: Iterable[Gate], root: Path, feature_dir: Path) -> list[Finding]:
    findings: list[Finding] = []
    for gate in gates:
        findings += [f for f in gate.run(root, feature_dir) if f not in findings]
    return findings


def _blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.high)]


def _apply_policy(findings: list[Finding], workflow: WorkflowConfig) -> list[Finding]:
    """With ``require_phr`` a missing prompt history record blocks instead of warning."""
    if not workflow.require_phr:
        return findings
    return [f.model_copy(update={"severity": Severity.high}) if f.check_id == "WF-PHR-MISSING" else f
            for f in findings]


def evaluate_stage(root: Path, feature_dir: Path, stage: str) -> list[Finding]:
    """Findings of the gates that mark ``stage`` complete for ``feature_dir`` (empty list: complete)."""
    _check_stage(stage)
    return _run(GATES[stage], root, feature_dir)


def _stage_state(root: Path, feature_dir: Path, stage: str, workflow: WorkflowConfig) -> tuple[bool, list[Finding]]:
    """(started, policy-adjusted findings) of ``stage``."""
    return _STARTED[stage](root, feature_dir), _apply_policy(evaluate_stage(root, feature_dir, stage), workflow)


def _complete(state: tuple[bool, list[Finding]]) -> bool:
    started, findings = state
    return started and not _blocking(findings)


def _current_stage(states: dict[str, tuple[bool, list[Finding]]], workflow: WorkflowConfig) -> str | None:
    current = None
    for stage in STAGES:
        if _complete(states[stage]):
            current = stage
        elif stage not in workflow.optional_stages:
            break
    return current


def _next_action(target: str, findings: list[Finding]) -> str:
    blocking = _blocking(findings)
    if not blocking:
        return f"Proceed with /sp.{target}."
    skipped = [f for f in blocking if f.check_id == "WF-STAGE-SKIPPED"]
    if skipped:
        return f"{skipped[0].remediation}, then request '{target}' again."
    first = min(blocking, key=Finding.sort_key)
    where = f" at {first.location()}" if first.location() else ""
    return f"Fix {len(blocking)} blocking finding(s), starting with {first.check_id}{where}: {first.remediation}"


def evaluate_transition(root: Path, feature: str, target: str, workflow: WorkflowConfig) -> TransitionResult:
    """Decide whether ``feature`` may enter ``target``: every earlier required stage complete, entry gates clean."""
    _check_stage(target)
    feature_dir = resolve_feature(root, feature)
    states = {stage: _stage_state(root, feature_dir, stage, workflow) for stage in STAGES}
    earlier = STAGES[: STAGES.index(target)]
    required = [s for s in earlier if s not in workflow.optional_stages]
    findings: list[Finding] = []
    for stage in required:
        findings += [f for f in states[stage][1] if f not in findings]
        if not _complete(states[stage]):
            reason = "not started" if not states[stage][0] else "its gates fail"
            findings.append(Finding(
                check_id="WF-STAGE-SKIPPED", severity=Severity.high, category=Category.workflow,
                message=f"required stage '{stage}' is not complete ({reason}) before entering '{target}'",
                file=_rel(root, feature_dir), remediation=f"Complete '{stage}' with /sp.{stage}"))
    entry = [g for s in STAGES[: STAGES.index(target) + 1] for g in ENTRY_GATES.get(s, ())]
    findings += [f for f in _run(entry, root, feature_dir) if f not in findings]
    return TransitionResult(feature=feature_dir.name, target=target, current_stage=_current_stage(states, workflow),
                            required=required, findings=findings, passed=not _blocking(findings),
                            next_action=_next_action(target, findings))


def stage_table(root: Path, feature: str, workflow: WorkflowConfig) -> list[StageRow]:
    """Per stage: ``pass``/``fail``/``not started`` and the ids of the gates that block it."""
    feature_dir = resolve_feature(root, feature)
    rows = []
    for stage in STAGES:
        started, findings = _stage_state(root, feature_dir, stage, workflow)
        failing = sorted({f.check_id for f in _blocking(findings)}) if started else []
        status = "not started" if not started else ("fail" if failing else "pass")
        rows.append(StageRow(stage=stage, status=status, optional=stage in workflow.optional_stages, failing=failing))
    return rows
