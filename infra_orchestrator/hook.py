"""Claude Code PreToolUse hook: deny edits of Phase III code before they happen.

Reads the hook's JSON on stdin and answers on stdout, always with exit code 0:

- a protected path → ``{"hookSpecificOutput": {..., "permissionDecision": "deny", ...}}`` naming the glob;
- a ``needs_approval`` path → ``"ask"`` (the user decides);
- anything else → no output ("no opinion": Claude Code's normal permission flow applies). It never
  answers ``allow``, which would skip the user's own permission prompt;
- input it cannot parse → ``deny`` with the reason (fail closed).

Each path is judged against the workspace above the path itself, the ``cwd``'s and ``$CLAUDE_PROJECT_DIR``'s
(the most severe answer wins). Bash commands are parsed with :mod:`shlex` into simple commands (lists,
pipelines, subshells, brace groups, ``if``/``while`` bodies, ``$(...)`` and backtick bodies, ``sh -c``/``eval``
strings) and known writers are judged precisely; when a command uses a construct that is not modelled (a
``for``/``case``, a glob or variable in a writer's operand, ``xargs`` feeding a writer, ...) and names a
protected path or a directory enclosing one, the answer is ``ask``. Imports stay minimal (no pydantic,
typer, rich, langgraph): this runs on every tool call. ``python -m infra_orchestrator guard hook`` reaches
:func:`main` without loading the CLI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError
from tools.layout import Boundaries, literal_prefix

CONFIG_FILENAME = ".infra-orchestrator.yaml"  # same value as core.config (not imported: pydantic)
FILE_TOOLS = {"Edit": "file_path", "Write": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
PUNCT = set(";&|<>()\n")
OPERATORS = sorted([";;&", ";;", ";&", "&&", "||", "|&", "&>>", "&>", ">>", ">|", ">&", "<<<", "<<-", "<<", "<>", "<&",
                    ";", "&", "|", ">", "<", "(", ")", "\n"], key=len, reverse=True)
CONTROL = {";", "&&", "||", "|", "&", "|&", "\n", ";;", ";&", ";;&"}
WRITE_REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<>"}  # ``>&`` too, unless its word is a descriptor
READ_REDIRECTS = {"<", "<&", "<<", "<<-", "<<<"}
ALL_ARGS = {"rm", "rmdir", "unlink", "truncate", "shred", "tee", "touch", "mkdir"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}
RESERVED = {"{", "}", "!", "if", "then", "elif", "else", "fi", "while", "until", "do", "done"}
"""Reserved words that only wrap simple commands: stripped, the command after them is judged."""
UNMODELED_FIRST = {"for", "case", "esac", "select", "function", "coproc", "[[", "((", "trap"}
PREFIXES = {  # commands that run the rest of their words as a command → short/long options taking an argument
    "sudo": ("ugCDhprtTUR", {"--user", "--group", "--chdir", "--host", "--prompt", "--role", "--type",
                             "--other-user", "--close-from", "--command-timeout", "--chroot"}),
    "doas": ("uC", set()), "env": ("uCS", {"--unset", "--chdir", "--split-string"}), "command": ("", set()),
    "builtin": ("", set()), "exec": ("a", set()), "nohup": ("", set()), "time": ("fo", {"--format", "--output"}),
    "nice": ("n", {"--adjustment"}), "ionice": ("cnp", {"--class", "--classdata", "--pid"}),
    "stdbuf": ("ioe", {"--input", "--output", "--error"}), "timeout": ("sk", {"--signal", "--kill-after"}),
    "xargs": ("aEILnPsd", {"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                              "--replace", "--max-lines", "--eof"}),
    "setsid": ("", set()), "unbuffer": ("", set()), "watch": ("nd", {"--interval"}),
}
COPIERS = {"cp": "tS", "mv": "tS", "ln": "tS", "install": "tgmoS", "rsync": "eBfMT"}  # → short options with an argument
GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Verdict:
    """The hook's answer: ``deny`` or ``ask`` with a reason (no verdict means no opinion)."""

    decision: str
    reason: str

    def payload(self) -> dict:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": self.decision,
                                       "permissionDecisionReason": self.reason}}


def find_workspace(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.infra-orchestrator.yaml``."""
    for directory in (start, *start.parents):
        if (directory / CONFIG_FILENAME).is_file():
            return directory
    return None


def load_boundaries(root: Path) -> Boundaries:
    """The ``phase3`` globs of ``root``'s config; :class:`InputError` when the block is malformed."""
    import yaml

    try:
        data = yaml.load((root / CONFIG_FILENAME).read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{root / CONFIG_FILENAME} is not readable YAML ({type(exc).__name__})") from None
    phase3 = data.get("phase3") or {} if isinstance(data, dict) else None
    if not isinstance(phase3, dict):
        raise InputError(f"{root / CONFIG_FILENAME}: phase3 must be a mapping")
    globs = {k: phase3.get(k) or [] for k in ("protected", "needs_approval", "allowed")}
    if not all(isinstance(v, list) and all(isinstance(g, str) for g in v) for v in globs.values()):
        raise InputError(f"{root / CONFIG_FILENAME}: phase3 globs must be lists of strings")
    return Boundaries.from_globs(globs["protected"], globs["needs_approval"], globs["allowed"])


def _relative(root: Path, path: str) -> str | None:
    """``path`` (absolute, or relative to ``root``) relative to ``root``, lexically; None when outside."""
    rel = os.path.relpath(os.path.normpath(os.path.join(root, path)), root)
    return None if rel == ".." or rel.startswith(".." + os.sep) else Path(rel).as_posix()


def candidate_paths(root: Path, cwd: Path, path: str) -> list[str]:
    """Workspace-relative forms of ``path``: as written (``..`` collapsed) and with symlinks resolved."""
    joined = os.path.join(cwd, os.path.expanduser(path))
    forms = [_relative(root, joined), _relative(Path(os.path.realpath(root)), os.path.realpath(joined))]
    return list(dict.fromkeys(f for f in forms if f is not None))


def judge_path(bounds: Boundaries, root: Path, cwd: Path, path: str, action: str, tree: bool = False) -> Verdict | None:
    """The verdict for ``action`` on ``path``; ``tree`` when it may take a whole directory with it."""
    asks = []
    for rel in candidate_paths(root, cwd, path):
        zone = bounds.classify(rel, is_dir=(root / rel).is_dir())
        glob = bounds.matching_glob(rel, zone) if zone == "protected" else None
        if zone != "protected" and tree and (root / rel).is_dir():
            glob = bounds.encloses_protected(rel)
            zone = "protected" if glob else zone
        if zone == "protected":
            return Verdict("deny", f"Phase III guard: {action} {rel} is blocked — it is protected by the "
                           f"phase3.protected glob '{glob}' in {root / CONFIG_FILENAME} (Phase III code is immutable "
                           "for infrastructure work)")
        if zone == "needs_approval":
            asks.append(Verdict("ask", f"Phase III guard: {action} {rel} changes Phase III build configuration "
                                f"(phase3.needs_approval glob '{bounds.matching_glob(rel, zone)}'); approve only "
                                "if the change is infrastructure-only"))
    return asks[0] if asks else None


@dataclass
class Analysis:
    """What a shell command does, as far as the hook can tell."""

    targets: list[tuple[str, str, bool]] = field(default_factory=list)
    """(path relative to the event's cwd or absolute, what writes it, whether a whole tree may go with it)"""
    unmodeled: list[str] = field(default_factory=list)
    """Constructs the hook does not model (a glob in a writer's operand, ``for``, a variable, ...)."""
    words: list[tuple[str, str]] = field(default_factory=list)
    """(directory the word is relative to, word) for every word: what the command mentions."""
    stdin: str | None = None
    """The file the current simple command reads with ``<`` (for ``patch``)."""


def _tokens(command: str) -> list[str]:
    """Shell words and operators (``shlex``, punctuation-aware, no comment stripping: a ``#`` word stays)."""
    lexer = shlex.shlex(command.replace("\\\n", ""), posix=True, punctuation_chars=";&|<>()\n")
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t\r", True, ""
    out: list[str] = []
    for token in lexer:
        if token and set(token) <= PUNCT:  # a run of punctuation: split it into operators, longest first
            while token:
                op = next(o for o in OPERATORS if token.startswith(o))
                out.append(op)
                token = token[len(op):]
        else:
            out.append(token)
    return out


def _split_options(args: list[str], with_arg: str, long_with_arg: set[str] = frozenset()) -> tuple[list[str], dict]:
    """(operands, {option: argument}) of ``args``; short options in ``with_arg`` take an argument."""
    operands, found, i = [], {}, 0
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


def _strip_prefix(cmd: str, args: list[str]) -> tuple[list[str], str | None, str | None]:
    """The command a prefix (``sudo -u x``, ``env -i A=1``, ``timeout 5``) runs: (words, chdir, split string)."""
    short, long = PREFIXES[cmd]
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
    rest = args[i:]
    if cmd == "timeout" and rest:  # the duration
        rest = rest[1:]
    chdir = found.get("-C") or found.get("--chdir") if cmd in ("env", "sudo", "doas") else None
    split = found.get("-S") or found.get("--split-string") if cmd == "env" else None
    return rest, chdir, split


def _copy_targets(cmd: str, args: list[str]) -> list[tuple[str, bool]]:
    """(path, tree) a copy/move/link writes: the destination, and the destination/basename of each source."""
    operands, opts = _split_options(args, COPIERS[cmd], {"--target-directory", "--suffix", "--mode", "--owner",
                                                         "--group", "--rsh", "--filter", "--exclude", "--include"})
    recursive = cmd in ("mv",) or any(o in opts for o in ("-r", "-R", "-a", "--recursive", "--archive"))
    target_dir = opts.get("-t") or opts.get("--target-directory") if cmd != "rsync" else None
    if target_dir:
        dest, sources = target_dir, operands
    elif operands:
        dest, sources = operands[-1], operands[:-1]
    else:
        return []
    if cmd == "rsync" and re.match(r"^[^/]*:", dest):  # a remote destination
        return []
    into_dest = ("-T" in opts or "--no-target-directory" in opts or any(o.startswith("--delete") for o in opts)
                 or any(s.endswith("/") for s in sources if cmd == "rsync"))
    out = [] if target_dir else [(dest, into_dest and recursive)]
    for src in sources:
        name = os.path.basename(src.rstrip("/"))
        out.append((dest if name in ("", ".", "..") or (cmd == "rsync" and src.endswith("/"))
                    else os.path.join(dest, name), recursive))
    if cmd == "mv":  # the sources are gone afterwards
        out += [(src, True) for src in sources]
    return out


def _sed_targets(args: list[str]) -> list[str]:
    if not any(a == "--in-place" or a.startswith(("-i", "--in-place=")) or
               (a.startswith("-") and not a.startswith("--") and "i" in a[1:]) for a in args):
        return []
    operands, opts = _split_options(args, "ef", {"--expression", "--file"})
    has_script_option = any(o in opts for o in ("-e", "-f", "--expression", "--file"))
    return operands if has_script_option else operands[1:]


def _perl_targets(args: list[str]) -> list[str]:
    operands, opts = _split_options(args, "eEIMmx", set())
    if not any(a.startswith("-") and not a.startswith("--") and "i" in a[1:] for a in args):
        return []
    return operands if ("-e" in opts or "-E" in opts) else operands[1:]


def _patch_paths(path: str, strip: int | None) -> list[str] | None:
    """Files a unified diff touches (``---``/``+++``/``diff --git``), stripped of ``strip`` leading components
    (both 0 and 1 when unknown); None when the patch cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(4_000_000)
    except OSError:
        return None
    names = set(re.findall(r"^(?:\+\+\+|---) (\S+)", text, re.M))
    names |= {n for pair in re.findall(r"^diff --git (\S+) (\S+)", text, re.M) for n in pair}
    out = []
    for name in names - {"/dev/null"}:
        for n in ((strip,) if strip is not None else (0, 1)):
            parts = name.split("/")[n:]
            if parts:
                out.append("/".join(parts))
    return out


def _git_targets(args: list[str], cwd: str, an: Analysis, base: str | None) -> list[tuple[str, bool]]:
    """Paths a git command overwrites in the work tree (relative to ``cwd`` after ``-C``)."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        a = args[i]
        if a in ("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env") and i + 1 < len(args):
            if a == "-C":
                cwd = os.path.join(cwd, args[i + 1])
            if a == "--work-tree":
                an.unmodeled.append("git --work-tree")
            i += 2
            continue
        if a.startswith("--work-tree="):
            an.unmodeled.append("git --work-tree")
        i += 1
    sub, rest = (args[i], args[i + 1:]) if i < len(args) else ("", [])
    paths: list[str] = []
    if sub in ("checkout", "restore"):
        if "--" in rest:
            paths = rest[rest.index("--") + 1:]
        else:
            operands, _ = _split_options(rest, "bBs" if sub == "checkout" else "s", {"--source", "--orphan"})
            paths = operands[1:] if sub == "checkout" and len(operands) > 1 else operands
    elif sub in ("rm", "mv", "clean"):
        paths, _ = _split_options(rest, "e", {"--exclude"})
    elif sub == "apply":
        operands, opts = _split_options(rest, "pC", {"--directory", "--include", "--exclude"})
        if "--check" in opts or "--stat" in opts or "--numstat" in opts:
            return []
        strip = int(opts["-p"]) if opts.get("-p", "").isdigit() else 1
        if not operands:
            an.unmodeled.append("git apply reading a patch from stdin")
        for patch in operands:
            found = _patch_paths(os.path.join(base or "", cwd, patch), strip) if base else None
            if found is None:
                an.unmodeled.append(f"git apply of {patch} (not readable)")
            paths += found or []
    if any(p.startswith(":") for p in paths):
        an.unmodeled.append("a git pathspec with magic")
    return [(os.path.join(cwd, p), True) for p in paths]


def _has_pattern(word: str) -> bool:
    """Whether the shell would expand ``word`` (glob, brace, variable, substitution)."""
    return bool(GLOB_CHARS & set(word)) or "$" in word or "`" in word or bool(re.search(r"\{[^{}]*(,|\.\.)[^{}]*\}", word))


def _braces(word: str) -> list[str]:
    """Brace expansion of ``word`` (``a{b,c}`` → ``ab``, ``ac``; ranges and nesting are left alone)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not m:
        return [word]
    return [x for part in m.group(1).split(",") for x in _braces(word[:m.start()] + part + word[m.end():])][:256]


def _write_targets(words: list[str], cwd: str, an: Analysis, base: str | None) -> list[tuple[str, str, bool]]:
    """(path, what, tree) one simple command (prefixes already stripped) writes; best effort."""
    cmd, args = os.path.basename(words[0]), words[1:]
    label = f"`{cmd}` on"
    pairs: list[tuple[str, bool]] = []
    if cmd in ALL_ARGS:
        pairs = [(p, cmd in ("rm", "shred")) for p in _split_options(args, "s" if cmd == "truncate" else "",
                                                                           {"--size", "--reference"})[0]]
    elif cmd in COPIERS:
        pairs = _copy_targets(cmd, args)
    elif cmd in ("chmod", "chown", "chgrp"):
        symbolic_mode_option = any(a[1:] and set(a[1:]) <= set("rwxXst") for a in args if a.startswith("-"))
        recursive = any(a == "--recursive" or (a.startswith("-") and "R" in a) for a in args)
        operands = [w for w in args if not w.startswith("-")]
        pairs = [(p, recursive) for p in operands[0 if symbolic_mode_option else 1:]]
    elif cmd == "sed":
        pairs = [(p, False) for p in _sed_targets(args)]
    elif cmd == "perl":
        pairs = [(p, False) for p in _perl_targets(args)]
    elif cmd == "dd":
        pairs = [(a.removeprefix("of="), False) for a in args if a.startswith("of=")]
    elif cmd == "git":
        return [(p, label, tree) for p, tree in _git_targets(args, cwd, an, base)]
    elif cmd == "patch":
        operands, opts = _split_options(args, "pidoBrDFVYzg", {"--input", "--directory", "--output", "--strip"})
        strip = opts.get("-p") or opts.get("--strip")
        source = opts.get("-i") or opts.get("--input") or (operands[1] if len(operands) > 1 else an.stdin)
        pairs = [(operands[0], False)] if operands else []
        found = _patch_paths(os.path.join(base or "", cwd, source), int(strip) if strip and strip.isdigit()
                             else None) if base and source else None
        if found is None:
            an.unmodeled.append("patch with a patch file it cannot read")
        pairs += [(p, False) for p in found or []]
    elif cmd == "find":
        start = []
        for a in args:
            if a.startswith(("-", "(", "!")):
                break
            start.append(a)
        start = start or ["."]
        exec_at = next((k for k, a in enumerate(args) if a in ("-exec", "-execdir", "-ok", "-okdir")), None)
        writes = "-delete" in args
        if exec_at is not None:
            inner = [a for a in args[exec_at + 1:] if a not in ("+", ";")]
            writes = writes or bool(inner and _write_targets(inner, cwd, Analysis(), None))
        pairs = [(p, True) for p in start] if writes else []
        pairs += [(args[k + 1], False) for k, a in enumerate(args[:-1]) if a in ("-fprint", "-fprintf", "-fls")]
    return [(os.path.join(cwd, p), label, tree) for p, tree in pairs]


def _simple(words: list[str], cwd: str, an: Analysis, base: str | None, depth: int) -> str:
    """Record what one simple command writes; returns the directory later commands run in (``cd``)."""
    an.words += [(cwd, w) for w in words]
    plain: list[str] = []
    an.stdin = None
    i = 0
    while i < len(words):
        w = words[i]
        if w in WRITE_REDIRECTS or w in READ_REDIRECTS or w == ">&":
            nxt = words[i + 1] if i + 1 < len(words) else None
            if nxt is None:
                an.unmodeled.append(f"redirection '{w}' without a word")
            elif w in WRITE_REDIRECTS or (w == ">&" and not (nxt.isdigit() or nxt == "-")):
                an.targets.append((os.path.join(cwd, nxt), f"redirection '{w}' into", False))
                if _has_pattern(nxt):
                    an.unmodeled.append(f"the redirection target '{nxt}' (the shell expands it)")
            elif w == "<":
                an.stdin = nxt
            i += 2
            continue
        plain.append(w)
        i += 1
    words = plain
    while words:
        first = words[0]
        name = os.path.basename(first)
        if first in RESERVED or re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", first):
            words = words[1:]
        elif first in UNMODELED_FIRST:
            an.unmodeled.append(f"the shell construct '{first}'")
            return cwd
        elif name in PREFIXES:
            rest, chdir, split = _strip_prefix(name, words[1:])
            if chdir:
                cwd = os.path.join(cwd, chdir)
            if split:
                _walk(split + " " + shlex.join(rest), cwd, an, base, depth + 1)
                return cwd
            if name == "xargs" and rest and _write_targets(rest + ["{}"], cwd, Analysis(), None):
                an.unmodeled.append("xargs supplying the operands of a command that writes")
            words = rest
        else:
            break
    if not words:
        return cwd
    cmd, args = os.path.basename(words[0]), words[1:]
    if cmd in ("cd", "pushd"):
        operands = [a for a in args if not a.startswith("-")]
        if len(operands) == 1 and not _has_pattern(operands[0]) and not operands[0].startswith("~"):
            return os.path.join(cwd, operands[0])
        an.unmodeled.append(f"'{cmd}' to a directory it cannot resolve")
        return cwd
    if cmd == "popd":
        an.unmodeled.append("popd")
        return cwd
    if cmd in SHELLS or cmd == "su":
        script = None
        k = 0
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
            _walk(script, cwd, an, base, depth + 1)
        return cwd
    if cmd == "eval":
        _walk(" ".join(args), cwd, an, base, depth + 1)
        return cwd
    found = _write_targets(words, cwd, an, base)
    for path, what, tree in found:
        an.targets.append((path, what, tree))
        if _has_pattern(path):
            an.unmodeled.append(f"the operand '{os.path.relpath(path, cwd) if cwd else path}' (the shell expands it)")
            for expanded in _braces(path):
                an.targets.append((expanded, what, tree))
                if base and GLOB_CHARS & set(expanded) and "$" not in expanded:
                    import glob as glob_module  # only here: keeps the common path's imports small

                    pattern = os.path.join(base, expanded)
                    an.targets += [(m, what, tree) for m in sorted(glob_module.glob(pattern))[:256]]
    return cwd


def _walk(command: str, cwd: str, an: Analysis, base: str | None, depth: int) -> None:
    """Parse ``command`` (run in ``cwd``) into ``an``: simple commands, subshells, ``$(...)`` bodies."""
    if depth > 8:
        an.unmodeled.append("shells nested too deeply")
        return
    bodies = re.findall(r"\$\(([^()]*)\)|`([^`]*)`", command)
    if command.count("$(") + command.count("`") // 2 > len(bodies) or "$((" in command or re.search(r"[<>]\(",
                                                                                                       command):
        an.unmodeled.append("a command or process substitution")
    for body in bodies:
        text = body[0] or body[1]
        try:
            _walk(text, cwd, an, base, depth + 1)
        except ValueError:
            an.unmodeled.append("a command substitution it cannot parse")
    stack: list[str] = []
    current: list[str] = []
    for token in _tokens(command) + [";"]:
        if token in CONTROL or token in ("(", ")"):
            if current:
                cwd = _simple(current, cwd, an, base, depth)
            current = []
            if token == "(":
                stack.append(cwd)
            elif token == ")" and stack:
                cwd = stack.pop()
        else:
            current.append(token)


def analyze(command: str, base: str | None = None) -> Analysis:
    """What ``command`` writes (paths relative to the event's cwd ``base``); ``ValueError`` on unbalanced quotes.
    ``base`` lets globs be expanded and patches be read; without it the analysis is purely lexical."""
    an = Analysis()
    _walk(command, "", an, base, 0)
    return an


def bash_targets(command: str) -> list[tuple[str, str, bool]]:
    """(path, what writes it, recursive) for every write a shell command plainly makes (lexical)."""
    return list(dict.fromkeys(analyze(command).targets))


def _mention(bounds: Boundaries, root: Path, cwd: Path, an: Analysis) -> tuple[str, str] | None:
    """(workspace-relative path, glob) of the first word naming a protected path or a directory enclosing one."""
    prefixes = [(p, g) for g in bounds.protected_globs if (p := literal_prefix(g))]
    for directory, word in an.words[:2000]:
        for fragment in re.split(r"[\s'\"`$(){};|&<>=,:]+", word):
            cut = min((k for k, c in enumerate(fragment) if c in "*?[{$"), default=None)
            if cut is not None:  # the directory holding the pattern
                fragment = os.path.dirname(fragment[:cut]) or "."
            if not fragment or fragment.startswith("-"):
                continue
            for rel in candidate_paths(root, cwd, os.path.join(directory, fragment)):
                for prefix, glob in prefixes:
                    if rel in (".", prefix) or rel.startswith(prefix + "/") or prefix.startswith(rel + "/"):
                        inside = rel == prefix or rel.startswith(prefix + "/")
                        return (rel if inside else f"{prefix} (under {rel})" if rel != "." else prefix), glob
    return None


def _workspaces(cwd: Path, env_project_dir: str | None, paths: list[str]) -> list[Path]:
    """Workspaces to judge against: the ``cwd``'s, ``$CLAUDE_PROJECT_DIR``'s and each target's own."""
    starts = [cwd] + ([Path(env_project_dir)] if env_project_dir else [])
    for path in paths[:500]:
        joined = os.path.join(cwd, os.path.expanduser(path))
        starts += [Path(os.path.normpath(joined)).parent, Path(os.path.realpath(joined)).parent]
    seen: dict[Path, Path | None] = {}
    for start in starts:
        if start not in seen:
            seen[start] = find_workspace(start)
    return list(dict.fromkeys(r for r in seen.values() if r is not None))


SEVERITY = {"deny": 2, "ask": 1}


def _most_severe(verdicts: list[Verdict | None]) -> Verdict | None:
    found = [v for v in verdicts if v is not None]
    return max(found, key=lambda v: SEVERITY[v.decision]) if found else None


def decide(event: dict, env_project_dir: str | None = None) -> Verdict | None:
    """The verdict for one PreToolUse event (already parsed JSON); raises :class:`InputError` on bad shape."""
    if not isinstance(event, dict) or not isinstance(event.get("tool_name"), str):
        raise InputError("the hook input has no tool_name")
    tool, tool_input = event["tool_name"], event.get("tool_input")
    if tool not in FILE_TOOLS and tool != "Bash":
        return None
    if not isinstance(tool_input, dict):
        raise InputError(f"{tool}: tool_input is missing or not an object")
    field_name = FILE_TOOLS.get(tool, "command")
    target = tool_input.get(field_name)
    if not isinstance(target, str) or not target:
        raise InputError(f"{tool}: tool_input.{field_name} is missing")
    if event.get("cwd") is not None and not isinstance(event.get("cwd"), str):
        raise InputError("cwd is not a string")
    cwd = Path(event.get("cwd") or env_project_dir or os.getcwd())
    if tool in FILE_TOOLS:
        roots = _workspaces(cwd, env_project_dir, [target])
        return _most_severe([judge_path(load_boundaries(r), r, cwd, target, f"{tool} of") for r in roots])
    try:
        an = analyze(target, str(cwd))
    except ValueError as exc:  # shlex: unbalanced quotes
        raise InputError(f"Bash: the command cannot be parsed ({exc})") from None
    targets = list(dict.fromkeys(an.targets))
    pathlike = [w if not d else os.path.join(d, w) for d, w in an.words if "/" in w] if an.unmodeled else []
    verdicts: list[Verdict | None] = []
    for root in _workspaces(cwd, env_project_dir, [p for p, _, _ in targets] + pathlike):
        bounds = load_boundaries(root)
        verdicts += [judge_path(bounds, root, cwd, path, what, tree) for path, what, tree in targets]
        if an.unmodeled and not any(v and v.decision == "deny" for v in verdicts):
            hit = _mention(bounds, root, cwd, an)
            if hit:
                verdicts.append(Verdict("ask", f"Phase III guard: cannot tell whether this command writes into "
                                        f"Phase III path {hit[0]} (phase3.protected glob '{hit[1]}' in "
                                        f"{root / CONFIG_FILENAME}); the hook does not model {an.unmodeled[0]}. "
                                        "Approve only if it leaves Phase III untouched"))
    return _most_severe(verdicts)


def answer(raw: str, env_project_dir: str | None = None) -> str:
    """The hook's stdout for the stdin text ``raw``: a JSON verdict line, or "" for no opinion."""
    try:
        verdict = decide(json.loads(raw), env_project_dir)
    except (ValueError, InputError) as exc:  # JSONDecodeError is a ValueError
        reason = exc.args[0] if isinstance(exc, InputError) else f"not JSON ({exc})"
        verdict = Verdict("deny", f"Phase III guard: cannot read the hook input: {reason}; denying to stay safe")
    except Exception as exc:  # noqa: BLE001 - fail closed: a crash must not let the tool call through
        verdict = Verdict("deny", f"Phase III guard: internal error ({type(exc).__name__}: {exc}); denying to stay safe")
    return json.dumps(verdict.payload()) + "\n" if verdict else ""


def main() -> int:
    """Entry point: stdin → stdout, exit code 0 in every case (the verdict is in the JSON)."""
    sys.stdout.write(answer(sys.stdin.read(), os.environ.get("CLAUDE_PROJECT_DIR")))
    sys.stdout.flush()
    return 0


def dispatch() -> None:
    """Console-script entry: ``guard hook`` goes straight to :func:`main`; everything else to the typer CLI."""
    if sys.argv[1:3] == ["guard", "hook"] and len(sys.argv) == 3:
        sys.exit(main())
    from infra_orchestrator.cli import main as cli_main

    cli_main()
