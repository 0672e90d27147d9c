"""Dockerfile checks on the image itself: who it runs as, what it copies and bakes in, how it is started.

Every Dockerfile check is ``fn(text, file)`` (or ``fn(text, file, read)`` when it reads the build context)
yielding ``(line, message)``; :mod:`tools.checks.dockerfile.parsing` reads the instructions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.models import Category, Severity
from tools.checks.core import check
from tools.checks.dockerfile.parsing import assignments as _assignments
from tools.checks.dockerfile.parsing import exec_form as _exec_form
from tools.checks.dockerfile.parsing import from_image, parse, stages, unpinned
from tools.checks.dockerfile.parsing import sources as _sources

_SECRET_NAME = re.compile(r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential)",
                          re.IGNORECASE)
_ENV_FILE = re.compile(r"(^|/)\.env(\.(?!example$|sample$|template$|dist$)[\w.-]+)?$")
_URL = re.compile(r"^https?://", re.IGNORECASE)


@check(id="DOCKER-USER-ROOT", category=Category.security, severity=Severity.high, scope="dockerfile",
       title="Container image runs as root",
       description="The final stage sets no USER, or sets root/0, so the process runs as root unless the pod's "
                   "securityContext overrides it.",
       remediation="Add `USER 10001` (a numeric non-root UID) to the final stage.",
       peers={"checkov": "CKV_DOCKER_3,CKV_DOCKER_8", "hadolint": "DL3002"})
def user_root(text: str, file: str) -> Iterator[tuple[int, str]]:
    final = stages(text)[-1] if parse(text) else []
    if not final or final[0].keyword != "FROM":
        return
    users = [ins for ins in final if ins.keyword == "USER"]
    if not users:
        yield final[0].line, "the final stage sets no USER: the container runs as root"
    elif users[-1].args.split(":")[0].strip() in ("root", "0"):
        yield users[-1].line, "the final stage's USER is root"


@check(id="DOCKER-COPY-ENV", category=Category.security, severity=Severity.high, scope="dockerfile",
       title=".env file copied into the image",
       description="COPY/ADD of a .env file bakes its secrets into an image layer, readable by anyone who can "
                   "pull the image (12-factor: config comes from the environment).",
       remediation="Remove the COPY, add `.env*` to .dockerignore and pass config as environment variables "
                   "(ConfigMap/Secret).")
def copy_env(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins in parse(text):
        if ins.keyword in ("COPY", "ADD"):
            for source in _sources(ins.args):
                if _ENV_FILE.search(source):
                    yield ins.line, f"{ins.keyword} copies '{source}' into the image"


@check(id="DOCKER-BASE-UNPINNED", category=Category.security, severity=Severity.medium, scope="dockerfile",
       title="Base image untagged or :latest",
       description="`FROM image` or `FROM image:latest` builds from whatever the registry serves that day: builds "
                   "are not reproducible and a rollback rebuild may differ.",
       remediation="Pin the base image to a version tag, ideally with its digest (`image:1.2.3@sha256:...`).",
       peers={"checkov": "CKV_DOCKER_7", "hadolint": "DL3006,DL3007"})
def base_unpinned(text: str, file: str) -> Iterator[tuple[int, str]]:
    names: set[str] = set()
    for ins in parse(text):
        if ins.keyword != "FROM":
            continue
        image, name = from_image(ins.args)
        if image and image.lower() != "scratch" and image not in names and "$" not in image and unpinned(image):
            yield ins.line, f"base image '{image}' is not pinned to a version"
        if name:
            names.add(name)


@check(id="DOCKER-HEALTHCHECK", category=Category.observability, severity=Severity.low, scope="dockerfile",
       title="No HEALTHCHECK in the image",
       description="The image declares no HEALTHCHECK. Kubernetes ignores HEALTHCHECK and uses the pod's "
                   "liveness/readiness probes instead, so this matters only where the image also runs under "
                   "Docker or Compose.",
       remediation="Define liveness/readiness probes in the Kubernetes manifest; add a HEALTHCHECK only if the "
                   "image also runs outside Kubernetes.",
       peers={"checkov": "CKV_DOCKER_2", "hadolint": "DL3057"})
def healthcheck(text: str, file: str) -> Iterator[tuple[int, str]]:
    instructions = parse(text)
    if instructions and not any(ins.keyword == "HEALTHCHECK" for ins in instructions):
        final = stages(text)[-1]
        yield final[0].line, "no HEALTHCHECK (Kubernetes probes replace it; define those in the manifest)"


@check(id="DOCKER-ADD-URL", category=Category.security, severity=Severity.medium, scope="dockerfile",
       title="ADD downloads from a URL",
       description="ADD of a URL fetches a remote file at build time without checksum verification; the content "
                   "can change or be tampered with.",
       remediation="Download with `RUN curl -fsSL ... && echo '<sha256>  file' | sha256sum -c`, or "
                   "`ADD --checksum=sha256:...`.")
def add_url(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins in parse(text):
        if ins.keyword == "ADD" and "--checksum" not in ins.args:
            for source in _sources(ins.args):
                if _URL.match(source):
                    yield ins.line, f"ADD fetches '{source}' without a checksum"


@check(id="DOCKER-SHELL-FORM", category=Category.scalability, severity=Severity.medium, scope="dockerfile",
       title="CMD/ENTRYPOINT in shell form",
       description="Shell-form CMD/ENTRYPOINT runs the process under `/bin/sh -c`, which does not forward SIGTERM: "
                   "pods are killed after the grace period instead of shutting down cleanly.",
       remediation='Use the exec form: `CMD ["uvicorn", "app:app", "--host", "0.0.0.0"]` (or `exec` the process '
                   "from a script).",
       peers={"hadolint": "DL3025"})
def shell_form(text: str, file: str) -> Iterator[tuple[int, str]]:
    final = stages(text)[-1] if parse(text) else []
    for ins in final:
        if ins.keyword in ("CMD", "ENTRYPOINT") and ins.args and not _exec_form(ins.args):
            yield ins.line, f"{ins.keyword} is in shell form: signals are not forwarded to the process"


def _cache_problems(command: str) -> Iterator[str]:
    if re.search(r"\bapt-get\b[^;&|]*\binstall\b", command) and "/var/lib/apt/lists" not in command:
        yield "apt-get install without `rm -rf /var/lib/apt/lists/*`"
    if re.search(r"\bpip3?\s+install\b", command) and "--no-cache-dir" not in command:
        yield "pip install without --no-cache-dir"
    if re.search(r"\bapk\s+add\b", command) and "--no-cache" not in command:
        yield "apk add without --no-cache"


@check(id="DOCKER-PKG-CACHE", category=Category.scalability, severity=Severity.low, scope="dockerfile",
       title="Package manager cache left in the image",
       description="Package caches left in a layer make the image larger: slower pulls and scale-out.",
       remediation="Clean up in the same RUN: `apt-get install ... && rm -rf /var/lib/apt/lists/*`, "
                   "`pip install --no-cache-dir`, `apk add --no-cache`.",
       peers={"hadolint": "DL3009,DL3042,DL3019"})
def package_cache(text: str, file: str) -> Iterator[tuple[int, str]]:
    no_pip_cache = any(ins.keyword == "ENV" and "PIP_NO_CACHE_DIR" in ins.args for ins in parse(text))
    for ins in parse(text):
        if ins.keyword == "RUN":
            for problem in _cache_problems(ins.args):
                if not (no_pip_cache and problem.startswith("pip")):
                    yield ins.line, problem


@check(id="DOCKER-SECRET-ENV", category=Category.security, severity=Severity.high, scope="dockerfile",
       title="Secret in ENV or ARG",
       description="A secret-looking ENV/ARG with a literal value is stored in the image metadata and history "
                   "(`docker history`), visible to anyone who can pull the image.",
       remediation="Pass secrets at run time from a Kubernetes Secret; for build-time secrets use "
                   "`RUN --mount=type=secret`.")
def secret_env(text: str, file: str) -> Iterator[tuple[int, str]]:
    for ins in parse(text):
        if ins.keyword in ("ENV", "ARG"):
            for name, value in _assignments(ins):
                if value and _SECRET_NAME.search(name) and not value.startswith("$"):
                    yield ins.line, f"{ins.keyword} {name} has a literal value (value not shown)"
