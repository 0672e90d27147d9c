"""What one Phase III source file reads, listens on and serves — parsed, never imported or run.

Python is read with :mod:`ast`, JavaScript/TypeScript with regular expressions. A variable read with a
fallback (a default argument, ``or``/``||``/``??``, a pydantic field default, a test such as
``if os.getenv("X")``) is optional; ``os.getenv("A") or os.getenv("B")`` needs one of the two. The checks
against workloads live in :mod:`tools.contract`; which files count (the code the container runs) in
:mod:`tools.entrypoints`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from tools.approutes import js_server_routes, next_route, python_routes

NEXT_DEFAULT_PORT = 3000
GENERIC_DIRS = {"src", "app", "lib"}
_TRANSPARENT = {"int", "float", "str", "bool", "len", "Path", "json.loads", "strip", "lower", "upper", "split",
                "rstrip", "lstrip", "casefold", "title", "removesuffix", "removeprefix"}
"""Wrappers that keep a read's meaning: ``int(os.getenv("X") or 8)`` is still a read with a fallback."""

_JS_ENV = re.compile(r"process\.env(?:\.([A-Za-z_]\w*)|\[\s*[\"']([A-Za-z_]\w*)[\"']\s*\])")
_JS_DESTRUCTURE = re.compile(r"(?:const|let|var)\s*\{([^{}]*)\}\s*=\s*process\.env\b")
_JS_FALLBACK = re.compile(r"\s*\)*\s*(\?\?|\|\|)\s*")
_JS_CONDITIONAL_AFTER = re.compile(r"\s*(?:\?\.|\?(?!\?)|&&|[!=]==?|\)\s*\?(?!\?))")
_JS_CONDITIONAL_BEFORE = re.compile(r"(?:!|typeof\s+|[!=]==?\s*|\?\?\s*|\|\|\s*)$")
_JS_THROW_AFTER = re.compile(r"^[^;{}]*\)\s*(?:\{\s*)?(?:throw\b|process\.exit|console\.error[^;]*;\s*process\.exit)")
_JS_LISTEN = re.compile(r"\.listen\(\s*(\d{2,5})\b")
_JS_LISTEN_OBJECT = re.compile(r"\.listen\(\s*\{[^}]*\bport\s*:\s*(\d{2,5})\b")
_JS_PORT_DEFAULT = re.compile(r"process\.env\.PORT\s*\)?\s*(?:\?\?|\|\|)\s*[\"']?(\d{2,5})\b")
_PORT_FLAG = re.compile(r"(?:--port|-p)[= ](\d{2,5})\b")
_NEXT_IMPORT = re.compile(r"""from\s+["']next(?:/[\w/-]+)?["']|require\(\s*["']next["']""")
_ZOD_OPTIONAL = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*:\s*z\.[^\n]*?\.(?:optional|default|nullish|catch)\(", re.MULTILINE)


@dataclass(frozen=True)
class EnvVar:
    """A variable the app reads. ``required``: the code has no fallback for it; ``alternatives``: other
    variables that satisfy the same read (``os.getenv("A") or os.getenv("B")``: one of them is needed)."""

    name: str
    required: bool
    file: str
    line: int
    alternatives: tuple[str, ...] = ()
    case_insensitive: bool = False
    """pydantic-settings matches field names case-insensitively by default."""

    @property
    def strength(self) -> int:
        return 2 if self.required and not self.alternatives else 1 if self.required else 0


@dataclass
class AppContract:
    """What one app root needs at run time."""

    root: str
    env: dict[str, EnvVar] = field(default_factory=dict)
    ports: set[int] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    """GET paths the app serves (health endpoints among them), in the framework's own pattern syntax."""
    route_prefixes: set[str] = field(default_factory=set)
    """Literal prefixes routers are mounted under (``include_router(prefix=)``, ``app.use("/api", r)``)."""
    routes_uncertain: list[str] = field(default_factory=list)
    """Why the route inventory may be incomplete (dynamic prefixes, mounts, static files...)."""
    baked_env: set[str] = field(default_factory=set)
    """Variables the image itself sets (the Dockerfile's ``ENV``)."""
    entry: str | None = None
    """What the container runs (``uvicorn src.main:app``), or None when no entry point was found."""
    sources: list[str] = field(default_factory=list)
    """The files read for the contract."""

    @property
    def name(self) -> str:
        parts = [p for p in self.root.strip("/").split("/") if p]
        named = [p for p in parts if p not in GENERIC_DIRS]
        return (named or parts or [self.root])[-1].lower()

    @property
    def health(self) -> list[str]:
        """The static routes that look like health endpoints."""
        return sorted(r for r in self.routes if re.search(r"health|live|ready|ping|status", r) and is_static(r))

    def add_env(self, var: EnvVar) -> None:
        """Record ``var``; the strongest read wins (required alone > one of several > optional)."""
        known = self.env.get(var.name)
        if known is None or var.strength > known.strength:
            self.env[var.name] = var


def is_static(route: str) -> bool:
    """A route without parameters or wildcards (one a probe can point at)."""
    return not re.search(r"[{}\[\]:*]", route)


# --- Python -------------------------------------------------------------------------------------------

def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _literal(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _env_read(node: ast.AST) -> tuple[str, bool, bool] | None:
    """(name, has a default, raises when unset) of ``os.getenv``/``environ.get``/``os.environ["X"]``."""
    if isinstance(node, ast.Call):
        func = _dotted(node.func)
        if not (func.endswith("getenv") or func.endswith("environ.get")) or not node.args:
            return None
        name = _literal(node.args[0])
        if not isinstance(name, str):
            return None
        return name, len(node.args) > 1 or _keyword(node, "default") is not None, False
    if isinstance(node, ast.Subscript) and _dotted(node.value).endswith("environ") and isinstance(node.ctx, ast.Load):
        name = _literal(node.slice)
        return (name, False, True) if isinstance(name, str) else None
    return None


def _wrapped(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST:
    """Climb through wrappers that keep the value's meaning (``int(x)``, ``x.strip()``)."""
    while True:
        parent = parents.get(node)
        if isinstance(parent, ast.Call) and node in parent.args and _dotted(parent.func) in _TRANSPARENT:
            node = parent
        elif isinstance(parent, ast.Attribute) and parent.attr in _TRANSPARENT and \
                isinstance(parents.get(parent), ast.Call) and parents[parent].func is parent:
            node = parents[parent]
        else:
            return node


def _raises(body: list[ast.stmt]) -> bool:
    """The block stops the app (``raise``, ``sys.exit``): the variable it tests is required after all."""
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and _dotted(node.func) in
                                               ("sys.exit", "exit", "os._exit", "quit")):
                return True
    return False


def _in_guarded_try(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body and any(
                h.type is None or _dotted(h.type) in ("KeyError", "Exception", "LookupError") for h in parent.handlers):
            return not any(_raises(h.body) for h in parent.handlers)
        child, parent = parent, parents.get(parent)
    return False


def _read_kind(node: ast.AST, raises: bool, parents: dict[ast.AST, ast.AST]) -> tuple[str, list[ast.AST]]:
    """``"required"``, ``"optional"`` (a fallback), ``"tested"`` (only tested or compared: optional, and so are the
    module's other reads of it) or ``"group"`` (with the other reads of an ``or`` chain) for one read."""
    outer = _wrapped(node, parents)
    parent = parents.get(outer)
    if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or):
        others = [v for v in parent.values if v is not outer]
        if not all(_env_read(_unwrap(v)) for v in others):
            return "optional", []
        return "group", [_unwrap(v) for v in others]
    if raises:
        return ("optional", []) if _in_guarded_try(node, parents) else ("required", [])
    if isinstance(parent, (ast.BoolOp, ast.Compare)) or (isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)):
        test_owner = parents.get(parent)
        if isinstance(test_owner, ast.If) and test_owner.test is parent and _raises(test_owner.body):
            return "required", []
        return "tested", []
    if isinstance(parent, (ast.If, ast.IfExp, ast.While)) and parent.test is outer:
        return ("required", []) if isinstance(parent, ast.If) and _raises(parent.orelse) else ("tested", [])
    return "required", []


def _unwrap(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Call) and _dotted(node.func) in _TRANSPARENT and node.args:
        node = node.args[0]
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _TRANSPARENT:
        node = node.func.value
    return node


def _settings_prefix(cls: ast.ClassDef) -> str:
    """The literal ``env_prefix`` of a BaseSettings class (``model_config`` or inner ``Config``)."""
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and isinstance(_literal(_keyword(node, "env_prefix")), str):
            return _literal(_keyword(node, "env_prefix"))
        if isinstance(node, ast.Assign) and [_dotted(t) for t in node.targets] == ["env_prefix"]:
            value = _literal(node.value)
            if isinstance(value, str):
                return value
    return ""


def _optional_annotation(annotation: ast.AST | None) -> bool:
    """``Optional[X]``, ``X | None``, ``Union[X, None]``."""
    text = ast.unparse(annotation) if annotation is not None else ""
    return bool(re.search(r"\bOptional\[|\|\s*None\b|\bNone\s*\||Union\[.*\bNone\b", text))


def _field_default(value: ast.AST | None) -> tuple[bool, str | None]:
    """(has a default, literal alias) of a settings field's assigned value."""
    if value is None:
        return False, None
    if isinstance(value, ast.Call) and _dotted(value.func).endswith("Field"):
        alias = _literal(_keyword(value, "validation_alias")) or _literal(_keyword(value, "alias")) or \
            _literal(_keyword(value, "env"))
        first = value.args[0] if value.args else _keyword(value, "default")
        has = (first is not None and not (isinstance(first, ast.Constant) and first.value is Ellipsis)) or \
            _keyword(value, "default_factory") is not None
        return has, alias if isinstance(alias, str) else None
    return True, None


def _settings_fields(cls: ast.ClassDef, rel: str) -> list[EnvVar]:
    """Environment variables of a pydantic ``BaseSettings`` class: upper-cased field names with its prefix."""
    prefix = _settings_prefix(cls)
    out = []
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id != "model_config" and not node.target.id.startswith("_") and \
                "ClassVar" not in ast.unparse(node.annotation):
            has_default, alias = _field_default(node.value)
            optional = has_default or _optional_annotation(node.annotation)
            out.append(EnvVar((alias or prefix + node.target.id).upper(), not optional, rel, node.lineno,
                              case_insensitive=True))
    return out


def _settings_classes(tree: ast.Module) -> list[ast.ClassDef]:
    """Classes deriving from ``BaseSettings``, directly or through another class of the module."""
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name not in names and any(_dotted(b).endswith("BaseSettings") or _dotted(b) in names for b in cls.bases):
                names.add(cls.name)
                changed = True
    return [c for c in classes if c.name in names]


def python_contract(source: str, rel: str, contract: AppContract, *, env: bool = True) -> None:
    """Add what one Python module reads, listens on and serves to ``contract`` (parsed, never run)."""
    try:
        tree = ast.parse(source, filename=rel)
    except (SyntaxError, ValueError):
        return
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    tested = {_literal(n.left) for n in ast.walk(tree) if isinstance(n, ast.Compare) and len(n.ops) == 1 and
              isinstance(n.ops[0], ast.In) and _dotted(n.comparators[0]).endswith("environ")}
    python_routes(tree, contract)
    reads = [(node, read) for node in ast.walk(tree) if (read := _env_read(node))]
    kinds = {id(node): ("optional", []) if read[1] or read[0] in tested else _read_kind(node, read[2], parents)
             for node, read in reads}
    tested |= {read[0] for node, read in reads if kinds[id(node)][0] == "tested"}
    for node in ast.walk(tree):
        read = _env_read(node)
        if read and env:
            name = read[0]
            kind, others = ("optional", []) if name in tested else kinds[id(node)]
            alternatives = tuple(r[0] for o in others if (r := _env_read(o)))
            contract.add_env(EnvVar(name, kind in ("required", "group"), rel, node.lineno, alternatives))
        if read and read[0] == "PORT" and isinstance(node, ast.Call) and len(node.args) > 1:
            default = str(_literal(node.args[1]) or "")
            if default.isdigit():
                contract.ports.add(int(default))
        if isinstance(node, ast.Call):
            port = _literal(_keyword(node, "port"))
            if _dotted(node.func).endswith("run") and isinstance(port, int):
                contract.ports.add(port)
    if env:
        for cls in _settings_classes(tree):
            for var in _settings_fields(cls, rel):
                contract.add_env(var)
    contract.ports.update(int(p) for p in _PORT_FLAG.findall(source))


# --- JavaScript / TypeScript ---------------------------------------------------------------------------

def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _js_reads(source: str) -> list[tuple[str, int, int]]:
    return [(m.group(1) or m.group(2), m.start(), m.end()) for m in _JS_ENV.finditer(source)]


def _js_conditional(source: str, start: int, end: int) -> bool:
    """The read is tested, compared or optional-chained rather than used as a value."""
    before = source[max(0, start - 40):start].rstrip()
    if _JS_CONDITIONAL_AFTER.match(source, end):
        return not (before.endswith("!") and _throws_after(source, end))
    if _JS_CONDITIONAL_BEFORE.search(before):
        return not (before.endswith("!") and _throws_after(source, end))
    return False


def _throws_after(source: str, end: int) -> bool:
    """``if (!process.env.X) throw ...``: the test stops the app, so the variable is required."""
    return bool(_JS_THROW_AFTER.match(source[end:end + 200]))


def js_contract(source: str, rel: str, contract: AppContract, *, env: bool = True) -> None:
    """Add what one JS/TS module reads (``process.env``), listens on and serves (Next.js file routes)."""
    if env:
        reads = _js_reads(source)
        optional_schema = set(_ZOD_OPTIONAL.findall(source)) if "createEnv(" in source else set()
        chains: list[list[tuple[str, int, int]]] = []
        for read in reads:
            previous = chains[-1][-1] if chains else None
            link = _JS_FALLBACK.fullmatch(source, previous[2], read[1]) if previous else None
            if link:
                chains[-1].append(read)
            else:
                chains.append([read])
        tested = {r[0] for chain in chains if len(chain) == 1 for r in chain if _js_conditional(source, r[1], r[2])}
        for chain in chains:
            last = chain[-1]
            falls_back = _JS_FALLBACK.match(source, last[2]) is not None
            names = tuple(r[0] for r in chain)
            for name, start, _ in chain:
                optional = falls_back or name in optional_schema or name in tested
                alternatives = tuple(n for n in names if n != name) if not optional else ()
                contract.add_env(EnvVar(name, not optional, rel, _line(source, start), alternatives))
        for match in _JS_DESTRUCTURE.finditer(source):
            for entry in match.group(1).split(","):
                name = entry.split(":")[0].split("=")[0].strip()
                if re.fullmatch(r"[A-Za-z_]\w*", name):
                    contract.add_env(EnvVar(name, "=" not in entry, rel, _line(source, match.start())))
    contract.ports.update(int(p) for p in _JS_LISTEN.findall(source) + _JS_LISTEN_OBJECT.findall(source)
                          + _JS_PORT_DEFAULT.findall(source))
    if _NEXT_IMPORT.search(source):
        contract.ports.add(NEXT_DEFAULT_PORT)
    js_server_routes(source, contract)
    route = next_route(rel, source)
    if route:
        contract.routes.add(route)
