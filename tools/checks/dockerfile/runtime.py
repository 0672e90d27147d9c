"""Dockerfile checks on what the final image runs: its command line, its HEALTHCHECK, its users."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.models import Category, Severity
from tools.checks.core import check
from tools.checks.dockerfile.parsing import (
    Instruction,
    base_image,
    commands,
    exec_args,
    family,
    flag,
    lineage,
    parse,
    program,
    run_scripts,
)

_SHELLS = {"sh", "bash", "ash", "dash", "zsh"}
_CODE_FLAGS = {"-c", "-e", "--eval", "-lc", "-ec", "-ce", "-xc", "--command", "-p", "--print"}
_NOT_LAUNCHERS = {"uvicorn", "gunicorn", "hypercorn", "daphne", "flask", "fastapi", "celery", "node", "npm", "npx",
                  "yarn", "pnpm", "next", "java", "nginx", "httpd", "php", "ruby", "rails", "bundle", "go", "deno",
                  "bun", "streamlit", "alembic", "manage.py", "django-admin", "serve", "caddy", "redis-server"}
"""Programs whose arguments are never a command they run: ``sh -c`` after one of them is not a shell."""
_PYTHON = re.compile(r"^python[0-9.]*$")
_VARIABLE = re.compile(r"\$(\{\w+[^}]*\}|[A-Za-z_]\w*)")


def _effective(final: list[Instruction]) -> list[tuple[Instruction, list[str]]]:
    """The exec-form ENTRYPOINT and CMD that are in effect in the final stage (a later ENTRYPOINT resets CMD)."""
    entry: tuple[Instruction, list[str]] | None = None
    cmd: tuple[Instruction, list[str]] | None = None
    for ins in final:
        if ins.keyword in ("ENTRYPOINT", "CMD"):
            argv = exec_args(ins.args)
            parsed = (ins, argv) if argv else None
            if ins.keyword == "ENTRYPOINT":
                entry, cmd = parsed, None
                if parsed is None:  # shell-form ENTRYPOINT: CMD is ignored, nothing to read
                    return []
            else:
                cmd = parsed
    return [part for part in (entry, cmd) if part]


def _argv_problems(argv: list[str]) -> Iterator[tuple[int, str]]:
    """``(index, problem)`` for the words of an exec-form command line that cannot run as written."""
    if not argv or not argv[0].strip():
        yield 0, "the command is empty"
        return
    name = argv[0].rsplit("/", 1)[-1]
    if " " in argv[0].strip():
        yield 0, (f"'{argv[0]}' is one JSON string: exec form runs a program of that name (spaces included), "
                  "so each word must be its own array element")
        return
    shell = name in _SHELLS
    launcher = not shell and name not in _NOT_LAUNCHERS and not _PYTHON.match(name)
    for i in range(1, len(argv)):
        word, previous = argv[i], argv[i - 1]
        if (word.rsplit("/", 1)[-1] in _SHELLS and i + 1 < len(argv) and argv[i + 1] in _CODE_FLAGS
                and not launcher and not (_PYTHON.match(name) and previous == "-m")):
            yield i, (f"'{word} {argv[i + 1]}' is an argument of {name}, not a shell: {name} receives "
                      f"'{word}' as its {'app' if name in ('uvicorn', 'gunicorn', 'hypercorn') else 'argument'}")
            return
        if shell or previous in _CODE_FLAGS:
            continue
        if re.search(r"(^|\s)--[A-Za-z][\w-]*(=\S+)?\s+\S|^-X\S+\s+-", word.strip()):
            yield i, f"'{word}' is a single argument: its words reach {name} as one (split it into elements)"
        elif _VARIABLE.search(word) and launcher is False:
            yield i, (f"'{word}' is passed literally: exec form does not expand variables (use "
                      f"`[\"sh\", \"-c\", \"exec {name} ...\"]` or a default in the program)")


@check(id="DOCKER-EXEC-ARGV", category=Category.scalability, severity=Severity.high, scope="dockerfile",
       title="Exec-form CMD/ENTRYPOINT that cannot run as written",
       description="An exec-form command line is run as-is, without a shell: a JSON string holding a whole "
                   "command (`[\"npm start\"]`) names a program that does not exist, `sh -c` after another "
                   "program (`[\"uvicorn\", \"sh\", \"-c\", ...]`) is just an argument of that program, several "
                   "flags in one string reach the program as one argument, and `$VAR` is not expanded. The "
                   "container exits at start (CrashLoopBackOff).",
       remediation='Give each word its own element (`CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]`); '
                   'to use a shell, make it the program: `CMD ["sh", "-c", "exec uvicorn app.main:app '
                   '--port ${PORT:-8000}"]`.')
def exec_argv(text: str, file: str) -> Iterator[tuple[int, str]]:
    final = lineage(text)
    if not final:
        return
    parts = _effective(final[-1])
    if not parts:
        return
    argv = [word for _, words in parts for word in words]
    bounds = []
    for ins, words in parts:
        bounds += [ins] * len(words)
    for index, problem in _argv_problems(argv):
        ins = bounds[index] if index < len(bounds) else parts[-1][0]
        yield ins.line, f"{ins.keyword}: {problem}"


# --- HEALTHCHECK -----------------------------------------------------------------------------------------

def _installs(chain: list[list[Instruction]], tool: str) -> bool:
    """Whether the lineage installs or copies in ``tool`` (apt-get/apk/yum/dnf/microdnf install, COPY of it)."""
    for stage in chain:
        for ins in stage:
            if ins.keyword in ("COPY", "ADD") and re.search(rf"(^|[/\s]){tool}(\s|$)", ins.args):
                return True
        for _, script in run_scripts(stage):
            for words in commands(script):
                _, argv = program(words)
                if len(argv) > 2 and argv[0].rsplit("/", 1)[-1] in ("apt-get", "apt", "apk", "yum", "dnf",
                                                                      "microdnf", "zypper") \
                        and any(w.split("=")[0] == tool for w in argv[2:]):
                    return True
    return False


@check(id="DOCKER-HEALTHCHECK-TOOL", category=Category.scalability, severity=Severity.medium,
       scope="dockerfile",
       title="HEALTHCHECK calls curl/wget that the image lacks",
       description="A HEALTHCHECK running `curl` or `wget` on a base image that does not ship it fails every "
                   "time: the container is reported unhealthy forever (Compose `service_healthy` dependants never "
                   "start, Swarm restarts it). `python:*-slim`, `node:*-slim`, Debian and Ubuntu have neither, "
                   "Alpine images have busybox `wget` only, distroless and scratch have no shell or client at all.",
       remediation="Probe with the runtime the image has (`CMD python -c \"import urllib.request; "
                   "urllib.request.urlopen('http://127.0.0.1:8000/health')\"`, `CMD node -e \"fetch(...)\"`, or "
                   "busybox `wget -qO-` on Alpine), or install the client in the final stage.")
def healthcheck_tool(text: str, file: str) -> Iterator[tuple[int, str]]:
    chain = lineage(text)
    fam = family(base_image(chain))
    if fam is None or fam.clients is None:
        return
    for ins in chain[-1]:
        if ins.keyword != "HEALTHCHECK" or not re.search(r"(^|\s)CMD(\s|$)", ins.args, re.IGNORECASE):
            continue
        command = re.split(r"(?:^|\s)CMD\s", ins.args, maxsplit=1, flags=re.IGNORECASE)[-1]
        words = exec_args(command) or command.split()
        for tool in ("curl", "wget"):
            if any(w.rsplit("/", 1)[-1] == tool for w in words) and tool not in fam.clients \
                    and not _installs(chain, tool):
                yield ins.line, f"HEALTHCHECK runs {tool}, which {base_image(chain)} ({fam.name}) does not ship"
                break


# --- users and groups ------------------------------------------------------------------------------------

_CREATES = re.compile(r"^(useradd|adduser|groupadd|addgroup)$")


def _known_names(chain: list[list[Instruction]], upto: Instruction) -> set[str] | None:
    """Users and groups that exist before ``upto``: the family's and every word of a useradd/adduser/groupadd/
    addgroup (an over-approximation: option values count too). None when they cannot be known (unknown base,
    /etc/passwd written or copied in, a variable in a RUN that creates users)."""
    fam = family(base_image(chain))
    if fam is None:
        return None
    names = set(fam.users)
    for stage in chain:
        for ins in stage:
            if ins is upto:
                return names
            if ins.keyword in ("COPY", "ADD") and re.search(r"/etc/(passwd|group)\b|(^|\s)/etc/?(\s|$)", ins.args):
                return None
            if ins.keyword != "RUN":
                continue
            if re.search(r"/etc/(passwd|group)\b", ins.args):
                return None
            for words in commands(next(script for _, script in run_scripts([ins]))):
                _, argv = program(words)
                if argv and (argv[0].endswith(".sh") or argv[0].startswith("./")
                             or (argv[0].rsplit("/", 1)[-1] in _SHELLS and argv[1:2] != ["-c"] and argv[1:])):
                    return None  # a script may create users we cannot see
                if argv and _CREATES.match(argv[0].rsplit("/", 1)[-1]):
                    if any("$" in w for w in argv):
                        return None
                    names |= {w.split("=", 1)[-1] for w in argv[1:]}
    return names


def _wanted(spec: str) -> list[str]:
    """The user and group names of ``user[:group]`` that must exist (numeric ids and variables need not)."""
    return [p for p in spec.strip("\"'").split(":") if p and not p.isdigit() and "$" not in p]


@check(id="DOCKER-UNKNOWN-USER", category=Category.scalability, severity=Severity.high, scope="dockerfile",
       title="USER or COPY --chown names a user or group that does not exist",
       description="`COPY --chown=app:app` fails the build (`unable to convert uid/gid chown string to host "
                   "mapping`) and `USER app` fails the container at start (`unable to find user app`) when no "
                   "earlier instruction creates that user or group and the base image does not ship it (node "
                   "images have `node`, distroless has `nonroot`).",
       remediation="Create it first in the same stage (`RUN groupadd --system --gid 10001 app && useradd --system "
                   "--uid 10001 --gid app app`, or `addgroup -S app && adduser -S -G app app` on Alpine), or use "
                   "numeric ids (`USER 10001:10001`, `COPY --chown=10001:10001`).")
def unknown_user(text: str, file: str) -> Iterator[tuple[int, str]]:
    count = sum(1 for ins in parse(text) if ins.keyword == "FROM")
    for index in range(count):
        chain = lineage(text, index)
        for ins in chain[-1] if chain else []:
            if ins.keyword == "USER":
                wanted = _wanted(ins.args.split()[0]) if ins.args.split() else []
            elif ins.keyword in ("COPY", "ADD") and flag(ins.args, "chown"):
                wanted = _wanted(flag(ins.args, "chown") or "")
            else:
                continue
            if not wanted:
                continue
            known = _known_names(chain, ins)
            if known is None:
                break
            for name in wanted:
                if name not in known:
                    what = "--chown" if ins.keyword != "USER" else "USER"
                    yield ins.line, f"{what} names '{name}', which no earlier instruction creates and " \
                                    f"{base_image(chain)} does not have"
