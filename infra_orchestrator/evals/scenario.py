"""The scenario format: ``evals/scenarios/<id>/scenario.yaml`` validated by pydantic (unknown keys forbidden).

``evals/scenario.schema.json`` is generated from :class:`Scenario` by :func:`scenario_json_schema`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InputError
from core.models import Category, Outcome, Severity

SCENARIO_FILE = "scenario.yaml"
PENDING_PREFIX = "pending:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestSpec(_Strict):
    """What is asked: a change (git range, work tree, paths or whole directory) or a stage transition."""

    kind: Literal["change", "stage"] = "change"
    intent: str = ""
    mode: Literal["range", "worktree", "directory", "paths"] = Field(
        "range", description="change only: range = base..head commits the builder made; worktree = the head "
        "layer left uncommitted; directory = the head tree as a whole; paths = the head tree limited to `paths`")
    paths: list[str] = Field(default_factory=list, description="paths the change touches (mode `paths`, or "
                             "to narrow a range)")
    feature: str | None = Field(None, description="stage only: feature number or name")
    target: str | None = Field(None, description="stage only: target stage")

    @model_validator(mode="after")
    def _stage_fields(self) -> RequestSpec:
        if self.kind == "stage" and not (self.feature and self.target):
            raise ValueError("a stage request needs `feature` and `target`")
        return self


class Layer(_Strict):
    """One commit's worth of edits over the tree so far, applied in the order of the fields below."""

    dir: str | None = Field(None, description="a directory of the scenario copied over the tree "
                            "(default: `base/` or `head/` when present)")
    files: dict[str, str] = Field(default_factory=dict, description="path -> text content")
    delete: list[str] = Field(default_factory=list)
    rename: dict[str, str] = Field(default_factory=dict, description="old path -> new path")
    symlinks: dict[str, str] = Field(default_factory=dict, description="path -> link target")
    executable: list[str] = Field(default_factory=list, description="paths to chmod +x")
    patch: str | None = Field(None, description="a patch file of the scenario applied with `git apply`")


class WorkspaceSpec(_Strict):
    """The repository to build: a shared fixture, a base commit and a head commit (or uncommitted edits)."""

    fixture: str | None = Field("app", description="a tree under `evals/fixtures/` copied first (null: none)")
    config: dict[str, Any] | None = Field(None, description="`.infra-orchestrator.yaml` written in the base "
                                          "commit (replaces the fixture's)")
    base: Layer = Field(default_factory=Layer)
    head: Layer = Field(default_factory=Layer)


class FindingSpec(_Strict):
    """A finding by check id, optionally at a path (the finding's file)."""

    check: str
    path: str | None = None

    def matches(self, check_id: str, file: str | None) -> bool:
        """True when a finding with ``check_id`` at ``file`` is this one."""
        return check_id == self.check and (self.path is None or file == self.path)


Mode = Literal["offline", "replay", "live"]
"""How a run obtains model answers: none (rules only), recorded answers, or the live API."""
MODES: tuple[str, ...] = ("offline", "replay", "live")


class ModelFindingSpec(_Strict):
    """A labelled finding an expert expects the model to add: a concern at a file and a line or field."""

    concern: str = Field(description="short name of the concern (for reports), e.g. rwo-volume-many-replicas")
    category: Category | list[Category] = Field(description="the category (or categories) that fit the concern")
    checks: list[str] = Field(default_factory=list, description="check ids that name the concern (fnmatch "
                              "patterns, e.g. AGENT-RWO-*); a finding matches by category or by one of these")
    file: str = Field(description="workspace-relative file the finding must cite")
    line: int | None = Field(None, ge=1, description="line the finding should cite (within `tolerance`)")
    field: str | None = Field(None, description="dotted field path the finding may cite instead, e.g. "
                              "spec.replicas (a finding citing a field inside it matches too)")
    tolerance: int = Field(3, ge=0, description="how many lines away from `line` a citation still matches")
    severity: Severity = Field(Severity.low, description="severity floor: a finding below it does not match")
    required: bool = Field(True, description="with a model (replay, live) the scenario fails when this label "
                           "is not matched; false for a secondary concern that only counts for recall")

    @model_validator(mode="after")
    def _line_or_field(self) -> ModelFindingSpec:
        if self.line is None and not self.field:
            raise ValueError("a labelled model finding needs a `line` or a `field`")
        return self

    @property
    def categories(self) -> list[Category]:
        return self.category if isinstance(self.category, list) else [self.category]


class Expectation(_Strict):
    outcome: Outcome = Field(description="the expected outcome (with a model: the expert's outcome)")
    rules_outcome: Outcome | None = Field(None, description="the outcome expected of the rules alone (mode "
                                          "offline) when it differs from `outcome`: a change the rules pass "
                                          "but an expert objects to")
    findings: list[FindingSpec] = Field(default_factory=list, description="findings that must appear")
    absent: list[FindingSpec] = Field(default_factory=list, description="findings that must not appear")
    model_findings: list[ModelFindingSpec] = Field(default_factory=list, description="labelled findings the "
                                                   "model should add (scored for precision and recall)")

    def outcome_for(self, mode: str) -> Outcome:
        """The outcome a run in ``mode`` is judged against (offline: the rules alone)."""
        return (self.rules_outcome or self.outcome) if mode == "offline" else self.outcome


class Scenario(_Strict):
    """One evaluation case: a repository, a request and what the gatekeeper must answer."""

    id: str
    title: str
    tags: list[str] = Field(default_factory=list, description="`pending:<feature>` marks a scenario whose "
                            "feature is not built yet: reported, never failing the run")
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    modes: list[Mode] = Field(
        default_factory=lambda: list(MODES),
        description="modes the scenario runs in (others report it as skipped): offline (rules only), replay "
        "(recorded answers), live (the API); a scripted model fault (an outage) runs in replay only")
    request: RequestSpec
    setup: list[RequestSpec] = Field(default_factory=list, description="requests run in order on the base, "
                                     "before the head layer (e.g. a stage approval the ledger records when "
                                     "`history/approvals/` exists)")
    workspace: WorkspaceSpec = Field(default_factory=WorkspaceSpec)
    expect: Expectation
    answers: dict[str, str] = Field(default_factory=dict, description="clarification question -> answer "
                                    "(for chat sessions; not used by one-shot runs)")

    @property
    def graded(self) -> bool:
        """Whether the scenario labels findings the model should add."""
        return bool(self.expect.model_findings)

    @property
    def pending(self) -> list[str]:
        """Features this scenario waits for (its ``pending:`` tags)."""
        return [t[len(PENDING_PREFIX):] for t in self.tags if t.startswith(PENDING_PREFIX)]


class LoadedScenario(BaseModel):
    """A scenario with the directory it came from (for its `base/`, `head/`, patches and recordings)."""

    scenario: Scenario
    path: Path


def load_scenario(directory: Path) -> LoadedScenario:
    """Load and validate ``directory/scenario.yaml``; errors name the file and the key (InputError)."""
    file = directory / SCENARIO_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        scenario = Scenario.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{file}: {str(exc).splitlines()[0]}") from None
    except ValidationError as err:
        keys = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise InputError(f"{file}: invalid scenario: {keys}") from None
    if scenario.id != directory.name:
        raise InputError(f"{file}: id '{scenario.id}' differs from its directory name '{directory.name}'")
    return LoadedScenario(scenario=scenario, path=directory.resolve())


def discover(root: Path, tags: list[str] | None = None) -> list[LoadedScenario]:
    """Every scenario under ``root`` (a scenario dir or a dir of them), sorted by id, filtered by ``tags``."""
    if not root.is_dir():
        raise InputError(f"'{root}' is not a directory of scenarios")
    dirs = [root] if (root / SCENARIO_FILE).exists() else sorted(p.parent for p in root.glob(f"*/{SCENARIO_FILE}"))
    if not dirs:
        raise InputError(f"no scenarios under '{root}' (expected <id>/{SCENARIO_FILE})")
    found = [load_scenario(d) for d in dirs]
    if tags:
        found = [s for s in found if set(tags) & set(s.scenario.tags)]
    return found


def scenario_json_schema() -> dict:
    """The JSON schema of ``scenario.yaml`` (written to ``evals/scenario.schema.json``)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "infra-orchestrator eval scenario (evals/scenarios/<id>/scenario.yaml)"
    return schema


if __name__ == "__main__":  # regenerate: uv run python -m infra_orchestrator.evals.scenario > evals/scenario.schema.json
    import json

    print(json.dumps(scenario_json_schema(), indent=2))
