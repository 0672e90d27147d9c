"""Structural tests for the example Phase IV repository in ``examples/todo-phase-iv``.

They check that the example is well-formed data (the tool itself is tested against it elsewhere):
the manifests parse, the config validates, and the fix patch applies and removes the planted defects.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from core.config import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE = EXAMPLES / "todo-phase-iv"
FIX_PATCH = EXAMPLES / "fix-todo-phase-iv.patch"

K8S_FILES = sorted((EXAMPLE / "k8s").glob("*.yaml"))


def _k8s_texts(root: Path) -> dict[str, str]:
    files = sorted(p for p in (root / "k8s").rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in files}


def test_k8s_manifests_exist() -> None:
    names = {p.name for p in K8S_FILES}
    assert {"namespace.yaml", "backend-deployment.yaml", "backend-service.yaml", "frontend-deployment.yaml",
            "frontend-service.yaml", "networkpolicy.yaml", "configmap.yaml", "secret.yaml", "ingress.yaml",
            "hpa.yaml"} <= names


@pytest.mark.parametrize("path", K8S_FILES, ids=lambda p: p.name)
def test_k8s_yaml_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{path} has no documents"
    for doc in docs:
        assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), path


def test_planted_defects_present() -> None:
    texts = _k8s_texts(EXAMPLE)
    assert "todo-backend:latest" in texts["k8s/backend-deployment.yaml"]
    assert "kind: Secret" in texts["k8s/secret.yaml"]
    assert "app: todo-api" in texts["k8s/backend-service.yaml"]
    assert "namespace: default" in texts["k8s/configmap.yaml"]


def test_config_loads_with_protected_globs() -> None:
    loaded = load_config(EXAMPLE)
    assert loaded.path is not None
    cfg = loaded.config
    assert cfg.phase3.defined
    assert "backend/src/**" in cfg.phase3.protected
    assert cfg.phase3.app_roots == ["backend/src", "frontend/src"]
    assert cfg.kubernetes.version == "1.31"


def test_protected_app_files_exist() -> None:
    for rel in ("backend/src/main.py", "backend/src/config.py", "backend/alembic/versions/0001_init.py",
                "frontend/src/app/page.tsx", "frontend/src/app/api/health/route.ts", "frontend/src/lib/api.ts"):
        assert (EXAMPLE / rel).is_file(), rel


@pytest.fixture()
def patched_copy(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    dest = tmp_path / "todo-phase-iv"
    shutil.copytree(EXAMPLE, dest)
    # A repository of its own, so `git apply` resolves paths against the copy, not an enclosing repo.
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    check = subprocess.run(["git", "apply", "--check", str(FIX_PATCH)], cwd=dest, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "apply", str(FIX_PATCH)], cwd=dest, check=True)
    return dest


def test_fix_patch_removes_defects(patched_copy: Path) -> None:
    texts = _k8s_texts(patched_copy)
    assert "k8s/secret.yaml" not in texts
    for rel, text in texts.items():
        assert ":latest" not in text, rel
        assert "kind: Secret" not in text, rel
        for doc in yaml.safe_load_all(text):
            if doc is not None:
                assert doc["metadata"].get("namespace") == "todo" or doc["kind"] == "Namespace", rel
    backend = texts["k8s/backend-deployment.yaml"]
    assert "sk-example" not in backend and "JWT_SECRET" in backend
    assert "app: todo-backend" in texts["k8s/backend-service.yaml"]
    assert "app: todo-api" not in texts["k8s/backend-service.yaml"]
