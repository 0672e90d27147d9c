"""Reading ``tasks.md`` as the real tools write it: checkbox task lines, task tables with a status column,
and the checkboxes that are not tasks at all.

``/sp.tasks`` writes ``- [ ] T001 [P] [US1] Description with file path`` and ``/sp.implement`` ticks it
``[X]``; some repositories keep a table (``| T001 | … | ✅ Done |``) instead. A checkbox without a task id
under "Success Metrics", "Acceptance", "Checklist" … is not a task; one under a task phase is counted as a
task only when the file has no task ids at all, and is otherwise reported as unclear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tools.workflow.markdown import Heading, checkboxes, heading_at, headings, mask, plain, tables

Status = Literal["done", "open", "closed", "unknown"]
"""``closed``: cancelled, skipped or not applicable (decided, not outstanding)."""

CANONICAL = re.compile(r"^- \[( |x|X)\] T\d{3}( \[P\])?( \[US\d+\])? .+")
"""The line format ``/sp.tasks`` requires (its "Checklist Format (REQUIRED)")."""
_ID = r"(?:T-?\d+[a-z]?(?:\.\d+)*|TASK-\d+)"
_LEADING_ID = re.compile(rf"^(?:\[(?:P|US\d+|Story[^\]]*|[A-Z]{{1,4}})\][ \t]*)*\[?(?P<id>{_ID})\b\]?", re.I)
_ID_CELL = re.compile(rf"^\[?(?P<id>{_ID})\]?$", re.I)
_NUMBER_CELL = re.compile(r"^\d+(?:\.\d+)*$")
_STATUS_HEADER = re.compile(r"^(status|state|done|complete[d]?|progress|✓|✅)\b", re.I)
_ID_HEADER = re.compile(r"^(id|#|task\s*id|task\s*#|no\.?|ref)$", re.I)
_TASK_HEADER = re.compile(r"\b(task|description|item|work)\b", re.I)
_TASK_HEADING = re.compile(r"\b(phase|user stor(y|ies)|setup|foundation(al)?|polish|tasks?|stor(y|ies)|milestone|"
                           r"sprint|backlog|step|mvp|implementation tasks)\b", re.I)
_NON_TASK_HEADING = re.compile(r"\b(success|metrics?|acceptance|criteria|checklists?|definition of done|done when|"
                               r"validation|verification|review|notes?|exit|quality|gates?|risks?|summary|format|"
                               r"overview|prerequisites|dependenc(y|ies)|parallel|strategy|legend|references?|"
                               r"assumptions|out of scope|open questions)\b", re.I)
_OPEN_WORDS = re.compile(r"\b(not[ -]started|not[ -]done|in[ -]progress|to[ -]?do|pending|open|wip|ongoing|blocked|"
                         r"planned|incomplete|partial(ly)?|deferred|waiting|in review|failed|failing)\b|^no$|"
                         r"[⬜☐⏳🔄🚧❌✗✘]|\[ \]", re.I)
_CLOSED_WORDS = re.compile(r"\b(cancell?ed|skipped|n/?a|not applicable|won'?t( do| fix)?|wontfix|dropped|obsolete|"
                           r"removed|superseded|descoped)\b", re.I)
_DONE_WORDS = re.compile(r"\b(done|completed?|finished|implemented|merged|resolved|passed|pass|closed|delivered|"
                         r"shipped|verified)\b|^yes$|[✅✔✓☑]|\[[xX]\]", re.I)


def classify(cell: str) -> Status:
    """The status a table cell states: its first status word or sign wins (``✅ Done, no blockers`` is done,
    ``Incomplete`` is open), ``unknown`` when it has none."""
    text = plain(cell)
    found = [(m.start(), rank, status) for rank, (status, pattern) in
             enumerate((("open", _OPEN_WORDS), ("closed", _CLOSED_WORDS), ("done", _DONE_WORDS)))
             if (m := pattern.search(text))]
    return min(found)[2] if found else "unknown"


@dataclass(frozen=True)
class Task:
    id: str | None
    status: Status
    line: int
    text: str
    kind: Literal["checkbox", "table"]
    canonical: bool = True


@dataclass
class TaskList:
    tasks: list[Task] = field(default_factory=list)
    """Every task: checkbox lines and table rows with an id (or, in a file without ids, loose ones)."""
    loose: list[Task] = field(default_factory=list)
    """Checkboxes without a task id under a task heading of a file that has ids: unclear, never counted."""
    duplicates: list[tuple[str, list[int]]] = field(default_factory=list)

    @property
    def has_ids(self) -> bool:
        return any(t.id for t in self.tasks)

    def with_status(self, *statuses: Status) -> list[Task]:
        return [t for t in self.tasks if t.status in statuses]


def _task_section(heads: list[Heading], starts: list[int], offset: int) -> bool:
    """Whether a checkbox at ``offset`` sits under a heading that holds tasks (task words win over others)."""
    head = heading_at(heads, offset, starts)
    if head is None:
        return True
    return bool(_TASK_HEADING.search(head.title)) or not _NON_TASK_HEADING.search(head.title)


def _checkbox_tasks(text: str, heads: list[Heading]) -> tuple[list[Task], list[Task]]:
    with_id, without_id = [], []
    starts = [h.start for h in heads]
    for box in checkboxes(text):
        status: Status = "done" if box.checked else "open"
        lead = _LEADING_ID.match(plain(box.text))
        if lead:
            with_id.append(Task(lead.group("id").upper(), status, box.line, box.text, "checkbox",
                                bool(CANONICAL.match(box.raw)) and box.indent == 0))
        elif box.indent == 0 and _task_section(heads, starts, box.offset):
            without_id.append(Task(None, status, box.line, box.text, "checkbox", False))
    return with_id, without_id


def _table_tasks(text: str, checkbox_ids: bool) -> tuple[list[Task], list[Task]]:
    """Rows with a task id (or, kept apart, a task/description cell) of tables with a status column; in a file
    without checkbox tasks, id rows of tables without one too (their status is unknown)."""
    with_id, without_id = [], []
    for table in tables(text):
        status_col = table.column(_STATUS_HEADER)
        if status_col is None and checkbox_ids:
            continue  # a dependency or mapping table next to the checkbox list
        status_col = -1 if status_col is None else status_col
        id_col = table.column(_ID_HEADER)
        task_col = table.column(_TASK_HEADER)
        for row in table.rows:
            cells = [plain(c) for c in row.cells]
            ident = next((m.group("id").upper() for c in cells[:3] if (m := _ID_CELL.match(c))), None)
            if ident is None and id_col is not None and id_col < len(cells) and _NUMBER_CELL.match(cells[id_col]):
                ident = cells[id_col]
            status = classify(row.cells[status_col]) if 0 <= status_col < len(row.cells) else "unknown"
            described = " | ".join(c for c in cells if c)
            if ident:
                with_id.append(Task(ident, status, row.line, described, "table"))
            elif status_col >= 0 and task_col is not None:
                without_id.append(Task(None, status, row.line, described, "table"))
    return with_id, without_id


def parse_tasks(text: str) -> TaskList:
    """The tasks of ``tasks.md`` (HTML comments and fenced examples ignored)."""
    masked = mask(text)
    heads = headings(masked)
    boxes, loose_boxes = _checkbox_tasks(masked, heads)
    rows, loose_rows = _table_tasks(masked, bool(boxes))
    found = TaskList(tasks=boxes + rows)
    if found.has_ids:
        found.loose = loose_boxes
    else:
        found.tasks += loose_boxes + loose_rows
    lines: dict[tuple[str, str], list[int]] = {}
    for task in found.tasks:
        if task.id:
            lines.setdefault((task.kind, task.id), []).append(task.line)
    found.duplicates = [(ident, at) for (_kind, ident), at in lines.items() if len(at) > 1]
    found.tasks.sort(key=lambda t: t.line)
    return found


def open_tasks(found: TaskList) -> list[Task]:
    """Tasks still to do. A task listed twice (a checkbox and a table row) is open if either says so."""
    return found.with_status("open")
