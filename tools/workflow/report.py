"""What an analyze report says about CRITICAL findings.

``/sp.analyze`` is read-only: it prints a "Specification Analysis Report" (a findings table with a Severity
column, a Metrics list with "Critical Issues Count") and recommends resolving CRITICAL issues before
``/sp.implement``. Repositories keep it in a PHR's response or in a file such as ``ANALYSIS-REPORT.md``;
some front-matter carries ``issue_counts: {critical: N}``. A struck-through (``~~``) or ✅/FIXED row is settled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tools.workflow.markdown import line_of, plain, tables

_COUNT = re.compile(r"\bcritical(?:[ \t]+(?:issues?|findings?|problems?|severity))?(?:[ \t]+count)?[ \t*_]*"
                    r"(?:[:=]|\|)[ \t*_|]*(\d+|none|no)\b", re.I)
_COUNT_BEFORE = re.compile(r"\b(\d+)[ \t*_]+critical\b", re.I)
_DEFINITION = re.compile(r"violates constitution MUST|constitution conflicts are automatically|missing core spec", re.I)
_YAML_COUNT = re.compile(r"^[ \t]+critical[ \t]*:[ \t]*(\d+)[ \t]*$", re.M)
_SEVERITY_HEADER = re.compile(r"^(severity|priority|level|sev)\b", re.I)
_CRITICAL_CELL = re.compile(r"^\W*critical\W*$", re.I)
_SETTLED = re.compile(r"~~|✅|☑|\b(fixed|resolved|addressed|mitigated|done|closed|accepted risk|won'?t fix)\b", re.I)
_LABEL = re.compile(r"\bCRITICAL\b(?=[ \t]*[:\])|—–-]|\*\*|[ \t]*$)|[\[(]CRITICAL[\])]|\bC\d+\b[^|\n]{0,20}\bCRITICAL\b")
_NEGATED = re.compile(r"\b(no|zero|0|without|none|any|if)\b[^|\n]{0,25}\bcritical\b|"
                      r"\bcritical\W{0,5}(issues?|findings?)?\W{0,5}(none|no|0|zero)\b", re.I)
_CLEAN = re.compile(r"\b(no|zero|0)[ \t]+critical\b|\bcritical[ \t]+(issues|findings)?[^.\n]{0,12}\bnone\b", re.I)
_HEADING_CRITICAL = re.compile(r"^[ \t]{0,3}#{1,6}[^\n]*\bCRITICAL\b[^\n]*$", re.M | re.I)


@dataclass
class Verdict:
    state: Literal["critical", "clean", "unknown"] = "unknown"
    items: list[tuple[int, str]] = field(default_factory=list)
    """``(line, text)`` of each open CRITICAL finding (or of the count that says there are some)."""


def _table_items(text: str) -> tuple[list[tuple[int, str]], bool]:
    """Open CRITICAL rows of findings tables (or ``| CRITICAL | 2 |`` count rows), and whether a findings
    table or a count row was seen at all (evidence that a clean report is clean)."""
    items, seen = [], False
    for table in tables(text):
        col = table.column(_SEVERITY_HEADER)
        seen = seen or col is not None
        for row in table.rows:
            cells = [plain(c) for c in row.cells]
            if len(cells) >= 2 and _CRITICAL_CELL.match(cells[0]) and cells[1].isdigit():
                seen = True
                if int(cells[1]) > 0 and not _SETTLED.search(row.raw):
                    items.append((row.line, f"{cells[1]} CRITICAL finding(s)"))
            elif col is not None and col < len(cells) and _CRITICAL_CELL.match(cells[col]) \
                    and not _SETTLED.search(row.raw):
                items.append((row.line, " | ".join(c for c in cells if c)))
    return items, seen


def _counts(text: str) -> list[tuple[int, int]]:
    """``(line, n)`` of every stated CRITICAL count (``Critical Issues: 0``, ``critical: 2`` in front-matter);
    a count on a line that says the issues were fixed is not an open one."""
    out = [(line_of(text, m.start()), int(m.group(1))) for m in _YAML_COUNT.finditer(text)]
    lines = text.splitlines()
    for m in _COUNT.finditer(text):
        line = line_of(text, m.start())
        value = m.group(1).lower()
        count = int(value) if value.isdigit() else 0
        out.append((line, 0 if _SETTLED.search(lines[line - 1]) else count))
    for m in _COUNT_BEFORE.finditer(text):
        line = line_of(text, m.start())
        out.append((line, 0 if _SETTLED.search(lines[line - 1]) or _DEFINITION.search(lines[line - 1])
                    else int(m.group(1))))
    return out


def _label_items(text: str) -> list[tuple[int, str]]:
    """Lines outside tables labelled CRITICAL (``- **CRITICAL**: …``, ``[CRITICAL]``, ``C1 … CRITICAL``)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("|") or not _LABEL.search(line) or _NEGATED.search(line) or _SETTLED.search(line) \
                or _DEFINITION.search(line):
            continue
        if _COUNT.search(line) or _HEADING_CRITICAL.match(line):
            continue
        out.append((number, plain(line).strip(" -*")))
    return out


def _section_items(text: str) -> tuple[list[tuple[int, str]], bool]:
    """Items under a heading that names CRITICAL (``### 🔴 CRITICAL Issues``), and whether such a section
    says there are none."""
    out, clean = [], False
    lines = text.splitlines()
    for m in _HEADING_CRITICAL.finditer(text):
        if _NEGATED.search(m.group()) or re.search(r"\(0\)|:\s*0\b", m.group()):
            clean = True
            continue
        start = line_of(text, m.start())
        level = len(m.group().lstrip()) - len(m.group().lstrip().lstrip("#"))
        for number in range(start, len(lines)):
            line = lines[number]
            head = re.match(r"^[ \t]{0,3}(#{1,6})[ \t]", line)
            if head and len(head.group(1)) <= level:
                break
            body = plain(line).strip()
            if not body:
                continue
            if _CLEAN.search(line) or re.match(r"^(none|n/a|-)\b", body, re.I):
                clean = clean or not out
                break
            if re.match(r"^([-*+]|\d+[.)])[ \t]", line.strip()) and not _SETTLED.search(line):
                out.append((number + 1, body.lstrip("-*+ ")))
    return out, clean


def critical_findings(text: str) -> Verdict:
    """Whether the report lists open CRITICAL findings; ``unknown`` when it states neither a count nor a
    findings table nor "no critical issues"."""
    rows, table_seen = _table_items(text)
    counts = _counts(text)
    sectioned, section_clean = _section_items(text)
    items = rows + sectioned + _label_items(text)
    positive = [(line, f"{n} CRITICAL finding(s) reported") for line, n in counts if n > 0]
    if items or positive:
        seen: dict[int, str] = {}
        for line, what in items or positive:
            seen.setdefault(line, what)
        return Verdict("critical", sorted(seen.items()))
    if counts or table_seen or section_clean or _CLEAN.search(text):
        return Verdict("clean")
    return Verdict("unknown")
