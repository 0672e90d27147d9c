"""The trusted policy through the console entry point: ``review``/``stage approve`` judge by the base revision's
config (or the operator's ``--config`` / ``INFRA_ORCH_CONFIG``) and the decision names the source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import invoke
from gitrepo import commit, git, isolate_git_env, make_repo, write_files

from core.models import ChangeRequest, StageRequest
from tools.policy_source import CONFIG_ENV, policy_for_request, request_base

CONFIG = "phase3:\n  protected: ['backend/src/**']\n"


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_env(monkeypatch)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    return make_repo(tmp_path, {".infra-orchestrator.yaml": CONFIG, "backend/src/app.py": "app = 1\n",
                                "k8s/README.md": "infra\n"})


def _review(*args: str) -> tuple[int, dict]:
    result = invoke("review", *args, "--format", "json")
    assert result.returncode in (0, 1, 3), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_a_work_tree_that_drops_its_protection_is_still_rejected(repo: Path):
    write_files(repo, {".infra-orchestrator.yaml": "phase3:\n  protected: ['docs/**']\n",
                       "backend/src/app.py": "app = 2\n"})
    code, decision = _review(str(repo), "--worktree")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert (code, decision["outcome"]) == (1, "REJECTED")
    assert decision["metadata"]["config_file"] == f"base revision {head[:12]} (.infra-orchestrator.yaml)"


def test_a_range_is_judged_by_its_base(repo: Path):
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {".infra-orchestrator.yaml": "phase3:\n  protected: ['docs/**']\n", "backend/src/app.py": "x\n"},
           "weaken and use")
    code, decision = _review(str(repo), "--base", base)
    assert code == 1 and "backend/src/app.py" in decision["phase3_protection"]["detail"]


def test_the_operator_file_is_used_and_named(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    operator = tmp_path / "ci-policy.yaml"
    operator.write_text("phase3:\n  protected: ['k8s/**']\n")
    write_files(repo, {"k8s/README.md": "infra v2\n"})
    code, decision = _review(str(repo), "--worktree", "--config", str(operator))
    assert code == 1 and decision["metadata"]["config_file"] == f"operator file {operator}"
    monkeypatch.setenv(CONFIG_ENV, str(operator))
    code, decision = _review(str(repo), "--worktree")
    assert code == 1 and decision["metadata"]["config_file"] == f"operator file {operator}"


def test_a_missing_operator_file_is_a_usage_error(repo: Path, tmp_path: Path):
    for args in (["review", str(repo), "--config", str(tmp_path / "nope.yaml")],
                 ["stage", "approve", "001-x", "--to", "specify", "-C", str(repo), "--config",
                  str(tmp_path / "nope.yaml")]):
        result = invoke(*args)
        assert result.returncode == 2 and "config file not found" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_a_plain_directory_says_its_policy_is_untrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / ".infra-orchestrator.yaml").write_text(CONFIG)
    _, decision = _review(str(plain))
    assert decision["metadata"]["config_file"] == "work tree (untrusted: no base revision)"


def test_a_stage_request_trusts_the_commit_its_branch_forked_from(repo: Path):
    fork = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "--quiet", "-b", "001-feature")
    commit(repo, {".infra-orchestrator.yaml": "phase3:\n  protected: []\n"}, "branch drops the boundaries")
    commit(repo, {"k8s/README.md": "more\n"}, "more")
    req = StageRequest(workspace=str(repo), feature="001-feature", target="specify")
    assert request_base(req) == fork
    assert policy_for_request(req, env={}).config.phase3.protected == ["backend/src/**"]
    assert request_base(ChangeRequest(workspace=str(repo))) == git(repo, "rev-parse", "HEAD").strip()
    assert request_base(ChangeRequest(workspace=str(repo), base="HEAD~2")) == fork


def test_the_mcp_server_takes_the_operator_file_from_the_environment(repo: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    import asyncio

    from infra_orchestrator.mcp_server import build_server

    operator = tmp_path / "mcp-policy.yaml"
    operator.write_text("phase3:\n  protected: ['k8s/**']\n")
    commit(repo, {"k8s/README.md": "infra v2\n"}, "infra")
    server = build_server(repo)
    result = asyncio.run(server.call_tool("validate_change", {"base": "HEAD~1"}))
    assert result.structured_content["outcome"] == "APPROVED"
    assert result.structured_content["metadata"]["config_file"].startswith("base revision ")
    monkeypatch.setenv(CONFIG_ENV, str(operator))
    result = asyncio.run(server.call_tool("validate_change", {"base": "HEAD~1"}))
    assert result.structured_content["outcome"] == "REJECTED"
    assert result.structured_content["metadata"]["config_file"] == f"operator file {operator}"
