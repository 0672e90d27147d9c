"""Dockerfile checks for reproducible, least-privilege builds: hadolint's security and reproducibility rules
(their DL ids are the peers' aliases) and BuildKit's legacy ``ENV key value`` warning."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.models import Category, Severity
from tools.checks.core import check
from tools.checks.dockerfile.parsing import Instruction, commands, parse, program, run_scripts, sources, stages

_ARCHIVE = re.compile(r"\.(tar(\.(gz|bz2|xz|zst))?|tgz|tbz2?|txz)$", re.IGNORECASE)
_PIP_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
                      "--extra-index-url", "-f", "--find-links", "--target", "-t", "--prefix", "--root",
                      "--trusted-host", "--platform", "--python-version", "--only-binary", "--no-binary"}


def _runs(text: str) -> Iterator[tuple[Instruction, list[str]]]:
    """Every simple command of every RUN, ``sudo``/``env``/assignments dropped."""
    for stage in stages(text):
        for ins, script in run_scripts(stage):
            for words in commands(script):
                argv = program(words)[1]
                if argv:
                    yield ins, argv


def _packages(argv: list[str]) -> tuple[str, list[str]] | None:
    """``(manager, package words)`` of an install command (apt-get/apt install, apk add, pip install, npm
    install of named packages), options and their values dropped."""
    name = argv[0].rsplit("/", 1)[-1]
    words = argv[1:]
    if name in ("pip", "pip3") or (re.match(r"^python[0-9.]*$", name) and words[:2] == ["-m", "pip"]):
        words = words[2:] if words[:1] == ["-m"] else words
        if words[:1] != ["install"]:
            return None
        out, skip = [], False
        for word in words[1:]:
            if skip:
                skip = False
            elif word in _PIP_VALUE_OPTIONS:
                skip = True
            elif not word.startswith("-"):
                out.append(word)
        return "pip", [w for w in out if not re.search(r"[/\\]|^\.|\.(whl|tar\.gz|zip)$", w)]
    if name in ("apt-get", "apt") and "install" in words:
        return "apt", [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    if name == "apk" and "add" in words:
        rest, out, skip = words[words.index("add") + 1:], [], False
        for word in rest:
            if skip:
                skip = False
            elif word in ("-t", "--virtual", "-X", "--repository"):
                skip = True
            elif not word.startswith("-"):
                out.append(word)
        return "apk", out
    if name == "npm" and words[:1] in (["install"], ["i"], ["add"]):
        return "npm", [w for w in words[1:] if not w.startswith("-")]
    return None


def _pinned(manager: str, package: str) -> bool:
    if "$" in package:
        return True
    if manager == "pip":
        return bool(re.search(r"(==|~=|===|@)", package)) or package.endswith(".txt")
    if manager == "npm":
        return bool(re.match(r"^@?[^@]+@\S+$", package)) or bool(re.match(r"^(\.|/|git\+|https?:|file:)", package))
    if manager == "apk":
        return "=" in package or package.startswith(".")
    return "=" in package or package.endswith(".deb")


@check(id="DOCKER-PKG-UNPINNED", category=Category.security, severity=Severity.low, scope="dockerfile",
       title="Package installed without a version",
       description="`apt-get install curl`, `apk add curl`, `pip install flask`, `npm install -g pm2` install "
                   "whatever version the index serves at build time: two builds of one commit can differ, and a "
                   "compromised or breaking release goes in unnoticed.",
       remediation="Pin versions (`apt-get install curl=7.88.1-10+deb12u8`, `apk add curl=8.11.1-r0`, "
                   "`pip install flask==3.1.0`, `npm install -g pm2@5.4.3`), or install from a lock file "
                   "(`pip install -r requirements.txt` with hashes, `npm ci`).",
       peers={"hadolint": "DL3008,DL3013,DL3016,DL3018"})
def pkg_unpinned(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins, argv in _runs(text):
        found = _packages(argv)
        if found:
            manager, packages = found
            loose = [p for p in packages if not _pinned(manager, p)]
            if loose:
                yield ins.line, f"{manager} installs {', '.join(loose[:5])} without a pinned version"


@check(id="DOCKER-APT-RECOMMENDS", category=Category.scalability, severity=Severity.low, scope="dockerfile",
       title="apt-get install without --no-install-recommends",
       description="apt-get installs recommended packages too: a larger image and more packages to patch.",
       remediation="`apt-get install -y --no-install-recommends <packages>`.",
       peers={"hadolint": "DL3015"})
def apt_recommends(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins, argv in _runs(text):
        if argv[0].rsplit("/", 1)[-1] == "apt-get" and "install" in argv \
                and not any(w in ("--no-install-recommends", "-o") or "Install-Recommends" in w for w in argv):
            yield ins.line, "apt-get install without --no-install-recommends"


@check(id="DOCKER-ADD-LOCAL", category=Category.security, severity=Severity.low, scope="dockerfile",
       title="ADD used to copy local files",
       description="ADD of a local file or directory behaves like COPY but also unpacks archives and fetches "
                   "URLs; COPY says what it does and nothing more.",
       remediation="Use `COPY` for files and directories (keep `ADD` for a local tar archive to unpack).",
       peers={"hadolint": "DL3020", "checkov": "CKV_DOCKER_4"})
def add_local(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins in parse(text):
        if ins.keyword == "ADD":
            local = [s for s in sources(ins.args)
                     if not re.match(r"^(https?|git)://|^git@", s, re.IGNORECASE) and not _ARCHIVE.search(s)]
            if local:
                yield ins.line, f"ADD copies {', '.join(local)}: use COPY"


def _leading_sudo(words: list[str]) -> bool:
    rest = list(words)
    while rest and (rest[0] in ("then", "else", "do", "{", "(", "!", "time") or re.match(r"^[A-Za-z_]\w*=", rest[0])):
        rest.pop(0)
    return bool(rest) and rest[0].rsplit("/", 1)[-1] == "sudo"


@check(id="DOCKER-SUDO", category=Category.security, severity=Severity.medium, scope="dockerfile",
       title="sudo in a RUN",
       description="RUN runs as the current USER; `sudo` means the image ships sudo and a user allowed to use "
                   "it, so anything running in the container can become root.",
       remediation="Run the privileged steps before `USER` (as root), then switch to the non-root user; do not "
                   "install sudo.",
       peers={"hadolint": "DL3004"})
def sudo(text: str, file: str) -> Iterator[tuple[int, str]]:
    for stage in stages(text):
        for ins, script in run_scripts(stage):
            if any(_leading_sudo(words) for words in commands(script)):
                yield ins.line, "RUN uses sudo"


def _pipefail_shell(stage: list[Instruction], before: int) -> bool:
    return any(ins.keyword == "SHELL" and ins.line < before and "pipefail" in ins.args for ins in stage)


@check(id="DOCKER-PIPEFAIL", category=Category.scalability, severity=Severity.low, scope="dockerfile",
       title="RUN with a pipe but no pipefail",
       description="`RUN curl ... | sh` succeeds when the last command of the pipe does, even if the download "
                   "failed: the build goes on with a broken or empty step.",
       remediation='Add `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before the RUN (on Alpine: '
                   '`["/bin/ash", "-eo", "pipefail", "-c"]`), or start the RUN with `set -o pipefail &&`.',
       peers={"hadolint": "DL4006"})
def pipefail(text: str, file: str) -> Iterator[tuple[int, str]]:
    for stage in stages(text):
        for ins, script in run_scripts(stage):
            if re.search(r"(?<![|>])\|(?![|&])", re.sub(r"'[^']*'|\"[^\"]*\"", "", script)) \
                    and "pipefail" not in script and not _pipefail_shell(stage, ins.line) \
                    and not ins.args.startswith("["):
                yield ins.line, "RUN pipes without `set -o pipefail`: a failing command before the pipe is missed"


@check(id="DOCKER-WORKDIR-RELATIVE", category=Category.scalability, severity=Severity.low, scope="dockerfile",
       title="Relative WORKDIR",
       description="A relative WORKDIR is resolved against the previous one (or the base image's): the directory "
                   "the next instructions use depends on what came before.",
       remediation="Use an absolute path: `WORKDIR /app`.",
       peers={"hadolint": "DL3000"})
def workdir_relative(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins in parse(text):
        path = ins.args.strip("\"'")
        if ins.keyword == "WORKDIR" and path and not path.startswith(("/", "$")) \
                and not re.match(r"^[A-Za-z]:[\\/]", path):
            yield ins.line, f"WORKDIR {path} is relative"


@check(id="DOCKER-RUN-CD", category=Category.scalability, severity=Severity.low, scope="dockerfile",
       title="cd in a RUN instead of WORKDIR",
       description="`RUN cd /app && ...` changes directory for that RUN only; later instructions run elsewhere, "
                   "which is easy to misread.",
       remediation="Use `WORKDIR /app` before the RUN.",
       peers={"hadolint": "DL3003"}, default_enabled=False)
def run_cd(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins, argv in _runs(text):
        if argv[0] == "cd":
            yield ins.line, f"RUN uses `cd {' '.join(argv[1:2])}`: use WORKDIR"


@check(id="DOCKER-ENV-LEGACY", category=Category.scalability, severity=Severity.low, scope="dockerfile",
       title="Legacy `ENV key value` form",
       description="`ENV KEY value` is the deprecated form (BuildKit warns `LegacyKeyValueFormat`): it sets one "
                   "variable to the rest of the line, spaces included, so `ENV A 1 B 2` sets A to `1 B 2`.",
       remediation="Use `ENV KEY=value` (several per instruction: `ENV A=1 B=2`).")
def env_legacy(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins in parse(text):
        if ins.keyword == "ENV" and ins.args and "=" not in ins.args.split()[0]:
            yield ins.line, f"ENV {ins.args.split()[0]} uses the legacy `ENV key value` form"
