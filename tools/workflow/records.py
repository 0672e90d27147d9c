"""Records the workflow leaves besides the feature's artifacts: prompt history records (PHRs), analyze
reports and architecture decision records (ADRs).

A PHR is recognised by its front-matter (``stage:``, ``command:``, ``feature:``) or, without one, by its file
name ``<ID>-<slug>.<stage>.prompt.md``. It lives in ``history/prompts/<constitution|feature>/`` (newer
Spec-Kit Plus), ``docs/prompts/`` (older), ``specs/<feature>/prompts/`` or ``.history/prompts/<feature>/``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from tools.workflow.markdown import Unreadable, body_offset, front_matter, headings, line_of, read

PHR_ROOTS = (Path("history/prompts"), Path(".history/prompts"))
LEGACY_PHR_ROOT = Path("docs/prompts")
ADR_DIRS = (Path("history/adr"), Path("docs/adr"))
"""Where ADRs live: the newer Spec-Kit Plus layout, then the older one."""
_STAGE_SUFFIX = re.compile(r"\.([a-z][a-z-]*)\.prompt\.md$", re.I)
_COMMAND = re.compile(r"(?:^|/|\b)(?:sp|speckit)[.-]([a-z][a-z-]*)", re.I)
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_DATE_LINE = re.compile(r"^\**(?:date|created|generated)\**[ \t]*:?\**[ \t]*:?[ \t]*(\d{4}-\d{2}-\d{2})", re.I | re.M)
_ADR_STATUS = re.compile(r"^[ \t]*[-*]?[ \t]*\*{0,2}Status:?\*{0,2}:?[ \t]*\**[ \t]*([A-Za-z]+)", re.M)
_REPORT_NAME = re.compile(r"^(?:spec(?:ification)?[-_]|cross[-_]artifact[-_]|consistency[-_])?(?:analysis|analyze)"
                          r"(?:[-_](?:report|results?))?\.md$", re.I)
_REPORT_TEXT = re.compile(r"\b(?:sp|speckit)\.analyze\b|analysis report|cross[- ]artifact|consistency analysis", re.I)
_RESPONSE = re.compile(r"^(response|outcome|result|summary|analysis|report|findings|evaluation)\b", re.I)
_PROMPT = re.compile(r"^(prompt|user input|prompt text|input)\b", re.I)


def safe_text(root: Path, path: Path) -> str:
    """Text of ``path``, or "" when it is missing or unreadable (the gates report unreadable artifacts)."""
    try:
        return read(root, path) or ""
    except Unreadable:
        return ""


def _md_files(folder: Path) -> list[Path]:
    if not folder.is_dir() or folder.is_symlink():
        return []
    return sorted(Path(d) / f for d, _dirs, files in os.walk(folder) for f in files if f.endswith(".md"))


@dataclass(frozen=True)
class PromptRecord:
    path: Path
    stage: str
    """The ``stage:`` front-matter value (or the file-name stage), lower-case."""
    command: str
    """The Spec-Kit command it records (``analyze`` for ``/sp.analyze``), or ""."""
    feature: str
    """The ``feature:`` value, else the folder under ``history/prompts/``."""
    folder: str
    date: str
    ident: int | None
    text: str

    def response(self) -> tuple[int, str, str]:
        """``(first line, text, extra)``: the part a command's answer is in, from the first Response/Outcome/…
        heading (the prompt, often a pasted command file, is left out), and the front-matter ``outcome`` and
        ``evaluation`` values."""
        meta = front_matter(self.text)
        offset = body_offset(self.text)
        heads = headings(self.text[offset:])
        start = next((h.start for h in heads if _RESPONSE.match(h.title)), None)
        if start is None:
            prompt = next((h for h in heads if _PROMPT.match(h.title)), None)
            start = prompt.end if prompt else 0
        extra = "\n".join(meta[k] for k in ("outcome", "evaluation") if meta.get(k))
        return line_of(self.text, offset + start), self.text[offset + start:], extra


def _record(root: Path, path: Path, folder: str) -> PromptRecord | None:
    text = safe_text(root, path)
    meta = front_matter(text)
    named = _STAGE_SUFFIX.search(path.name)
    stage = (meta.get("stage") or (named.group(1) if named else "")).lower()
    if not stage and not meta.get("command"):
        return None
    command = _COMMAND.search(meta.get("command", ""))
    date = _DATE.search(meta.get("date", "") or meta.get("date_iso", "") or meta.get("created", ""))
    ident = re.search(r"\d+", meta.get("id", "")) or re.match(r"\d+", path.name)
    return PromptRecord(path=path, stage=stage, command=command.group(1).lower() if command else "",
                        feature=meta.get("feature", "").strip() or folder, folder=folder,
                        date=date.group(1) if date else "", ident=int(ident.group()) if ident else None, text=text)


def prompt_records(root: Path, feature_dir: Path | None = None) -> list[PromptRecord]:
    """Every PHR of the workspace (and those under ``feature_dir/prompts/``)."""
    out = []
    for base in PHR_ROOTS:
        for path in _md_files(root / base):
            rel = path.relative_to(root / base).parts
            out += [r for r in [_record(root, path, rel[0] if len(rel) > 1 else "")] if r]
    out += [r for p in _md_files(root / LEGACY_PHR_ROOT) if (r := _record(root, p, ""))]
    if feature_dir is not None:
        out += [r for p in _md_files(feature_dir / "prompts") if (r := _record(root, p, feature_dir.name))]
    return out


def names_of(feature_dir: Path) -> set[str]:
    """How a record may name the feature: ``001-todo-k8s``, ``todo-k8s`` or ``001``."""
    name = feature_dir.name
    parts = re.match(r"^(\d{8}-\d{4,6}|\d+)-(.+)$", name)
    return {name, parts.group(2), parts.group(1)} if parts else {name}


def for_feature(record: PromptRecord, feature_dir: Path) -> bool:
    """Whether ``record`` belongs to the feature (by its folder or its ``feature:``); a flat ``docs/prompts/``
    record without ``feature:`` belongs to every feature, as in the older layout."""
    names = names_of(feature_dir)
    return record.folder in names or record.feature in names or (not record.folder and not record.feature)


def record_stages(record: PromptRecord, aliases: dict[str, str]) -> set[str]:
    """The workflow stages a record documents: its command's stage when it names one, else its ``stage:``."""
    if record.command and record.command in aliases:
        return {aliases[record.command]}
    return {aliases[record.stage]} if record.stage in aliases else set()


# --- analyze reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    path: Path
    text: str
    """The part that holds the analysis (a PHR's response, a report file's whole text)."""
    date: str
    ident: int | None
    kind: str
    """``file`` (a report kept in the feature directory) or ``phr``."""
    first_line: int = 1
    """The line of the file where ``text`` starts."""
    body_lines: int | None = None
    """How many lines of ``text`` come from the file body (the rest is front-matter text); None: all."""

    def file_line(self, line: int) -> int | None:
        """The file line of ``text``'s ``line`` (None for text taken from the front-matter)."""
        return self.first_line + line - 1 if self.body_lines is None or line <= self.body_lines else None

    def sort_key(self) -> tuple:
        return (self.date, self.kind == "file", self.ident or 0, self.path.as_posix())


def report_files(feature_dir: Path) -> list[Path]:
    """Analyze reports kept in the feature directory: ``analysis.md``, ``ANALYSIS-REPORT.md``,
    ``analyze-report.md`` and similar (a ``risk-analysis.md`` is research, not a report)."""
    if not feature_dir.is_dir():
        return []
    return sorted(p for p in feature_dir.iterdir() if p.is_file() and _REPORT_NAME.search(p.name))


def _is_report(text: str) -> bool:
    return bool(_REPORT_TEXT.search(text))


def analysis_reports(root: Path, feature_dir: Path, records: list[PromptRecord]) -> list[Report]:
    """Every analyze report of the feature, oldest first: report files, then PHRs of ``/sp.analyze`` (or with
    stage ``analyze``/``analysis``)."""
    out = []
    for path in report_files(feature_dir):
        text = safe_text(root, path)
        if not _is_report(text):
            continue
        meta = front_matter(text)
        date = _DATE.search(meta.get("date", "")) or _DATE_LINE.search(text)
        out.append(Report(path, text, date.group(1) if date else "", None, "file"))
    for record in records:
        if (record.command == "analyze" or record.stage in ("analyze", "analysis")) and for_feature(record, feature_dir):
            first, body, extra = record.response()
            out.append(Report(record.path, body + "\n" + extra, record.date, record.ident, "phr", first,
                              body.count("\n") + 1))
    return sorted(out, key=Report.sort_key)


# --- architecture decision records --------------------------------------------------------------


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
        text = safe_text(root, path)
        number = re.match(r"\d+", path.name)
        title = re.search(r"^#[ \t]+(.+)$", text, re.M)
        status = _ADR_STATUS.search(text)
        adrs.append(Adr(path=path.relative_to(root).as_posix(), number=int(number.group()) if number else None,
                        title=title.group(1).strip() if title else path.stem,
                        status=status.group(1).capitalize() if status else None))
    return adrs


def adr_reference(adr: Adr) -> re.Pattern[str]:
    """How a plan refers to ``adr``: by file name, or as ``ADR-0001`` / ``ADR 1`` when it is numbered."""
    names = [re.escape(Path(adr.path).name)]
    if adr.number is not None:
        names.append(rf"\bADR[- ]0*{adr.number}\b")
    return re.compile("|".join(names))
