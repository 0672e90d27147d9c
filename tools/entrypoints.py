"""What the container of a Phase III app runs: the Dockerfile's CMD/ENTRYPOINT, else the package entry points.

Only code the container runs belongs to the runtime contract: ``uvicorn src.main:app`` means
``src/main.py`` and what it imports, ``npm start`` means ``package.json``'s ``scripts.start``, ``next start``
(or a Next.js standalone ``node server.js``) means the app's pages and route handlers. A dev script
(``scripts/check-users.mjs``), tests, or ``alembic/env.py`` (unless the command runs ``alembic upgrade``) is
not the app. Nothing is executed: commands are tokenised and interpreted.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.errors import InputError
from tools.dockerimage import find_dockerfile, parents_of, parse_dockerfile, project_dir
from tools.workspace import read_text

ASGI_SERVERS = {"uvicorn": 8000, "gunicorn": 8000, "hypercorn": 8000, "daphne": 8000, "granian": 8000}
WRAPPERS = {"exec", "env", "dumb-init", "tini", "--", "npx", "opentelemetry-instrument", "ddtrace-run", "nice"}
RUNNERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"), ("rye", "run"),
           ("newrelic-admin", "run-program")}
FLAGS = {"--reload", "--proxy-headers", "--factory", "--no-access-log", "--preload", "--use-colors", "-u", "-B",
         "-O", "--no-server-header", "--http2", "--turbo", "--turbopack", "--inspect", "--enable-source-maps"}
_APP_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(?:\(.*\))?$")
_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".mjs", ".cjs", ".jsx")
MAX_DEPTH = 6
STATIC_SERVERS = {"nginx", "httpd", "httpd-foreground", "caddy", "serve", "http-server", "lighttpd"}


@dataclass
class Entry:
    """How the app is started, as far as the sources tell."""

    project: str
    dockerfile: str | None = None
    commands: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Entry source files (workspace-relative)."""
    py_roots: list[str] = field(default_factory=list)
    """Directories Python imports resolve against (``sys.path``)."""
    next_app: bool = False
    ports: set[int] = field(default_factory=set)
    baked_env: set[str] = field(default_factory=set)
    static: bool = False
    """The container only serves files (nginx, serve...): no app code runs in it."""

    @property
    def known(self) -> bool:
        return bool(self.files) or self.next_app or self.static


def read(root: Path, rel: str) -> str | None:
    """The text of ``rel`` inside the workspace, or None (missing, unreadable, outside)."""
    try:
        return read_text(root, rel)[0] if (root / rel).is_file() else None
    except InputError:
        return None


# --- interpreting commands -----------------------------------------------------------------------------

@dataclass
class _Context:
    root: Path
    bases: list[str]
    entry: Entry
    workdir: str = ""
    depth: int = 0


def _find(ctx: _Context, candidates: list[str]) -> str | None:
    for base in ctx.bases:
        for candidate in candidates:
            rel = PurePosixPath(base, candidate).as_posix() if base not in (".", "") else candidate
            if (ctx.root / rel).is_file():
                return PurePosixPath(rel).as_posix()
    return None


def _container_path(ctx: _Context, path: str) -> list[str]:
    """Workspace-relative spellings to try for a path in the image (absolute under WORKDIR, ``./x``)."""
    path = path.removeprefix("./")
    if path.startswith("/"):
        workdir = ctx.workdir.rstrip("/") + "/"
        path = path[len(workdir):] if ctx.workdir and path.startswith(workdir) else path.lstrip("/")
        parts = path.split("/")
        return ["/".join(parts[i:]) for i in range(len(parts))]
    return [path]


def _add_module(ctx: _Context, module: str, app_dir: str = "") -> bool:
    module = module.split(":")[0]
    stem = module.replace(".", "/")
    rel = _find(ctx, [PurePosixPath(app_dir, f"{stem}.py").as_posix() if app_dir else f"{stem}.py",
                      PurePosixPath(app_dir, stem, "__init__.py").as_posix() if app_dir else f"{stem}/__init__.py"])
    if rel is None:
        return False
    depth = len(PurePosixPath(stem).parts) - (1 if rel.endswith(f"{stem}.py") else 0)
    root_dir = PurePosixPath(rel).parents[depth].as_posix()
    ctx.entry.files.append(rel)
    ctx.entry.py_roots.append(root_dir)
    return True


def _add_file(ctx: _Context, path: str) -> bool:
    spellings = _container_path(ctx, path)
    mapped = []
    for spelling in spellings:
        stem, suffix = (spelling.rsplit(".", 1) + [""])[:2]
        mapped.append(spelling)
        if suffix in ("js", "mjs", "cjs"):
            for built in ("dist/", "build/", "out/", "lib/"):
                if stem.startswith(built):
                    mapped += [f"src/{stem[len(built):]}{ext}" for ext in _JS_EXTENSIONS]
    rel = _find(ctx, mapped)
    if rel is None:
        return False
    ctx.entry.files.append(rel)
    if rel.endswith(".py"):
        ctx.entry.py_roots.append(PurePosixPath(rel).parent.as_posix())
    return True


def _package_json(ctx: _Context) -> dict:
    rel = _find(ctx, ["package.json"])
    try:
        data = json.loads(read(ctx.root, rel) or "{}") if rel else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _uses_next(ctx: _Context) -> bool:
    pkg = _package_json(ctx)
    return any(isinstance(pkg.get(k), dict) and "next" in pkg[k] for k in ("dependencies", "devDependencies"))


def _pyproject_scripts(ctx: _Context) -> dict[str, str]:
    rel = _find(ctx, ["pyproject.toml"])
    try:
        data = tomllib.loads(read(ctx.root, rel) or "") if rel else {}
    except tomllib.TOMLDecodeError:
        return {}
    scripts = {**data.get("project", {}).get("scripts", {}), **data.get("tool", {}).get("poetry", {}).get("scripts", {})}
    return {k: v for k, v in scripts.items() if isinstance(v, str)}


def _port_options(ctx: _Context, args: list[str], default: int | None) -> None:
    given = False
    for i, arg in enumerate(args):
        value = arg.split("=", 1)[1] if "=" in arg else (args[i + 1] if i + 1 < len(args) else "")
        if arg.split("=")[0] in ("--port", "-p", "--bind", "-b"):
            given = True
            match = re.search(r"(\d{2,5})\}?$", value)  # 8000, 0.0.0.0:8000, ${PORT:-8000}
            if match:
                ctx.entry.ports.add(int(match.group(1)))
    if not given and default:
        ctx.entry.ports.add(default)


def _positionals(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = "=" not in arg and arg not in FLAGS
        else:
            out.append(arg)
    return out


def _split_shell(text: str) -> list[list[str]]:
    """Commands of a shell script or ``sh -c`` string, split on ``&&``, ``||``, ``;``, ``|``, ``&`` and lines."""
    out: list[list[str]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        command: list[str] = []
        for token in tokens:
            if token and set(token) <= set(";&|"):
                out += [command] if command else []
                command = []
            else:
                command.append(token)
        out += [command] if command else []
    return out


def interpret(ctx: _Context, tokens: list[str]) -> None:
    """Record the entry files, ports and mode that ``tokens`` (one command) starts."""
    if ctx.depth > MAX_DEPTH or not tokens:
        return
    while tokens and (re.fullmatch(r"[A-Za-z_]\w*=.*", tokens[0]) or PurePosixPath(tokens[0]).name in WRAPPERS):
        tokens = tokens[1:]
    if len(tokens) > 1 and (PurePosixPath(tokens[0]).name, tokens[1]) in RUNNERS:
        tokens = tokens[2:]
    if not tokens:
        return
    ctx.depth += 1
    try:
        _interpret(ctx, PurePosixPath(tokens[0]).name, tokens[1:], tokens)
    finally:
        ctx.depth -= 1


def _interpret(ctx: _Context, prog: str, args: list[str], tokens: list[str]) -> None:  # noqa: C901
    entry = ctx.entry
    if prog in ("sh", "bash", "ash", "dash") and "-c" in args:
        script = args[args.index("-c") + 1] if args.index("-c") + 1 < len(args) else ""
        for command in _split_shell(script):
            interpret(ctx, command)
    elif prog.endswith(".sh") or (prog in ("sh", "bash") and args and args[0].endswith(".sh")):
        script = _find(ctx, _container_path(ctx, tokens[0] if prog.endswith(".sh") else args[0]))
        for command in _split_shell(read(ctx.root, script) or "") if script else []:
            if command[0] not in ("set", "echo", "cd", "export", "if", "fi", "then", "else", "[", "test", "wait"):
                interpret(ctx, command)
    elif prog in ASGI_SERVERS:
        positionals = _positionals(args)
        spec = next((a for a in positionals if _APP_SPEC.match(a)), positionals[0] if positionals else None)
        app_dir = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--app-dir"), "")
        if spec and _add_module(ctx, spec, app_dir):
            entry.commands.append(" ".join(tokens))
        _port_options(ctx, args, ASGI_SERVERS[prog])
    elif re.fullmatch(r"python[\d.]*", prog):
        if "-m" in args and args.index("-m") + 1 < len(args):
            module, rest = args[args.index("-m") + 1], args[args.index("-m") + 2:]
            if module in ASGI_SERVERS or module in ("flask", "fastapi", "streamlit", "alembic"):
                interpret(ctx, [module, *rest])
            elif _add_module(ctx, module + ".__main__") or _add_module(ctx, module):
                entry.commands.append(" ".join(tokens))
        elif (files := [a for a in _positionals(args) if a.endswith(".py")]) and _add_file(ctx, files[0]):
            entry.commands.append(" ".join(tokens))
    elif prog == "fastapi" and args and args[0] in ("run", "dev"):
        files = _positionals(args[1:])
        if any(_add_file(ctx, f) for f in (files[:1] or ["main.py", "app.py", "api.py", "app/main.py", "app/app.py"])):
            entry.commands.append(" ".join(tokens))
        _port_options(ctx, args, 8000)
    elif prog == "streamlit" and len(args) > 1 and args[0] == "run":
        if _add_file(ctx, args[1]):
            entry.commands.append(" ".join(tokens))
        _port_options(ctx, args, 8501)
    elif prog == "alembic" and "upgrade" in args:
        ini = _find(ctx, ["alembic.ini"])
        location = re.search(r"^script_location\s*=\s*(\S+)", read(ctx.root, ini) or "", re.M) if ini else None
        loc = (location.group(1) if location else "alembic").replace("%(here)s/", "")
        if _add_file(ctx, f"{loc}/env.py") or _add_file(ctx, "migrations/env.py"):
            entry.commands.append(" ".join(tokens))
    elif prog in STATIC_SERVERS or (prog in ("npx", "serve") and args and args[0] in STATIC_SERVERS):
        entry.static = True
        entry.commands.append(" ".join(tokens))
    elif prog == "next" and args and args[0] in ("start", "dev"):
        entry.next_app = True
        entry.commands.append(" ".join(tokens))
        _port_options(ctx, args, 3000)
    elif prog in ("node", "nodejs", "ts-node", "tsx", "bun", "deno", "nodemon", "node-dev"):
        files = [a for a in _positionals(args) if a not in ("run", "start")]
        if files and _add_file(ctx, files[0]):
            entry.commands.append(" ".join(tokens))
        elif files and PurePosixPath(files[0]).name == "server.js" and _uses_next(ctx):
            entry.next_app = True  # Next.js standalone output: server.js is generated by `next build`
            entry.commands.append(" ".join(tokens))
            entry.ports.add(3000)
    elif prog in ("npm", "yarn", "pnpm", "bun"):
        script = next((a for a in args if a not in ("run", "run-script", "--silent", "-s")), None)
        body = (_package_json(ctx).get("scripts") or {}).get(script or "")
        if isinstance(body, str):
            for command in _split_shell(body):
                interpret(ctx, command)
        elif script == "start":
            interpret(ctx, ["node", "server.js"])
    elif prog in (scripts := _pyproject_scripts(ctx)):
        if _add_module(ctx, scripts[prog]):
            entry.commands.append(" ".join(tokens))


def find_entry(root: Path, app_root: str, name: str, single_app: bool) -> Entry:
    """How the container of the app under ``app_root`` starts (``Entry.known`` False when nothing says)."""
    project = project_dir(root, app_root)
    entry = Entry(project=project)
    dockerfile = find_dockerfile(root, app_root, name, single_app)
    bases = list(dict.fromkeys([project, app_root, *(parents_of(dockerfile)[1:2] if dockerfile else []),
                                *parents_of(app_root)[1:]]))
    ctx = _Context(root=root, bases=bases, entry=entry)
    if dockerfile:
        entry.dockerfile = dockerfile
        commands, entry.baked_env, exposed, ctx.workdir = parse_dockerfile(read(root, dockerfile) or "")
        for command in commands:
            interpret(ctx, command)
        if entry.known:
            entry.ports |= exposed
    if not entry.known:
        _package_entries(ctx)
    entry.files = list(dict.fromkeys(entry.files))
    entry.py_roots = list(dict.fromkeys(entry.py_roots))
    return entry


def _package_entries(ctx: _Context) -> None:
    """The package's declared entry points: pyproject scripts, package.json start/main/bin, a Next.js app."""
    for target in _pyproject_scripts(ctx).values():
        if _add_module(ctx, target):
            ctx.entry.commands.append(f"[project.scripts] {target}")
    pkg = _package_json(ctx)
    if isinstance((pkg.get("scripts") or {}).get("start"), str):
        interpret(ctx, ["npm", "start"])
    bins = pkg.get("bin") if isinstance(pkg.get("bin"), dict) else {"bin": pkg.get("bin")}
    for target in [pkg.get("main"), *bins.values()]:
        if isinstance(target, str) and _add_file(ctx, target):
            ctx.entry.commands.append(f"package.json {target}")
    if not ctx.entry.known and _uses_next(ctx):
        ctx.entry.next_app = True
        ctx.entry.commands.append("next start")
        ctx.entry.ports.add(3000)
