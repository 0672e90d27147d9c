"""The interactive chat session (``infra-orchestrator chat``): one conversation = one checkpointer thread.

Each line is read by :mod:`infra_orchestrator.chat_grammar` and turned into a request run on the thread
(:mod:`graph.runner`). A REQUIRES CLARIFICATION pauses the run; the session asks the question and resumes
the same run with the answer, so a killed session picks up where it stopped (``chat --thread ID``).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.config import LoadedConfig
from core.errors import OrchestratorError
from core.models import ChangeRequest, Decision, Finding, StageRequest
from core.render import finding_line
from graph.runner import Turn, continue_turn, pending_turn, resume_turn, start_turn, thread_history
from graph.state import GraphContext
from infra_orchestrator.chat_grammar import HELP, SLASH_COMMANDS, STAGE_WORDS, Intent, parse

HISTORY_FILE = ".infra-orchestrator/chat_history"
PROMPT = "infra> "
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}

Progress = Callable[[str], object]
"""A context-manager factory ``progress(label)`` yielding a step callback (or None)."""


def new_thread_id() -> str:
    """A short random thread id."""
    return uuid.uuid4().hex[:8]


def feature_names(root: Path) -> list[str]:
    """The ``specs/NNN-name`` directory names of the workspace (the ones ``stage`` accepts)."""
    from tools.workflow import features

    return [p.name for p in features(root)]


def top_dirs(root: Path) -> list[str]:
    """The workspace's visible top-level directories (words a review request may name)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def completion_words(root: Path) -> list[str]:
    """What the prompt completes: slash commands, feature names and stage names."""
    return [*SLASH_COMMANDS, *feature_names(root), *dict.fromkeys(STAGE_WORDS.values())]


def request_for(intent: Intent, root: Path, text: str) -> ChangeRequest | StageRequest:
    """The graph request of a ``review`` or ``stage`` intent; plain words become the request's intent."""
    said = "" if text.startswith("/") else text
    if intent.action == "stage":
        return StageRequest(workspace=str(root), feature=intent.feature, target=intent.target, intent=said)
    return ChangeRequest(workspace=str(root), base=intent.base, paths=intent.paths, intent=said)


def live_findings(d: Decision) -> list[Finding]:
    """The findings the table numbers (``/explain 3`` refers to the third)."""
    return [f for f in d.findings if not f.suppressed]


def findings_table(d: Decision) -> Table:
    """The decision's findings, one :func:`~core.render.finding_line` each, numbered for ``/explain`` and
    coloured by severity."""
    table = Table(title="Findings", title_justify="left", show_header=False, box=None)
    table.add_column("#", justify="right")
    table.add_column("Finding", overflow="fold")
    for n, f in enumerate(live_findings(d), 1):
        table.add_row(str(n), Text(finding_line(f), style=SEVERITY_STYLE[f.severity.value]))
    return table


def explain(d: Decision | None, subject: str) -> list[Finding]:
    """The findings of ``d`` that ``subject`` names: a finding number, a check id, or words of a path/message."""
    if d is None:
        return []
    findings = live_findings(d)
    if subject.isdigit():
        n = int(subject)
        return [findings[n - 1]] if 0 < n <= len(findings) else []
    words = subject.lower().split()
    by_id = [f for f in findings if f.check_id.lower() == subject.lower()]
    return by_id or [f for f in findings
                     if words and all(w in f"{f.location()} {f.resource.label()} {f.message}".lower() for w in words)]


@dataclass
class ChatSession:
    """One conversation: reads lines, runs requests on ``thread_id``, answers questions, prints decisions."""

    root: Path
    loaded: LoadedConfig
    graph: object
    thread_id: str
    ctx: GraphContext
    ask: Callable[[str], str]
    """Reads one line after showing a prompt; raises EOFError at end of input."""
    console: Console = field(default_factory=lambda: Console(highlight=False))
    progress: Progress | None = None
    last: Decision | None = None

    def run(self) -> int:
        """Resume what the thread was doing, then read lines until /quit or end of input."""
        self.console.print(f"infra-orchestrator chat — thread {self.thread_id} (/help for commands)", markup=False)
        turn = pending_turn(self.graph, self.thread_id)
        if turn.incomplete:
            self.console.print("The last run of this thread was interrupted; finishing it.")
            turn = self._with_progress("Resuming", lambda: continue_turn(self.graph, self.thread_id, self.ctx))
        if not self._show(turn):
            return 0
        while True:
            try:
                line = self.ask(PROMPT)
            except EOFError:
                return 0
            except KeyboardInterrupt:
                continue
            try:
                if not self.handle(line):
                    return 0
            except OrchestratorError as exc:
                self.console.print(f"[red]error:[/] {exc}", markup=True)

    def handle(self, line: str) -> bool:
        """Act on one line; False when the session should end (``/quit`` or input ended mid-question)."""
        intent = parse(line, feature_names(self.root), top_dirs(self.root))
        if intent.action == "quit":
            self.console.print(f"bye — resume with: infra-orchestrator chat --thread {self.thread_id}")
            return False
        if intent.action in ("review", "stage"):
            if intent.note:
                self.console.print(f"[dim]({intent.note})[/]")
            return self._run(intent, line.strip())
        handlers = {"status": self._status, "explain": self._explain, "history": self._history,
                    "help": lambda _i: self.console.print(HELP, markup=False)}
        if intent.action in handlers:
            handlers[intent.action](intent)
        else:
            self.console.print(f"Sorry — {intent.note}.", markup=False)
            self.console.print("Type /help for what I understand.")
        return True

    def _run(self, intent: Intent, text: str) -> bool:
        req = request_for(intent, self.root, text)
        label = "Reviewing change" if intent.action == "review" else f"Checking {intent.feature} → {intent.target}"
        turn = self._with_progress(label, lambda: start_turn(self.graph, self.thread_id, req, ctx=self.ctx,
                                                             request_text=text))
        return self._show(turn)

    def _with_progress(self, label: str, work: Callable[[], Turn]) -> Turn:
        if self.progress is None:
            return work()
        with self.progress(label) as step:
            self.ctx.progress = step
            try:
                return work()
            finally:
                self.ctx.progress = None

    def _show(self, turn: Turn) -> bool:
        """Print a decision, or ask the open question and resume with the answer (repeatedly)."""
        while turn.question:
            try:
                answer = self.ask(f"{turn.question} ").strip() or "n"
            except EOFError:
                self.console.print(f"\nthread {self.thread_id} is waiting for your answer; "
                                   f"resume with: infra-orchestrator chat --thread {self.thread_id}")
                return False
            turn = self._with_progress("Resuming", lambda a=answer: resume_turn(self.graph, self.thread_id, a, self.ctx))
        if turn.decision:
            self.last = turn.decision
            self.console.print(turn.rendered, markup=False, end="")
            if live_findings(turn.decision):
                self.console.print(findings_table(turn.decision))
        return True

    def _status(self, intent: Intent) -> None:
        from tools.workflow import stage_table

        rows = stage_table(self.root, intent.feature, self.loaded.config.workflow)
        table = Table(title=f"Spec-Kit Plus status: {intent.feature}", title_justify="left")
        for col in ("Stage", "Status", "Failing gates"):
            table.add_column(col)
        for r in rows:
            color = {"pass": "green", "fail": "red"}.get(r.status, "yellow")
            table.add_row(r.stage, f"[{color}]{r.status}[/]", ", ".join(r.failing) or "-")
        self.console.print(table)

    def _explain(self, intent: Intent) -> None:
        if self.last is None:
            self.console.print("Nothing decided yet in this thread: ask for a review first.")
            return
        found = explain(self.last, intent.subject)
        if not found:
            self.console.print(f"No finding of the last decision matches '{intent.subject}'. Its reasoning:",
                               markup=False)
            for r in self.last.reasoning:
                self.console.print(f"- {r}", markup=False)
            return
        for f in found:
            self.console.print(finding_line(f), markup=False)
            if f.remediation:
                self.console.print(f"  fix: {f.remediation}", markup=False)

    def _history(self, _intent: Intent) -> None:
        table = Table(title=f"Thread {self.thread_id}", title_justify="left")
        table.add_column("#")
        table.add_column("Request")
        table.add_column("Outcome")
        for n, (text, status) in enumerate(thread_history(self.graph, self.thread_id), 1):
            table.add_row(str(n), text, status)
        self.console.print(table)


def line_reader(root: Path) -> Callable[[str], str]:
    """prompt_toolkit on a terminal (history file, completion); plain line reads otherwise (scripts, pipes)."""
    if not sys.stdin.isatty():
        def read(prompt: str) -> str:
            sys.stdout.write(prompt)
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")

        return read
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import FileHistory

    history = root / HISTORY_FILE
    history.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession = PromptSession(history=FileHistory(str(history)),
                                           completer=WordCompleter(completion_words(root), WORD=True))
    return lambda prompt: session.prompt(prompt)
