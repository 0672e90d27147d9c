"""Dockerfile checks (tools/checks/dockerfile.py): parsing details and wiring into the engine."""

from __future__ import annotations

from core.config import Config
from core.models import ChangeRequest
from tools.checks import run_dockerfile_checks
from tools.checks.dockerfile import parse, unpinned
from tools.engine import analyse, collect, is_dockerfile


def ids(text: str) -> list[tuple[str, int]]:
    return [(f.check_id, f.line) for f in run_dockerfile_checks(text, "Dockerfile")]


def test_continuations_are_joined_and_reported_on_the_first_line():
    text = "FROM alpine:3.20\n# comment\nRUN apk add \\\n    # inside\n    curl\nUSER 1000\n"
    assert parse(text)[1] == (3, "RUN", "apk add curl")
    assert ("DOCKER-PKG-CACHE", 3) in ids(text)


def test_secret_values_are_never_echoed():
    text = 'FROM alpine:3.20\nENV API_KEY="abc123" MODE=prod\nARG DB_PASSWORD=hunter2\nARG SAFE_TOKEN\n' \
           "ENV JWT_SECRET ${JWT_SECRET}\nUSER 1000\n"
    found = [f for f in run_dockerfile_checks(text, "Dockerfile") if f.check_id == "DOCKER-SECRET-ENV"]
    assert [(f.line, f.message.split(" ")[1]) for f in found] == [(2, "API_KEY"), (3, "DB_PASSWORD")]
    assert not any("abc123" in f.message or "hunter2" in f.message for f in found)


def test_base_images_stage_names_scratch_digests_and_args():
    assert unpinned("python") and unpinned("python:latest") and unpinned("registry:5000/team/app")
    assert not unpinned("registry:5000/team/app:1.2") and not unpinned("python@sha256:abc")
    text = ("ARG BASE=python:3.12\nFROM ${BASE} AS build\nFROM build AS test\nFROM scratch\n"
            "COPY --from=build /app /app\nUSER 65532\n")
    assert not [i for i in ids(text) if i[0] == "DOCKER-BASE-UNPINNED"]


def test_env_example_files_may_be_copied_and_exec_form_passes():
    text = 'FROM alpine:3.20\nCOPY .env.example ["config/.env.sample", "/app/"]\nUSER 1000\nENTRYPOINT ["/app/run"]\n'
    assert not [i for i in ids(text) if i[0] in ("DOCKER-COPY-ENV", "DOCKER-SHELL-FORM")]
    assert ("DOCKER-COPY-ENV", 2) in ids("FROM alpine:3.20\nCOPY [\"prod.env\", \".env.production\", \"/app/\"]\n")


def test_odd_input_never_raises():
    for text in ("", "\n\n# only comments\n", "RUN echo no from\n", "FROM\n", "FROM alpine:3 \\", "\x00\x01garbage"):
        assert all(f.check_id != "SCH-CHECK-ERROR" for f in run_dockerfile_checks(text, "Dockerfile")), text


def test_dockerfiles_in_scope_are_read_by_collect_and_checked_by_the_engine(tmp_path):
    for name in ("Dockerfile", "api/Dockerfile.prod", "web/app.Dockerfile", "docs/dockerfile.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("FROM python\nCMD python app.py\n")
    assert is_dockerfile("a/Dockerfile.dev") and not is_dockerfile("docs/dockerfile.md")
    req = ChangeRequest(workspace=str(tmp_path))
    assert sorted(collect(req, tmp_path, Config()).dockerfiles) == ["Dockerfile", "api/Dockerfile.prod",
                                                                    "web/app.Dockerfile"]
    files = {f.file for f in analyse(req, Config()).findings if f.check_id == "DOCKER-USER-ROOT"}
    assert files == {"Dockerfile", "api/Dockerfile.prod", "web/app.Dockerfile"}
