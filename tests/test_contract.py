"""tools.contract: what Phase III needs at run time, read without running it, against Phase IV workloads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import ROOT, invoke

from core.config import Phase3Config, load_config
from core.models import Category, K8sObject, Severity
from tools.contract import (
    AppContract,
    EnvVar,
    app_roots,
    check_contract,
    extract_contract,
    js_contract,
    python_contract,
)
from tools.manifests import load_manifest_text

EXAMPLE = ROOT / "examples" / "todo-phase-iv"

PY_APP = '''
import os
from fastapi import APIRouter, FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
import uvicorn

class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TODO_")
    db_url: str
    debug: bool = False
    token: str = Field(..., alias="API_TOKEN")
    region: str = Field(default="eu")

app = FastAPI()
router = APIRouter(prefix="/api")
SECRET = os.environ["SECRET_KEY"]
LEVEL = os.environ.get("LOG_LEVEL", "INFO")
PORT = int(os.getenv("PORT", "9000"))
os.environ["WRITTEN"] = "1"

@app.get("/healthz")
def health(): ...

@router.get("/items")
def items(): ...

@app.post("/submit")
def submit(): ...

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8080)
'''

JS_APP = '''
const api = process.env.NEXT_PUBLIC_API_URL ?? "http://localhost:8000";
const key = process.env["STRIPE_KEY"];
const mode = process.env.MODE || "dev";
import { NextResponse } from "next/server";
export async function GET() { return NextResponse.json({ ok: true }); }
'''


def test_python_contract_reads_env_ports_and_routes() -> None:
    contract = AppContract(root="api/src")
    python_contract(PY_APP, "api/src/main.py", contract)
    assert {n: v.required for n, v in contract.env.items()} == {
        "TODO_DB_URL": True, "TODO_DEBUG": False, "API_TOKEN": True, "TODO_REGION": False,
        "SECRET_KEY": True, "LOG_LEVEL": False, "PORT": False,
    }
    assert contract.env["SECRET_KEY"].line == 17
    assert contract.ports == {8080, 9000}
    assert contract.routes == {"/healthz", "/api/items", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
    assert contract.health == ["/healthz"]
    assert contract.name == "api"


def test_js_contract_reads_process_env_and_next_routes() -> None:
    contract = AppContract(root="web/src")
    js_contract(JS_APP, "web/src/app/(site)/api/health/route.ts", contract)
    assert {n: v.required for n, v in contract.env.items()} == {
        "NEXT_PUBLIC_API_URL": False, "STRIPE_KEY": True, "MODE": False}
    assert contract.ports == {3000}
    assert contract.routes == {"/api/health"}


def test_python_source_that_does_not_parse_is_skipped() -> None:
    contract = AppContract(root="x")
    python_contract("def broken(:\n", "x/a.py", contract)
    assert (contract.env, contract.ports, contract.routes) == ({}, set(), set())


def test_example_deployment_misses_jwt_secret() -> None:
    config = load_config(EXAMPLE).config
    backend = extract_contract(EXAMPLE, "backend/src")
    assert backend.env["JWT_SECRET"].required and backend.env["OPENAI_API_KEY"].required
    assert not backend.env["DATABASE_URL"].required
    assert (backend.ports, backend.health) == ({8000}, ["/health"])
    objects, _ = load_manifest_text((EXAMPLE / "k8s/backend-deployment.yaml").read_text(), "k8s/backend-deployment.yaml")
    apps = [extract_contract(EXAMPLE, r) for r in app_roots(EXAMPLE, config.phase3)]
    findings = check_contract(apps, objects)
    high = [f for f in findings if f.severity is Severity.high]
    assert [(f.check_id, f.file, f.category) for f in high] == [
        ("CONTRACT-ENV-MISSING", "k8s/backend-deployment.yaml", Category.phase3)]
    assert "JWT_SECRET" in high[0].message and "backend/src/main.py:18" in high[0].message
    optional = {f.message.split()[5] for f in findings if f.severity is Severity.low}
    assert optional == {"OPENAI_MODEL"}


def test_example_review_reports_the_missing_variable() -> None:
    proc = invoke("review", str(EXAMPLE), "--format", "json")
    decision = json.loads(proc.stdout)
    missing = [f for f in decision["findings"] if f["check_id"] == "CONTRACT-ENV-MISSING" and f["severity"] == "high"]
    assert [(f["file"], "JWT_SECRET" in f["message"]) for f in missing] == [("k8s/backend-deployment.yaml", True)]


def deployment(name: str, image: str, port: int, probe: str, env: list[str], env_from: list | None = None) -> K8sObject:
    container = {"name": name, "image": image, "ports": [{"name": "http", "containerPort": port}],
                 "env": [{"name": e, "value": "x"} for e in env],
                 "readinessProbe": {"httpGet": {"path": probe, "port": "http"}}}
    if env_from is not None:
        container["envFrom"] = env_from
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [container]}}}}
    return K8sObject(api_version="apps/v1", kind="Deployment", name=name, file=f"k8s/{name}.yaml", body=body)


@pytest.fixture()
def apps() -> list[AppContract]:
    api, web = AppContract(root="api/src"), AppContract(root="web/src")
    python_contract(PY_APP, "api/src/main.py", api)
    js_contract(JS_APP, "web/src/app/api/health/route.ts", web)
    return [api, web]


def test_port_and_probe_mismatch_are_medium(apps: list[AppContract]) -> None:
    obj = deployment("todo-api", "registry.local/team/todo-api:1.0", 8000, "/metrics",
                     ["TODO_DB_URL", "API_TOKEN", "SECRET_KEY"])
    found = sorted((f.check_id, f.severity.value) for f in check_contract(apps, [obj]))
    assert found == [("CONTRACT-ENV-MISSING", "low")] * 4 + [
        ("CONTRACT-PORT", "medium"), ("CONTRACT-PORT", "medium"), ("CONTRACT-PROBE-PATH", "medium")]


def test_env_from_a_known_configmap_counts_and_an_unknown_one_skips_the_env_check(apps: list[AppContract]) -> None:
    cm = K8sObject(api_version="v1", kind="ConfigMap", name="web-env", file="k8s/cm.yaml",
                   body={"kind": "ConfigMap", "data": {"STRIPE_KEY": "x"}})
    ok = deployment("web", "web:2", 3000, "/api/health", [], [{"configMapRef": {"name": "web-env"}}])
    assert [f.check_id for f in check_contract(apps, [ok, cm]) if f.severity is Severity.high] == []
    unknown = deployment("web", "web:2", 3000, "/api/health", [], [{"secretRef": {"name": "elsewhere"}}])
    assert [f.check_id for f in check_contract(apps, [unknown])] == []
    bare = deployment("web", "web:2", 3000, "/api/health", [])
    assert [(f.check_id, f.severity.value) for f in check_contract(apps, [bare]) if "STRIPE_KEY" in f.message] == [
        ("CONTRACT-ENV-MISSING", "high")]


def test_unmatched_workloads_are_not_checked(apps: list[AppContract]) -> None:
    assert check_contract(apps, [deployment("redis", "redis:7", 6379, "/", [])]) == []


def test_app_roots_fall_back_to_protected_globs(tmp_path: Path) -> None:
    (tmp_path / "backend/src").mkdir(parents=True)
    phase3 = Phase3Config(protected=["backend/src/**", "frontend/src/**", "**/*.sql"])
    assert app_roots(tmp_path, phase3) == ["backend/src"]


# --- what the container runs: realistic repositories -------------------------------------------------------

REPOS = Path(__file__).parent / "fixtures" / "contract"


def review_contract(repo: Path) -> list[tuple[str, str, str]]:
    """(check id, severity, message) of the runtime-contract findings of ``review`` on a fixture repository."""
    decision = json.loads(invoke("review", str(repo), "--format", "json").stdout)
    return sorted((f["check_id"], f["severity"], f["message"]) for f in decision["findings"]
                  if f["check_id"].startswith("CONTRACT-"))


def blocking(findings: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(c, m.split(",")[0].split(" (")[0]) for c, s, m in findings if s in ("high", "medium", "critical")]


def test_fastapi_repository_only_reports_the_variable_that_is_really_missing() -> None:
    found = review_contract(REPOS / "fastapi-app")
    assert blocking(found) == [("CONTRACT-ENV-MISSING", "the workload never sets JWT_SECRET")]
    text = " ".join(m for _, _, m in found)
    # dev script, migrations, tests, the `or` fallback, platform variables: none is required of the workload
    for name in ("ADMIN_PASSWORD", "MIGRATION_DATABASE_URL", "TEST_DATABASE_URL", "NEON_DATABASE_URL", "PYTHONPATH",
                 "HOME"):
        assert name not in text, name
    assert "uvicorn app.main:app" in text  # the finding says which code counted


def test_nextjs_repository_serves_its_pages_and_ignores_dev_scripts() -> None:
    found = review_contract(REPOS / "nextjs-app")
    assert blocking(found) == [("CONTRACT-PROBE-PATH", "livenessProbe path /healthz is not served by the Phase III app")]
    probe = next(m for c, s, m in found if c == "CONTRACT-PROBE-PATH")
    assert "/tasks" in probe and "[...all]" not in probe and "[id]" not in probe
    text = " ".join(m for _, _, m in found)
    for name in ("ADMIN_EMAIL", "NODE_ENV", "VERCEL_URL", "NEXT_BASE_PATH"):
        assert name not in text, name
    # BETTER_AUTH_URL falls back to a build-time NEXT_PUBLIC_ variable: a note, not a blocker
    assert any(s == "low" and "BETTER_AUTH_URL" in m and "NEXT_PUBLIC_APP_URL" in m for _, s, m in found)


def test_express_repository_reads_destructured_variables_and_router_prefixes() -> None:
    found = review_contract(REPOS / "express-app")
    assert blocking(found) == [("CONTRACT-ENV-MISSING", "the workload never sets MONGO_URI")]
    text = " ".join(m for _, _, m in found)
    assert "ADMIN_TOKEN" not in text and "MIGRATION_MONGO_URI" not in text and "PROBE" not in text


def test_entry_points_decide_which_files_count() -> None:
    fastapi = extract_contract(REPOS / "fastapi-app", "backend")
    assert fastapi.entry == "uvicorn app.main:app --host 0.0.0.0 --port 8000 --proxy-headers"
    assert "backend/app/agent.py" in fastapi.sources and fastapi.ports == {8000}
    assert not any(s.startswith(("backend/scripts", "backend/alembic", "backend/tests")) for s in fastapi.sources)
    nextjs = extract_contract(REPOS / "nextjs-app", "frontend/src")
    assert nextjs.entry == "node server.js" and nextjs.ports == {3000}  # Next.js standalone output
    assert "frontend/src/lib/db.ts" in nextjs.sources and not any("scripts/" in s for s in nextjs.sources)
    assert {"NODE_ENV", "PORT", "HOSTNAME"} <= nextjs.baked_env
    express = extract_contract(REPOS / "express-app", "phase-3-ai-chatbot/server")
    assert express.entry == "node src/index.js"  # npm start -> scripts.start, Dockerfile found by the app's name
    assert express.ports == {5000}


def copy_repo(tmp_path: Path, name: str) -> Path:
    shutil.copytree(REPOS / name, tmp_path / name)
    return tmp_path / name


def test_migrations_count_when_the_container_runs_them_at_start(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, "fastapi-app")
    dockerfile = repo / "Dockerfile.backend"
    dockerfile.write_text(dockerfile.read_text().replace(
        'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]',
        'CMD sh -c "alembic upgrade head && exec uvicorn app.main:app --host 0.0.0.0 --port 8000"'))
    contract = extract_contract(repo, "backend")
    assert contract.env["MIGRATION_DATABASE_URL"].required and "backend/alembic/env.py" in contract.sources
    assert "ADMIN_PASSWORD" not in contract.env


def test_entrypoint_script_and_console_script(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, "fastapi-app")
    (repo / "backend/docker-entrypoint.sh").write_text("#!/bin/sh\nset -e\npython -m app.worker\nexec \"$@\"\n")
    (repo / "backend/app/worker.py").write_text('import os\nQUEUE = os.environ["QUEUE_URL"]\n')
    dockerfile = repo / "Dockerfile.backend"
    dockerfile.write_text(dockerfile.read_text().replace("CMD [", 'ENTRYPOINT ["/app/docker-entrypoint.sh"]\nCMD ['))
    assert extract_contract(repo, "backend").env["QUEUE_URL"].required
    dockerfile.unlink()  # no Dockerfile: the package's [project.scripts] entry point decides
    (repo / "backend/pyproject.toml").write_text('[project]\nname = "todo"\n[project.scripts]\ntodo-api = "app.main:run"\n')
    contract = extract_contract(repo, "backend")
    assert contract.entry == "[project.scripts] app.main:run" and "QUEUE_URL" not in contract.env
    assert "JWT_SECRET" in contract.env


def test_without_any_entry_point_every_module_but_dev_code_counts(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, "fastapi-app")
    (repo / "Dockerfile.backend").unlink()
    contract = extract_contract(repo, "backend")
    assert contract.entry is None and "JWT_SECRET" in contract.env
    assert not {"ADMIN_PASSWORD", "MIGRATION_DATABASE_URL", "TEST_DATABASE_URL"} & set(contract.env)
    objects, _ = load_manifest_text((repo / "k8s/backend.yaml").read_text(), "k8s/backend.yaml")
    [missing] = [f for f in check_contract([contract], objects) if f.severity is Severity.high]
    assert "no entry point found, so every module of backend counts" in missing.message


def test_workload_port_settings_count_as_what_the_app_listens_on() -> None:
    contract = AppContract(root="api", ports={8000})
    contract.env["PORT"] = EnvVar("PORT", False, "api/main.py", 1)
    obj = deployment("api", "api:1", 9000, "/health", [])
    obj.body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "PORT", "value": "9000"}]
    assert [f for f in check_contract([contract], [obj]) if f.check_id == "CONTRACT-PORT"] == []
    other = deployment("api", "api:1", 9100, "/health", [])
    other.body["spec"]["template"]["spec"]["containers"][0]["args"] = ["--port", "9100"]
    assert [f for f in check_contract([contract], [other]) if f.check_id == "CONTRACT-PORT"] == []


def test_a_spa_served_by_nginx_runs_no_app_code(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "package.json").write_text('{"scripts": {"start": "react-scripts start", "build": "react-scripts build"}}')
    (web / "src/api.js").write_text("export const API = process.env.REACT_APP_API_URL;\n"
                                    "export const KEY = process.env.MAPS_KEY;\n")
    (web / "Dockerfile").write_text("FROM node:22-alpine AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
                                    "FROM nginx:1.27-alpine\nCOPY --from=build /app/build /usr/share/nginx/html\n")
    contract = extract_contract(tmp_path, "web/src")
    assert contract.entry == "nginx" and contract.env == {} and contract.routes == set()
    assert check_contract([contract], [deployment("web", "web:1", 80, "/", [])]) == []
    (web / "Dockerfile").write_text("FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nCMD [\"npx\", \"serve\", \"-s\", \"build\"]\n")
    assert extract_contract(tmp_path, "web/src").entry == "serve -s build"


def test_odd_dockerfiles_and_scripts_end_in_a_fallback_not_a_crash(tmp_path: Path) -> None:
    api = tmp_path / "api"
    (api / "src").mkdir(parents=True)
    (api / "src/index.js").write_text("const key = process.env.API_KEY;\n")
    (api / "package.json").write_text('{"scripts": {"start": "npm start", "dev": "npm run dev"}, "bin": 7}')
    (api / "Dockerfile").write_text('FROM node:22\nCMD ["node", \nENTRYPOINT ["./missing-entrypoint.sh"]\n')
    contract = extract_contract(tmp_path, "api")
    assert contract.entry is None and contract.env["API_KEY"].required  # every module counts, nothing crashed
    (api / "Dockerfile").write_text("FROM scratch\n" + "CMD sh -c 'sh -c \"sh -c true\"'\n" * 3)
    assert extract_contract(tmp_path, "api").env["API_KEY"].required
