"""Shell parsing for the Claude Code hook: a command line into simple commands, and what each one does.

A pre-pass (:class:`tools.shellscan.Scanner`) strips comments, takes out here-documents and substitutions
(``$(...)``, backticks, ``<(...)``/``>(...)``, nested at any depth) and leaves a placeholder word in their
place; then :mod:`shlex` splits the rest into words and operators, and :class:`_Walker` follows the structure: lists,
pipelines, subshells (a ``cd`` inside does not outlive them), brace groups, ``if``/``while`` bodies,
prefixes (``sudo``, ``env``, ``timeout``, ``uv run``, ...), redirections, ``cd``, ``sh -c``/``eval``/
``source`` bodies, shell scripts it can read, here-documents fed to a shell, and every substitution body.
What each simple command writes is :func:`tools.programs.record`'s business.

Pure and lexical, unless a ``base`` directory is given: then globs are expanded and patches and scripts
are read (regular files only, bounded).
"""

from __future__ import annotations

import os
import re
import shlex

from tools.programs import known, record
from tools.shellscan import PLACEHOLDER, Scanner, tokens
from tools.shellwords import INTERPRETER, MARK, SHELLS, Call, Effects, Stdin, has_pattern, read_text

CONTROL = {";", "&&", "||", "|", "&", "|&", "\n", ";;", ";&", ";;&"}
WRITE_REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<>"}  # ``>&`` too, unless its word is a descriptor
READ_REDIRECTS = {"<", "<&", "<<", "<<-", "<<<"}
RESERVED = {"{", "}", "!", "if", "then", "elif", "else", "fi", "while", "until", "do", "done"}
"""Reserved words that only wrap simple commands: stripped, the command after them is judged."""
UNMODELED_FIRST = {"for", "case", "esac", "select", "function", "coproc", "[[", "((", "trap"}
PREFIXES = {  # commands that run the rest of their words: short/long options taking an argument, positionals
    "sudo": ("ugCDhprtTUR", {"--user", "--group", "--chdir", "--host", "--prompt", "--role", "--type",
                             "--other-user", "--close-from", "--command-timeout", "--chroot"}, 0),
    "doas": ("uC", set(), 0), "env": ("uCS", {"--unset", "--chdir", "--split-string"}, 0), "command": ("", set(), 0),
    "builtin": ("", set(), 0), "exec": ("a", set(), 0), "nohup": ("", set(), 0),
    "time": ("fo", {"--format", "--output"}, 0), "nice": ("n", {"--adjustment"}, 0),
    "ionice": ("cnp", {"--class", "--classdata", "--pid"}, 0), "stdbuf": ("ioe", {"--input", "--output", "--error"}, 0),
    "timeout": ("sk", {"--signal", "--kill-after"}, 1),
    "xargs": ("aEILnPsd", {"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--replace",
                           "--max-lines", "--eof"}, 0),
    "setsid": ("", set(), 0), "unbuffer": ("", set(), 0), "watch": ("nd", {"--interval"}, 0),
    "chroot": ("", {"--userspec", "--groups"}, 1), "flock": ("wE", {"--timeout", "--conflict-exit-code"}, 1),
    "taskset": ("", set(), 1), "unshare": ("", set(), 0), "nsenter": ("tS", {"--target"}, 0),
    "parallel": ("jSP", {"--jobs", "--sshlogin", "--arg-file"}, 0), "caffeinate": ("tw", set(), 0), "chronic": ("", set(), 0), "strace": ("eopsu", set(), 0),
}
RUNNERS = {  # (program, subcommand) that runs the rest of the words → short/long options taking an argument
    ("uv", "run"): ("pw", {"--with", "--with-editable", "--with-requirements", "--python", "--project", "--directory",
                           "--package", "--extra", "--group", "--env-file", "--index", "--index-url", "--only-group"}),
    ("poetry", "run"): ("C", {"--directory", "--project"}), ("pipenv", "run"): ("", set()),
    ("pdm", "run"): ("p", {"--project"}), ("hatch", "run"): ("", set()), ("rye", "run"): ("", set()),
    ("pipx", "run"): ("", {"--spec", "--python"}), ("pnpm", "exec"): ("C", {"--dir"}), ("pnpm", "dlx"): ("", set()),
    ("yarn", "dlx"): ("p", {"--package"}), ("yarn", "exec"): ("", set()), ("conda", "run"): ("np", {"--name"}),
    ("mamba", "run"): ("np", {"--name"}), ("micromamba", "run"): ("np", {"--name"}),
}
SINGLE_RUNNERS = {"npx": ("pc", {"--package", "--call"}), "bunx": ("p", {"--package"})}
MAX_COMMAND = 200_000
MAX_DEPTH = 8


def _strip_options(args: list[str], short: str, long: set[str]) -> tuple[list[str], dict[str, str]]:
    """The words after the leading options of a prefix, and those options."""
    i, found = 0, {}
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        a = args[i]
        i += 1
        if a == "--":
            break
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            if not eq and name in long and i < len(args):
                value, i = args[i], i + 1
            found[name] = value
            continue
        for k, ch in enumerate(a[1:], 1):
            if ch in short:
                value = a[k + 1:]
                if not value and i < len(args):
                    value, i = args[i], i + 1
                found["-" + ch] = value
                break
    return args[i:], found


class _Walker:
    """Follows the structure of a command into :class:`Effects`."""

    def __init__(self, base: str | None):
        self.base = base
        self.fx = Effects()
        self.subs: list[tuple[str, str]] = []
        self.heredocs: list[tuple[str, bool]] = []
        self.walked: set[int] = set()

    def text(self, command: str, cwd: str, depth: int) -> None:
        """Scan and walk ``command`` (raw shell text) run in ``cwd``."""
        if depth > MAX_DEPTH:
            self.fx.unmodeled.append("shells nested too deeply")
            return
        if len(command) > MAX_COMMAND:
            self.fx.opaque.append((f"a command of {len(command)} characters is too long to analyse", cwd))
            return
        self.scanned(Scanner(command, self.subs, self.heredocs).run(), cwd, depth)

    def scanned(self, command: str, cwd: str, depth: int) -> None:
        """Walk an already scanned command: split it into simple commands on operators and parentheses."""
        stack: list[str] = []
        current: list[str] = []
        piped = False
        for token in tokens(command) + [";"]:
            if token in CONTROL or token in ("(", ")"):
                if current:
                    cwd = self.simple(current, cwd, depth, piped)
                current = []
                piped = token in ("|", "|&")
                if token == "(":
                    stack.append(cwd)
                elif token == ")" and stack:
                    cwd = stack.pop()
            else:
                current.append(token)

    def substitutions(self, word: str, cwd: str, depth: int) -> None:
        """Walk the bodies of the substitutions ``word`` holds (they run before the command does)."""
        for kind, number in PLACEHOLDER.findall(word):
            k = int(number)
            if kind == "H":
                body, quoted = self.heredocs[k]
                if not quoted:
                    self.substitutions(body, cwd, depth)
                continue
            if k in self.walked:
                continue
            self.walked.add(k)
            sub_kind, body = self.subs[k]
            if sub_kind == "arith":
                self.fx.unmodeled.append("an arithmetic expansion")
            try:
                self.scanned(body, cwd, depth + 1)
            except ValueError:
                self.fx.unmodeled.append("a command substitution it cannot parse")

    def _redirections(self, words: list[str], cwd: str, depth: int) -> tuple[list[str], Stdin | None]:
        plain: list[str] = []
        stdin: Stdin | None = None
        i = 0
        while i < len(words):
            w = words[i]
            self.substitutions(w, cwd, depth)
            if w in WRITE_REDIRECTS or w in READ_REDIRECTS or w == ">&":
                nxt = words[i + 1] if i + 1 < len(words) else None
                if nxt is None:
                    self.fx.unmodeled.append(f"redirection '{w}' without a word")
                elif w in WRITE_REDIRECTS or (w == ">&" and not (nxt.isdigit() or nxt == "-")):
                    self.fx.targets.append((os.path.join(cwd, nxt), f"redirection '{w}' into", False))
                    if has_pattern(nxt):
                        self.fx.unmodeled.append(f"the redirection target '{nxt}' (the shell expands it)")
                elif w in ("<<", "<<-") and (m := PLACEHOLDER.fullmatch(nxt)) and m.group(1) == "H":
                    stdin = Stdin("text", self.heredocs[int(m.group(2))][0])
                elif w == "<<<":
                    stdin = Stdin("text", nxt)
                elif w == "<":
                    stdin = Stdin("pipe") if has_pattern(nxt) else Stdin("file", nxt)
                if nxt is not None:
                    self.substitutions(nxt, cwd, depth)
                i += 2
                continue
            plain.append(w)
            i += 1
        return plain, stdin

    def _prefixes(self, words: list[str], cwd: str, depth: int) -> tuple[list[str], str, bool]:
        """Strip assignments, reserved words and prefixes: (the command they run, its directory, done)."""
        while words:
            first, name = words[0], os.path.basename(words[0])
            if first in RESERVED or re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", first):
                words = words[1:]
            elif first in UNMODELED_FIRST:
                self.fx.unmodeled.append(f"the shell construct '{first}'")
                return [], cwd, True
            elif name in PREFIXES:
                short, long, positional = PREFIXES[name]
                rest, found = _strip_options(words[1:], short, long)
                rest = rest[positional:]
                chdir = found.get("-C") or found.get("--chdir") if name in ("env", "sudo", "doas") else None
                cwd = os.path.join(cwd, chdir) if chdir else cwd
                split = found.get("-S") or found.get("--split-string") if name == "env" else None
                if split:
                    self.text(split + " " + shlex.join(rest), cwd, depth + 1)
                    return [], cwd, True
                if name == "xargs" and rest:
                    probe = Effects()
                    record(Call(rest + ["{}"], cwd, None), probe)
                    runner = os.path.basename(rest[0])
                    if probe.targets or probe.links or probe.opaque or runner in SHELLS or INTERPRETER.match(runner):
                        self.fx.opaque.append((f"xargs supplies the operands of `{runner}`, which writes", cwd))
                words = rest
            elif (name, words[1] if len(words) > 1 else "") in RUNNERS:
                short, long = RUNNERS[(name, words[1])]
                rest, found = _strip_options(words[2:], short, long)
                chdir = found.get("--directory") or found.get("--dir") or found.get("-C")
                cwd = os.path.join(cwd, chdir) if chdir and name != "poetry" else cwd
                words = rest
            elif name in SINGLE_RUNNERS:
                words = _strip_options(words[1:], *SINGLE_RUNNERS[name])[0]
            else:
                break
        return words, cwd, False

    def _script(self, call: Call, path: str, why: str) -> None:
        """Walk the shell script at ``path`` when it can be read and this command did not just write it."""
        full = os.path.normpath(os.path.join(call.cwd, path))
        written = {os.path.normpath(p) for p, _, _ in self.fx.targets}
        text = None if (full in written or self.fx.opaque or MARK in path) else read_text(call.path(path), 256_000)
        if text is None:
            self.fx.hide(call, f"{why} {path}, which the hook cannot read" if MARK not in path
                         else f"{why} a process substitution")
        else:
            self.text(text, call.cwd, call.depth + 1)

    def _shell(self, call: Call) -> None:
        cmd, args = call.name, call.args
        script, k = None, 0
        while k < len(args):
            a = args[k]
            if cmd == "su" and a in ("-c", "--command") and k + 1 < len(args):
                script = args[k + 1]
                break
            if cmd == "su" and a.startswith("--command="):
                script = a.partition("=")[2]
                break
            if a in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                k += 2
                continue
            if not a.startswith(("-", "+")) or a == "--":
                break
            if cmd in SHELLS and not a.startswith("--") and "c" in a[1:]:
                script = next((b for b in args[k + 1:] if not b.startswith(("-", "+"))), None)
                break
            k += 1
        if script is not None:
            self.text(script, call.cwd, call.depth + 1)
            return
        if cmd == "su":
            return
        operands = [a for a in args[k:] if a != "--"]
        reads_input = any(a.startswith("-") and not a.startswith("--") and "s" in a[1:] for a in args[:k])
        if operands and not reads_input:
            self._script(call, operands[0], f"`{cmd}` runs the script")
        elif call.stdin is not None and call.stdin.kind == "text":
            self.text(call.stdin.value, call.cwd, call.depth + 1)
        elif call.stdin is not None and call.stdin.kind == "file":
            self._script(call, call.stdin.value, f"`{cmd}` runs the commands of")
        elif call.stdin is not None:
            self.fx.hide(call, f"a pipe into a shell (`{cmd}` runs commands it reads from the pipe)")

    def simple(self, words: list[str], cwd: str, depth: int, piped: bool) -> str:
        """Record what one simple command does; returns the directory later commands run in (``cd``)."""
        self.fx.words += [(cwd, w) for w in words]
        words, stdin = self._redirections(words, cwd, depth)
        words, cwd, done = self._prefixes(words, cwd, depth)
        if done or not words:
            return cwd
        stdin = stdin or (Stdin("pipe") if piped else None)
        call = Call(words, cwd, self.base, stdin, lambda script, where: self.text(script, where, depth + 1), depth)
        cmd, args = call.name, call.args
        if cmd in ("cd", "pushd"):
            operands = [a for a in args if not a.startswith("-")]
            if len(operands) == 1 and not has_pattern(operands[0]) and not operands[0].startswith("~"):
                return os.path.join(cwd, operands[0])
            self.fx.unmodeled.append(f"'{cmd}' to a directory it cannot resolve")
        elif cmd == "popd":
            self.fx.unmodeled.append("popd")
        elif cmd in SHELLS or cmd == "su":
            self._shell(call)
        elif cmd == "eval":
            self.text(" ".join(args), cwd, depth + 1)
        elif cmd in ("source", ".") and args:
            self._script(call, args[0], f"`{cmd}` runs the commands of")
        elif has_pattern(words[0]):
            self.fx.hide(call, f"the command name '{words[0]}' is an expansion the hook cannot resolve")
        elif "/" in words[0] and self.base is not None:
            self._executable(call)
        else:
            self._writes(call)
        return cwd

    def _executable(self, call: Call) -> None:
        """A file run by its path: a shell script is walked, an interpreter's script is opaque."""
        head = read_text(call.path(call.words[0]), 256) or ""
        interpreter = os.path.basename(head[2:].split("\n")[0].strip().split(" ")[-1]) if head.startswith("#!") else ""
        if interpreter in SHELLS:
            self._script(call, call.words[0], f"`{call.words[0]}` runs")
        elif INTERPRETER.match(interpreter) and not known(call.name):
            self.fx.hide(call, f"`{call.words[0]}` runs a {interpreter} script, which the hook does not read")
        else:  # `/bin/rm`, `./node_modules/.bin/prettier`: the program its name says
            self._writes(call)

    def _writes(self, call: Call) -> None:
        before = len(self.fx.targets)
        record(call, self.fx)
        for path, what, tree in list(self.fx.targets[before:]):
            if not has_pattern(path):
                continue
            shown = os.path.relpath(path, call.cwd) if call.cwd else path
            self.fx.unmodeled.append(f"the operand '{shown}' (the shell expands it)")
            for expanded in braces(path):
                self.fx.targets.append((expanded, what, tree))
                if self.base and set("*?[") & set(expanded) and "$" not in expanded and MARK not in expanded:
                    import glob as glob_module  # only here: keeps the common path's imports small

                    matches = sorted(glob_module.glob(os.path.join(self.base, expanded)))[:256]
                    self.fx.targets += [(m, what, tree) for m in matches]


def braces(word: str) -> list[str]:
    """Brace expansion of ``word`` (``a{b,c}`` → ``ab``, ``ac``; ranges and nesting are left alone)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not m:
        return [word]
    return [x for part in m.group(1).split(",") for x in braces(word[:m.start()] + part + word[m.end():])][:256]


def analyze(command: str, base: str | None = None) -> Effects:
    """What ``command`` does (paths relative to the event's cwd ``base``); ``ValueError`` on unbalanced quotes.
    ``base`` lets globs be expanded and patches and scripts be read; without it the analysis is lexical."""
    walker = _Walker(base)
    walker.text(command, "", 0)
    for k, (_, body) in enumerate(walker.subs):  # bodies that sat where no word reached them
        if k not in walker.walked:
            walker.walked.add(k)
            try:
                walker.scanned(body, "", 1)
            except ValueError:
                walker.fx.unmodeled.append("a command substitution it cannot parse")
    return walker.fx


def bash_targets(command: str) -> list[tuple[str, str, bool]]:
    """(path, what writes it, recursive) for every write a shell command plainly makes (lexical)."""
    return list(dict.fromkeys(analyze(command).targets))
