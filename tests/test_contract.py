"""tools.contract: what Phase III needs at run time, read without running it, against Phase IV workloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import ROOT, invoke

from core.config import Phase3Config, load_config
from core.models import Category, K8sObject, Severity
from tools.contract import AppContract, app_roots, check_contract, extract_contract, js_contract, python_contract
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
    assert contract.routes == {"/healthz", "/api/items"}
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
    obj = deployment("todo-api", "registry.local/team/todo-api:1.0", 8000, "/docs",
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
