"""Claude Code PreToolUse hook: deny edits of Phase III code before they happen.

Reads the hook's JSON on stdin and answers on stdout, always with exit code 0:

- a protected path → ``{"hookSpecificOutput": {..., "permissionDecision": "deny", ...}}`` naming the glob;
- a ``needs_approval`` path → ``"ask"`` (the user decides);
- anything else → no output ("no opinion": Claude Code's normal permission flow applies). It never
  answers ``allow``, which would skip the user's own permission prompt;
- input it cannot parse → ``deny`` with the reason (fail closed).

Bash commands are parsed with :mod:`shlex` (best effort: split on ``;``, ``&&``, ``||``, ``|``; writers
such as ``rm``, ``mv``, ``cp``, ``sed -i``, ``tee``, ``>``/``>>``, ``git checkout --``, ``git rm``,
``truncate``, ``chmod``). Imports stay minimal (no pydantic, typer, rich, langgraph): this runs on
every tool call. ``python -m infra_orchestrator guard hook`` reaches :func:`main` without loading the CLI.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from infra_orchestrator.errors import InputError
from tools.layout import Boundaries

CONFIG_FILENAME = ".infra-orchestrator.yaml"  # same value as infra_orchestrator.config (not imported: pydantic)
FILE_TOOLS = {"Edit": "file_path", "Write": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
CONTROL = {";", "&&", "||", "|", "&", "|&", "\n"}
REDIRECTS = {">", ">>", ">|", "&>", "&>>"}
ALL_ARGS = {"rm", "rmdir", "unlink", "truncate", "shred", "tee", "touch"}
SHELLS = {"sh", "bash", "zsh", "dash"}
PREFIXES = {"sudo", "env", "command", "nohup", "time", "xargs"}


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
                           f"phase3.protected glob '{glob}' in {CONFIG_FILENAME} (Phase III code is immutable "
                           "for infrastructure work)")
        if zone == "needs_approval":
            asks.append(Verdict("ask", f"Phase III guard: {action} {rel} changes Phase III build configuration "
                                f"(phase3.needs_approval glob '{bounds.matching_glob(rel, zone)}'); approve only "
                                "if the change is infrastructure-only"))
    return asks[0] if asks else None


def _segments(command: str) -> list[list[str]]:
    """Split a shell command into simple commands (words), on ``;``, ``&&``, ``||``, ``|``, ``&``, newlines."""
    lexer = shlex.shlex(command.replace("\n", " ; "), posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    segments, current = [], []
    for token in lexer:
        if token in CONTROL:
            segments.append(current)
            current = []
        else:
            current.append(token)
    return [s for s in segments + [current] if s]


def _operands(words: list[str]) -> list[str]:
    """Non-option words (everything after ``--`` counts)."""
    if "--" in words:
        i = words.index("--")
        return [w for w in words[:i] if not w.startswith("-")] + words[i + 1:]
    return [w for w in words if not w.startswith("-")]


def _sed_targets(args: list[str]) -> list[str]:
    if not any(a == "--in-place" or a.startswith(("-i", "--in-place=")) or
               (a.startswith("-") and not a.startswith("--") and "i" in a[1:]) for a in args):
        return []
    operands = _operands(args)
    has_script_option = any(a in ("-e", "-f") or a.startswith(("--expression", "--file")) for a in args)
    return operands if has_script_option else operands[1:]


def _git_targets(args: list[str]) -> list[str]:
    sub = next((a for a in args if not a.startswith("-")), "")
    rest = args[args.index(sub) + 1:] if sub else []
    if sub == "checkout":
        return rest[rest.index("--") + 1:] if "--" in rest else []
    if sub in ("rm", "mv", "restore", "clean"):
        return _operands(rest)
    return []


def write_targets(words: list[str]) -> tuple[list[str], bool]:
    """(paths one simple command writes, whether it may take directories recursively); best effort."""
    while words and ("=" in words[0] and not words[0].startswith("=") or words[0] in PREFIXES):
        words = words[1:]
    if not words:
        return [], False
    cmd, args = os.path.basename(words[0]), words[1:]
    if cmd in ALL_ARGS:
        return _operands(args), cmd in ("rm", "shred")
    if cmd == "mv":  # moving a directory moves the protected code inside it
        return _operands(args), True
    if cmd in ("cp", "ln", "install", "rsync"):
        return _operands(args)[-1:], False
    if cmd in ("chmod", "chown", "chgrp"):
        symbolic_mode_option = any(a[1:] and set(a[1:]) <= set("rwxXst") for a in args if a.startswith("-"))
        recursive = any(a == "--recursive" or (a.startswith("-") and "R" in a) for a in args)
        return _operands(args)[0 if symbolic_mode_option else 1:], recursive
    if cmd == "sed":
        return _sed_targets(args), False
    if cmd == "git":
        return _git_targets(args), True
    if cmd == "dd":
        return [a.removeprefix("of=") for a in args if a.startswith("of=")], False
    return [], False


def bash_targets(command: str) -> list[tuple[str, str, bool]]:
    """(path, what writes it, recursive) for every write a shell command plainly makes."""
    out, cwd = [], ""
    for words in _segments(command):
        if words[0] == "cd" and len(words) == 2:  # later relative paths are relative to it
            cwd = os.path.join(cwd, words[1])
            continue
        plain: list[str] = []
        i = 0
        while i < len(words):
            if words[i] in REDIRECTS and i + 1 < len(words):
                out.append((os.path.join(cwd, words[i + 1]), f"redirection '{words[i]}' into", False))
                i += 2
                continue
            plain.append(words[i])
            i += 1
        cmd = os.path.basename(plain[0]) if plain else ""
        if cmd in SHELLS and "-c" in plain[:-1]:
            out += bash_targets(plain[plain.index("-c") + 1])
            continue
        targets, recursive = write_targets(plain)
        out += [(os.path.join(cwd, t), f"`{cmd}` on", recursive) for t in targets]
    return out


def decide(event: dict, env_project_dir: str | None = None) -> Verdict | None:
    """The verdict for one PreToolUse event (already parsed JSON); raises :class:`InputError` on bad shape."""
    if not isinstance(event, dict) or not isinstance(event.get("tool_name"), str):
        raise InputError("the hook input has no tool_name")
    tool, tool_input = event["tool_name"], event.get("tool_input")
    if tool not in FILE_TOOLS and tool != "Bash":
        return None
    if not isinstance(tool_input, dict):
        raise InputError(f"{tool}: tool_input is missing or not an object")
    field = FILE_TOOLS.get(tool, "command")
    target = tool_input.get(field)
    if not isinstance(target, str) or not target:
        raise InputError(f"{tool}: tool_input.{field} is missing")
    cwd = Path(event.get("cwd") or env_project_dir or os.getcwd())
    root = find_workspace(cwd) or (find_workspace(Path(env_project_dir)) if env_project_dir else None)
    if root is None:
        return None
    bounds = load_boundaries(root)
    if tool in FILE_TOOLS:
        return judge_path(bounds, root, cwd, target, f"{tool} of")
    try:
        targets = bash_targets(target)
    except ValueError as exc:  # shlex: unbalanced quotes
        raise InputError(f"Bash: the command cannot be parsed ({exc})") from None
    verdicts = [v for path, what, tree in targets if (v := judge_path(bounds, root, cwd, path, what, tree))]
    return next((v for v in verdicts if v.decision == "deny"), verdicts[0] if verdicts else None)


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
