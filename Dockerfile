# syntax=docker/dockerfile:1
# infra-orchestrator as a container image, for CI jobs without Python:
#   docker build -t infra-orchestrator .
#   docker run --rm -v "$PWD:/work" infra-orchestrator check .
# A CLI, so no HEALTHCHECK: nothing runs long enough to probe. The helm extra (rendering Helm charts without a
# helm binary) is installed by default; `--build-arg EXTRAS=` leaves it out for a smaller image.

FROM python:3.12.8-slim-bookworm AS build
ARG EXTRAS=helm
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/infra-orchestrator
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
# Dependencies first (from the lock file), so a source change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project ${EXTRAS:+--extra "$EXTRAS"}
COPY infra_orchestrator/ infra_orchestrator/
COPY core/ core/
COPY tools/ tools/
COPY agents/ agents/
COPY graph/ graph/
COPY prompts/ prompts/
COPY evals/ evals/
COPY docs/*.schema.json docs/
RUN uv sync --locked --no-dev --no-editable ${EXTRAS:+--extra "$EXTRAS"} \
    && /opt/infra-orchestrator/bin/infra-orchestrator --version

FROM python:3.12.8-slim-bookworm
# git: `review --base/--worktree` read the repository; it is mounted with another owner, hence safe.directory.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*' \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app
COPY --from=build /opt/infra-orchestrator /opt/infra-orchestrator
ENV PATH="/opt/infra-orchestrator/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 INFRA_ORCH_NO_PROGRESS=1
WORKDIR /work
USER 10001:10001
ENTRYPOINT ["infra-orchestrator"]
CMD ["--help"]
