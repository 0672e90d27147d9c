"""The Dockerfile that builds a Phase III app, and what its final stage runs (read, never built).

``find_dockerfile`` looks in the app's directories up to its project directory, above that only for a
Dockerfile named after the app (``Dockerfile.backend``) or when there is one app, else anywhere in the
workspace with the app's name in its path. ``parse_dockerfile`` returns the final stage's ENTRYPOINT and
CMD (following ``FROM <stage>`` to the stages it builds on), its ``ENV`` names, ``EXPOSE``d ports and
``WORKDIR``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path, PurePosixPath

from tools.workspace import PRUNE_DIRS

SKIP_DIRS = set(PRUNE_DIRS) | {".next", "dist", "build", "out", "coverage"}
DOCKERFILE = re.compile(r"(?:^|/)(?:Dockerfile(?:\.[\w.-]+)?|[\w.-]+\.Dockerfile)$", re.IGNORECASE)
PROJECT_MARKERS = ("package.json", "pyproject.toml", "requirements.txt", "setup.py", "Pipfile")


def parents_of(rel: str) -> list[str]:
    path = PurePosixPath(rel)
    return [p.as_posix() for p in [path, *path.parents]]


def project_dir(root: Path, app_root: str) -> str:
    """The nearest directory at or above ``app_root`` (below the workspace root) holding a project marker."""
    for parent in parents_of(app_root):
        if parent != "." and any((root / parent / m).is_file() for m in PROJECT_MARKERS):
            return parent
    return app_root


def _dockerfiles_in(root: Path, directory: str) -> list[str]:
    base = root / directory
    names = sorted(p.name for p in base.iterdir() if p.is_file() and DOCKERFILE.search(p.name)) if base.is_dir() else []
    return [PurePosixPath(directory, n).as_posix() for n in names]


def find_dockerfile(root: Path, app_root: str, name: str, single_app: bool) -> str | None:
    """The Dockerfile that builds the app: in its directories up to its project directory, above that only
    when named after the app (``Dockerfile.backend``) or when it is the only app; else anywhere in the
    workspace with the app's name in its path (``docker/backend/Dockerfile``)."""
    project = project_dir(root, app_root)
    within = True
    for directory in parents_of(app_root):
        found = _dockerfiles_in(root, directory)
        named = [f for f in found if name in PurePosixPath(f).name.lower()]
        plain = [f for f in found if PurePosixPath(f).name.lower() == "dockerfile"]
        if named:
            return named[0]
        if plain and (within or single_app):
            return plain[0]
        within = within and directory != project
    candidates = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS) if rel_dir.count("/") < 5 else []
        for filename in filenames:
            rel = filename if rel_dir == "." else f"{rel_dir}/{filename}"
            if DOCKERFILE.search(filename) and name in rel.lower():
                candidates.append(rel)
    return min(candidates, key=lambda c: (len(c), c)) if candidates else None


# --- Dockerfile ---------------------------------------------------------------------------------------

def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\[ \t]*\r?\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _command(args: str) -> list[str]:
    if args.startswith("["):
        try:
            parsed = json.loads(args)
            if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed):
                return parsed
        except json.JSONDecodeError:
            pass
    return ["sh", "-c", args]


def _env_names(args: str) -> set[str]:
    """Names set by ``ENV A=1 B=2`` or the legacy ``ENV A 1``."""
    parts = args.split()
    if not parts:
        return set()
    if "=" not in parts[0]:
        return {parts[0]}
    try:
        return {t.split("=", 1)[0] for t in shlex.split(args) if "=" in t}
    except ValueError:
        return set(re.findall(r"([A-Za-z_]\w*)=", args))


def parse_dockerfile(text: str) -> tuple[list[list[str]], set[str], set[int], str]:
    """(ENTRYPOINT and CMD of the final stage, ENV names, EXPOSEd ports, WORKDIR), following ``FROM <stage>``;
    a final stage on a web server image (nginx, httpd, caddy) without a command runs that server."""
    stages: list[tuple[str, str, list[tuple[str, str]]]] = []
    for keyword, args in _instructions(text):
        if keyword == "FROM":
            parts = args.split()
            parts = [p for p in parts if not p.startswith("--")]
            alias = parts[2].lower() if len(parts) > 2 and parts[1].lower() == "as" else ""
            stages.append((alias, parts[0].lower() if parts else "", []))
        elif stages:
            stages[-1][2].append((keyword, args))
    chain, seen = [], set()
    stage = stages[-1] if stages else None
    while stage and id(stage) not in seen:
        seen.add(id(stage))
        chain.insert(0, stage)
        stage = next((s for s in stages if s[0] and s[0] == stage[1]), None)
    entrypoint: list[str] = []
    cmd: list[str] = []
    env: set[str] = set()
    ports: set[int] = set()
    workdir = ""
    for _, _, instructions in chain:
        for keyword, args in instructions:
            if keyword == "ENTRYPOINT":
                entrypoint, cmd = _command(args), []
            elif keyword == "CMD":
                cmd = _command(args)
            elif keyword == "ENV":
                env |= _env_names(args)
            elif keyword == "EXPOSE":
                ports |= {int(p) for p in re.findall(r"\b(\d{2,5})(?:/tcp)?\b", args)}
            elif keyword == "WORKDIR":
                workdir = args.strip("\"'")
    commands = [c for c in (entrypoint, cmd) if c]
    base = chain[0][1] if chain else ""
    if not commands and re.match(r"^(?:[\w.-]+(?::\d+)?/)*(?:nginx|httpd|caddy)(?:[:@]|$)", base):
        commands = [[base.split("/")[-1].split(":")[0].split("@")[0]]]  # the web server image's own command
    return commands, env, ports, workdir
