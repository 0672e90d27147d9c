"""Reading Spec-Kit Markdown: confined, bounded reads and the few structures the gates look at.

Every helper keeps line numbers: masking replaces text with spaces, never removes a newline, so a finding
can always name the line of the original file. Nothing here raises on odd input except :class:`Unreadable`.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core import confine

MAX_BYTES = 5 * 1024 * 1024
"""Artifacts larger than this are reported as unreadable rather than scanned."""

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}).*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)", re.S | re.M)
_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$", re.M)
_CHECKBOX = re.compile(r"^([ \t]*)[-*+][ \t]+\[([ xX~/>!-])\][ \t]*(.*)$", re.M)
"""A task-list item; ``[-]``, ``[~]``, ``[/]``, ``[>]``, ``[!]`` (in progress, blocked) are not ticked."""
_TABLE_SEPARATOR = re.compile(r"^\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_FRONT_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*)$")
MARKUP = re.compile(r"[*_`~]+")


class Unreadable(Exception):
    """An artifact that exists but cannot be read as UTF-8 text inside the workspace."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def read(root: Path, path: Path) -> str | None:
    """Text of ``path``; None when it does not exist; :class:`Unreadable` when it escapes ``root`` through a
    symlink, is not a regular file, is too large or is not UTF-8."""
    if not path.exists() and not path.is_symlink():
        return None
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise Unreadable(path, "it resolves outside the workspace")
    try:
        return confine.read_regular(real, MAX_BYTES, what=str(path)).decode("utf-8")
    except confine.NotRegularFile:
        raise Unreadable(path, "not a regular file") from None
    except confine.TooLarge:
        raise Unreadable(path, f"larger than {MAX_BYTES // (1024 * 1024)} MiB") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else exc.strerror or type(exc).__name__
        raise Unreadable(path, reason) from None


@lru_cache(maxsize=32)
def _newlines(text: str) -> tuple[int, ...]:
    return tuple(m.start() for m in re.finditer("\n", text))


def line_of(text: str, offset: int) -> int:
    """1-based line of ``offset`` (a bisection: many findings in one large file stay linear)."""
    return bisect_left(_newlines(text), offset) + 1


def blank(text: str) -> str:
    """``text`` with everything but newlines replaced by spaces: hidden from a scan, line numbers kept."""
    return re.sub(r"[^\n]", " ", text)


def mask(text: str, *, comments: bool = True, code: bool = True) -> str:
    """``text`` with HTML comments and fenced code blocks blanked (template notes and examples are not content)."""
    if code:
        text = _FENCE.sub(lambda m: blank(m.group()), text)
    if comments:
        text = _HTML_COMMENT.sub(lambda m: blank(m.group()), text)
    return text


def plain(cell: str) -> str:
    """A Markdown fragment without emphasis, code or strike-through markers, whitespace collapsed."""
    return " ".join(MARKUP.sub("", cell).split())


def front_matter(text: str) -> dict[str, str]:
    """Top-level ``key: value`` pairs of a leading YAML front-matter block (values unquoted), else {}."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}
    out: dict[str, str] = {}
    for line in match.group(1).splitlines():
        pair = _FRONT_KEY.match(line)
        if pair:
            out.setdefault(pair.group(1).lower(), pair.group(2).strip().strip("'\"").strip())
    return out


def body_offset(text: str) -> int:
    """Where the text after the front-matter block starts (0 without one)."""
    match = _FRONT_MATTER.match(text)
    return match.end() if match else 0


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    line: int
    start: int
    """Offset of the heading line."""
    end: int
    """Offset where its section ends: the next heading of the same or a higher level, or the end of the text."""


def headings(text: str) -> list[Heading]:
    """Every ATX heading of ``text`` (mask code first: a ``#`` comment in a fence is not a heading)."""
    found = [(len(m.group(1)), plain(m.group(2)), m.start()) for m in _HEADING.finditer(text)]
    ends = [len(text)] * len(found)
    open_: list[int] = []  # indexes of headings whose section is still open, levels increasing
    for i, (level, _title, start) in enumerate(found):
        while open_ and found[open_[-1]][0] >= level:
            ends[open_.pop()] = start
        open_.append(i)
    return [Heading(level, title, line_of(text, start), start, ends[i]) for i, (level, title, start) in enumerate(found)]


def section(text: str, pattern: re.Pattern[str], levels: tuple[int, ...] = (2, 3)) -> Heading | None:
    """The first heading of one of ``levels`` whose title matches ``pattern``."""
    return next((h for h in headings(text) if h.level in levels and pattern.search(h.title)), None)


def heading_at(heads: list[Heading], offset: int, starts: list[int] | None = None) -> Heading | None:
    """The nearest heading before ``offset`` (``heads`` in document order; pass their ``starts`` when asking
    many times)."""
    i = bisect_right(starts if starts is not None else [h.start for h in heads], offset)
    return heads[i - 1] if i else None


@dataclass(frozen=True)
class Checkbox:
    line: int
    offset: int
    indent: int
    checked: bool
    text: str
    raw: str


def checkboxes(text: str) -> list[Checkbox]:
    """Every GitHub task-list item ``- [ ]`` / ``- [x]`` (also ``*``, ``+``, indented)."""
    return [Checkbox(line_of(text, m.start()), m.start(), len(m.group(1).expandtabs(4)), m.group(2) in "xX",
                     m.group(3).strip(), m.group().strip()) for m in _CHECKBOX.finditer(text)]


@dataclass(frozen=True)
class Row:
    line: int
    cells: tuple[str, ...]
    raw: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    line: int
    offset: int

    def column(self, pattern: re.Pattern[str]) -> int | None:
        """Index of the first header cell matching ``pattern``."""
        return next((i for i, h in enumerate(self.header) if pattern.search(plain(h))), None)


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return tuple(c.strip() for c in re.split(r"(?<!\\)\|", inner))


def tables(text: str) -> list[Table]:
    """Every pipe table: a header line, a ``|---|`` separator, then the rows up to the first non-table line."""
    lines = text.split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    out, i = [], 0
    while i < len(lines) - 1:
        if "|" in lines[i] and _TABLE_SEPARATOR.match(lines[i + 1].strip()) and "|" in lines[i + 1]:
            header, start, rows, j = _cells(lines[i]), i, [], i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.append(Row(j + 1, _cells(lines[j]), lines[j]))
                j += 1
            out.append(Table(header, tuple(rows), start + 1, offsets[start]))
            i = j
        else:
            i += 1
    return out
