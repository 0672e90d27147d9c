"""tools.appsource / tools.approutes: fallbacks make a variable optional, framework routes are served."""

from __future__ import annotations

import pytest

from core.models import K8sObject, Severity
from tools.approutes import serves
from tools.appsource import AppContract, js_contract, python_contract
from tools.contract import check_contract
from tools.platformenv import provided_by_platform


def py(source: str) -> AppContract:
    contract = AppContract(root="api")
    python_contract(source, "api/main.py", contract)
    return contract


def js(source: str, rel: str = "web/src/lib/x.ts") -> AppContract:
    contract = AppContract(root="web")
    js_contract(source, rel, contract)
    return contract


def required(contract: AppContract) -> dict[str, tuple[str, ...]]:
    return {n: v.alternatives for n, v in contract.env.items() if v.required}


def workload(env: list[str], probe: str | None = None, port: int = 8000) -> K8sObject:
    container = {"name": "app", "image": "app:1", "env": [{"name": e, "value": "x"} for e in env],
                 "ports": [{"name": "http", "containerPort": port}]}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": probe, "port": "http"}}
    body = {"kind": "Deployment", "metadata": {"name": "app"}, "spec": {"template": {"spec": {"containers": [container]}}}}
    return K8sObject(api_version="apps/v1", kind="Deployment", name="app", file="k8s/app.yaml", body=body)


def high(contract: AppContract, obj: K8sObject) -> list[str]:
    return [f.message for f in check_contract([contract], [obj]) if f.severity in (Severity.high, Severity.medium)]


# --- Python fallbacks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ('os.getenv("A") or os.getenv("B")', {"A": ("B",), "B": ("A",)}),
    ('os.getenv("A") or os.getenv("B") or "sqlite://"', {}),
    ('os.environ.get("A", "x")', {}),
    ('os.getenv("A", None)', {}),
    ('int(os.environ.get("POOL") or 5)', {}),
    ('os.getenv("DEBUG") == "1"', {}),
    ('if os.getenv("SENTRY_DSN"):\n    init(os.environ["SENTRY_DSN"])', {}),
    ('if "REDIS_URL" in os.environ:\n    url = os.environ["REDIS_URL"]', {}),
    ('try:\n    k = os.environ["K"]\nexcept KeyError:\n    k = None', {}),
    ('X = os.getenv("X")\nif not X:\n    raise RuntimeError("X must be set")', {"X": ()}),
    ('if not os.getenv("X"):\n    raise SystemExit("X")', {"X": ()}),
    ('k = os.environ["K"]', {"K": ()}),
    ('url = os.getenv("DATABASE_URL").strip()', {"DATABASE_URL": ()}),
])
def test_python_fallbacks_make_a_variable_optional(source: str, expected: dict) -> None:
    assert required(py("import os\n" + source + "\n")) == expected


def test_one_of_two_variables_is_enough_and_neither_is_one_high_finding() -> None:
    contract = py('import os\nURL = os.getenv("DATABASE_URL") or os.getenv("NEON_DATABASE_URL")\n')
    assert high(contract, workload(["DATABASE_URL"])) == []
    assert high(contract, workload(["NEON_DATABASE_URL"])) == []
    [message] = high(contract, workload([]))
    assert "sets none of DATABASE_URL, NEON_DATABASE_URL" in message


PYDANTIC = '''
from typing import ClassVar, Optional
from pydantic import Field
from pydantic_settings import BaseSettings

class Base(BaseSettings):
    service: str

class Settings(Base):
    database_url: str
    api_key: Optional[str] = None
    region: str | None = None
    model: str = Field(default="gpt-4o")
    origins: list[str] = Field(default_factory=list)
    token: str = Field(..., alias="API_TOKEN")
    legacy: Optional[str]
    registry: ClassVar[dict] = {}
'''


def test_pydantic_settings_defaults_and_optionals() -> None:
    contract = py(PYDANTIC)
    assert {n: v.required for n, v in contract.env.items()} == {
        "SERVICE": True, "DATABASE_URL": True, "API_KEY": False, "REGION": False, "MODEL": False,
        "ORIGINS": False, "API_TOKEN": True, "LEGACY": False}
    # pydantic-settings matches names case-insensitively
    assert high(contract, workload(["service", "database_url", "api_token"])) == []


# --- JavaScript fallbacks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ('const a = process.env.A || "x";', {}),
    ('const a = process.env.A ?? "x";', {}),
    ('const a = process.env.A ?? process.env.B;', {"A": ("B",), "B": ("A",)}),
    ('const a = process.env.A || process.env.B || "x";', {}),
    ('const secure = process.env.NODE_ENV === "production";', {}),
    ('const url = process.env.APP_URL ? `https://${process.env.APP_URL}` : "http://localhost";', {}),
    ('const list = process.env.ORIGINS?.split(",");', {}),
    ('if (!process.env.KEY) {\n  throw new Error("KEY is required");\n}', {"KEY": ()}),
    ('if (!process.env.KEY) console.warn("no key");', {}),
    ('const db = postgres(process.env.DATABASE_URL!);', {"DATABASE_URL": ()}),
    ('const { MONGO_URI, MONGO_DB = "todo", PORT: port = 3000 } = process.env;', {"MONGO_URI": ()}),
    ('const key = process.env["STRIPE_KEY"];', {"STRIPE_KEY": ()}),
])
def test_js_fallbacks_make_a_variable_optional(source: str, expected: dict) -> None:
    assert required(js(source)) == expected


def test_t3_env_schema_marks_optional_variables() -> None:
    source = '''import { createEnv } from "@t3-oss/env-nextjs";
export const env = createEnv({
  server: {
    DATABASE_URL: z.string().url(),
    SENTRY_DSN: z.string().optional(),
    LOG_LEVEL: z.enum(["info", "debug"]).default("info"),
  },
  runtimeEnv: {
    DATABASE_URL: process.env.DATABASE_URL,
    SENTRY_DSN: process.env.SENTRY_DSN,
    LOG_LEVEL: process.env.LOG_LEVEL,
  },
});'''
    assert required(js(source)) == {"DATABASE_URL": ()}


# --- platform and framework variables -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["NODE_ENV", "VERCEL", "VERCEL_URL", "VERCEL_ENV", "NEXT_RUNTIME", "NEXT_PUBLIC_API_URL",
                                  "HOSTNAME", "HOME", "PATH", "PWD", "CI", "KUBERNETES_SERVICE_HOST", "PYTHONPATH",
                                  "UV_CACHE_DIR", "TODO_API_SERVICE_HOST", "REDIS_SERVICE_PORT"])
def test_platform_variables_are_never_required(name: str) -> None:
    assert provided_by_platform(name)
    contract = js(f"const v = process.env.{name};")
    assert contract.env[name].required and check_contract([contract], [workload([])]) == []


@pytest.mark.parametrize("name", ["DATABASE_URL", "OPENAI_API_KEY", "JWT_SECRET", "PORT"])
def test_application_variables_are_not_in_the_platform_table(name: str) -> None:
    assert provided_by_platform(name) is None


def test_port_without_a_default_is_a_low_note_and_nothing_when_the_image_sets_it() -> None:
    contract = js("app.listen(process.env.PORT);")
    [finding] = check_contract([contract], [workload([])])
    assert finding.severity is Severity.low and "Kubernetes does not set it" in finding.message
    contract.baked_env = {"PORT"}
    assert check_contract([contract], [workload([])]) == []


# --- routes ------------------------------------------------------------------------------------------------


FASTAPI = '''
from fastapi import APIRouter, FastAPI
app = FastAPI(title="api")
router = APIRouter()
@router.get("/todos/{todo_id}")
def todo(todo_id: int): ...
app.include_router(router, prefix="/api/v1")
'''


@pytest.mark.parametrize(("path", "verdict"), [
    ("/docs", "yes"), ("/redoc", "yes"), ("/openapi.json", "yes"), ("/docs/oauth2-redirect", "yes"),
    ("/api/v1/todos/42", "yes"), ("/docs/", "yes"), ("/metrics", "no"),
])
def test_fastapi_serves_its_documentation_routes(path: str, verdict: str) -> None:
    assert serves(py(FASTAPI), path) == verdict


def test_fastapi_docs_can_be_turned_off_or_moved() -> None:
    off = py('from fastapi import FastAPI\napp = FastAPI(docs_url=None, redoc_url=None)\n@app.get("/health")\ndef h(): ...\n')
    assert off.routes == {"/openapi.json", "/health"}
    moved = py('from fastapi import FastAPI\napp = FastAPI(openapi_url="/api/openapi.json", docs_url="/api/docs")\n')
    assert moved.routes == {"/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect", "/redoc"}
    none = py('from fastapi import FastAPI\napp = FastAPI(openapi_url=None)\n')
    assert none.routes == set()


@pytest.mark.parametrize(("rel", "source", "route"), [
    ("web/src/app/page.tsx", "export default function Home() {}", "/"),
    ("web/app/(marketing)/about/page.tsx", "export default function A() {}", "/about"),
    ("web/src/app/tasks/[id]/page.tsx", "export default function T() {}", "/tasks/[id]"),
    ("web/src/app/api/health/route.ts", "export async function GET() {}", "/api/health"),
    ("web/src/app/api/auth/[...all]/route.ts", "export const { GET, POST } = toNextJsHandler(auth);", "/api/auth/[...all]"),
    ("web/src/app/api/chat/route.ts", "export async function POST() {}", None),
    ("web/src/app/_components/page.tsx", "export default function C() {}", None),
    ("web/src/app/@modal/login/page.tsx", "export default function L() {}", "/login"),
    ("web/pages/api/health.ts", "export default function handler() {}", "/api/health"),
    ("web/pages/index.tsx", "export default function Home() {}", "/"),
    ("web/pages/_app.tsx", "export default function App() {}", None),
])
def test_next_file_system_routes(rel: str, source: str, route: str | None) -> None:
    assert js(source, rel).routes == ({route} if route else set())


def test_a_catch_all_serves_its_subtree_but_is_never_recommended_as_a_probe() -> None:
    contract = js("export async function GET() {}", "web/src/app/api/auth/[...all]/route.ts")
    js_contract("export default function Home() {}", "web/src/app/page.tsx", contract)
    assert serves(contract, "/api/auth/session") == "yes"
    [finding] = check_contract([contract], [workload([], probe="/healthz", port=3000)])
    assert finding.severity is Severity.medium and "[...all]" not in finding.message + finding.remediation
    assert "one of: /" in finding.remediation


def test_express_routes_under_a_router_prefix() -> None:
    contract = js('const express = require("express");\nconst app = express();\napp.use("/api", routes);\n'
                  'app.get("/healthz", (req, res) => res.send("ok"));', "srv/src/index.js")
    js_contract('const router = require("express").Router();\nrouter.get("/ping", h);', "srv/src/routes.js", contract)
    assert serves(contract, "/api/ping") == "yes" and serves(contract, "/healthz") == "yes"
    assert serves(contract, "/status") == "no"


def test_client_calls_are_not_routes() -> None:
    assert js('import axios from "axios";\naxios.get("/api/todos");').routes == set()


def test_an_inventory_that_may_be_incomplete_only_asks() -> None:
    contract = py('from fastapi import FastAPI\napp = FastAPI()\napp.mount("/static", StaticFiles(directory="s"))\n'
                  '@app.get("/health")\ndef h(): ...\n')
    assert serves(contract, "/static/ready.txt") == "unsure"
    [finding] = check_contract([contract], [workload([], probe="/static/ready.txt")])
    assert finding.severity is Severity.low and "mount" in finding.message
    suffix = py('from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h(): ...\n')
    assert serves(suffix, "/api/health") == "unsure"  # a prefix we did not see may put /health there
