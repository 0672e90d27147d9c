"""The interactive chat session (``infra-orchestrator chat``): one conversation = one checkpointer thread.

Each line is read by :mod:`infra_orchestrator.chat_grammar` and turned into a request run on the thread
(:mod:`graph.runner`). A REQUIRES CLARIFICATION pauses the run; the session asks the question and resumes
the same run with the answer, so a killed session picks up where it stopped (``chat --thread ID``).

Ctrl-C while a request runs (or while a question waits) ends that turn ("interrupted"), not the session; at the
prompt Ctrl-C clears the line and Ctrl-D ends the chat. A decision prints once: its text with the findings as a
numbered list in place of its issues, the first :data:`SHOWN_FINDINGS` of them (``/findings`` pages through all),
then a line naming the model, its tokens and cost (or "offline (rules only)").
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
SHOWN_FINDINGS = 20
"""Findings printed with a decision; the rest are counted ("N more — /findings to list all")."""
FINDINGS_PAGE = 50
"""Findings per page of ``/findings``."""
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
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
    return ChangeRequest(workspace=str(root), base=intent.base, paths=intent.paths, intent=said,
                         worktree=intent.worktree)


def live_findings(d: Decision) -> list[Finding]:
    """The findings the list numbers, most severe first (``/explain 3`` refers to the third)."""
    return sorted((f for f in d.findings if not f.suppressed), key=lambda f: SEVERITY_RANK[f.severity.value])


def findings_table(findings: list[Finding], start: int = 1, title: str = "Findings") -> Table:
    """``findings``, one :func:`~core.render.finding_line` each, numbered from ``start`` for ``/explain`` and
    coloured by severity."""
    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column("#", justify="right")
    table.add_column("Finding", overflow="fold")
    for n, f in enumerate(findings, start):
        table.add_row(str(n), Text(finding_line(f), style=SEVERITY_STYLE[f.severity.value]))
    return table


ISSUES_MARK = "\x00findings\x00"


def decision_parts(d: Decision) -> tuple[str, list[str], str]:
    """The decision's text split around its issues: ``(before, other issues, after)``. The issues that are finding
    lines are left out (the numbered list shows them); the rest (a conflict, a degraded agent) are kept."""
    from core.render import render_text

    lines = {finding_line(f) for f in d.findings}
    others = [i for i in d.issues if i not in lines]
    if len(others) == len(d.issues):
        return render_text(d), [], ""
    text = render_text(d.model_copy(update={"issues": [ISSUES_MARK]}))
    before, _, after = text.partition(f"- {ISSUES_MARK}\n")
    return before, others, after


def usage_line(d: Decision, model: str | None = None) -> str:
    """The model, tokens and cost of an LLM decision; "offline (rules only)" when no model was used."""
    provider = d.metadata.provider
    usage = d.metadata.usage or {}
    total = usage.get("total")
    if total is None:  # per-agent usage only (no provider ledger)
        total = {}
        for entry in usage.values():
            if isinstance(entry, dict):
                for k, v in entry.items():
                    if isinstance(v, int):
                        total[k] = total.get(k, 0) + v
    if provider in ("offline", "") or not total.get("calls"):
        return "offline (rules only)" if provider in ("offline", "") else f"{provider}: no model call (rules only)"
    cost = usage.get("cost_usd")
    if cost is None:
        cost = total.get("cost_micro_usd", 0) / 1e6
    name = f"{model} via {provider}" if model else provider
    return (f"model {name}: {total.get('calls', 0)} calls, tokens in {total.get('input_tokens', 0):,} / out "
            f"{total.get('output_tokens', 0):,}, cache write {total.get('cache_write_tokens', 0):,} / read "
            f"{total.get('cache_read_tokens', 0):,}, ≈ ${cost:.4f}")


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
        try:
            turn = pending_turn(self.graph, self.thread_id)
            if turn.incomplete:
                self.console.print("The last run of this thread was interrupted; finishing it.")
                turn = self._with_progress("Resuming", lambda: continue_turn(self.graph, self.thread_id, self.ctx))
            if not self._show(turn):
                return 0
        except KeyboardInterrupt:
            self._interrupted()
        while True:
            try:
                line = self.ask(PROMPT)
            except EOFError:
                return 0
            except KeyboardInterrupt:  # at the prompt: a new prompt, as a shell does (Ctrl-D ends the chat)
                continue
            try:
                if not self.handle(line):
                    return 0
            except KeyboardInterrupt:  # during a turn: the turn ends, the session goes on
                self._interrupted()
            except OrchestratorError as exc:
                self.console.print(f"[red]error:[/] {exc}", markup=True)

    def _interrupted(self) -> None:
        self.console.print("\ninterrupted", markup=False)

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
                    "findings": self._findings, "clear": self._clear,
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
            self._print_decision(turn.decision)
        return True

    def _print_decision(self, d: Decision) -> None:
        """The decision once: its text with the numbered findings in place of its issues (the first
        :data:`SHOWN_FINDINGS`), then the model/cost line."""
        before, others, after = decision_parts(d)
        self.console.print(before, markup=False, end="")
        for issue in others:
            self.console.print(f"- {issue}", markup=False)
        findings = live_findings(d)
        if findings and after:
            self.console.print(findings_table(findings[:SHOWN_FINDINGS], title=""))
            if len(findings) > SHOWN_FINDINGS:
                self.console.print(f"… {len(findings) - SHOWN_FINDINGS} more — /findings to list all", markup=False)
        self.console.print(after, markup=False, end="")
        self.console.print(usage_line(d, self.loaded.config.provider.model), style="dim", markup=False)

    def _findings(self, intent: Intent) -> None:
        """``/findings [PAGE] [SEVERITY]``: the last decision's findings, a page at a time."""
        if self.last is None:
            self.console.print("Nothing decided yet in this thread: ask for a review first.")
            return
        numbered = list(enumerate(live_findings(self.last), 1))
        if intent.min_severity:
            floor = SEVERITY_RANK[intent.min_severity]
            numbered = [(n, f) for n, f in numbered if SEVERITY_RANK[f.severity.value] <= floor]
        if not numbered:
            self.console.print("No findings" + (f" at or above {intent.min_severity}." if intent.min_severity else "."))
            return
        pages = (len(numbered) + FINDINGS_PAGE - 1) // FINDINGS_PAGE
        page = min(intent.page, pages)
        chunk = numbered[(page - 1) * FINDINGS_PAGE:page * FINDINGS_PAGE]
        table = Table(title=f"Findings {chunk[0][0]}-{chunk[-1][0]} ({len(numbered)} in all"
                      + (f" at or above {intent.min_severity}" if intent.min_severity else "") + ")",
                      title_justify="left", show_header=False, box=None)
        table.add_column("#", justify="right")
        table.add_column("Finding", overflow="fold")
        for n, f in chunk:
            table.add_row(str(n), Text(finding_line(f), style=SEVERITY_STYLE[f.severity.value]))
        self.console.print(table)
        if page < pages:
            more = f"/findings {page + 1}" + (f" {intent.min_severity}" if intent.min_severity else "")
            self.console.print(f"page {page} of {pages} — {more} for the next", markup=False)

    def _clear(self, _intent: Intent) -> None:
        """``/clear``: a new conversation (a fresh thread); the old one stays resumable."""
        old, self.thread_id, self.last = self.thread_id, new_thread_id(), None
        self.console.print(f"cleared — new thread {self.thread_id} (the previous one resumes with: "
                           f"infra-orchestrator chat --thread {old})", markup=False)

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
