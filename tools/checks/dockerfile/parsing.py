"""Reading a Dockerfile: instructions (continuations joined, comments dropped), stages, exec-form commands,
``COPY`` sources, RUN commands split into simple commands, and what a base image family ships.

A finding points at the first line of its instruction. Only the final stage (and the stages it is built
``FROM``) matters for what runs; every stage matters for what is built.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import NamedTuple

Reader = Callable[[str], "str | None"]
"""Reads a workspace-relative path (``app/package.json``) at the reviewed head: its text, or None."""

_CONTINUATION = re.compile(r"\\\s*$")
_SEPARATOR = re.compile(r"&&|\|\||;|(?<!\|)\|(?!\|)|\n")


class Instruction(NamedTuple):
    """One logical Dockerfile instruction: its first line, upper-case keyword and joined arguments."""

    line: int
    keyword: str
    args: str


@lru_cache(maxsize=64)
def parse(text: str) -> tuple[Instruction, ...]:
    """The instructions of a Dockerfile, continuation lines joined, comments and blank lines skipped."""
    out: list[Instruction] = []
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if parts and stripped.startswith("#"):
            continue
        if not parts:
            start = number
        continued = bool(_CONTINUATION.search(raw))
        parts.append(_CONTINUATION.sub("", raw).strip() if continued else stripped)
        if not continued:
            keyword, _, args = " ".join(p for p in parts if p).partition(" ")
            out.append(Instruction(start, keyword.upper(), args.strip()))
            parts = []
    if parts:
        keyword, _, args = " ".join(p for p in parts if p).partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return tuple(out)


def stages(text: str) -> list[list[Instruction]]:
    """Instructions grouped by build stage (each starts with its ``FROM``)."""
    out: list[list[Instruction]] = []
    for ins in parse(text):
        if ins.keyword == "FROM" or not out:
            out.append([])
        out[-1].append(ins)
    return out


def without_flags(args: str) -> list[str]:
    return [word for word in args.split() if not word.startswith("--")]


def flag(args: str, name: str) -> str | None:
    """The value of ``--name=value`` among an instruction's leading flags."""
    match = re.search(rf"(?:^|\s)--{name}=(\S+)", args)
    return match.group(1).strip("\"'") if match else None


def from_image(args: str) -> tuple[str, str | None]:
    """The image of a ``FROM`` and its stage name (``AS name``), flags such as ``--platform`` dropped."""
    words = without_flags(args)
    image = words[0] if words else ""
    name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    return image, name


def unpinned(image: str) -> bool:
    """True when ``image`` has no tag or the ``latest`` tag and no digest."""
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.rsplit(":", 1)[1] == "latest"


def exec_args(args: str) -> list[str] | None:
    """The argv of an exec-form (JSON array of strings) CMD/ENTRYPOINT/RUN, else None (shell form)."""
    try:
        parsed = json.loads(args)
    except ValueError:
        return None
    return [str(a) for a in parsed] if isinstance(parsed, list) else None


def exec_form(args: str) -> bool:
    return exec_args(args) is not None


def sources(args: str) -> list[str]:
    """The source paths of a ``COPY``/``ADD`` (flags and the destination dropped; JSON form understood)."""
    words = exec_args(args) or without_flags(args)
    return [str(w) for w in words[:-1]]


def lineage(text: str, index: int = -1) -> list[list[Instruction]]:
    """Stage ``index`` (default: the final one) and the named stages it is built ``FROM``, oldest first."""
    all_stages = [s for s in stages(text) if s and s[0].keyword == "FROM"]
    if not all_stages:
        return []
    named = {}
    for stage in all_stages:
        name = from_image(stage[0].args)[1]
        if name:
            named.setdefault(name.lower(), stage)
    chain: list[list[Instruction]] = []
    stage: list[Instruction] | None = all_stages[index]
    while stage is not None and all(stage is not s for s in chain):
        chain.insert(0, stage)
        stage = named.get(from_image(stage[0].args)[0].lower())
    return chain


def base_image(chain: list[list[Instruction]]) -> str:
    """The external image a stage lineage starts from (lower case, ``""`` when unknown)."""
    return from_image(chain[0][0].args)[0].lower() if chain else ""


def commands(script: str) -> Iterator[list[str]]:
    """The simple commands of a shell-form RUN (split at ``&&``, ``||``, ``;``, ``|``), as words; leading
    ``VAR=value`` assignments are kept (see :func:`env_prefix`)."""
    for part in _SEPARATOR.split(script):
        try:
            words = shlex.split(part, comments=False)
        except ValueError:
            words = part.split()
        if words:
            yield words


def program(words: list[str]) -> tuple[list[str], list[str]]:
    """``(assignments, argv)`` of a simple command: leading ``NAME=value`` words, ``sudo``/``env``/``exec`` and
    shell keywords (``then``, ``else``, ``do``, ``{``, ``(``) dropped."""
    assigned: list[str] = []
    rest = list(words)
    while rest and (re.match(r"^[A-Za-z_]\w*=", rest[0])
                    or rest[0] in ("sudo", "env", "exec", "then", "else", "do", "{", "(", "!", "time")):
        if "=" in rest[0]:
            assigned.append(rest[0])
        rest.pop(0)
    return assigned, rest


def run_scripts(stage: list[Instruction]) -> Iterator[tuple[Instruction, str]]:
    """Each RUN of a stage with its shell script (an exec-form RUN's argv joined; ``--mount`` flags dropped)."""
    for ins in stage:
        if ins.keyword == "RUN":
            argv = exec_args(ins.args)
            script = " ".join(argv) if argv else re.sub(r"^(?:--\S+\s+)*", "", ins.args)
            yield ins, script


def assignments(ins: Instruction) -> Iterator[tuple[str, str | None]]:
    """``(name, value)`` pairs of an ``ENV``/``ARG`` (value None for an ``ARG`` without a default)."""
    args = ins.args
    if ins.keyword == "ENV" and "=" not in args.split(" ")[0]:
        name, _, value = args.partition(" ")
        yield name, value.strip()
        return
    for word in re.findall(r'(?:[^\s"\']+|"[^"]*"|\'[^\']*\')+', args):
        name, sep, value = word.partition("=")
        yield name, value.strip("\"'") if sep else None


# --- base image families -------------------------------------------------------------------------------

class Family(NamedTuple):
    """What a base image family ships: the HTTP clients on its PATH and the users/groups in /etc/passwd."""

    name: str
    clients: frozenset[str] | None
    """None: unknown (an application image such as ``nginx:alpine`` may add its own, curl included)."""
    users: frozenset[str]


_SYSTEM_USERS = frozenset({"root", "nobody", "nogroup", "daemon", "bin", "sys", "adm", "games", "mail", "man",
                           "operator", "users", "staff", "www-data", "proxy", "backup", "list", "irc", "news",
                           "uucp", "lp", "tty", "disk", "wheel", "guest", "ftp", "squid", "xfs", "postgres",
                           "ping", "utmp", "kmem", "dialout", "audio", "video", "shadow", "_apt", "sync",
                           "halt", "shutdown", "cron", "at", "smmsp", "ntp", "abuild"})


def _repository(image: str) -> str:
    """``python`` for ``docker.io/library/python:3.12-slim@sha256:...``; the last path part, no tag/digest."""
    return image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]


def _tag(image: str) -> str:
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def family(image: str) -> Family | None:
    """The family of ``image`` when it is one whose contents are known (None: unknown, check nothing)."""
    image = image.lower()
    repo, tag = _repository(image), _tag(image)
    extra = {"node": {"node"}, "nginx": {"nginx"}, "httpd": set(), "redis": {"redis"},
             "postgres": {"postgres"}}.get(repo, set())
    if "distroless" in image or image.startswith("cgr.dev/chainguard/"):
        return Family("distroless", frozenset(), frozenset({"root", "nonroot", "nobody"}))
    if image == "scratch":
        return Family("scratch", frozenset(), frozenset({"root"}))
    if repo == "alpine" or "alpine" in tag:
        clients = frozenset({"wget"}) if repo in ("alpine", "node", "python") else None
        return Family("alpine", clients, _SYSTEM_USERS | extra)
    if repo in ("python", "node") and "slim" in tag:
        return Family(f"{repo} slim", frozenset(), _SYSTEM_USERS | extra)
    if repo in ("debian", "ubuntu"):
        return Family(repo, frozenset(), _SYSTEM_USERS | ({"ubuntu"} if repo == "ubuntu" else set()))
    if repo in ("python", "node") and tag and not any(v in tag for v in ("windows", "nanoserver")):
        return Family(repo, frozenset({"curl", "wget"}), _SYSTEM_USERS | extra)
    return None


def version_of(image: str) -> tuple[int, ...] | None:
    """The version an image tag names (``node:20.9-alpine`` → (20, 9)); None for ``lts``, ``latest``, none."""
    match = re.match(r"^(\d+(?:\.\d+)*)", _tag(image))
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def repository(image: str) -> str:
    return _repository(image.lower())
