"""The GET routes a Phase III app serves, read from its source: decorators, framework defaults, file routes.

* FastAPI: ``@app.get``/``@router.get``/``api_route``, ``APIRouter(prefix=)``, ``include_router(prefix=)``, and
  the documentation routes FastAPI adds itself (``/docs``, ``/docs/oauth2-redirect``, ``/redoc``,
  ``/openapi.json``) unless ``FastAPI(docs_url=None, ...)`` moves or removes them.
* Flask (``@app.route``, ``Blueprint(url_prefix=)``), Starlette ``Route``, Django ``path``.
* Express-like routers (``app.get("/x")``, ``app.use("/api", router)``) in files that import a server library.
* Next.js: ``app/**/page.*`` and ``app/**/route.*`` exporting ``GET`` (route groups ``(x)`` and slots ``@x``
  dropped, ``_private`` folders skipped), ``pages/**`` (``index`` is the folder).

Anything that may serve paths we cannot list (a mounted sub-application, a computed prefix, static files)
makes the inventory *uncertain*: a probe path we do not find is then only a question, never "not served".
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.appsource import AppContract

FASTAPI_DOCS = {"docs_url": "/docs", "redoc_url": "/redoc", "openapi_url": "/openapi.json"}
_ROUTE_METHODS = ("get", "api_route", "route", "head")
_NEXT_APP = re.compile(r"(?:^|/)app/(?:(.*)/)?(page|route)\.(?:js|jsx|ts|tsx|mjs|mdx)$")
_NEXT_PAGES = re.compile(r"(?:^|/)pages/(.*)\.(?:js|jsx|ts|tsx|mdx)$")
_JS_GET_EXPORT = re.compile(r"export\s+(?:async\s+)?(?:function\s+GET\b|const\s+GET\b|(?:const\s*)?\{[^}]*\bGET\b)")
_JS_SERVER_LIB = re.compile(r"""(?:from\s+|require\(\s*)["'](?:express|fastify|koa-router|@koa/router|hono|restify)["']""")
_JS_ROUTE = re.compile(r"\b\w+\.(?:get|all|head)\(\s*([\"'`])(/[^\"'`]*)\1")
_JS_CHAINED_ROUTE = re.compile(r"\.route\(\s*([\"'`])(/[^\"'`]*)\1\s*\)\s*\.(?:get|all)\b")
_JS_PREFIX = re.compile(r"\b\w+\.use\(\s*([\"'`])(/[^\"'`]*)\1\s*,")
_JS_STATIC = re.compile(r"\.use\(\s*(?:[\"'`][^\"'`]*[\"'`]\s*,\s*)?(?:express\.static|serveStatic|fastifyStatic)")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _literal(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def _keyword(call: ast.Call, name: str) -> tuple[bool, object]:
    """(given, literal value or Ellipsis when not a literal)."""
    for k in call.keywords:
        if k.arg == name:
            return True, k.value.value if isinstance(k.value, ast.Constant) else Ellipsis
    return False, None


def _prefix_of(call: ast.Call, *names: str) -> tuple[bool, object]:
    for name in names:
        given, value = _keyword(call, name)
        if given:
            return given, value
    return False, None


def python_routes(tree: ast.Module, contract: AppContract) -> None:
    """Add the GET routes, router prefixes and uncertainties of one Python module to ``contract``."""
    prefixes: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and len(node.targets) == 1:
            func = _dotted(node.value.func)
            if func.endswith(("APIRouter", "Blueprint")):
                given, prefix = _prefix_of(node.value, "prefix", "url_prefix")
                if isinstance(prefix, str):
                    prefixes[_dotted(node.targets[0])] = prefix
                elif given:
                    contract.routes_uncertain.append(f"a router with a computed prefix ({func})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            _python_call(node, prefixes, contract)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                route = _decorator_route(deco, prefixes) if isinstance(deco, ast.Call) else None
                if route:
                    contract.routes.add(route)


def _decorator_route(call: ast.Call, prefixes: dict[str, str]) -> str | None:
    if not isinstance(call.func, ast.Attribute) or call.func.attr not in _ROUTE_METHODS:
        return None
    path = _literal(call.args[0]) if call.args else _keyword(call, "path")[1] or _keyword(call, "rule")[1]
    if not isinstance(path, str):
        return None
    return (prefixes.get(_dotted(call.func.value), "") + path) or "/"


def _python_call(call: ast.Call, prefixes: dict[str, str], contract: AppContract) -> None:
    func = _dotted(call.func)
    name = func.rsplit(".", 1)[-1]
    if name == "FastAPI":
        _fastapi_docs(call, contract)
    elif name in ("include_router", "register_blueprint"):
        given, prefix = _prefix_of(call, "prefix", "url_prefix")
        if isinstance(prefix, str):
            contract.route_prefixes.add(prefix)
        elif given:
            contract.routes_uncertain.append(f"{name} with a computed prefix")
    elif name == "mount" and "." in func:
        contract.routes_uncertain.append("a mounted sub-application or static files (mount)")
    elif call.args and (name in ("add_api_route", "add_url_rule") or (name in ("Route", "path") and func == name)):
        path = _literal(call.args[0])
        if isinstance(path, str) and (name != "path" or not path.startswith("/")):
            contract.routes.add(path if path.startswith("/") else "/" + path)
    elif name in ("Mount", "re_path", "include") and "." not in func:
        contract.routes_uncertain.append(f"routes composed at run time ({name})")


def _fastapi_docs(call: ast.Call, contract: AppContract) -> None:
    """FastAPI serves its documentation routes unless told not to."""
    openapi_given, openapi = _keyword(call, "openapi_url")
    for key, default in FASTAPI_DOCS.items():
        given, value = _keyword(call, key)
        if not given:
            value = default
        if value is Ellipsis:
            contract.routes_uncertain.append(f"FastAPI({key}=...) is computed")
        elif isinstance(value, str) and (key == "openapi_url" or not (openapi_given and openapi is None)):
            contract.routes.add(value)
            if key == "docs_url":
                contract.routes.add(value.rstrip("/") + "/oauth2-redirect")


def next_route(rel: str, source: str) -> str | None:
    """The route of a Next.js app-router page/route handler or pages-router file, as a pattern."""
    app = _NEXT_APP.search(rel)
    if app:
        if app.group(2) == "route" and not _JS_GET_EXPORT.search(source):
            return None
        parts = [p for p in (app.group(1) or "").split("/") if p]
        if any(p.startswith("_") for p in parts):
            return None
        return "/" + "/".join(p for p in parts if not (p.startswith("(") and p.endswith(")")) and not p.startswith("@"))
    pages = _NEXT_PAGES.search(rel)
    if pages:
        parts = pages.group(1).split("/")
        if parts[-1].startswith("_") or any(p.startswith("_") for p in parts):
            return None
        if parts[-1] == "index":
            parts = parts[:-1]
        return "/" + "/".join(parts)
    return None


def js_server_routes(source: str, contract: AppContract) -> None:
    """Express-like routes and prefixes of one module that imports a server library."""
    if not _JS_SERVER_LIB.search(source):
        return
    contract.routes.update(m.group(2) for m in _JS_ROUTE.finditer(source))
    contract.routes.update(m.group(2) for m in _JS_CHAINED_ROUTE.finditer(source))
    contract.route_prefixes.update(m.group(2) for m in _JS_PREFIX.finditer(source))
    if _JS_STATIC.search(source):
        contract.routes_uncertain.append("static files are served (express.static)")


def route_pattern(route: str) -> re.Pattern[str]:
    """A regular expression for a route in FastAPI/Flask/Express/Next.js syntax."""
    out = ""
    for token in re.split(r"(\[\[\.\.\.[^\]]+\]\]|\[\.\.\.[^\]]+\]|\[[^\]]+\]|\{[^}]+\}|<[^>]+>|:\w+\??|\*)", route):
        if not token:
            continue
        if token.startswith("[[..."):
            out = out.rstrip("/") + "(?:/.*)?"
        elif token.startswith(("[...", "*")) or token.endswith((":path}", ":path>")):
            out += ".+"
        elif token[0] in "[{<" or (token.startswith(":") and len(token) > 1):
            out += "[^/]+"
        else:
            out += re.escape(token)
    return re.compile(out)


def serves(contract: AppContract, path: str) -> str:
    """``"yes"``, ``"no"`` or ``"unsure"``: whether the app serves GET ``path`` (redirects count: 3xx passes)."""
    path = path.split("?")[0] or "/"
    wanted = {path, path.rstrip("/") or "/", path.rstrip("/") + "/"}
    prefixes = {""} | {p.rstrip("/") for p in contract.route_prefixes}
    for route in contract.routes:
        for prefix in prefixes:
            pattern = route_pattern(prefix + route if route != "/" or not prefix else prefix)
            if any(pattern.fullmatch(w) for w in wanted):
                return "yes"
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if contract.routes_uncertain or any(r.rstrip("/").rsplit("/", 1)[-1] == last for r in contract.routes if last):
        return "unsure"
    return "no"
