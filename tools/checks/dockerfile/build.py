"""Dockerfile checks on what breaks or bloats a build: dev dependencies left out of a build, a base image
below the framework's floor, a single-stage front-end build, a COPY of a git-ignored path, a build context
without ``.dockerignore``.

The build context is taken to be the Dockerfile's directory; its files are read through ``read`` (a check
given no reader finds nothing that needs one).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

import pathspec

from core.models import Category, Severity
from tools.checks.core import check
from tools.checks.dockerfile.parsing import (
    Instruction,
    Reader,
    assignments,
    commands,
    flag,
    from_image,
    lineage,
    parse,
    program,
    repository,
    run_scripts,
    sources,
    stages,
    version_of,
)

_BUILD = re.compile(r"^(?:(?:npm|pnpm|yarn|bun)(?: run)? build\b|(?:npx |pnpm exec |yarn |bunx )?"
                    r"(?:next|vite|react-scripts|ng|nuxt|astro|gatsby|tsc)(?: build\b|$| ))")
_FRONTEND_DEPS = ("next", "vite", "react-scripts", "@angular/core", "vue", "svelte", "nuxt", "astro", "gatsby",
                  "parcel", "@vitejs/plugin-react")
_NEXT_FLOOR = {16: (20, 9), 15: (18, 18), 14: (18, 17), 13: (16, 14)}
_GLOB = set("*?[$")
_BUILD_OUTPUT = {"dist", "build", "target", "out", "bin", "publish", ".next", "release", "artifacts"}
_MARKERS = ("package.json", "pyproject.toml", "requirements.txt", "go.mod", "pom.xml", "build.gradle", "Gemfile",
            "Cargo.toml", "composer.json", "setup.py", "Pipfile")


def context_dir(file: str) -> str:
    """The build context taken for a Dockerfile: its directory (``""`` for the workspace root)."""
    return posixpath.dirname(file)


def _in_context(file: str, name: str) -> str | None:
    """``name`` (a path relative to the build context) as a workspace-relative path; None when it escapes."""
    path = posixpath.normpath(posixpath.join(context_dir(file), name.lstrip("/")))
    return None if path == ".." or path.startswith("../") else path


def _json(read: Reader | None, file: str, name: str) -> dict:
    text = read(_in_context(file, name) or name) if read else None
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _builds(argv: list[str]) -> bool:
    return bool(_BUILD.match(" ".join(argv)))


def _stage_builds(stage: list[Instruction], after: int = 0) -> bool:
    """Whether a RUN of ``stage`` at or after line ``after`` runs a front-end/TypeScript build."""
    return any(ins.line >= after and any(_builds(program(w)[1]) for w in commands(script))
               for ins, script in run_scripts(stage))


# --- dev dependencies left out of a build ----------------------------------------------------------------

def _omits_dev(argv: list[str], assigned: list[str], production_env: bool) -> str | None:
    """How an install command leaves dev dependencies out, or None when it installs them."""
    if len(argv) < 2 or argv[0] not in ("npm", "yarn", "pnpm") or argv[1] not in ("ci", "install", "i"):
        return None
    for word in argv[2:]:
        if re.match(r"^--(only=prod(uction)?|omit=dev|production|prod)$", word):
            return word
    if "NODE_ENV=production" in assigned:
        return "NODE_ENV=production"
    if production_env and "--include=dev" not in argv and "--production=false" not in argv:
        return "ENV NODE_ENV=production"
    return None


def _production_env(stage: list[Instruction], before: int) -> bool:
    production = False
    for ins in stage:
        if ins.keyword == "ENV" and ins.line < before:
            for name, value in assignments(ins):
                if name == "NODE_ENV":
                    production = value == "production"
    return production


def _consumers(text: str, index: int, name: str | None) -> list[tuple[list[Instruction], int]]:
    """The stages that use stage ``index``'s node_modules, with the line from which they do: stages that
    ``COPY --from`` it a node_modules path, and stages built ``FROM`` it."""
    refs = {str(index)} | ({name.lower()} if name else set())
    out = []
    for stage in stages(text)[index + 1:]:
        if stage and stage[0].keyword == "FROM" and from_image(stage[0].args)[0].lower() in refs:
            out.append((stage, stage[0].line))
            continue
        for ins in stage:
            if ins.keyword == "COPY" and (flag(ins.args, "from") or "").lower() in refs \
                    and any("node_modules" in s for s in sources(ins.args)):
                out.append((stage, ins.line))
                break
    return out


@check(id="DOCKER-NPM-OMIT-DEV-BUILD", category=Category.scalability, severity=Severity.high, scope="dockerfile",
       title="Dev dependencies left out of the node_modules that a build uses",
       description="`npm ci --omit=dev` (`--only=production`, `--production`, or `NODE_ENV=production` set before "
                   "the install) leaves out devDependencies, yet the same stage, or a stage that copies its "
                   "`node_modules`, then runs `npm run build`: TypeScript, Tailwind, ESLint or the bundler are "
                   "missing and the build fails.",
       remediation="Install every dependency in the build stage (`npm ci`) and prune afterwards "
                   "(`npm prune --omit=dev`), or install production dependencies in a separate runtime stage; set "
                   "`NODE_ENV=production` after the build, not before the install.")
def npm_omit_dev_build(text: str, file: str, read: Reader | None = None) -> Iterator[tuple[int, str]]:
    package = _json(read, file, "package.json")
    if package and not package.get("devDependencies"):
        return
    for index, stage in enumerate(stages(text)):
        if not stage or stage[0].keyword != "FROM":
            continue
        for ins, script in run_scripts(stage):
            for words in commands(script):
                assigned, argv = program(words)
                how = _omits_dev(argv, assigned, _production_env(lineage(text, index)[-1], ins.line))
                if not how:
                    continue
                users = [(stage, ins.line)] + _consumers(text, index, from_image(stage[0].args)[1])
                if any(_stage_builds(s, after) for s, after in users):
                    yield ins.line, (f"'{' '.join(argv)}' ({how}) installs no devDependencies, but its "
                                     "node_modules feed `npm run build`")
                    break


# --- base image below the framework's floor --------------------------------------------------------------

def _lowest(spec: str) -> tuple[int, ...] | None:
    """The lowest version a range admits (``>=20.9.0``, ``^18.18``, ``20.x``, ``>=18 <23``; alternatives: the
    lowest of them); None when it names none."""
    found = []
    for alternative in spec.split("||"):
        match = re.search(r"(?:^|[\s>=^~v])(\d+(?:\.\d+){0,2})", " " + alternative.strip())
        if match and not re.match(r"^\s*<", alternative):
            found.append(tuple(int(p) for p in match.group(1).split(".")))
    return min(found) if found else None


def _below(image_version: tuple[int, ...], floor: tuple[int, ...]) -> bool:
    """Whether an image tag's version is below ``floor``; a tag naming fewer parts (``node:20``) floats to the
    newest release of that line, so only the parts it names are compared."""
    return image_version < floor[:len(image_version)]


def _node_floor(package: dict) -> tuple[tuple[int, ...], str] | None:
    floors = []
    engines = package.get("engines")
    if isinstance(engines, dict) and isinstance(engines.get("node"), str) and _lowest(engines["node"]):
        floors.append((_lowest(engines["node"]), f"package.json engines.node '{engines['node']}'"))
    for section in ("dependencies", "devDependencies"):
        deps = package.get(section)
        next_spec = deps.get("next") if isinstance(deps, dict) else None
        low = _lowest(next_spec) if isinstance(next_spec, str) else None
        if low and low[0] in _NEXT_FLOOR:
            floors.append((_NEXT_FLOOR[low[0]], f"Next.js {next_spec} (needs Node >= "
                                                 f"{'.'.join(map(str, _NEXT_FLOOR[low[0]]))})"))
    return max(floors) if floors else None


def _python_floor(read: Reader | None, file: str) -> tuple[tuple[int, ...], str] | None:
    text = read(_in_context(file, "pyproject.toml") or "pyproject.toml") if read else None
    import tomllib  # only for a Dockerfile whose build context has a pyproject.toml: not at start-up

    try:
        requires = tomllib.loads(text).get("project", {}).get("requires-python") if text else None
    except (tomllib.TOMLDecodeError, AttributeError):
        return None
    match = re.search(r"(?:>=|~=|==|\^)\s*(\d+\.\d+)", requires) if isinstance(requires, str) else None
    return (tuple(int(p) for p in match.group(1).split(".")), f"pyproject requires-python '{requires}'") \
        if match else None


@check(id="DOCKER-BASE-BELOW-FLOOR", category=Category.scalability, severity=Severity.high, scope="dockerfile",
       title="Base image older than the framework's minimum",
       description="The package manifest beside the Dockerfile says which runtime it needs (package.json "
                   "`engines.node`, the Next.js major: 16 needs Node >= 20.9, 15 needs >= 18.18; pyproject "
                   "`requires-python`), and a stage's base image is older: the install or the build fails, or the "
                   "app fails at start.",
       remediation="Move the base image to a supported version (e.g. `FROM node:22-alpine` for Next.js 16, "
                   "`FROM python:3.12-slim` for `requires-python = \">=3.12\"`), pinned to a tag.")
def base_below_floor(text: str, file: str, read: Reader | None = None) -> Iterator[tuple[int, str]]:
    if read is None:
        return
    floors = {"node": _node_floor(_json(read, file, "package.json")), "python": _python_floor(read, file)}
    for ins in parse(text):
        if ins.keyword != "FROM":
            continue
        image = from_image(ins.args)[0]
        floor = floors.get(repository(image))
        version = version_of(image)
        if floor and version and _below(version, floor[0]):
            yield ins.line, f"base image '{image}' is older than {floor[1]}"


# --- single-stage front-end build ------------------------------------------------------------------------

@check(id="DOCKER-SINGLE-STAGE-FRONTEND", category=Category.scalability, severity=Severity.medium,
       scope="dockerfile",
       title="Compiled front-end built in a single-stage image",
       description="A Next.js/Vite/React build runs in the only stage, so the image that runs keeps the whole "
                   "dev toolchain, the sources and the build cache: a several-times larger image (slower pulls "
                   "and scale-out) and a larger attack surface.",
       remediation="Build in a `builder` stage and copy only the output into the runtime stage (Next.js "
                   "`output: \"standalone\"` → `COPY --from=builder /app/.next/standalone ./`; a static build → "
                   "`FROM nginx` with `COPY --from=builder /app/dist /usr/share/nginx/html`).")
def single_stage_frontend(text: str, file: str, read: Reader | None = None) -> Iterator[tuple[int, str]]:
    all_stages = [s for s in stages(text) if s and s[0].keyword == "FROM"]
    if len(all_stages) != 1:
        return
    package = _json(read, file, "package.json")
    deps = {**(package.get("dependencies") or {}), **(package.get("devDependencies") or {})} \
        if all(isinstance(package.get(k) or {}, dict) for k in ("dependencies", "devDependencies")) else {}
    frontend = any(d in deps for d in _FRONTEND_DEPS)
    for ins, script in run_scripts(all_stages[0]):
        for words in commands(script):
            argv = program(words)[1]
            explicit = bool(re.match(r"^(?:npx |pnpm exec |yarn )?(next|vite|react-scripts|ng) build\b",
                                     " ".join(argv)))
            if _builds(argv) and (explicit or frontend):
                yield ins.line, f"'{' '.join(argv)}' builds the front-end in the image's only stage"
                return


# --- COPY of a git-ignored path --------------------------------------------------------------------------

def _gitignore_specs(read: Reader, file: str) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
    """The ``.gitignore`` files from the workspace root down to the build context, with their directories."""
    out = []
    parts = [p for p in context_dir(file).split("/") if p]
    for depth in range(len(parts) + 1):
        directory = "/".join(parts[:depth])
        text = read(posixpath.join(directory, ".gitignore") if directory else ".gitignore")
        if text:
            out.append((directory, pathspec.GitIgnoreSpec.from_lines(text.splitlines())))
    return out


def _ignored(specs: list[tuple[str, pathspec.GitIgnoreSpec]], path: str) -> bool:
    ignored = False
    for directory, spec in specs:
        rel = path[len(directory) + 1:] if directory else path
        result = spec.check_file(rel)
        if result.include is not None:
            ignored = result.include
    return ignored


@check(id="DOCKER-COPY-GITIGNORED", category=Category.scalability, severity=Severity.medium, scope="dockerfile",
       title="COPY of a path that .gitignore excludes",
       description="The Dockerfile copies a path that the repository's `.gitignore` excludes (`COPY .env .`, "
                   "`COPY dist/ ./`): it exists only on the machine that made it, so a build from a clean "
                   "checkout (CI, a colleague, the cluster's builder) fails with `not found`.",
       remediation="Build that path inside the image (a builder stage), pass configuration at run time instead of "
                   "copying it (env vars, a ConfigMap/Secret), or stop ignoring the file if it belongs in the "
                   "repository.")
def copy_gitignored(text: str, file: str, read: Reader | None = None) -> Iterator[tuple[int, str]]:
    if read is None:
        return
    specs = _gitignore_specs(read, file)
    if not specs:
        return
    for ins in parse(text):
        if ins.keyword not in ("COPY", "ADD") or flag(ins.args, "from"):
            continue
        for source in sources(ins.args):
            path = _in_context(file, source)
            if not path or path == "." or path == context_dir(file) or _GLOB & set(source) \
                    or re.match(r"^[a-z]+://", source):
                continue
            if posixpath.normpath(source).split("/")[0] in _BUILD_OUTPUT:
                continue  # an artefact an earlier CI step builds (`COPY target/app.jar`): deliberate
            if _ignored(specs, path + ("/" if source.endswith("/") else "")):
                yield ins.line, f"{ins.keyword} {source}: .gitignore excludes it, so a clean checkout has no " \
                                f"'{source}'"


# --- build context without .dockerignore -----------------------------------------------------------------

@check(id="DOCKER-NO-DOCKERIGNORE", category=Category.security, severity=Severity.medium, scope="dockerfile",
       title="COPY of the whole build context without a .dockerignore",
       description="`COPY . .` with no `.dockerignore` beside the Dockerfile sends and copies everything in the "
                   "context: `.git`, `.env` files with secrets, local `node_modules`/`.venv` (wrong platform, "
                   "overriding the installed ones) and build output; images grow and secrets end up in layers.",
       remediation="Add a `.dockerignore` beside the Dockerfile (or `<Dockerfile>.dockerignore`) listing at least "
                   "`.git`, `.env*`, `node_modules`, `.venv`, build output and the Dockerfile itself.")
def no_dockerignore(text: str, file: str, read: Reader | None = None) -> Iterator[tuple[int, str]]:
    if read is None:
        return
    for ins in parse(text):
        if ins.keyword not in ("COPY", "ADD") or flag(ins.args, "from"):
            continue
        if any(posixpath.normpath(s) == "." for s in sources(ins.args)):
            if context_dir(file) and not any(read(_in_context(file, m) or m) is not None for m in _MARKERS):
                return  # no project beside the Dockerfile: its build context is elsewhere (docker/api/Dockerfile)
            candidates = (_in_context(file, ".dockerignore"), f"{file}.dockerignore")
            if not any(c and read(c) is not None for c in candidates):
                yield ins.line, f"{ins.keyword} {ins.args}: the build context has no .dockerignore"
            return
