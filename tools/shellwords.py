"""What one simple shell command does, as the Claude Code hook records it (the data model and option helpers).

:mod:`tools.shell` splits a command line into simple commands; :mod:`tools.writes` and :mod:`tools.programs`
say what each one writes. Pure: the standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

MARK = "\x01"
"""Delimits the placeholders :mod:`tools.shell` puts where a substitution (``$(...)``, backticks, ``<(...)``)
or a here-document was: a word holding one is expanded by the shell, so it is never a literal path."""
GLOB_CHARS = set("*?[")
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash", "posh"}
INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|node(js)?|deno|bun|ruby|irb|perl[0-9.]*|php[0-9.]*|"
                         r"lua(jit)?[0-9.]*|Rscript|julia|tclsh[0-9.]*|wish|osascript|pwsh|powershell|groovy|"
                         r"jshell|elixir|escript|racket|guile|sbcl|awk|gawk|mawk|nawk|busybox)$")


@dataclass(frozen=True)
class Stdin:
    """What a simple command reads on its standard input: ``kind`` is ``file`` (``< path``), ``text`` (a
    here-document or here-string, ``value`` is its text) or ``pipe`` (the output of the previous command)."""

    kind: str
    value: str = ""


@dataclass(frozen=True)
class Link:
    """A link a command creates: at ``path`` (relative to the event's cwd, or absolute), pointing to ``target``
    (as written: relative to the link's directory for a symbolic link, to the cwd for a hard link)."""

    path: str
    target: str
    symbolic: bool
    what: str


@dataclass
class Effects:
    """What a shell command does, as far as the hook can tell. Paths are relative to the event's cwd or absolute."""

    targets: list[tuple[str, str, bool]] = field(default_factory=list)
    """(path, what writes it, whether a whole tree may go with it)"""
    links: list[Link] = field(default_factory=list)
    mounts: list[tuple[str, str]] = field(default_factory=list)
    """(host path, what) mounted read-write into a container: the container may write anything below it."""
    opaque: list[tuple[str, str]] = field(default_factory=list)
    """(why, directory it runs in) for commands whose writes the hook cannot see at all: an interpreter
    running code, a shell reading a pipe, a git command rewriting the work tree, an editor, an archive."""
    unmodeled: list[str] = field(default_factory=list)
    """Constructs the hook does not model (a glob in a writer's operand, ``for``, a variable, ...)."""
    words: list[tuple[str, str]] = field(default_factory=list)
    """(directory the word is relative to, word) for every word: what the command mentions."""

    def write(self, call: Call, paths: list[tuple[str, bool]], what: str | None = None) -> None:
        """Record writes of ``call`` to (path relative to its cwd, tree) pairs."""
        label = what or f"`{call.name}` on"
        self.targets += [(os.path.join(call.cwd, p), label, tree) for p, tree in paths]

    def hide(self, call: Call, why: str) -> None:
        """Record that ``call`` writes what the hook cannot see (an ``ask`` when a workspace applies)."""
        self.opaque.append((why, call.cwd))


@dataclass
class Call:
    """One simple command, prefixes (``sudo``, ``env``, ``VAR=x``) and redirections already taken off."""

    words: list[str]
    cwd: str
    base: str | None
    """The event's cwd, for reading files (patches, scripts) and expanding globs; None keeps it lexical."""
    stdin: Stdin | None = None
    walk: Callable[[str, str], None] = lambda script, cwd: None
    """Parse ``script`` as shell code run in ``cwd`` (``sh -c`` bodies, git ``!`` aliases)."""
    depth: int = 0

    @property
    def name(self) -> str:
        return os.path.basename(self.words[0])

    @property
    def args(self) -> list[str]:
        return self.words[1:]

    def path(self, rel: str) -> str | None:
        """``rel`` (relative to this command's directory) on disk, when reading is allowed."""
        return os.path.join(self.base, self.cwd, rel) if self.base is not None else None


def has_pattern(word: str) -> bool:
    """Whether the shell would expand ``word`` (glob, brace, variable, substitution)."""
    return (bool(GLOB_CHARS & set(word)) or "$" in word or "`" in word or MARK in word
            or bool(re.search(r"\{[^{}]*(,|\.\.)[^{}]*\}", word)))


def split_options(args: list[str], with_arg: str, long_with_arg: set[str] | frozenset[str] = frozenset()
                  ) -> tuple[list[str], dict[str, str]]:
    """(operands, {option: argument}) of ``args``; short options in ``with_arg`` take an argument."""
    operands: list[str] = []
    found: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return operands + args[i + 1:], found
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            if not eq and name in long_with_arg and i + 1 < len(args):
                value, i = args[i + 1], i + 1
            found[name] = value
        elif a.startswith("-") and len(a) > 1:
            for k, ch in enumerate(a[1:], 1):
                if ch in with_arg:
                    value = a[k + 1:]
                    if not value and i + 1 < len(args):
                        value, i = args[i + 1], i + 1
                    found["-" + ch] = value
                    break
                found["-" + ch] = ""
        else:
            operands.append(a)
        i += 1
    return operands, found


def flag(args: list[str], short: str = "", long: tuple[str, ...] = ()) -> bool:
    """Whether any short option letter of ``short`` (also inside a cluster) or a long option of ``long`` is set."""
    for a in args:
        if a == "--":
            return False
        if a.startswith("--"):
            if a.partition("=")[0] in long:
                return True
        elif a.startswith("-") and len(a) > 1 and any(c in a[1:] for c in short):
            return True
    return False


def read_text(path: str | None, limit: int = 4_000_000) -> str | None:
    """The start of a regular file (never a FIFO or a device), or None when it cannot be read."""
    if path is None:
        return None
    try:
        import stat

        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except (OSError, ValueError):
        return None
