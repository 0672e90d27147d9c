"""The gate machinery: a :class:`Gate` scans one feature (through a caching :class:`Context`) and turns what it
sees into workflow findings.

A gate either rejects (severity ``high``: the real command stops with an error) or asks (severity ``medium``
with a ``question``: the real command stops and asks the user, so the decision is REQUIRES CLARIFICATION).
Low-severity gates only warn. An unreadable artifact is a ``WF-FILE-UNREADABLE`` finding, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from core.models import Category, Finding, Severity
from tools.workflow.markdown import Unreadable, read
from tools.workflow.records import PromptRecord, prompt_records
from tools.workflow.tasks import TaskList, parse_tasks

CONSTITUTION_PATH = Path(".specify/memory/constitution.md")


class Hit(NamedTuple):
    """One raw observation of a gate: where and what; the gate adds id, severity and remediation."""

    path: Path
    line: int | None
    message: str


@dataclass
class Context:
    """One feature being judged: its root and directory, with each artifact read (and parsed) once."""

    root: Path
    feature_dir: Path
    _texts: dict[Path, str | None | Unreadable] = field(default_factory=dict)
    _tasks: TaskList | None = None
    _records: list[PromptRecord] | None = None

    @property
    def constitution(self) -> Path:
        return self.root / CONSTITUTION_PATH

    def path(self, name: str) -> Path:
        return self.feature_dir / name

    def read(self, path: Path) -> str | None:
        """The text of ``path`` (None when missing); raises :class:`Unreadable` every time it is asked for."""
        if path not in self._texts:
            try:
                self._texts[path] = read(self.root, path)
            except Unreadable as exc:
                self._texts[path] = exc
        value = self._texts[path]
        if isinstance(value, Unreadable):
            raise value
        return value

    def safe(self, path: Path) -> str:
        try:
            return self.read(path) or ""
        except Unreadable:
            return ""

    def rel(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def tasks(self) -> TaskList | None:
        """The parsed ``tasks.md`` (None when it does not exist)."""
        if self._tasks is None:
            text = self.read(self.path("tasks.md"))
            if text is None:
                return None
            self._tasks = parse_tasks(text)
        return self._tasks

    def records(self) -> list[PromptRecord]:
        if self._records is None:
            self._records = prompt_records(self.root, self.feature_dir)
        return self._records

    def checklists(self) -> list[Path]:
        folder = self.feature_dir / "checklists"
        return sorted(folder.glob("*.md")) if folder.is_dir() else []


Scan = Callable[[Context], Iterable[Hit]]


@dataclass(frozen=True)
class Gate:
    """A named check (id ``WF-…``): ``scan`` yields hits that :meth:`run` turns into findings."""

    check_id: str
    remediation: str
    scan: Scan
    severity: Severity = Severity.high
    question: str | None = None
    """When set, the gate asks instead of rejecting (its findings carry the question, severity medium)."""

    def run(self, ctx: Context) -> list[Finding]:
        """Findings of this gate for the feature; an unreadable artifact is itself a finding."""
        try:
            hits = list(self.scan(ctx))
        except Unreadable as exc:
            return [finding("WF-FILE-UNREADABLE", Severity.high, ctx, Hit(exc.path, None, f"cannot read file "
                                                                              f"({exc.reason})"),
                            "Save the file as readable UTF-8 text inside the repository.")]
        return [finding(self.check_id, self.severity, ctx, hit, self.remediation, self.question) for hit in hits]


def finding(check_id: str, severity: Severity, ctx: Context, hit: Hit, remediation: str,
            question: str | None = None) -> Finding:
    return Finding(check_id=check_id, severity=severity, category=Category.workflow, message=hit.message,
                   file=ctx.rel(hit.path), line=hit.line, remediation=remediation, question=question)


def asking(check_id: str, remediation: str, scan: Scan, question: str) -> Gate:
    """A gate that stops and asks, as the real command does."""
    return Gate(check_id, remediation, scan, Severity.medium, question)


def exists_gate(check_id: str, locate: Callable[[Context], Path], remediation: str) -> Gate:
    def scan(ctx: Context) -> list[Hit]:
        path = locate(ctx)
        return [] if path.exists() else [Hit(path, None, f"{ctx.rel(path)} does not exist")]

    return Gate(check_id, remediation, scan)


def run_gates(gates: Iterable[Gate], ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for gate in gates:
        findings += [f for f in gate.run(ctx) if f not in findings]
    return findings
