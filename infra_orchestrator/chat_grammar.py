"""The offline intent grammar of ``infra-orchestrator chat`` (pure; documented in docs/chat.md).

A line is either a slash command (``/review [--base REF] [--worktree] [paths]``, ``/stage FEATURE STAGE``,
``/status FEATURE``, ``/explain <check-id|finding #|words>``, ``/findings [PAGE] [SEVERITY]``, ``/history``,
``/clear``, ``/help``, ``/quit``) or plain words, read by a few rules:

- *stage*: a feature (``001``, ``001-name`` or a known feature name) plus a target stage
  ("ready to plan", "move to tasks", "approve implementation for 001", "approve stage plan for 001-x",
  "approve the plan stage of 001-x", "001 is ready for the tasks stage");
- *status*: "status of 001", "where is 001";
- *explain*: "why was the backend rejected?", "explain SEC-IMAGE-TAG", "explain finding 3";
- *review*: "review", "check", "validate" — "against/vs/since REF" sets the base, known top-level
  directories ("the helm chart" → ``helm``) and path-like words become the paths; "my uncommitted changes",
  "the working tree", "my local changes", "what I changed" review the working tree against ``HEAD``;
- *findings*: "show all findings", "list the findings";
- *history*, *clear* ("start over", "new conversation"), *help*, *quit*.

Anything else is an ``unknown`` intent whose note says what was not understood.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

STAGE_WORDS = {
    "constitution": "constitution", "specify": "specify", "specification": "specify", "spec": "specify",
    "specs": "specify", "clarify": "clarify", "clarification": "clarify", "plan": "plan", "planning": "plan",
    "tasks": "tasks", "task": "tasks", "analyze": "analyze", "analyse": "analyze", "analysis": "analyze",
    "implement": "implement", "implementation": "implement", "implementing": "implement",
}
SLASH_COMMANDS = ("/review", "/stage", "/status", "/explain", "/findings", "/history", "/clear", "/help", "/quit")
SEVERITY_WORDS = ("critical", "high", "medium", "low", "info")
HELP = (
    "Say what you want in plain words or use a slash command:\n"
    "  review the helm chart against main      /review [--base REF] [paths]\n"
    "  review my uncommitted changes           /review --worktree\n"
    "  approve stage plan for 001               /stage FEATURE STAGE\n"
    "  status of 001                            /status FEATURE\n"
    "  why was the backend rejected?            /explain <check-id|finding #>\n"
    "  show all findings                        /findings [PAGE] [SEVERITY]\n"
    "  start over                               /clear (a new thread)\n"
    "  /history   /help   /quit      Ctrl-C stops a running review; Ctrl-D ends the chat"
)

_TARGET = re.compile(r"\b(?:ready\s+(?:to|for)|(?:move|advance|go|proceed|promote|transition)\b[^.,;]*?\b(?:to|into)|"
                     r"approve|start(?:ing)?|enter(?:ing)?|begin)\s+(?:the\s+)?(?:stage\s+)?([a-z]+)")
_STAGE_VERB = re.compile(r"\b(?:approve|approval|stage|ready|move|advance|promote|transition|enter|start|begin)\b")
_WORKTREE = re.compile(r"\b(?:uncommitted|not\s+(?:yet\s+)?committed|working[\s-]?(?:tree|copy|dir(?:ectory)?)|"
                       r"work\s*tree|local\s+(?:changes|edits)|unstaged|staged|pending\s+changes|"
                       r"my\s+(?:changes|edits|diff)|what\s+i(?:'ve|\s+have)?\s+changed)\b", re.I)
_FINDINGS = re.compile(r"^(?:show|list|print|see|display)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?"
                       r"(?:all\s+)?findings\b")
_CLEAR = re.compile(r"^(?:clear|reset|start\s+over|new\s+(?:conversation|chat|thread)|forget\s+(?:it|everything))$")
_FEATURE = re.compile(r"\b(\d{3})(?:-[a-z0-9-]+)?\b")
_BASE = re.compile(r"\b(?:against|vs\.?|versus|since|compared\s+(?:to|with)|from)\s+([\w./@~^-]+)", re.I)
_WHY = re.compile(r"^(?:why\b(?:\s+(?:was|is|did|were|are))?|explain|what(?:'s|\s+is)\s+wrong\s+with)\s*(.*)$")
_STATUS = re.compile(r"\b(?:status|where\s+is|where\s+are\s+we\s+with|progress)\b")
_REVIEW = re.compile(r"^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:review|check|validate|scan|look\s+at)\b", re.I)
_FILLER = {"the", "a", "an", "my", "our", "this", "that", "these", "chart", "charts", "manifests", "manifest",
           "changes", "change", "files", "file", "please", "and", "of", "in", "on", "for", "everything", "all",
           "repo", "repository", "dir", "directory", "folder", "it", "me", "to", "under", "at", "i", "did"}


@dataclass
class Intent:
    """What a line asks for. ``action`` is one of review, stage, status, explain, history, help, quit, unknown."""

    action: str
    feature: str | None = None
    target: str | None = None
    base: str | None = None
    worktree: bool = False
    """``review``: the working tree's uncommitted changes against ``HEAD``."""
    page: int = 1
    """``findings``: which page."""
    min_severity: str | None = None
    """``findings``: only findings at or above this severity."""
    paths: list[str] = field(default_factory=list)
    subject: str = ""
    note: str = ""
    """For ``unknown`` (or a partly understood line): what was not understood."""


def parse(line: str, features: list[str] = (), top_dirs: list[str] = ()) -> Intent:
    """Read one chat line. ``features`` are ``specs/`` directory names, ``top_dirs`` the workspace's top level."""
    text = line.strip()
    if not text:
        return Intent("unknown", note="empty line")
    if text.startswith("/"):
        return _slash(text)
    return _words(text, list(features), list(top_dirs))


def _slash(text: str) -> Intent:
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        return Intent("unknown", note=f"cannot read '{text}': {exc}")
    cmd, args = argv[0].lower(), argv[1:]
    if cmd in ("/quit", "/exit"):
        return Intent("quit")
    if cmd in ("/history", "/help", "/clear"):
        return Intent(cmd[1:])
    if cmd == "/findings":
        return _slash_findings(args)
    if cmd == "/review":
        return _slash_review(args)
    if cmd == "/stage":
        if len(args) != 2 or _stage(args[1]) is None:
            return Intent("unknown", note="usage: /stage FEATURE STAGE (stages: " + ", ".join(_stages()) + ")")
        return Intent("stage", feature=args[0], target=_stage(args[1]))
    if cmd == "/status":
        return Intent("status", feature=args[0]) if len(args) == 1 else Intent("unknown", note="usage: /status FEATURE")
    if cmd == "/explain":
        return Intent("explain", subject=" ".join(args)) if args else Intent("unknown",
                                                                              note="usage: /explain <check-id|finding #>")
    return Intent("unknown", note=f"unknown command {cmd}; commands are {', '.join(SLASH_COMMANDS)}")


def _slash_findings(args: list[str]) -> Intent:
    intent = Intent("findings")
    for a in args:
        if a.isdigit() and int(a) > 0:
            intent.page = int(a)
        elif a.lower() in SEVERITY_WORDS:
            intent.min_severity = a.lower()
        else:
            return Intent("unknown", note="usage: /findings [PAGE] [critical|high|medium|low|info]")
    return intent


def _slash_review(args: list[str]) -> Intent:
    intent = Intent("review")
    it = iter(args)
    for a in it:
        if a in ("--worktree", "-w"):
            intent.worktree = True
        elif a == "--base":
            intent.base = next(it, None)
            if intent.base is None:
                return Intent("unknown", note="usage: /review [--base REF] [paths]")
        elif a.startswith("--base="):
            intent.base = a.split("=", 1)[1]
        elif a.startswith("-"):
            return Intent("unknown", note=f"unknown option {a}; usage: /review [--base REF] [--worktree] [paths]")
        else:
            intent.paths.append(a)
    if intent.worktree and intent.base:
        return Intent("unknown", note="--worktree reviews the uncommitted changes against HEAD: drop --base")
    return intent


def _stages() -> list[str]:
    return list(dict.fromkeys(STAGE_WORDS.values()))


def _stage(word: str) -> str | None:
    return STAGE_WORDS.get(word.lower())


def _feature(text: str, features: list[str]) -> str | None:
    m = _FEATURE.search(text)
    if m:
        return m.group(0)
    for name in features:
        short = name.split("-", 1)[-1]
        if name.lower() in text or (short and re.search(rf"\b{re.escape(short.lower())}\b", text)):
            return name
    return None


def _words(text: str, features: list[str], top_dirs: list[str]) -> Intent:
    low = text.lower().rstrip("?!. ")
    if low in ("quit", "exit", "bye", "q"):
        return Intent("quit")
    if low in ("history", "help", "?"):
        return Intent("help" if low == "?" else low)
    if _CLEAR.match(low):
        return Intent("clear")
    if _FINDINGS.match(low):
        return Intent("findings")
    why = _WHY.match(low)
    if why:
        subject = re.sub(r"\b(?:rejected|flagged|failing|failed|blocked|wrong)\b", "", why.group(1)).strip()
        return Intent("explain", subject=re.sub(r"^(?:the|finding)\s+", "", subject))
    target = _TARGET.search(low)
    feature = _feature(low, features)
    if target and _stage(target.group(1)):
        if not feature:
            return Intent("unknown", target=_stage(target.group(1)),
                          note=f"understood a move to '{_stage(target.group(1))}' but not which feature (say e.g. 001)")
        return Intent("stage", feature=feature, target=_stage(target.group(1)))
    named = _named_stages(low)
    if _STAGE_VERB.search(low) and len(named) == 1 and not _STATUS.search(low):
        if not feature:  # "approve the plan stage", "stage plan"
            return Intent("unknown", target=named[0],
                          note=f"understood a move to '{named[0]}' but not which feature (say e.g. 001)")
        return Intent("stage", feature=feature, target=named[0])
    if _STATUS.search(low):
        if feature:
            return Intent("status", feature=feature)
        return Intent("unknown", note="understood a status request but not which feature (say e.g. 'status of 001')")
    if _REVIEW.match(low):
        return _review_words(text, top_dirs)
    return Intent("unknown", note=f"did not understand '{text}'")


def _named_stages(low: str) -> list[str]:
    """The distinct stages a sentence names ("the plan stage", "implementation"); feature names are left out."""
    words = re.findall(r"[a-z]+", _FEATURE.sub(" ", low))
    return list(dict.fromkeys(STAGE_WORDS[w] for w in words if w in STAGE_WORDS))


def _review_words(text: str, top_dirs: list[str]) -> Intent:
    intent = Intent("review")
    rest = text.strip().rstrip("?!. ")
    worktree = _WORKTREE.search(rest)
    if worktree:
        intent.worktree = True
        rest = rest[:worktree.start()] + rest[worktree.end():]
    base = _BASE.search(rest)
    if base:
        intent.base = base.group(1)
        rest = rest[:base.start()] + rest[base.end():]
    words = re.findall(r"[\w./-]+", _REVIEW.sub("", rest, count=1))
    dirs = {d.lower(): d for d in top_dirs}
    unknown = []
    for w in words:
        if w.lower() in dirs:
            intent.paths.append(dirs[w.lower()])
        elif "/" in w or "." in w:
            intent.paths.append(w)
        elif w.lower() not in _FILLER:
            unknown.append(w)
    if intent.worktree and intent.base:
        intent.note = f"the working tree is reviewed against HEAD: ignored base {intent.base}"
        intent.base = None
    elif unknown:
        intent.note = f"ignored: {' '.join(unknown)}"
    return intent
