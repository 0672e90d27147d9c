"""Write rules for programs with subcommands (git, containers, helm, this tool) and for interpreters.

:func:`record` is the one entry point: the plain writers of :mod:`tools.writes` first, then the programs
here. A git command that rewrites the work tree from history (``reset --hard``, ``stash pop``, ``merge``,
``pull``, ``rebase``, ...) and an interpreter running code (``python -c``, ``node script.js``, a pipe into
``python -``) are *opaque*: the hook cannot see which files they write, so a workspace makes them ``ask``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from tools.shellwords import INTERPRETER, MARK, Call, Effects, flag, has_pattern, split_options
from tools.writes import SUB_FORMATTERS, patch_input, patch_paths, record_basic

GIT_GLOBAL_WITH_ARG = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env", "--exec-path"}
GIT_RUNS = re.compile(r"^(alias\..+|core\.(fsmonitor|hookspath|sshcommand|pager|editor|askpass|gitproxy)|"
                      r"sequence\.editor|diff\.external|.+\.(textconv|command|driver|process|clean|smudge)|"
                      r"credential\..*helper|gpg\..*program|uploadpack\.packobjectshook)$", re.I)
GIT_REWRITES = {  # subcommand → why its writes cannot be listed from its words
    "merge": "merges another history into the work tree", "pull": "merges fetched history into the work tree",
    "rebase": "replays commits onto the work tree", "cherry-pick": "applies commits to the work tree",
    "revert": "applies reversed commits to the work tree", "am": "applies mailed patches as commits",
    "bisect": "checks out other commits", "filter-branch": "rewrites history and the work tree",
    "filter-repo": "rewrites history and the work tree", "submodule": "updates submodule work trees",
    "checkout-index": "writes files from the index", "clean": "removes untracked files",
    "replace": "replaces objects, changing what git reports for protected files",
}
INLINE_LONG = {"--eval", "--print", "--command", "--execute", "--require", "--import", "--loader", "-Command",
               "-command", "-EncodedCommand", "-File", "-file"}
DOCKERS = {"docker", "podman", "nerdctl"}


def _git_config(call: Call, fx: Effects, setting: str, sub: str) -> None:
    """A ``-c key=value``: an alias with ``!`` runs its shell command (walked when it is the subcommand);
    other keys that run programs are opaque."""
    key, _, value = setting.partition("=")
    if not GIT_RUNS.match(key):
        return
    if key.lower().startswith("alias.") and not value.startswith("!"):
        return
    if key.lower() == f"alias.{sub}".lower() and value.startswith("!"):
        call.walk(value[1:], call.cwd)
        return
    fx.hide(call, f"`git -c {key}` runs a command")


def _git(call: Call, fx: Effects) -> None:
    """Paths a git command overwrites in the work tree (relative to ``cwd`` after ``-C``)."""
    args, cwd, i = call.args, call.cwd, 0
    settings = []
    while i < len(args) and args[i].startswith("-"):
        a = args[i]
        if a in GIT_GLOBAL_WITH_ARG and i + 1 < len(args):
            if a == "-C":
                cwd = os.path.join(cwd, args[i + 1])
            elif a == "-c":
                settings.append(args[i + 1])
            elif a == "--work-tree":
                fx.unmodeled.append("git --work-tree")
            i += 2
            continue
        if a.startswith("--work-tree="):
            fx.unmodeled.append("git --work-tree")
        i += 1
    sub, rest = (args[i], args[i + 1:]) if i < len(args) else ("", [])
    call = Call(call.words, cwd, call.base, call.stdin, call.walk, call.depth)
    for setting in settings:
        _git_config(call, fx, setting, sub)
    label = "`git` on"
    paths: list[str] = []
    if sub in ("checkout", "restore"):
        if sub == "restore" and flag(rest, "S", ("--staged",)) and not flag(rest, "W", ("--worktree",)):
            return
        if "--pathspec-from-file" in {r.partition("=")[0] for r in rest}:
            fx.unmodeled.append("git --pathspec-from-file")
        if "--" in rest:
            paths = rest[rest.index("--") + 1:]
        else:
            operands, _ = split_options(rest, "bBs" if sub == "checkout" else "s", {"--source", "--orphan"})
            paths = operands[1:] if sub == "checkout" and len(operands) > 1 else operands
    elif sub in ("rm", "mv"):
        paths = split_options(rest, "e", {"--exclude"})[0]
        if sub == "rm" and flag(rest, "", ("--cached",)):
            return
    elif sub in ("apply", "am"):
        operands, opts = split_options(rest, "pC", {"--directory", "--include", "--exclude"})
        if sub == "apply" and any(o in opts for o in ("--check", "--stat", "--numstat", "--summary", "--cached")):
            return
        strip = int(opts["-p"]) if opts.get("-p", "").isdigit() else 1
        for patch in operands or [None]:
            text = patch_input(call, fx, patch, f"`git {sub}`")
            paths += [os.path.join(opts.get("--directory", ""), p) for p in patch_paths(text or "", strip)]
        if sub == "am":
            fx.hide(call, f"`git am` {GIT_REWRITES['am']}")
    elif sub == "reset" and flag(rest, "", ("--hard", "--merge", "--keep")):
        fx.hide(call, "`git reset --hard` rewrites the work tree to another commit")
    elif sub == "stash" and rest[:1] and rest[0] in ("pop", "apply", "branch"):
        fx.hide(call, f"`git stash {rest[0]}` writes stashed changes into the work tree")
    elif sub == "read-tree" and flag(rest, "u", ("--reset",)):
        fx.hide(call, "`git read-tree -u` writes the work tree")
    elif sub == "update-index" and flag(rest, "", ("--assume-unchanged", "--skip-worktree", "--chmod")):
        fx.hide(call, "`git update-index` hides or changes how git reports files")
    elif sub == "config" and not flag(rest, "l", ("--get", "--get-all", "--get-regexp", "--list", "--show-origin",
                                                 "--show-scope", "--get-urlmatch")) and len(
            split_options(rest, "f", {"--file", "--type", "--default"})[0]) > 1:
        fx.hide(call, "`git config` changes the configuration git reports changes with")
    elif sub in GIT_REWRITES and not (sub == "replace" and flag(rest, "l", ("--list",))):
        fx.hide(call, f"`git {sub}` {GIT_REWRITES[sub]}")
    elif sub == "clone":
        operands = split_options(rest, "obcju", {"--origin", "--branch", "--config", "--depth", "--reference",
                                                 "--separate-git-dir", "--template", "--filter"})[0]
        if operands:
            dest = operands[1] if len(operands) > 1 else os.path.basename(operands[0].rstrip("/")).removesuffix(".git")
            fx.write(call, [(dest, True)], "`git clone` into")
        return
    if any(p.startswith(":") for p in paths):
        fx.unmodeled.append("a git pathspec with magic")
    fx.write(call, [(p, True) for p in paths], label)


def _mount_source(spec: str) -> str | None:
    """The host path of a ``-v``/``--mount`` bind that is writable; None for a named volume or a read-only bind."""
    if "=" in spec.split(",")[0].split(":")[0]:  # --mount type=bind,source=...,target=...
        fields = dict(p.partition("=")[::2] for p in spec.split(","))
        if fields.get("type", "volume") != "bind" or "readonly" in fields or "ro" in fields or \
                fields.get("readonly") in ("true", "1") or fields.get("ro") in ("true", "1"):
            return None
        return fields.get("source") or fields.get("src")
    parts = spec.split(":")
    if len(parts) < 2 or (len(parts) > 2 and "ro" in parts[2].split(",")):
        return None  # `-v /path` alone is an anonymous volume
    source = parts[0]
    return source if source.startswith(("/", ".", "~", "$", MARK)) else None


def _container(call: Call, fx: Effects) -> None:
    args = call.args
    if args[:1] == ["cp"] or (args[:1] == ["container"] and args[1:2] == ["cp"]):
        operands = [a for a in args[args.index("cp") + 1:] if not a.startswith("-")]
        if len(operands) == 2 and not re.match(r"^[^/]*:", operands[1]):
            fx.write(call, [(operands[1], True)], f"`{call.name} cp` into")
        return
    if not args or args[0] not in ("run", "create") and args[:2] not in (["container", "run"], ["container", "create"]):
        return
    for k, a in enumerate(args):
        name, eq, value = a.partition("=")
        if name in ("-v", "--volume", "--mount") and not eq and k + 1 < len(args):
            value = args[k + 1]
        elif not (name in ("--volume", "--mount") and eq) and not (a.startswith("-v") and len(a) > 2):
            continue
        value = a[2:] if a.startswith("-v") and len(a) > 2 and not a.startswith("--") else value
        source = _mount_source(value)
        if source is None:
            continue
        if has_pattern(source):
            fx.hide(call, f"`{call.name} run` mounts '{source}' read-write (the hook cannot resolve it)")
        else:
            fx.mounts.append((os.path.join(call.cwd, source), f"`{call.name} run` mounting read-write"))


def _kubectl(call: Call, fx: Effects) -> None:
    operands = [a for a in call.args if not a.startswith("-")]
    if operands[:1] == ["cp"] and len(operands) == 3 and not re.match(r"^[^/]*:", operands[2]):
        fx.write(call, [(operands[2], True)], "`kubectl cp` into")


def _helm(call: Call, fx: Effects) -> None:
    operands, opts = split_options(call.args, "nfd", {"--output-dir", "--untardir", "--namespace", "--values",
                                                      "--set", "--version", "--repo", "--destination"})
    sub = operands[0] if operands else ""
    if sub in ("template", "install", "upgrade") and opts.get("--output-dir"):
        fx.write(call, [(opts["--output-dir"], True)], f"`helm {sub} --output-dir` into")
    elif sub == "create" and len(operands) > 1:
        fx.write(call, [(operands[1], True)], "`helm create`")
    elif sub in ("pull", "fetch") and "--untar" in opts:
        fx.write(call, [(opts.get("--untardir") or opts.get("-d") or opts.get("--destination") or ".", True)],
                 "`helm pull --untar` into")


def orchestrator(call: Call, fx: Effects, args: list[str] | None = None) -> None:
    """This tool's own commands that rewrite policy files: ``guard freeze``, ``guard init --write``, ``init``."""
    args = call.args if args is None else args
    operands = [a for a in args if not a.startswith("-")]
    root = operands[2] if operands[:2] == ["guard", "freeze"] and len(operands) > 2 else \
        operands[2] if operands[:2] == ["guard", "init"] and len(operands) > 2 else \
        operands[1] if operands[:1] == ["init"] and len(operands) > 1 else "."
    if operands[:2] == ["guard", "freeze"]:
        fx.write(call, [(os.path.join(root, "phase3.lock"), False)], "`guard freeze` rewriting")
    elif operands[:2] == ["guard", "init"] and "--write" in args:
        fx.write(call, [(os.path.join(root, ".infra-orchestrator.yaml"), False)], "`guard init --write` rewriting")
    elif operands[:1] == ["init"] and "--dry-run" not in args:
        fx.write(call, [(os.path.join(root, p), False) for p in (".infra-orchestrator.yaml", ".claude/settings.json",
                                                                   ".mcp.json")], "`init` rewriting")


def _awk(call: Call, fx: Effects) -> None:
    operands, opts = split_options(call.args, "fvFEi", {"--file", "--assign", "--field-separator", "--include"})
    if "-f" in opts or "--file" in opts or "-E" in opts:
        fx.hide(call, f"`{call.name}` runs a program from a file")
        return
    if not operands:
        return
    program, files = operands[0], operands[1:]
    if re.search(r"system\s*\(|\|\s*\"|\"\s*\||>|\bfflush\b", program):
        fx.hide(call, f"the `{call.name}` program writes files or runs commands")
    if opts.get("-i") == "inplace" or opts.get("--include") == "inplace":
        fx.write(call, [(f, False) for f in files])


def interpreter(call: Call, fx: Effects) -> None:
    """An interpreter running code the hook cannot read: inline (``-c``, ``-e``), a script, or its input."""
    name = call.name
    if name in ("awk", "gawk", "mawk", "nawk"):
        _awk(call, fx)
        return
    if name == "busybox":
        if call.args:
            record(Call(call.args, call.cwd, call.base, call.stdin, call.walk, call.depth), fx)
        return
    python = name.startswith(("python", "pypy"))
    inline = "c" if python else "ceEpr"
    with_arg = "WXQ" if python else "IM"
    i, args = 0, call.args
    if name == "perl":
        in_place = any(a.startswith("-") and not a.startswith("--") and "i" in a[1:] for a in args)
        operands, opts = split_options(args, "eEIMmx")
        if in_place:
            fx.write(call, [(p, False) for p in (operands if ("-e" in opts or "-E" in opts) else operands[1:])])
    if name == "deno" and args[:1] and args[0] in ("eval", "run", "repl"):
        fx.hide(call, f"`deno {args[0]}` runs code")
        return
    if name in ("deno", "bun") and not any(a.startswith("-") or re.search(r"\.[cm]?[jt]sx?$", a) for a in args[:1]):
        return  # a package-manager subcommand (`bun install`, `deno fmt`): a program like any other
    while i < len(args):
        a = args[i]
        if a in INLINE_LONG or a.partition("=")[0] in INLINE_LONG:
            fx.hide(call, f"`{name} {a.partition('=')[0]}` runs inline code")
            return
        if a == "-" or a == "--":
            break
        if a.startswith("-") and len(a) > 1 and not a.startswith("--"):
            if python and "m" in a[1:]:
                module = a[a.index("m") + 1:] or (args[i + 1] if i + 1 < len(args) else "")
                if module == "infra_orchestrator":
                    orchestrator(call, fx, args[i + (1 if a.endswith("m") else 0) + 1:])
                return  # a module: a program like any other
            if any(c in inline for c in a[1:]):
                fx.hide(call, f"`{name} {a}` runs inline code")
                return
            if a[-1] in with_arg and len(a) == 2:
                i += 1
            i += 1
            continue
        if a.startswith("--"):
            i += 1
            continue
        fx.hide(call, f"`{name}` runs the script {a}, which the hook does not read")
        return
    if (i < len(args) and args[i] == "-") or call.stdin is not None:
        kind, value = (call.stdin.kind, call.stdin.value) if call.stdin else ("", "")
        source = {"pipe": "a pipe", "file": value, "text": "a here-document"}.get(kind, "its input")
        fx.hide(call, f"`{name}` runs code from {source}")


PROGRAMS: dict[str, Callable[[Call, Effects], None]] = {
    "git": _git, "kubectl": _kubectl, "helm": _helm, "infra-orchestrator": orchestrator,
    **dict.fromkeys(DOCKERS, _container),
}


def known(name: str) -> bool:
    """Whether ``name`` is a program the write rules model (so its words say what it writes)."""
    from tools.writes import FORMATTERS, RULES

    return name in RULES or name in FORMATTERS or name in PROGRAMS or name in {p for p, _ in SUB_FORMATTERS}


def record(call: Call, fx: Effects) -> None:
    """Record what ``call`` writes into ``fx`` (nothing for a program it knows nothing about)."""
    if record_basic(call, fx):
        return
    if call.name in PROGRAMS:
        PROGRAMS[call.name](call, fx)
    elif INTERPRETER.match(call.name):
        interpreter(call, fx)
