"""Spec-Kit Plus stage gates: deterministic checks that a feature under ``specs/NNN-name/`` finished a stage.

Each :class:`Gate` is a named check (id ``WF-<STAGE>-<GATE>``) that scans the feature's artifacts and
returns :class:`~core.models.Finding` objects of category ``workflow``: severity ``high``
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

from core.config import STAGES, WorkflowConfig
from core.errors import InputError
from core.models import Category, Finding, Severity
from tools import git, ledger

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
    "|".join(re.escape(s) for s in ("[REMOVE IF UNUSED]", "**Structure Decision**: [Document", "ACTION REQUIRED",
                                    "$ARGUMENTS"))
)
_TASK_FORMAT = r"- \[( |x|X)\] T\d{3}( \[P\])?( \[US\d+\])? .+"
_MALFORMED_TASK = re.compile(rf"^(?!{_TASK_FORMAT})[-*+][ \t]*\[[ xX]\].*$", re.M)
"""A top-level checkbox line (a task, by its look) that does not follow the required task format."""
_TASK_SAMPLE = re.compile(r"SAMPLE TASKS|DO NOT keep these sample tasks")
_OPEN_TASK = re.compile(r"^- \[ \] (T\d{3}.*)$", re.M)
_DONE_TASK = re.compile(r"^- \[[xX]\] T\d{3}", re.M)
_PLAN_DOCS = ("research.md", "data-model.md", "quickstart.md")
"""Phase 0/1 documents written by /sp.plan besides plan.md (plan.md has its own leftover gate)."""
_ADR_STATUS = re.compile(r"^[ \t]*[-*]?[ \t]*\*{0,2}Status:?\*{0,2}:?[ \t]*\**[ \t]*([A-Za-z]+)", re.M)
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


# --- architecture decision records --------------------------------------------------------------

ADR_DIRS = (Path("history/adr"), Path("docs/adr"))
"""Where ADRs live: the newer Spec-Kit Plus layout, then the older one."""


class Adr(BaseModel):
    """One architecture decision record: its file, number (from the file name), title and status."""

    path: str
    number: int | None
    title: str
    status: str | None


def list_adrs(root: Path) -> list[Adr]:
    """Every ADR under ``history/adr/``, then ``docs/adr/``, by file name (an unreadable one has no status)."""
    adrs = []
    for path in [p for d in ADR_DIRS for p in sorted((root / d).glob("*.md"))]:
        text = _safe_text(path)
        number = re.match(r"\d+", path.name)
        title = re.search(r"^#[ \t]+(.+)$", text, re.M)
        status = _ADR_STATUS.search(text)
        adrs.append(Adr(path=_rel(root, path), number=int(number.group()) if number else None,
                        title=title.group(1).strip() if title else path.stem,
                        status=status.group(1).capitalize() if status else None))
    return adrs


def _adr_reference(adr: Adr) -> re.Pattern[str]:
    """How a plan refers to ``adr``: by file name, or as ``ADR-0001`` / ``ADR 1`` when it is numbered."""
    names = [re.escape(Path(adr.path).name)]
    if adr.number is not None:
        names.append(rf"\bADR[- ]0*{adr.number}\b")
    return re.compile("|".join(names))


def _scan_proposed_adrs(root: Path, feature_dir: Path) -> list[Hit]:
    path = feature_dir / "plan.md"
    text = _read(path)
    if text is None:
        return []
    hits = []
    for adr in list_adrs(root):
        ref = _adr_reference(adr).search(text) if adr.status == "Proposed" else None
        if ref:
            hits.append(Hit(path, _line_of(text, ref.start()),
                            f"plan relies on {adr.path} ('{adr.title}') whose status is still Proposed"))
    return hits


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
        _sentinel_gate(lambda _root, feature_dir: [feature_dir / name for name in _PLAN_DOCS]),
        Gate("WF-ADR-PROPOSED", "Accept (or reject and re-plan) the ADR before building on it.", _scan_proposed_adrs,
             Severity.low),
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

DONE = "done"
TARGETS = (*STAGES, DONE)
"""What ``stage approve --to`` accepts: a stage to enter, or ``done`` (the feature is finished: implement complete)."""

_ARTIFACTS: dict[str, Callable[[Path, Path], list[Path]]] = {
    "constitution": lambda root, _f: [root / CONSTITUTION_PATH],
    "specify": lambda _r, feature_dir: [feature_dir / "spec.md", *_checklists(feature_dir)],
    "clarify": lambda _r, feature_dir: [feature_dir / "spec.md", *_checklists(feature_dir)],
    "plan": lambda _r, feature_dir: [feature_dir / "plan.md", *(feature_dir / n for n in _PLAN_DOCS)],
    "tasks": lambda _r, feature_dir: [feature_dir / "tasks.md"],
    "analyze": lambda _r, _f: [],
    "implement": lambda _r, feature_dir: [feature_dir / "tasks.md"],
}
"""Stage -> the artifacts its gates judge (``analyze`` is read-only)."""

_EDITS: dict[str, str] = {"clarify": "specify"}
"""Stage -> the earlier stage whose artifacts it rewrites by design (/sp.clarify edits the spec): editing
them does not make the approval to enter that stage stale. Ticking boxes never does (``sha256_unticked``)."""


class StaleApproval(BaseModel):
    """An approval to enter ``stage`` whose judged artifacts changed after it was recorded."""

    stage: str
    record: int
    """The ledger index of the approval."""
    timestamp: str
    changed: list[str]
    """Artifacts (relative paths) edited or removed since."""


class TransitionResult(BaseModel):
    """Whether ``feature`` may enter stage ``target``, with the evidence."""

    feature: str
    target: str
    current_stage: str | None
    required: list[str]
    findings: list[Finding] = Field(default_factory=list)
    passed: bool
    next_action: str
    gates: dict[str, str] = Field(default_factory=dict)
    """Every stage before ``target`` -> pass / fail / stale / not started (as ``stage status`` shows it)."""
    stale: list[StaleApproval] = Field(default_factory=list)
    """Approvals of earlier stages made stale by later edits; each must be re-approved first."""


class StageRow(BaseModel):
    """One line of the ``stage status`` table."""

    stage: str
    status: Literal["pass", "fail", "stale", "not started"]
    optional: bool
    failing: list[str] = Field(default_factory=list)
    approval: Literal["approved", "stale", "none"] = "none"
    """The ledger's latest approval to enter this stage: still valid, stale, or none recorded."""
    changed: list[str] = Field(default_factory=list)
    """For a stale approval: the artifacts edited since."""


class FeatureStatus(BaseModel):
    """What ``stage status`` shows: the table, the current stage, the next action and the ADRs."""

    feature: str
    current_stage: str | None
    next_target: str | None
    next_action: str
    rows: list[StageRow]
    adrs: list[Adr] = Field(default_factory=list)


def features(root: Path) -> list[Path]:
    """The feature directories ``specs/NNN-name/`` of the workspace, sorted."""
    specs = root / "specs"
    return sorted(p for p in specs.iterdir() if p.is_dir() and _FEATURE_DIR.match(p.name)) if specs.is_dir() else []


def resolve_feature(root: Path, name: str) -> Path:
    """The ``specs/NNN-name/`` directory for ``001``, ``1``, ``001-name``, ``name`` or ``specs/001-name``."""
    wanted = name.strip().rstrip("/").rsplit("/", 1)[-1]
    available = features(root)

    def matches(path: Path) -> bool:
        number, short = _FEATURE_DIR.match(path.name).groups()
        return int(number) == int(wanted) if wanted.isdigit() else wanted in (path.name, short)

    found = [p for p in available if matches(p)]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"feature '{name}' is ambiguous: {', '.join(p.name for p in found)}")
    choices = ", ".join(p.name for p in available) or f"none (no specs/NNN-name/ directories under {root})"
    raise InputError(f"unknown feature '{name}'; features found: {choices}")


def feature_from_branch(branch: str) -> str | None:
    """The feature name of an ``NNN-name`` branch (``refs/heads/`` or remote prefixes allowed), else None."""
    name = branch.strip().rsplit("/", 1)[-1]
    return name if _FEATURE_BRANCH.match(name) else None


def _current_branch(root: Path) -> str:
    """The checked-out branch of the repository holding ``root`` ("" when detached, not git, or no git)."""
    try:
        return git.run_git(root, "symbolic-ref", "--short", "-q", "HEAD", check=False).strip()
    except InputError:
        return ""


def default_feature(root: Path, specify_feature: str | None) -> str:
    """The feature meant when none is named: ``specify_feature`` (``$SPECIFY_FEATURE``), else the git branch.

    Like Spec-Kit's own scripts, the variable wins over the branch; the branch must look like ``NNN-name``.
    """
    if specify_feature and specify_feature.strip():
        return specify_feature.strip()
    branch = _current_branch(root)
    feature = feature_from_branch(branch)
    if feature is None:
        on = f"the current branch '{branch}' is not" if branch else "not on"
        raise InputError(f"no FEATURE given and {on} a feature branch (NNN-name); name the feature or set "
                         "SPECIFY_FEATURE")
    return feature


DEFAULT_BRANCHES = ("origin/HEAD", "main", "master")
"""Where a feature branch is assumed to fork from, first match wins."""


def feature_base(root: Path) -> str | None:
    """The commit the checked-out feature branch forked from, or None (then a stage approval reviews the directory).

    Only on an ``NNN-name`` branch of a git repository: the merge-base of ``HEAD`` with the first of
    :data:`DEFAULT_BRANCHES` that exists. The feature's changes are then ``base..HEAD`` (committed work).
    """
    if feature_from_branch(_current_branch(root)) is None:
        return None
    try:
        bases = (git.run_git(root, "merge-base", ref, "HEAD", check=False).strip() for ref in DEFAULT_BRANCHES)
        return next((b for b in bases if b), None)
    except InputError:
        return None


def _check_stage(stage: str, allowed: tuple[str, ...] = STAGES) -> None:
    if stage not in allowed:
        raise InputError(f"unknown stage '{stage}'; stages are: {', '.join(allowed)}")


def _earlier(target: str) -> tuple[str, ...]:
    return STAGES[: TARGETS.index(target)]


def judged_artifacts(root: Path, feature_dir: Path, target: str) -> list[Path]:
    """The existing artifacts an approval to enter ``target`` judges: those of every earlier stage."""
    _check_stage(target, TARGETS)
    paths = dict.fromkeys(p for stage in _earlier(target) for p in _ARTIFACTS[stage](root, feature_dir))
    return [p for p in paths if p.is_file()]


def _inside(rel: str) -> bool:
    return not Path(rel).is_absolute() and ".." not in Path(rel).parts


def latest_approvals(root: Path, feature: str) -> dict[str, dict]:
    """Target -> the ledger's latest APPROVED stage record for ``feature`` (an ``NNN-name``)."""
    out: dict[str, dict] = {}
    for record in ledger.read_records(ledger.ledger_path(root)):
        subject = record.get("subject")
        if (isinstance(subject, dict) and record.get("kind") == "stage" and record.get("outcome") == "APPROVED"
                and subject.get("feature") == feature and isinstance(record.get("artifacts", {}), dict)):
            out[str(subject.get("target"))] = record
    return out


def stale_approvals(root: Path, feature_dir: Path) -> dict[str, StaleApproval]:
    """Target -> its latest approval, when an artifact it judged was edited or removed since."""
    out = {}
    for target, record in latest_approvals(root, feature_dir.name).items():
        edited = _ARTIFACTS[_EDITS[target]](root, feature_dir) if target in _EDITS else []
        exempt = {_rel(root, p) for p in edited}
        recorded = {p: d for p, d in record.get("artifacts", {}).items()
                    if isinstance(d, dict) and _inside(p) and p not in exempt}
        current = ledger.file_digests(root, (root / p for p in recorded))
        key = "sha256_unticked"
        changed = sorted(p for p, d in recorded.items() if current.get(p, {}).get(key) != d.get(key))
        if changed:
            out[target] = StaleApproval(stage=target, record=record.get("index", -1),
                                        timestamp=str(record.get("timestamp", "")), changed=changed)
    return out


def _stale_finding(feature_dir: Path, stale: StaleApproval, target: str) -> Finding:
    return Finding(
        check_id="WF-STALE-APPROVAL", severity=Severity.high, category=Category.workflow, file=stale.changed[0],
        message=(f"the approval of '{stale.stage}' (ledger record {stale.record}, {stale.timestamp}) is stale: "
                 f"{', '.join(stale.changed)} changed since; it must be re-approved before entering '{target}'"),
        remediation=f"Re-approve '{stale.stage}': stage approve {feature_dir.name} --to {stale.stage}")


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


def _current_stage(complete: set[str], workflow: WorkflowConfig) -> str | None:
    """The last complete stage of the walk that stops at the first incomplete required stage."""
    current = None
    for stage in STAGES:
        if stage in complete:
            current = stage
        elif stage not in workflow.optional_stages:
            break
    return current


def _next_action(target: str, findings: list[Finding]) -> str:
    blocking = _blocking(findings)
    if not blocking:
        return "The feature is complete." if target == DONE else f"Proceed with /sp.{target}."
    for check_id in ("WF-STAGE-SKIPPED", "WF-STALE-APPROVAL"):
        first = next((f for f in blocking if f.check_id == check_id), None)
        if first:
            return f"{first.remediation}, then request '{target}' again."
    first = min(blocking, key=Finding.sort_key)
    where = f" at {first.location()}" if first.location() else ""
    return f"Fix {len(blocking)} blocking finding(s), starting with {first.check_id}{where}: {first.remediation}"


def _row(stage: str, state: tuple[bool, list[Finding]], stale: StaleApproval | None, approved: bool,
         workflow: WorkflowConfig) -> StageRow:
    started, findings = state
    failing = sorted({f.check_id for f in _blocking(findings)}) if started else []
    status = "not started" if not started else "fail" if failing else "stale" if stale else "pass"
    approval = "stale" if stale else "approved" if approved else "none"
    return StageRow(stage=stage, status=status, optional=stage in workflow.optional_stages, failing=failing,
                    approval=approval, changed=stale.changed if stale else [])


def evaluate_transition(root: Path, feature: str, target: str, workflow: WorkflowConfig) -> TransitionResult:
    """Decide whether ``feature`` may enter ``target``: every earlier required stage complete, entry gates clean,
    no earlier approval stale."""
    _check_stage(target, TARGETS)
    feature_dir = resolve_feature(root, feature)
    states = {stage: _stage_state(root, feature_dir, stage, workflow) for stage in STAGES}
    earlier = _earlier(target)
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
    entry = [g for s in STAGES[: len(earlier) + 1] for g in ENTRY_GATES.get(s, ())]
    findings += [f for f in _run(entry, root, feature_dir) if f not in findings]
    stale = stale_approvals(root, feature_dir)
    upstream = [stale[s] for s in earlier if s in stale]
    findings += [_stale_finding(feature_dir, s, target) for s in upstream]
    approved = latest_approvals(root, feature_dir.name)
    gates = {s: _row(s, states[s], stale.get(s), s in approved, workflow).status for s in earlier}
    current = _current_stage({s for s in STAGES if _complete(states[s])}, workflow)
    return TransitionResult(feature=feature_dir.name, target=target, current_stage=current,
                            required=required, findings=findings, passed=not _blocking(findings),
                            next_action=_next_action(target, findings), gates=gates, stale=upstream)


def stage_table(root: Path, feature: str, workflow: WorkflowConfig) -> list[StageRow]:
    """Per stage: pass / fail / stale / not started, the ids of the gates that block it and its approval."""
    feature_dir = resolve_feature(root, feature)
    stale = stale_approvals(root, feature_dir)
    approved = latest_approvals(root, feature_dir.name)
    return [_row(stage, _stage_state(root, feature_dir, stage, workflow), stale.get(stage), stage in approved,
                 workflow) for stage in STAGES]


def feature_status(root: Path, feature: str, workflow: WorkflowConfig) -> FeatureStatus:
    """The table, the current stage and the next action: re-approve the first stale stage, else the next target."""
    feature_dir = resolve_feature(root, feature)
    rows = stage_table(root, feature, workflow)
    current = _current_stage({r.stage for r in rows if r.status in ("pass", "stale")}, workflow)
    stale = next((r for r in rows if r.approval == "stale"), None)
    if stale:
        target = stale.stage
        action = (f"Re-approve '{target}' ({', '.join(stale.changed)} changed since it was approved): "
                  f"stage approve {feature_dir.name} --to {target}")
    else:
        target = TARGETS[TARGETS.index(current) + 1] if current else STAGES[0]
        action = evaluate_transition(root, feature, target, workflow).next_action
    return FeatureStatus(feature=feature_dir.name, current_stage=current, next_target=target, next_action=action,
                         rows=rows, adrs=list_adrs(root))
