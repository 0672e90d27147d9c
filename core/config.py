"""Repository configuration: ``.infra-orchestrator.yaml`` at the workspace root.

Validated by pydantic with unknown keys forbidden; a bad file raises :class:`ConfigError` whose message
names the file and the offending key (the CLI maps it to exit code 2).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core import confine, yamlsafe
from core.errors import ConfigError, InputError
from core.globs import normalize_globs
from core.models import Severity

CONFIG_FILENAME = ".infra-orchestrator.yaml"
MAX_CONFIG_BYTES = 1024 * 1024
"""A config larger than this is refused unread."""
STAGES = ("constitution", "specify", "clarify", "plan", "tasks", "analyze", "implement")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Phase3Config(_Strict):
    protected: list[str] = Field(default_factory=list, description="gitignore-style globs of frozen Phase III code")
    needs_approval: list[str] = Field(
        default_factory=list,
        description="globs of Phase III build configuration that may change only with explicit approval",
    )
    allowed: list[str] = Field(default_factory=list, description="globs carved out of `protected`")
    app_roots: list[str] = Field(
        default_factory=list, description="directories holding Phase III source, read for the runtime contract"
    )

    @field_validator("protected", "needs_approval", "allowed", "app_roots")
    @classmethod
    def _globs(cls, globs: list[str]) -> list[str]:
        """Globs are workspace-relative posix patterns; a form that would silently match nothing is an error."""
        return normalize_globs(globs)

    @property
    def defined(self) -> bool:
        return bool(self.protected)


class PolicyConfig(_Strict):
    fail_on: Severity = Field(
        Severity.medium,
        description="findings at or above this severity reject the change (default medium: best-practice gaps such "
        "as missing probes or resources reject; low and info findings are advisory)",
    )
    on_agent_failure: Literal["clarify", "deterministic"] = Field(
        "clarify",
        description="clarify: an agent failure caps the outcome at REQUIRES CLARIFICATION; "
        "deterministic: the rule-based verdict stands in and may approve",
    )


class KubernetesConfig(_Strict):
    version: str = Field("1.31", description="target Kubernetes minor version, e.g. 1.31")
    paths: list[str] = Field(
        default_factory=lambda: ["**/*.yaml", "**/*.yml", "**/*.json", "**/Dockerfile", "**/Dockerfile.*", "**/*.Dockerfile"],
        description="globs of infrastructure files to analyse (default: YAML, JSON and Dockerfiles; a .json file "
                    "without apiVersion and kind outside k8s/, manifests/, deploy/, kubernetes/ is ignored)",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        parts = str(v).lstrip("v").split(".")
        if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
            raise ValueError("must look like '1.31'")
        return ".".join(parts[:2])


class ChecksConfig(_Strict):
    enabled: list[str] = Field(default_factory=list, description="if non-empty, only these check ids run")
    disabled: list[str] = Field(default_factory=list, description="check ids that never run")
    unsuppressible: list[str] = Field(default_factory=list, description="check ids annotations cannot suppress")
    exclude_paths: list[str] = Field(default_factory=list, description="globs of files the engine skips")
    profile: Literal["default", "local", "strict", "pss-baseline", "pss-restricted"] = Field(
        "default", description="check profile: default, local (default minus local-cluster norms such as "
                               "imagePullPolicy: Never), strict (every check), pss-baseline, pss-restricted")


class HelmConfig(_Strict):
    charts: list[str] = Field(default_factory=list, description="chart directories (auto-detected when empty)")
    values: dict[str, list[str]] = Field(default_factory=dict, description="chart dir -> extra values files")
    release_name: str = "release"
    namespace: str = "default"


class ProviderConfig(_Strict):
    name: Literal["auto", "offline", "anthropic", "openai"] = Field(
        "auto", description="auto: anthropic when ANTHROPIC_API_KEY is set, else offline"
    )
    model: str = "claude-sonnet-4-6"
    base_url: str | None = None
    timeout_s: float = 60.0
    max_attempts: int = 3
    decision_budget_s: float = 300.0
    max_tokens: int = 2048
    temperature: float | None = Field(
        None, ge=0.0, le=2.0, description="sampling temperature of every call to an OpenAI-compatible endpoint (null: "
        "the server's default); the Claude Messages API of the anthropic SDK refuses sampling parameters")
    input_budget_tokens: int = Field(
        4000, ge=1000, description="estimated tokens of request data one call may carry; objects beyond it are "
        "sent as one-line summaries, and a specialist fetches any of them with a tool")
    max_tool_turns: int = Field(4, ge=0, le=12, description="read-only tool calls a specialist may make before it "
                                "must answer (0: no tools)")
    agent_token_budget: int = Field(60000, ge=1000, description="input tokens one specialist may spend over all "
                                    "its turns before it must answer")
    price_per_mtok: dict[str, float] = Field(
        default_factory=lambda: {"input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.30}
    )


class WorkflowConfig(_Strict):
    optional_stages: list[str] = Field(default_factory=lambda: ["clarify", "analyze"])
    require_phr: bool = False

    @field_validator("optional_stages")
    @classmethod
    def _stages(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in STAGES]
        if bad:
            raise ValueError(f"unknown stage(s) {bad}; stages are {', '.join(STAGES)}")
        return v


class Config(_Strict):
    version: int = 1
    phase3: Phase3Config = Field(default_factory=Phase3Config)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    helm: HelmConfig = Field(default_factory=HelmConfig)
    provider: ProviderConfig = Field(default_factory=ProviderConfig)
    workflow: WorkflowConfig = Field(default_factory=WorkflowConfig)
    checkpointer: str | None = Field(
        None, description="sqlite file path or postgresql:// URL for chat threads (default .infra-orchestrator/state.db)"
    )

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


class LoadedConfig(BaseModel):
    config: Config
    path: str | None = None
    """The file it came from, or None when no file exists (defaults)."""


def _format_error(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def load_config(workspace: Path, explicit: Path | None = None) -> LoadedConfig:
    """Load and validate the config of ``workspace`` (or ``explicit``). Missing file -> defaults."""
    path = explicit or (workspace / CONFIG_FILENAME)
    if not path.exists():
        if explicit is not None:
            raise ConfigError(f"{path}: config file not found")
        return LoadedConfig(config=Config(), path=None)
    try:
        text = confine.read_text_file(path, MAX_CONFIG_BYTES, what=str(path))
        data = yamlsafe.load(text, str(path)) if text.strip() else {}
    except (confine.NotRegularFile, confine.TooLarge) as exc:
        raise ConfigError(f"cannot read the config file: {exc}") from None
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_error(path, err)) from None
    return LoadedConfig(config=cfg, path=str(path))


def config_json_schema() -> dict:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "infra-orchestrator configuration (.infra-orchestrator.yaml)"
    return schema
