"""Write rules: which paths a simple command writes (files, copies, links, in-place editors, formatters, archives).

Each rule reads the words of one :class:`~tools.shellwords.Call` and records into
:class:`~tools.shellwords.Effects`: paths it writes precisely, links it creates, and an *opaque* reason when
what it writes cannot be known from its words (an editor, an archive). Programs with subcommands and
interpreters are in :mod:`tools.programs`. Best effort and lexical, except that patches are read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from tools.shellwords import INTERPRETER, SHELLS, Call, Effects, Link, flag, read_text, split_options

ALL_ARGS = {"rm", "rmdir", "unlink", "truncate", "shred", "tee", "touch", "mkdir", "mkfifo", "mknod"}
COPIERS = {"cp": "tS", "mv": "tS", "ln": "tS", "install": "tgmoS", "rsync": "eBfMT", "scp": "cFiJlLoPS",
           "link": ""}  # → short options with an argument
COPY_LONG = {"--target-directory", "--suffix", "--mode", "--owner", "--group", "--rsh", "--filter", "--exclude",
             "--include", "--files-from", "--exclude-from", "--include-from", "--backup-dir", "--compare-dest"}
EDITORS = {"vi", "vim", "nvim", "gvim", "ex", "ed", "red", "nano", "pico", "emacs", "emacsclient", "micro", "joe",
           "kak", "hx", "helix", "mcedit", "jed", "sudoedit"}
FORMATTERS: dict[str, tuple[Callable[[list[str]], bool], str | None]] = {
    # name → (whether these arguments write, the operand written when none is given)
    "black": (lambda a: not flag(a, "", ("--check", "--diff")), None),
    "isort": (lambda a: not flag(a, "c", ("--check-only", "--check", "--diff")), None),
    "autopep8": (lambda a: flag(a, "i", ("--in-place",)), None),
    "autoflake": (lambda a: flag(a, "i", ("--in-place",)), None),
    "yapf": (lambda a: flag(a, "i", ("--in-place",)), None),
    "prettier": (lambda a: flag(a, "w", ("--write",)), None),
    "eslint": (lambda a: flag(a, "", ("--fix",)), None),
    "gofmt": (lambda a: flag(a, "w"), None),
    "goimports": (lambda a: flag(a, "w"), None),
    "gofumpt": (lambda a: flag(a, "w"), None),
    "rustfmt": (lambda a: not flag(a, "", ("--check",)), None),
    "clang-format": (lambda a: flag(a, "i"), None),
    "shfmt": (lambda a: flag(a, "w", ("--write",)), None),
    "stylua": (lambda a: not flag(a, "c", ("--check",)), "."),
    "rubocop": (lambda a: flag(a, "aA", ("--autocorrect", "--autocorrect-all", "--auto-correct")), "."),
    "dprint": (lambda a: bool(a) and a[0] == "fmt", "."),
}
SUB_FORMATTERS = {  # (program, subcommand) → (whether these arguments write, default operand)
    ("ruff", "format"): (lambda a: not flag(a, "", ("--check", "--diff")), "."),
    ("ruff", "check"): (lambda a: flag(a, "", ("--fix", "--unsafe-fixes")) and not flag(a, "", ("--no-fix",)), "."),
    ("go", "fmt"): (lambda a: True, "."),
    ("cargo", "fmt"): (lambda a: not flag(a, "", ("--check",)), "."),
    ("terraform", "fmt"): (lambda a: not flag(a, "", ("-check",)) and "-check" not in a, "."),
    ("tofu", "fmt"): (lambda a: "-check" not in a, "."),
    ("biome", "format"): (lambda a: flag(a, "", ("--write", "--apply")), "."),
    ("biome", "check"): (lambda a: flag(a, "", ("--write", "--apply", "--fix")), "."),
    ("php-cs-fixer", "fix"): (lambda a: not flag(a, "", ("--dry-run",)), "."),
}
ARCHIVERS = {"tar", "bsdtar", "gtar", "unzip", "7z", "7za", "7zz", "cpio", "jar", "unrar", "ar"}


def _all_args(call: Call, fx: Effects) -> None:
    operands = split_options(call.args, "s" if call.name == "truncate" else "m" if call.name == "mkdir" else "",
                             {"--size", "--reference", "--mode", "--context"})[0]
    fx.write(call, [(p, call.name in ("rm", "shred")) for p in operands])


def _rsync_relative(dest: str, src: str) -> str:
    """Where ``rsync -R`` puts ``src``: the part after ``/./``, else the whole path, below ``dest``."""
    rel = src.split("/./", 1)[1] if "/./" in src else src.lstrip("/")
    return os.path.join(dest, rel)


def _copies(call: Call, fx: Effects) -> None:
    """A copy/move/link writes the destination, and the destination/basename of each source."""
    cmd, args = call.name, call.args
    operands, opts = split_options(args, COPIERS[cmd], COPY_LONG)
    recursive = cmd == "mv" or any(o in opts for o in ("-r", "-R", "-a", "--recursive", "--archive"))
    target_dir = opts.get("-t") or opts.get("--target-directory") if cmd not in ("rsync", "scp") else None
    if target_dir:
        dest, sources = target_dir, operands
    elif len(operands) == 1 and cmd == "ln":
        dest, sources = os.path.basename(operands[0].rstrip("/")) or ".", operands
    elif operands:
        dest, sources = operands[-1], operands[:-1]
    else:
        return
    if cmd in ("rsync", "scp") and (re.match(r"^[^/]*:", dest) or dest.startswith(("scp://", "rsync://"))):
        return  # a remote destination
    if cmd == "rsync" and ("--files-from" in opts or "--include-from" in opts):
        fx.hide(call, "`rsync --files-from` copies files listed in a file the hook does not read")
    into_dest = ("-T" in opts or "--no-target-directory" in opts or any(o.startswith("--delete") for o in opts)
                 or any(s.endswith("/") for s in sources if cmd == "rsync"))
    out = [] if target_dir or (cmd == "ln" and len(operands) == 1) else [(dest, into_dest and recursive)]
    for src in sources:
        name = os.path.basename(src.rstrip("/"))
        if cmd == "rsync" and ("-R" in opts or "--relative" in opts):
            out.append((_rsync_relative(dest, src), True))
            continue
        out.append((dest if name in ("", ".", "..") or (cmd == "rsync" and src.endswith("/"))
                    else os.path.join(dest, name), recursive))
    if cmd == "mv":  # the sources are gone afterwards
        out += [(src, True) for src in sources]
    symbolic = cmd in ("ln", "cp") and any(o in opts for o in ("-s", "--symbolic", "--symbolic-link"))
    hard = cmd == "link" or (cmd == "ln" and not symbolic) or (cmd == "cp" and any(o in opts for o in ("-l", "--link")))
    if symbolic or hard:
        into_dir = target_dir or len(sources) > 1 or (cmd == "ln" and len(operands) == 1) or dest.endswith("/") or (
            call.base is not None and os.path.isdir(call.path(dest) or ""))
        for src in sources:
            path = os.path.join(dest, os.path.basename(src.rstrip("/"))) if into_dir else dest
            fx.links.append(Link(os.path.join(call.cwd, path), src if symbolic else os.path.join(call.cwd, src),
                                 symbolic, f"`{cmd}{' -s' if symbolic else ''}` creating"))
        if cmd in ("ln", "link"):
            out = [(link.path, False) for link in fx.links[-len(sources):]] if sources else []
            fx.targets += [(p, f"`{cmd}` creating", t) for p, t in out]
            return
    fx.write(call, out)


def _modes(call: Call, fx: Effects) -> None:
    args = call.args
    symbolic_mode_option = any(a[1:] and set(a[1:]) <= set("rwxXst") for a in args if a.startswith("-"))
    recursive = any(a == "--recursive" or (a.startswith("-") and "R" in a) for a in args)
    operands = [w for w in args if not w.startswith("-")]
    fx.write(call, [(p, recursive) for p in operands[0 if symbolic_mode_option else 1:]])


def _sed(call: Call, fx: Effects) -> None:
    args = call.args
    operands, opts = split_options(args, "ef", {"--expression", "--file"})
    scripts = [v for k, v in opts.items() if k in ("-e", "--expression")]
    has_script_option = any(o in opts for o in ("-e", "-f", "--expression", "--file"))
    if not has_script_option and operands:
        scripts, operands = [operands[0]], operands[1:]
    for script in scripts:  # the `w FILE` command and flag write FILE; `e` runs a command
        fx.write(call, [(f.strip(), False) for f in re.findall(r"(?:^|[;\n}/])\s*[0-9gpIiMme]*[wW]\s+([^;\n}]+)",
                                                               script)])
        if re.search(r"(?:^|[;\n}/])\s*[0-9gpIiMm]*e(?:\s|;|$)", script):
            fx.hide(call, "`sed` with the `e` command runs a shell command")
    if any(a == "--in-place" or a.startswith(("-i", "--in-place=")) or
           (a.startswith("-") and not a.startswith("--") and "i" in a[1:]) for a in args):
        fx.write(call, [(p, False) for p in operands])


def _dd(call: Call, fx: Effects) -> None:
    fx.write(call, [(a.removeprefix("of="), False) for a in call.args if a.startswith("of=")])


def _sort(call: Call, fx: Effects) -> None:
    fx.write(call, [(v, False) for k, v in split_options(call.args, "otkS", {"--output"})[1].items()
                    if k in ("-o", "--output")])


def patch_paths(text: str, strip: int | None) -> list[str]:
    """Files a unified diff touches (``---``/``+++``/``diff --git``), stripped of ``strip`` leading components
    (both 0 and 1 when unknown)."""
    names = set(re.findall(r"^(?:\+\+\+|---) (\S+)", text, re.M))
    names |= {n for pair in re.findall(r"^diff --git (\S+) (\S+)", text, re.M) for n in pair}
    out = []
    for name in sorted(names - {"/dev/null"}):
        for n in ((strip,) if strip is not None else (0, 1)):
            parts = name.split("/")[n:]
            if parts:
                out.append("/".join(parts))
    return out


def patch_input(call: Call, fx: Effects, patch: str | None, what: str) -> str | None:
    """The text of the patch ``call`` applies: the file ``patch``, else its standard input; None (recorded as
    not modelled) when it cannot be read."""
    if patch is not None:
        text = read_text(call.path(patch))
    elif call.stdin is not None and call.stdin.kind == "text":
        text = call.stdin.value
    elif call.stdin is not None and call.stdin.kind == "file":
        text = read_text(call.path(call.stdin.value))
    else:
        text = None
    if text is None:
        source = patch or ("a pipe" if call.stdin and call.stdin.kind == "pipe" else "its input")
        fx.hide(call, f"{what} applies a patch from {source}, which the hook cannot read")
    return text


def _patch(call: Call, fx: Effects) -> None:
    operands, opts = split_options(call.args, "pidoBrDFVYzg", {"--input", "--directory", "--output", "--strip"})
    strip = opts.get("-p") or opts.get("--strip")
    directory = opts.get("-d") or opts.get("--directory") or ""
    source = opts.get("-i") or opts.get("--input") or (operands[1] if len(operands) > 1 else None)
    if operands:
        fx.write(call, [(operands[0], False)])
        if source is None and call.stdin is None:
            return  # `patch FILE` reads the patch from the terminal
    sub = Call(call.words, os.path.join(call.cwd, directory), call.base, call.stdin)
    text = patch_input(sub, fx, source, "`patch`")
    if text is not None:
        fx.write(sub, [(p, False) for p in patch_paths(text, int(strip) if strip and strip.isdigit() else None)])


def _find(call: Call, fx: Effects) -> None:
    args = call.args
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
        if inner:
            probe = Effects()
            runs_code = os.path.basename(inner[0]) in SHELLS or bool(INTERPRETER.match(os.path.basename(inner[0])))
            record_basic(Call(inner, call.cwd, None, None), probe)
            writes = writes or bool(probe.targets or probe.links)
            if runs_code or probe.opaque or probe.unmodeled:
                fx.unmodeled.append(f"`find -exec {os.path.basename(inner[0])}` (what it runs on each file)")
    fx.write(call, [(p, True) for p in start] if writes else [])
    fx.write(call, [(args[k + 1], False) for k, a in enumerate(args[:-1]) if a in ("-fprint", "-fprintf", "-fls")])


def _editor(call: Call, fx: Effects) -> None:
    operands = [a for a in call.args if not a.startswith(("-", "+"))]
    fx.write(call, [(p, False) for p in operands])
    fx.hide(call, f"the editor `{call.name}` can write any file it is told to")


def _formatter(call: Call, fx: Effects, writes: Callable[[list[str]], bool], default: str | None,
               args: list[str]) -> None:
    if not writes(args):
        return
    operands = [a for a in split_options(args, "", {"--config", "--line-length", "--stdin-filename", "--target-version",
                                                    "--exclude", "--extend-exclude", "--ignore-path", "--plugin",
                                                    "--settings-path", "--style"})[0] if a != "fmt"]
    if operands == ["-"]:
        return  # formats its input to its output
    fx.write(call, [(p, True) for p in operands or ([default] if default else [])],
             f"`{call.name}` (rewriting files in place) on")


def _archive(call: Call, fx: Effects) -> None:
    name, args = call.name, call.args
    first = args[0] if args else ""
    if name in ("tar", "bsdtar", "gtar"):
        cluster = first.lstrip("-") if first and not first.startswith("--") else ""
        long = {a.partition("=")[0] for a in args if a.startswith("--")}
        opts = split_options(args, "fCbHTXgFKLNV" if first.startswith("-") else "", {"--file", "--directory"})[1]
        if not first.startswith("-"):  # old style: `tar xzf FILE`, the f argument is the next word
            opts = {"-f": args[1]} if "f" in cluster and len(args) > 1 else {}
        extract = "x" in cluster or "--extract" in long or "--get" in long or "-x" in opts
        create = any(c in cluster for c in "cruA") or any(o in opts for o in ("-c", "-r", "-u", "-A")) or \
            long & {"--create", "--append", "--update"}
        if create and opts.get("-f", opts.get("--file", "-")) != "-":
            fx.write(call, [(opts.get("-f") or opts.get("--file") or "", False)])
        if not extract:
            return
        dest = opts.get("-C") or opts.get("--directory") or "."
    elif name in ("unzip", "unrar", "7z", "7za", "7zz", "jar", "ar"):
        if name == "unzip" and flag(args, "lvtZ"):
            return
        if name in ("7z", "7za", "7zz", "jar", "unrar", "ar") and first.lstrip("-")[:1] not in ("x", "e"):
            return
        dest = next((a[2:] for a in args if a.startswith("-o") and len(a) > 2 and name.startswith("7")), None) or \
            (split_options(args, "dxP")[1].get("-d") if name == "unzip" else None) or "."
    else:  # cpio
        if not flag(args, "i", ("--extract",)):
            return
        dest = split_options(args, "DEFHIMORs", {"--directory"})[1].get("-D") or "."
    fx.write(call, [(dest, False)], f"`{name}` extracting into")
    fx.hide(call, f"`{name}` extracts an archive whose members the hook does not see")


def _download(call: Call, fx: Effects) -> None:
    args = call.args
    if call.name == "curl":
        operands, opts = split_options(args, "odXHdFuAeEKrTwxyzQbcDC", {"--output", "--output-dir", "--config",
                                                                            "--data", "--header", "--user"})
        out_dir = opts.get("--output-dir", "")
        outputs = [v for v in dict.fromkeys([*(v for _, v in _pairs(args, ("-o", "--output"))), opts.get("-o", "-")])
                   if v != "-"]
        if flag(args, "O", ("--remote-name", "--remote-name-all")):
            outputs += [os.path.basename(u.split("?")[0].rstrip("/")) or "index.html" for u in operands]
        if "-K" in opts or "--config" in opts:
            fx.hide(call, "`curl -K` reads its options from a file")
        fx.write(call, [(os.path.join(out_dir, o), False) for o in outputs], "`curl` downloading into")
    else:  # wget
        operands, opts = split_options(args, "OoaPeiUtTwQlAR", {"--output-document", "--directory-prefix",
                                                                "--output-file", "--input-file"})
        out = opts.get("-O") or opts.get("--output-document")
        prefix = opts.get("-P") or opts.get("--directory-prefix") or ""
        if flag(args, "rm", ("--recursive", "--mirror")):
            fx.write(call, [(prefix or ".", True)], "`wget -r` downloading into")
        elif out and out != "-":
            fx.write(call, [(out, False)], "`wget` downloading into")
        elif not out:
            fx.write(call, [(os.path.join(prefix, os.path.basename(u.split("?")[0].rstrip("/")) or "index.html"),
                             False) for u in operands], "`wget` downloading into")


def _pairs(args: list[str], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every (option, value) of a repeatable option (``-o a -o b``, ``--output=a``)."""
    out = []
    for k, a in enumerate(args):
        if a in names and k + 1 < len(args):
            out.append((a, args[k + 1]))
        elif a.startswith("--") and a.partition("=")[0] in names and "=" in a:
            out.append((a, a.partition("=")[2]))
    return out


RULES: dict[str, Callable[[Call, Effects], None]] = {
    **dict.fromkeys(ALL_ARGS, _all_args), **dict.fromkeys(COPIERS, _copies), **dict.fromkeys(EDITORS, _editor),
    **dict.fromkeys(("chmod", "chown", "chgrp"), _modes), **dict.fromkeys(ARCHIVERS, _archive),
    "sed": _sed, "dd": _dd, "sort": _sort, "patch": _patch, "find": _find, "curl": _download, "wget": _download,
}


def record_basic(call: Call, fx: Effects) -> bool:
    """Record what ``call`` writes into ``fx`` when it is one of the writers above; False when it is not."""
    name = call.name
    if name in FORMATTERS:
        _formatter(call, fx, *FORMATTERS[name], call.args)
    elif len(call.words) > 1 and (name, call.words[1]) in SUB_FORMATTERS:
        _formatter(call, fx, *SUB_FORMATTERS[(name, call.words[1])], call.args[1:])
    elif name in RULES:
        RULES[name](call, fx)
    else:
        return False
    return True
