"""The Phase III judgement of one Claude Code ``PreToolUse`` event: ``deny``, ``ask`` or no opinion.

- a write into protected code (``phase3.protected``) → ``deny`` naming the glob;
- a write of a policy file (:data:`tools.layout.POLICY_FILES`: the config, ``phase3.lock``, the approval
  ledger, Claude Code's settings, ...) → ``ask``: a policy change is the operator's to make;
- a ``needs_approval`` path → ``ask``;
- a Bash command whose writes cannot be seen (an interpreter running code, a pipe into a shell, a git
  command rewriting the work tree, an editor, an archive, a symlink it cannot resolve) → ``ask``; one
  that uses a construct the parser does not model and names a protected or policy path → ``ask``;
- anything else → no opinion (``None``).

A path is judged against every workspace that may own it: each directory holding ``.infra-orchestrator.yaml``
above the path, the event's ``cwd`` and ``$CLAUDE_PROJECT_DIR``; the most severe answer wins. The
``phase3`` block is read with :func:`core.globs.phase3_globs`, the normaliser the config model uses, and
with :func:`core.yamlsafe.load`. Imports stay light (no pydantic): this runs on every tool call.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.globs import phase3_globs
from tools.layout import (
    CONFIG_FILENAME,
    HOME_POLICY_FILES,
    POLICY_FILES,
    Boundaries,
    encloses_policy,
    link_destination,
    literal_prefix,
    policy_file,
)
from tools.shell import analyze
from tools.shellwords import Effects, Link, has_pattern

FILE_TOOLS = {"Edit": "file_path", "Write": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
MAX_CONFIG_BYTES = 1_000_000
SEVERITY = {"deny": 2, "ask": 1}
PREFIX = "Phase III guard:"


@dataclass(frozen=True)
class Verdict:
    """The hook's answer: ``deny`` or ``ask`` with a reason (no verdict means no opinion)."""

    decision: str
    reason: str

    def payload(self) -> dict:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": self.decision,
                                       "permissionDecisionReason": self.reason}}


def find_workspaces(start: Path) -> list[Path]:
    """Every directory at or above ``start`` that holds something named ``.infra-orchestrator.yaml``
    (a broken link, a FIFO or a directory by that name too: reading it then fails, closed)."""
    return [d for d in (start, *start.parents) if os.path.lexists(d / CONFIG_FILENAME)]


def read_config(root: Path) -> dict:
    """The top-level mapping of ``root``'s config, read as a regular file of bounded size with the depth-limited
    loader; :class:`InputError` naming the file otherwise."""
    import yaml

    from core.confine import read_regular
    from core.yamlsafe import load

    path = root / CONFIG_FILENAME
    try:
        raw = read_regular(os.path.realpath(path), MAX_CONFIG_BYTES, what=str(path))  # a FIFO never blocks
        data = load(raw.decode("utf-8"), str(path))
    except InputError:
        raise
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path} is not readable YAML ({type(exc).__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def load_boundaries(root: Path) -> Boundaries:
    """The ``phase3`` globs of ``root``'s config, normalised as the config model does; :class:`InputError`
    when the file or the block is malformed (unknown keys included)."""
    try:
        globs = phase3_globs(read_config(root).get("phase3"))
    except ValueError as exc:
        raise InputError(f"{root / CONFIG_FILENAME}: {exc}") from None
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


def _above(root: Path, cwd: Path, path: str) -> bool:
    """Whether ``path`` is a directory at or above the workspace ``root`` (as written, or resolved)."""
    joined = os.path.join(cwd, os.path.expanduser(path))
    return any((str(r).rstrip(os.sep) + os.sep).startswith(p.rstrip(os.sep) + os.sep)
               for p, r in ((os.path.normpath(joined), root), (os.path.realpath(joined), os.path.realpath(root))))


def _deny(action: str, rel: str, glob: str, root: Path, holds: bool = False) -> Verdict:
    what = "it holds Phase III code protected by" if holds else "it is protected by"
    return Verdict("deny", f"{PREFIX} {action} {rel} is blocked — {what} the phase3.protected glob '{glob}' in "
                   f"{root / CONFIG_FILENAME} (Phase III code is immutable for infrastructure work)")


def _policy_ask(action: str, rel: str, glob: str, root: Path) -> Verdict:
    return Verdict("ask", f"{PREFIX} {action} {rel} changes the guard's own policy ({POLICY_FILES[glob]}, "
                   f"'{glob}' in {root}); only the operator may change it — approve only if you asked for this "
                   "policy change yourself")


def judge_path(bounds: Boundaries, root: Path, cwd: Path, path: str, action: str, tree: bool = False) -> Verdict | None:
    """The verdict for ``action`` on ``path``; ``tree`` when it may take a whole directory with it."""
    asks = []
    forms = candidate_paths(root, cwd, path)
    if tree and not forms and _above(root, cwd, path):
        forms = ["."]  # `rm -rf ..`, `find / -delete`: the whole workspace goes with it
    for rel in forms:
        is_dir = (root / rel).is_dir()
        zone = bounds.classify(rel, is_dir=is_dir)
        if zone == "protected":
            return _deny(action, rel, bounds.matching_glob(rel, zone) or bounds.protected_globs[0], root)
        if tree and is_dir and zone != "allowed" and (glob := bounds.encloses_protected(rel)):
            return _deny(action, rel, glob, root, holds=True)
        policy = policy_file(rel, is_dir) or (encloses_policy(rel) if tree and is_dir else None)
        if policy:
            asks.append(_policy_ask(action, rel, policy, root))
        if zone == "needs_approval":
            asks.append(Verdict("ask", f"{PREFIX} {action} {rel} changes Phase III build configuration "
                                f"(phase3.needs_approval glob '{bounds.matching_glob(rel, zone)}'); approve only "
                                "if the change is infrastructure-only"))
    return asks[0] if asks else None


def judge_home(home: str | None, cwd: Path, path: str, action: str, tree: bool = False) -> Verdict | None:
    """``ask`` for a write of the user's Claude Code settings (or a directory holding them)."""
    if not home:
        return None
    joined = os.path.join(cwd, os.path.expanduser(path))
    for full in {os.path.normpath(joined), os.path.realpath(joined)}:
        for rel in HOME_POLICY_FILES:
            policy = os.path.join(home, rel)
            if full == policy or (tree and (policy + os.sep).startswith(full.rstrip(os.sep) + os.sep)):
                return Verdict("ask", f"{PREFIX} {action} {full} changes the user's Claude Code settings, which "
                               "can register or drop this hook; approve only if you asked for it yourself")
    return None


def judge_link(bounds: Boundaries, root: Path, cwd: Path, link: Link) -> Verdict | None:
    """A symlink into protected code, or a hard link to a protected file, is a write into Phase III."""
    if link.symbolic:
        if has_pattern(link.target):
            return Verdict("ask", f"{PREFIX} {link.what} {link.path} → '{link.target}': the shell expands the "
                           "target, so the hook cannot tell whether it points into Phase III code")
        real_root = os.path.realpath(root)
        for rel in candidate_paths(root, cwd, link.path):
            dests = [link_destination(rel, link.target, real_root)]
            real = os.path.realpath(os.path.join(root, os.path.dirname(rel), link.target))
            dests.append(_relative(Path(real_root), real))
            for dest in filter(None, dests):
                glob = bounds.reaches_protected(dest)
                if glob:
                    return Verdict("deny", f"{PREFIX} {link.what} {rel} → '{link.target}' is blocked — it points "
                                   f"into Phase III path {dest} (phase3.protected glob '{glob}' in "
                                   f"{root / CONFIG_FILENAME}); writes through it would modify Phase III code")
        return None
    for rel in candidate_paths(root, cwd, link.target):
        if bounds.classify(rel) == "protected":
            return Verdict("deny", f"{PREFIX} {link.what} {link.path} is blocked — a hard link shares the content "
                           f"of the Phase III file {rel} (phase3.protected glob "
                           f"'{bounds.matching_glob(rel, 'protected')}'): writes through it would modify it")
    return None


def judge_mount(bounds: Boundaries, root: Path, cwd: Path, source: str, what: str) -> Verdict | None:
    """``ask`` when a container gets write access to protected code (or to a directory above the workspace)."""
    full = os.path.realpath(os.path.join(cwd, source))
    real_root = os.path.realpath(root)
    if (real_root + os.sep).startswith(full.rstrip(os.sep) + os.sep):
        glob = bounds.encloses_protected(".")
        shown = f"{full} (which holds the workspace {root})"
    else:
        globs = [bounds.reaches_protected(rel) for rel in candidate_paths(root, cwd, source)]
        glob, shown = next((g for g in globs if g), None), source
    if not glob:
        return None
    return Verdict("ask", f"{PREFIX} {what} {shown}: the container may write Phase III code (phase3.protected "
                   f"glob '{glob}' in {root / CONFIG_FILENAME}); approve only if it leaves Phase III untouched")


def _mention(bounds: Boundaries, root: Path, cwd: Path, fx: Effects) -> tuple[str, str] | None:
    """(workspace-relative path, glob) of the first word naming a protected or policy path, or a directory
    enclosing one."""
    prefixes = [(p, g) for g in bounds.protected_globs if (p := literal_prefix(g))]
    prefixes += [(g.strip("/"), g) for g in POLICY_FILES if g.startswith("/")]
    for directory, word in fx.words[:2000]:
        for fragment in re.split(r"[\s'\"`$(){};|&<>=,:\x01]+", word):
            cut = min((k for k, c in enumerate(fragment) if c in "*?[{$"), default=None)
            if cut is not None:  # the directory holding the pattern
                fragment = os.path.dirname(fragment[:cut]) or "."
            if not fragment or fragment.startswith("-"):
                continue
            if os.path.basename(fragment) == CONFIG_FILENAME:
                return fragment, CONFIG_FILENAME
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
    seen: dict[Path, list[Path]] = {}
    for start in starts:
        if start not in seen:
            seen[start] = find_workspaces(start)
    return list(dict.fromkeys(r for roots in seen.values() for r in roots))


def _most_severe(verdicts: list[Verdict | None]) -> Verdict | None:
    found = [v for v in verdicts if v is not None]
    return max(found, key=lambda v: SEVERITY[v.decision]) if found else None


def _through_links(fx: Effects, targets: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """Writes below a symlink the same command creates, followed to where the link points."""
    out = []
    for path, what, tree in targets:
        for link in fx.links:
            norm, at = os.path.normpath(path), os.path.normpath(link.path)
            if link.symbolic and norm.startswith(at + os.sep) and not has_pattern(link.target):
                base = link.target if os.path.isabs(link.target) else os.path.join(os.path.dirname(at), link.target)
                out.append((os.path.join(base, norm[len(at) + 1:]), f"{what} {path} via the symlink {link.path}:",
                            tree))
    return out


def _judge_bash(command: str, cwd: Path, env_project_dir: str | None, home: str | None) -> Verdict | None:
    try:
        fx = analyze(command, str(cwd))
    except ValueError as exc:  # shlex: unbalanced quotes
        raise InputError(f"Bash: the command cannot be parsed ({exc})") from None
    targets = list(dict.fromkeys(fx.targets))
    targets += _through_links(fx, targets)
    pathlike = [w if not d else os.path.join(d, w) for d, w in fx.words if "/" in w] if fx.unmodeled else []
    mentioned = [p for p, _, _ in targets] + [link.target for link in fx.links] + [m for m, _ in fx.mounts]
    roots = _workspaces(cwd, env_project_dir, mentioned + pathlike + [where for _, where in fx.opaque])
    verdicts: list[Verdict | None] = []
    for root in roots:
        bounds = load_boundaries(root)
        verdicts += [judge_link(bounds, root, cwd, link) for link in fx.links]
        verdicts += [judge_path(bounds, root, cwd, path, what, tree) for path, what, tree in targets]
        verdicts += [judge_mount(bounds, root, cwd, source, what) for source, what in fx.mounts]
        if any(v and v.decision == "deny" for v in verdicts):
            break
        if fx.opaque:
            why = "; ".join(dict.fromkeys(w for w, _ in fx.opaque[:3]))
            verdicts.append(Verdict("ask", f"{PREFIX} cannot see what this command writes: {why}. Approve only "
                                    f"if it leaves Phase III code and the guard's policy files ({root}) untouched"))
        if fx.unmodeled:
            hit = _mention(bounds, root, cwd, fx)
            if hit:
                verdicts.append(Verdict("ask", f"{PREFIX} cannot tell whether this command writes into "
                                        f"{'Phase III' if hit[1] not in POLICY_FILES else 'policy'} path {hit[0]} "
                                        f"({'phase3.protected glob' if hit[1] not in POLICY_FILES else 'policy file'} "
                                        f"'{hit[1]}' in {root / CONFIG_FILENAME}); the hook does not model "
                                        f"{fx.unmodeled[0]}. Approve only if it leaves Phase III untouched"))
    if roots and not any(v and v.decision == "deny" for v in verdicts):
        verdicts += [judge_home(home, cwd, path, what, tree) for path, what, tree in targets]
    return _most_severe(verdicts)


def decide(event: dict, env_project_dir: str | None = None, home: str | None = None) -> Verdict | None:
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
    if tool == "Bash":
        return _judge_bash(target, cwd, env_project_dir, home)
    roots = _workspaces(cwd, env_project_dir, [target])
    verdicts = [judge_path(load_boundaries(r), r, cwd, target, f"{tool} of") for r in roots]
    if roots:
        verdicts.append(judge_home(home, cwd, target, f"{tool} of"))
    return _most_severe(verdicts)
