"""The source files an entry point reaches through its imports (Python and JavaScript/TypeScript), read only.

Python: ``import a.b`` / ``from a.b import c`` / relative imports, resolved against the entry's ``sys.path``
roots and the importing package; ``"module:attr"`` strings (``uvicorn.run("src.main:app")``) count as
imports. JS/TS: ``import``/``export … from``/``require``/``import()`` of relative paths and the tsconfig
``paths`` aliases (``@/x`` → ``src/x`` by default), with the usual extensions and ``index`` files.
Packages (anything unresolved) are not followed. Dev code stays out unless something imports it.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path, PurePosixPath

from tools.entrypoints import read

MAX_FILES = 4000
JS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")
_JS_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*)["']([^"'\n]+)["']""")
_MODULE_STRING = re.compile(r"^([A-Za-z_][\w.]*):[A-Za-z_]\w*$")
DEV_DIRS = {"scripts", "script", "tests", "test", "__tests__", "e2e", "cypress", "playwright", "migrations",
            "alembic", "seeds", "seed", "fixtures", "docs", "examples", "benchmarks", ".github", "mocks", "__mocks__"}
DEV_FILE = re.compile(r"(?:\.(?:test|spec|stories)\.[jt]sx?$|^test_.*\.py$|_test\.py$|^conftest\.py$|^setup\.py$|"
                      r"^noxfile\.py$|^(?:next|jest|vitest|playwright|tailwind|postcss|drizzle|eslint|vite|"
                      r"webpack|babel|prettier)\.config\.\w+$|^seed\.\w+$)")


def is_dev_path(rel: str, base: str) -> bool:
    """Tests, scripts, migrations and tool configuration under ``base``: not what the app runs."""
    inner = PurePosixPath(rel).relative_to(base).parts if rel.startswith(base.rstrip("/") + "/") else \
        PurePosixPath(rel).parts
    return any(p in DEV_DIRS for p in inner[:-1]) or bool(DEV_FILE.search(inner[-1] if inner else rel))


def _py_candidates(module: str, roots: list[str]) -> list[str]:
    stem = module.replace(".", "/")
    out = []
    for root in roots:
        prefix = "" if root in (".", "") else root + "/"
        out += [f"{prefix}{stem}.py", f"{prefix}{stem}/__init__.py"]
    return out


def _py_imports(rel: str, source: str, roots: list[str]) -> list[str]:
    """Candidate files of the modules ``rel`` imports (a module's parent packages included)."""
    try:
        tree = ast.parse(source, filename=rel)
    except (SyntaxError, ValueError):
        return []
    package = PurePosixPath(rel).parent
    modules: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [(a.name, roots) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.parent
                target = ".".join(filter(None, [node.module]))
                anchor = [base.as_posix()]
                modules += [(target, anchor)] if target else []
                modules += [(".".join(filter(None, [target, a.name])), anchor) for a in node.names]
            elif node.module:
                modules.append((node.module, roots))
                modules += [(f"{node.module}.{a.name}", roots) for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := _MODULE_STRING.match(node.value)):
            modules.append((m.group(1), roots))
    out = []
    for module, where in modules:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            out += _py_candidates(".".join(parts[:i]), where)
    return out


def _ts_aliases(root: Path, project: str) -> list[tuple[str, list[str]]]:
    """``compilerOptions.paths`` of the project's tsconfig/jsconfig (comments tolerated); ``@/`` → ``src/``."""
    for name in ("tsconfig.json", "jsconfig.json"):
        text = read(root, f"{project}/{name}" if project not in (".", "") else name)
        if text is None:
            continue
        text = re.sub(r"(?m)^\s*//.*$|/\*.*?\*/", "", text, flags=re.S)
        text = re.sub(r",(\s*[}\]])", r"\1", text)
        try:
            options = (json.loads(text) or {}).get("compilerOptions") or {}
        except (json.JSONDecodeError, AttributeError):
            continue
        base = str(options.get("baseUrl") or ".")
        paths = options.get("paths") if isinstance(options.get("paths"), dict) else {}
        return [(k.rstrip("*"), [PurePosixPath(base, t.rstrip("*")).as_posix() for t in v if isinstance(t, str)])
                for k, v in paths.items() if isinstance(v, list)]
    return [("@/", ["src/", "./"]), ("~/", ["src/", "./"])]


def _js_candidates(target: str) -> list[str]:
    stem = re.sub(r"\.(?:js|mjs|cjs|jsx)$", "", target)
    return [target, *(stem + s for s in JS_SUFFIXES), *(f"{target}/index{s}" for s in JS_SUFFIXES)]


def _js_imports(rel: str, source: str, project: str, aliases: list[tuple[str, list[str]]]) -> list[str]:
    out = []
    here = PurePosixPath(rel).parent
    for spec in _JS_IMPORT.findall(source):
        if spec.startswith("."):
            targets = [(here / spec).as_posix()]
        else:
            targets = [PurePosixPath(project, t, spec[len(prefix):]).as_posix()
                       for prefix, dirs in aliases if spec.startswith(prefix) for t in dirs]
        for target in targets:
            out += _js_candidates(_normalise(target))
    return out


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def reachable(root: Path, entries: list[str], py_roots: list[str], project: str) -> list[str]:
    """Every source file the entry files import, transitively, inside the workspace."""
    aliases = _ts_aliases(root, project)
    seen: dict[str, None] = {}
    queue = list(entries)
    while queue and len(seen) < MAX_FILES:
        rel = _normalise(queue.pop(0))
        if rel in seen or not (root / rel).is_file():
            continue
        source = read(root, rel)
        if source is None:
            continue
        seen[rel] = None
        if rel.endswith(".py"):
            candidates = _py_imports(rel, source, py_roots or [PurePosixPath(rel).parent.as_posix()])
        elif rel.endswith(JS_SUFFIXES):
            candidates = _js_imports(rel, source, project, aliases)
        else:
            candidates = []
        for candidate in candidates:
            candidate = _normalise(candidate)
            if candidate not in seen and (root / candidate).is_file():
                queue.append(candidate)
    return list(seen)
