"""The offline intent grammar of ``infra-orchestrator chat`` (pure; documented in docs/chat.md).

A line is either a slash command (``/review [--base REF] [paths]``, ``/stage FEATURE STAGE``,
``/status FEATURE``, ``/explain <check-id|finding #|words>``, ``/history``, ``/help``, ``/quit``) or
plain words, read by a few rules:

- *stage*: a feature (``001``, ``001-name`` or a known feature name) plus a target stage
  ("ready to plan", "move to tasks", "approve implementation for 001");
- *status*: "status of 001", "where is 001";
- *explain*: "why was the backend rejected?", "explain SEC-IMAGE-TAG", "explain finding 3";
- *review*: "review", "check", "validate" — "against/vs/since REF" sets the base, known top-level
  directories ("the helm chart" → ``helm``) and path-like words become the paths;
- *history*, *help*, *quit*.

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
SLASH_COMMANDS = ("/review", "/stage", "/status", "/explain", "/history", "/help", "/quit")
HELP = (
    "Say what you want in plain words or use a slash command:\n"
    "  review the helm chart against main      /review [--base REF] [paths]\n"
    "  we finished the specs for 001, ready to plan   /stage FEATURE STAGE\n"
    "  status of 001                            /status FEATURE\n"
    "  why was the backend rejected?            /explain <check-id|finding #>\n"
    "  /history   /help   /quit"
)

_TARGET = re.compile(r"\b(?:ready\s+(?:to|for)|(?:move|advance|go|proceed)\b[^.,;]*?\b(?:to|into)|"
                     r"approve|start(?:ing)?|enter(?:ing)?|begin)\s+(?:the\s+)?([a-z]+)")
_FEATURE = re.compile(r"\b(\d{3})(?:-[a-z0-9-]+)?\b")
_BASE = re.compile(r"\b(?:against|vs\.?|versus|since|compared\s+(?:to|with)|from)\s+([\w./@~^-]+)", re.I)
_WHY = re.compile(r"^(?:why\b(?:\s+(?:was|is|did|were|are))?|explain|what(?:'s|\s+is)\s+wrong\s+with)\s*(.*)$")
_STATUS = re.compile(r"\b(?:status|where\s+is|where\s+are\s+we\s+with|progress)\b")
_REVIEW = re.compile(r"^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:review|check|validate|scan|look\s+at)\b", re.I)
_FILLER = {"the", "a", "an", "my", "our", "this", "that", "these", "chart", "charts", "manifests", "manifest",
           "changes", "change", "files", "file", "please", "and", "of", "in", "on", "for", "everything", "all",
           "repo", "repository", "dir", "directory", "folder", "it", "me"}


@dataclass
class Intent:
    """What a line asks for. ``action`` is one of review, stage, status, explain, history, help, quit, unknown."""

    action: str
    feature: str | None = None
    target: str | None = None
    base: str | None = None
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
    if cmd in ("/history", "/help"):
        return Intent(cmd[1:])
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


def _slash_review(args: list[str]) -> Intent:
    intent = Intent("review")
    it = iter(args)
    for a in it:
        if a == "--base":
            intent.base = next(it, None)
            if intent.base is None:
                return Intent("unknown", note="usage: /review [--base REF] [paths]")
        elif a.startswith("--base="):
            intent.base = a.split("=", 1)[1]
        elif a.startswith("-"):
            return Intent("unknown", note=f"unknown option {a}; usage: /review [--base REF] [paths]")
        else:
            intent.paths.append(a)
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
    if _STATUS.search(low):
        if feature:
            return Intent("status", feature=feature)
        return Intent("unknown", note="understood a status request but not which feature (say e.g. 'status of 001')")
    if _REVIEW.match(low):
        return _review_words(text, top_dirs)
    return Intent("unknown", note=f"did not understand '{text}'")


def _review_words(text: str, top_dirs: list[str]) -> Intent:
    intent = Intent("review")
    rest = text.strip().rstrip("?!. ")
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
    if unknown:
        intent.note = f"ignored: {' '.join(unknown)}"
    return intent
