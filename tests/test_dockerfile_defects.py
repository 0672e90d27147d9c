"""Dockerfiles that won't build or run (issue 14, section 3): each defect class has a fixture pair under
tests/fixtures/dockerfiles/<case>/{fires,ok}/ (a Dockerfile and its build context) and fires with its id, on its
instruction's line, with that instruction as the finding's field and the catalog's remediation."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ChecksConfig, Config
from core.models import ChangeRequest
from tools.checks import registry, run_dockerfile_checks
from tools.checks.dockerfile.runtime import _argv_problems
from tools.engine import analyse

FIXTURES = Path(__file__).parent / "fixtures" / "dockerfiles"
STRICT = Config(checks=ChecksConfig(profile="strict"))
REMEDIATION = {spec.id: spec.remediation for spec in registry()}

CASES = {  # case: [(id, line, instruction)]
    "exec-argv": [("DOCKER-EXEC-ARGV", 5, "CMD")],
    "healthcheck-tool": [("DOCKER-HEALTHCHECK-TOOL", 5, "HEALTHCHECK")],
    "npm-omit-dev": [("DOCKER-NPM-OMIT-DEV-BUILD", 4, "RUN")],
    "unknown-user": [("DOCKER-UNKNOWN-USER", 3, "COPY"), ("DOCKER-UNKNOWN-USER", 4, "USER")],
    "copy-gitignored": [("DOCKER-COPY-GITIGNORED", 4, "COPY")],
    "env-legacy": [("DOCKER-ENV-LEGACY", 2, "ENV")],
    "base-floor": [("DOCKER-BASE-BELOW-FLOOR", 1, "FROM"), ("DOCKER-BASE-BELOW-FLOOR", 8, "FROM")],
    "single-stage": [("DOCKER-SINGLE-STAGE-FRONTEND", 6, "RUN")],
    "no-dockerignore": [("DOCKER-NO-DOCKERIGNORE", 3, "COPY")],
    "hadolint": [("DOCKER-BASE-UNPINNED", 1, "FROM"), ("DOCKER-USER-ROOT", 1, "FROM"),
                 ("DOCKER-PKG-UNPINNED", 2, "RUN"), ("DOCKER-APT-RECOMMENDS", 2, "RUN"),
                 ("DOCKER-PKG-CACHE", 2, "RUN"), ("DOCKER-PKG-UNPINNED", 3, "RUN"), ("DOCKER-ADD-LOCAL", 4, "ADD"),
                 ("DOCKER-ADD-URL", 5, "ADD"), ("DOCKER-WORKDIR-RELATIVE", 6, "WORKDIR"),
                 ("DOCKER-RUN-CD", 7, "RUN"), ("DOCKER-PIPEFAIL", 7, "RUN"), ("DOCKER-SUDO", 8, "RUN"),
                 ("DOCKER-SHELL-FORM", 9, "CMD")],
}
PEERS = {"DOCKER-BASE-UNPINNED": "DL3006", "DOCKER-USER-ROOT": "DL3002", "DOCKER-PKG-UNPINNED": "DL3008",
         "DOCKER-APT-RECOMMENDS": "DL3015", "DOCKER-PKG-CACHE": "DL3009", "DOCKER-ADD-LOCAL": "DL3020",
         "DOCKER-WORKDIR-RELATIVE": "DL3000", "DOCKER-RUN-CD": "DL3003", "DOCKER-PIPEFAIL": "DL4006",
         "DOCKER-SUDO": "DL3004", "DOCKER-SHELL-FORM": "DL3025"}


def findings(case: str, variant: str) -> list:
    root = FIXTURES / case / variant

    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return run_dockerfile_checks((root / "Dockerfile").read_text(encoding="utf-8"), "Dockerfile", STRICT, read)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_defect_fires_on_its_instruction_with_a_remediation(case):
    found = findings(case, "fires")
    got = {(f.check_id, f.line, f.field) for f in found}
    for check_id, line, instruction in CASES[case]:
        assert (check_id, line, instruction) in got, (check_id, line, sorted(got))
        hit = next(f for f in found if (f.check_id, f.line) == (check_id, line))
        assert hit.column == 1 and hit.remediation == REMEDIATION[check_id] and hit.remediation


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fixed_dockerfile_has_none_of_them(case):
    wanted = {check_id for check_id, _, _ in CASES[case]}
    assert not [f for f in findings(case, "ok") if f.check_id in wanted]


def test_hadolint_ids_are_catalog_aliases():
    peers = {spec.id: spec.peers.get("hadolint", "") for spec in registry()}
    for check_id, dl in PEERS.items():
        assert dl in peers[check_id].split(","), check_id


def test_the_engine_reads_the_build_context_at_the_dockerfiles_directory(tmp_path):
    (tmp_path / ".gitignore").write_text(".env\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "package.json").write_text('{"dependencies": {"next": "16.0.1"}}')
    (tmp_path / "web" / "Dockerfile").write_text("FROM node:18-alpine\nCOPY .env .\nCOPY . .\nUSER node\n")
    found = {(f.check_id, f.file, f.line) for f in analyse(ChangeRequest(workspace=str(tmp_path)), Config()).findings}
    assert {("DOCKER-BASE-BELOW-FLOOR", "web/Dockerfile", 1), ("DOCKER-COPY-GITIGNORED", "web/Dockerfile", 2),
            ("DOCKER-NO-DOCKERIGNORE", "web/Dockerfile", 3)} <= found
    (tmp_path / "web" / ".dockerignore").write_text(".env\n")
    again = {f.check_id for f in analyse(ChangeRequest(workspace=str(tmp_path)), Config()).findings}
    assert "DOCKER-NO-DOCKERIGNORE" not in again


@pytest.mark.parametrize("argv", [["python", "-m", "uvicorn", "app:app", "--host", "0.0.0.0"], ["node", "server.js"],
                                  ["sh", "-c", "exec uvicorn app:app --port $PORT"], ["tini", "--", "sh", "-c", "x y"],
                                  ["docker-entrypoint.sh", "sh", "-c", "run"], ["python", "-c", "import a; a.b()"],
                                  ["/app/start", "--port", "$PORT"], ["gunicorn", "-b", "0.0.0.0:8000", "app:app"],
                                  ["gunicorn", "-w 4", "app:app"], ["nginx", "-g", "daemon off;"],
                                  ["npm", "run", "start", "--", "--port", "3000"]])
def test_runnable_command_lines_pass(argv):
    assert list(_argv_problems(argv)) == []


@pytest.mark.parametrize("argv", [["uvicorn", "sh", "-c", "uvicorn app:app"], ["npm start"],
                                  ["uvicorn", "app:app", "--host 0.0.0.0 --port 8000"], ["node", "bash", "-c", "x"],
                                  ["uvicorn", "app:app", "--port", "$PORT"], ["java", "-Xmx512m -Xms256m", "-jar", "a"],
                                  ["uvicorn", "main:app --host 0.0.0.0"], []])
def test_command_lines_that_cannot_run_are_named(argv):
    assert list(_argv_problems(argv))


def test_entrypoint_and_cmd_are_read_together():
    text = 'FROM python:3.12-slim\nUSER 1\nENTRYPOINT ["uvicorn"]\nCMD ["sh", "-c", "uvicorn app:app"]\n'
    assert [(f.line, f.field) for f in run_dockerfile_checks(text, "Dockerfile")
            if f.check_id == "DOCKER-EXEC-ARGV"] == [(4, "CMD")]
    shell_entry = 'FROM python:3.12-slim\nUSER 1\nENTRYPOINT uvicorn app:app\nCMD ["sh", "-c", "x"]\n'
    assert not [f for f in run_dockerfile_checks(shell_entry, "Dockerfile") if f.check_id == "DOCKER-EXEC-ARGV"]


def test_users_of_unknown_bases_and_passwd_copies_are_not_judged():
    for text in ("FROM ghcr.io/acme/base:1\nUSER app\n",
                 "FROM python:3.12-slim\nCOPY --from=build /etc/passwd /etc/passwd\nUSER app\n",
                 "FROM node:22-alpine\nUSER node:node\n", "FROM gcr.io/distroless/python3-debian12\nUSER nonroot\n",
                 "FROM python:3.12-slim AS base\nRUN useradd app\nFROM base\nUSER app\n",
                 "FROM python:3.12-slim\nCOPY setup.sh /\nRUN /setup.sh\nUSER app\n",
                 "FROM python:3.12-slim\nRUN sh /tmp/users && true\nUSER app\n"):
        assert not [f for f in run_dockerfile_checks(text, "Dockerfile") if f.check_id == "DOCKER-UNKNOWN-USER"], text


def test_healthcheck_clients_by_family():
    def fires(base: str, tool: str) -> bool:
        text = f"FROM {base}\nUSER 1\nHEALTHCHECK CMD {tool} http://x/ || exit 1\n"
        return any(f.check_id == "DOCKER-HEALTHCHECK-TOOL" for f in run_dockerfile_checks(text, "Dockerfile"))

    assert fires("python:3.12-slim", "curl") and fires("python:3.12-slim", "wget")
    assert fires("node:22-alpine", "curl") and not fires("node:22-alpine", "wget")
    assert fires("gcr.io/distroless/nodejs22-debian12", "wget")
    assert not fires("python:3.12", "curl") and not fires("ghcr.io/acme/base:1", "curl")
    assert not fires("nginx:1.27-alpine", "curl")  # an application image may ship its own client


def test_builds_inside_shell_conditionals_are_read():
    text = ("FROM node:22-alpine AS deps\nRUN if [ -f package-lock.json ]; then npm ci --omit=dev; fi\n"
            "FROM node:22-alpine AS builder\nCOPY --from=deps /app/node_modules ./node_modules\n"
            "RUN if [ -f yarn.lock ]; then yarn run build; else npm run build; fi\n")
    assert [f.line for f in run_dockerfile_checks(text, "Dockerfile")
            if f.check_id == "DOCKER-NPM-OMIT-DEV-BUILD"] == [2]


def test_sudo_is_found_after_shell_keywords_and_only_as_a_command():
    text = "FROM debian:12-slim\nUSER 1\nRUN echo sudo\nRUN if true; then sudo apt-get update; fi\n"
    assert [f.line for f in run_dockerfile_checks(text, "Dockerfile") if f.check_id == "DOCKER-SUDO"] == [4]


def test_git_ignored_build_output_copied_from_ci_is_deliberate():
    def read(rel: str) -> str | None:
        return "target/\ndist/\n.env\n" if rel == ".gitignore" else None

    text = "FROM eclipse-temurin:21-jre\nCOPY target/app.jar /app.jar\nCOPY dist/ /srv/\nCOPY .env /srv/\n"
    assert [f.line for f in run_dockerfile_checks(text, "Dockerfile", None, read)
            if f.check_id == "DOCKER-COPY-GITIGNORED"] == [4]


def test_a_git_range_reads_the_build_context_at_the_reviewed_head(tmp_path, monkeypatch):
    from tests.gitrepo import commit, isolate_git_env, make_repo

    isolate_git_env(monkeypatch)
    repo = make_repo(tmp_path, {"web/package.json": '{"dependencies": {"next": "14.2.0"}}', "README.md": "x\n"})
    commit(repo, {"web/package.json": '{"dependencies": {"next": "16.0.1"}}',
                  "web/Dockerfile": "FROM node:18.20-alpine\nUSER node\nCMD [\"node\", \"server.js\"]\n"}, "phase IV")
    (repo / "web" / "package.json").write_text('{"dependencies": {"next": "14.2.0"}}')  # not what is reviewed
    found = analyse(ChangeRequest(workspace=str(repo), base="HEAD~1", head="HEAD"), Config()).findings
    assert [(f.check_id, f.line) for f in found if f.check_id == "DOCKER-BASE-BELOW-FLOOR"] == [
        ("DOCKER-BASE-BELOW-FLOOR", 1)]
