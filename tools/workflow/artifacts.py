"""Reading what the Spec-Kit commands write into the constitution, the spec and the plan.

Each parser accepts the variants real repositories contain (the github/spec-kit templates, the spec-kit-plus
``sp.*`` commands and what hand edits make of them) and reports positions in the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.workflow.markdown import Heading, blank, headings, line_of, mask, plain, section, tables

# --- constitution --------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\](?![(:\[])")
"""A template token such as ``[PROJECT_NAME]`` or ``[PRINCIPLE_1_NAME]`` (every constitution-template token has
an underscore); a Markdown link or reference (``[API](…)``, ``[ID]:``) is not one."""
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_VERSION_KEY = re.compile(r"(?:^|\|)[ \t>*_#-]*(?:(?:constitution|current|document)[ \t]+)?version\b[ \t*_]*[:：]?[ \t*_]*"
                          r"[:：]?[ \t]*(?P<value>[^|\n]*)", re.I | re.M)
_SEMVER = re.compile(r"^v?(\d+\.\d+\.\d+)\b")
_SHORT_VERSION = re.compile(r"^v?(\d+\.\d+)\b(?!\.\d)")


def placeholders(text: str) -> list[tuple[int, str]]:
    """``(offset, token)`` of every unfilled template token outside comments, code and inline code."""
    masked = _INLINE_CODE.sub(lambda m: blank(m.group()), mask(text))
    return [(m.start(), m.group()) for m in PLACEHOLDER.finditer(masked)]


@dataclass(frozen=True)
class Version:
    value: str | None
    """``1.4.0`` (semantic), ``1.0`` (short) or None (no number on any version line)."""
    semantic: bool
    line: int | None
    """The version line (the first one when none carries a number), None when there is none."""


def constitution_version(text: str) -> Version:
    """The governance version, in any of the forms the real tools and hand edits write::

        **Version**: 1.0.0 | **Ratified**: 2025-06-13 | **Last Amended**: 2025-07-16
        **Constitution Version:** 1.4.0
        Version: 2.1.1 | Ratified: 2025-06-13 | Last Amended: 2025-07-16
        | Version | v1.2.0 |          version: 1.0.0   (front-matter)
    """
    masked = mask(text)
    first = None
    short = None
    for m in _VERSION_KEY.finditer(masked):
        value = plain(m.group("value")).strip(" |*")
        if not value and masked[m.end():m.end() + 1] == "|":  # a table: | Version | 1.0.0 |
            value = plain(masked[m.end() + 1:].split("|", 1)[0].split("\n", 1)[0]).strip()
        line = line_of(masked, m.start("value"))
        if (sem := _SEMVER.match(value)) is not None:
            return Version(sem.group(1), True, line)
        if short is None and (two := _SHORT_VERSION.match(value)) is not None:
            short = Version(two.group(1), False, line)
        first = first or line
    return short or Version(None, False, first)


# --- spec: clarification markers and sessions ----------------------------------------------------

MARKER = re.compile(r"\[NEEDS CLARIFICATION:[^\]\n]*\]?")
_CLARIFICATIONS = re.compile(r"^clarifications?\b", re.I)
_SESSION = re.compile(r"^session\b[ \t:–-]*(?P<date>\d{4}-\d{2}-\d{2})?", re.I)
_QA = re.compile(r"^[ \t]*[-*+][ \t]+\**Q\d*\**[ \t]*[:.)]", re.M)
_BULLET_END = re.compile(r"\n(?=[ \t]*[-*+][ \t]|[ \t]*\n|[ \t]{0,3}#)")
_ANSWER = re.compile(r"(?:→|->|=>|\||\n|[ \t](?=\*\*A))[ \t*]*\**A\d*\**[ \t]*[:.)][ \t]*(?P<answer>[^\n]*)", re.I)
_NO_ANSWER = re.compile(r"^(\W*|tbd|todo|pending|\?+|unknown|\[.*\]|_+)$", re.I)


@dataclass(frozen=True)
class Question:
    start: int
    end: int
    text: str
    answered: bool


@dataclass
class Clarifications:
    section: Heading | None = None
    sessions: list[tuple[int, str | None]] = field(default_factory=list)
    """``(line, date)`` of each ``### Session YYYY-MM-DD``."""
    questions: list[Question] = field(default_factory=list)

    @property
    def unanswered(self) -> list[Question]:
        return [q for q in self.questions if not q.answered]


def clarifications(text: str) -> Clarifications:
    """The ``## Clarifications`` section ``/sp.clarify`` writes: its ``### Session YYYY-MM-DD`` headings and
    ``- Q: … → A: …`` bullets (the answer may follow on the next line)."""
    masked = mask(text)
    found = Clarifications(section=section(masked, _CLARIFICATIONS, (2, 3)))
    if found.section is None:
        return found
    base = found.section.start
    part = masked[base:found.section.end]
    for head in headings(part):
        if (session := _SESSION.match(head.title)) is not None:
            found.sessions.append((found.section.line + head.line - 1, session.group("date")))
    for m in _QA.finditer(part):
        stop = _BULLET_END.search(part, m.end())
        end = stop.start() if stop else len(part)
        bullet = part[m.end():end]
        answer = _ANSWER.search(bullet)
        answered = bool(answer) and not _NO_ANSWER.match(plain(answer.group("answer")).strip())
        found.questions.append(Question(base + m.start(), base + end, plain(bullet).strip(), answered))
    return found


def open_markers(text: str) -> list[tuple[int, str]]:
    """``(offset, marker)`` of every ``[NEEDS CLARIFICATION: …]`` still open: outside comments and code, and
    outside the answered questions of the Clarifications section (a question may quote the marker it settled)."""
    masked = mask(text)
    parts, pos = [], 0
    for q in clarifications(text).questions:
        if q.answered:
            parts += [masked[pos:q.start], blank(masked[q.start:q.end])]
            pos = q.end
    masked = "".join([*parts, masked[pos:]])
    return [(m.start(), m.group()) for m in MARKER.finditer(masked)]


# --- plan: Constitution Check and Complexity Tracking --------------------------------------------

_CHECK_HEADING = re.compile(r"\bconstitution(al)?\b.*\b(check|compliance|gates?|alignment)\b", re.I)
_COMPLEXITY = re.compile(r"\bcomplexity tracking\b", re.I)
_GATES_PLACEHOLDER = "[Gates determined based on constitution file]"
_VIOLATION = re.compile(r"❌|✗|✘|⛔|\b(VIOLAT(ED|ES|ION|IONS)|FAIL(ED|S|ING)?|NON[- ]COMPLIANT|NOT COMPLIANT)\b|"
                        r"(?:^|[|:→]|[-*+][ \t])[ \t*_]*(Violated|Violation|Fail(ed)?|Non-compliant)\b")
"""A gate result reporting a violation: a cross, or the words in capitals (or capitalised as a status)."""
_NO_VIOLATION = re.compile(r"\b(no|zero|0|without|none of the)\b[^|\n]{0,40}\b(violation|fail)|"
                           r"\bviolations?\b[ \t*_]*[:=][ \t*_]*(none|no|0)\b|\bfail(ed|s)?[ \t*_]*[:=][ \t*_]*0\b|"
                           r"\bpass/fail\b|\bif\b[^|\n]{0,30}\b(violat|fail)", re.I)
_RESOLVED = re.compile(r"\b(resolved|fixed|mitigated|remediated|addressed|no longer)\b|~~", re.I)
_TEMPLATE_ROW = re.compile(r"\[e\.g\.,|\[current need\]|\[why ", re.I)
_EMPTY_PROSE = re.compile(r"^(n/?a|none|-+|no (constitution )?violations?( to justify)?\.?|not applicable\.?|"
                          r"no (deviations|complexity)[^.]*\.?)$", re.I)
_GATE_LINE = re.compile(r"^\*?GATE:.*\*?$|^>?[ \t]*\**Fill ONLY if", re.I)


@dataclass
class ConstitutionCheck:
    section: Heading | None = None
    placeholder: int | None = None
    """Offset of the template's ``[Gates determined based on constitution file]``."""
    filled: bool = False
    violations: list[tuple[int, str]] = field(default_factory=list)
    """``(offset, line)`` of gate results that report a violation, not settled on the same line."""
    justified: bool = False
    """Complexity Tracking justifies at least one violation (a real table row or real prose)."""


def _justification(masked: str) -> bool:
    head = section(masked, _COMPLEXITY)
    if head is None:
        return False
    part = masked[head.start:head.end].split("\n", 1)[1] if "\n" in masked[head.start:head.end] else ""
    for table in tables(part):
        if any(not _TEMPLATE_ROW.search(row.raw) and any(plain(c) for c in row.cells) for row in table.rows):
            return True
    prose = [plain(line) for line in part.splitlines()
             if line.strip() and "|" not in line and not _GATE_LINE.match(plain(line).strip())]
    return any(p and not _EMPTY_PROSE.match(p.strip()) and not p.startswith("#") for p in prose)


_QUESTION_COLUMN = re.compile(r"violat|deviation|risk|exception", re.I)


def _table_cells(part: str) -> dict[int, str]:
    """Line -> the text of a table line that can report a result: header and separator lines report nothing,
    and a column that asks "Violation?" is left out (its ❌ means "none")."""
    out: dict[int, str] = {}
    for table in tables(part):
        out[table.line] = out[table.line + 1] = ""
        skip = {i for i, h in enumerate(table.header) if _QUESTION_COLUMN.search(plain(h))}
        for row in table.rows:
            out[row.line] = " | ".join(c for i, c in enumerate(row.cells) if i not in skip)
    return out


def constitution_check(text: str) -> ConstitutionCheck:
    """The plan's Constitution Check: whether it is there and filled, the violations it reports, and whether
    Complexity Tracking justifies them (``plan-template.md``: "If violations exist: Document in Complexity
    Tracking; If no justification possible: ERROR")."""
    masked = mask(text)
    found = ConstitutionCheck(section=section(masked, _CHECK_HEADING))
    if found.section is None:
        return found
    part = masked[found.section.start:found.section.end]
    if (at := part.find(_GATES_PLACEHOLDER)) >= 0:
        found.placeholder = found.section.start + at
    lines = part.splitlines(keepends=True)
    judged = _table_cells(part)
    offset = found.section.start + len(lines[0])
    for number, line in enumerate(lines[1:], 2):
        stripped = plain(line).strip()
        if stripped and not _GATE_LINE.match(stripped) and _GATES_PLACEHOLDER not in line:
            found.filled = True
        text = judged.get(number, line)
        if _VIOLATION.search(text) and not _NO_VIOLATION.search(text) and not _RESOLVED.search(text):
            found.violations.append((offset, stripped))
        offset += len(line)
    found.justified = _justification(masked)
    return found
