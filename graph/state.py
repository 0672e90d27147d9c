"""Graph state: plain JSON-able data (pydantic models are dumped), so checkpoints stay portable.

Nodes never read a channel by hand: :class:`View` validates each channel back into its model, and :func:`dump`
turns models into a state update. Nothing is parsed from strings.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, Field, TypeAdapter

from agents.llm.base import OfflineProvider, Provider
from core.config import Config
from core.models import (
    AgentVerdict,
    ChangeRequest,
    ChangeSet,
    Decision,
    DelegationPlan,
    Finding,
    K8sObject,
    StageRequest,
)
from tools.workflow import TransitionResult


def merge_dicts(left: dict, right: dict) -> dict:
    return {**(left or {}), **(right or {})}


class ReviewState(TypedDict, total=False):
    request: dict[str, Any]
    """ChangeRequest or StageRequest, dumped."""
    config: dict[str, Any]
    config_path: str | None
    changes: dict[str, Any]
    scope: list[str]
    scope_note: str
    objects: list[dict[str, Any]]
    dockerfiles: dict[str, str]
    findings: list[dict[str, Any]]
    stage: dict[str, Any] | None
    plan: dict[str, Any]
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    answers: dict[str, str]
    decision: dict[str, Any]
    timings_ms: Annotated[dict[str, float], merge_dicts]


class SpecialistTask(TypedDict):
    """The private input of one specialist branch (a ``Send`` payload)."""

    agent: str
    payload: dict[str, Any]


_REQUEST = TypeAdapter(Annotated[ChangeRequest | StageRequest, Field(discriminator="kind")])
_OBJECTS = TypeAdapter(list[K8sObject])
_FINDINGS = TypeAdapter(list[Finding])
_VERDICTS = TypeAdapter(list[AgentVerdict])


class View:
    """The typed reading of a state: each channel validated back into its model once, on first use."""

    def __init__(self, state: ReviewState):
        self.state = state

    @cached_property
    def request(self) -> ChangeRequest | StageRequest:
        return _REQUEST.validate_python(self.state["request"])

    @cached_property
    def config(self) -> Config:
        return Config.model_validate(self.state["config"])

    @cached_property
    def changes(self) -> ChangeSet:
        return ChangeSet.model_validate(self.state["changes"])

    @cached_property
    def objects(self) -> list[K8sObject]:
        return _OBJECTS.validate_python(self.state.get("objects", []))

    @cached_property
    def findings(self) -> list[Finding]:
        return _FINDINGS.validate_python(self.state.get("findings", []))

    @cached_property
    def stage(self) -> TransitionResult | None:
        data = self.state.get("stage")
        return TransitionResult.model_validate(data) if data else None

    @cached_property
    def plan(self) -> DelegationPlan:
        return DelegationPlan.model_validate(self.state["plan"])

    @cached_property
    def verdicts(self) -> list[AgentVerdict]:
        return _VERDICTS.validate_python(self.state.get("verdicts", []))

    @cached_property
    def decision(self) -> Decision | None:
        data = self.state.get("decision")
        return Decision.model_validate(data) if data else None

    @property
    def reviewed_paths(self) -> list[str]:
        """The paths of the change; for a directory review (no change set), the files in scope."""
        return self.changes.paths() if self.changes.mode != "directory" else self.state.get("scope", [])


def dump(value: Any) -> Any:
    """A model (or a list or dict of models) as JSON-able data for a state update."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


@dataclass
class GraphContext:
    """Run-scoped dependencies injected by the front-end (never checkpointed)."""

    provider: Provider = field(default_factory=OfflineProvider)
    progress: Callable[[str], None] | None = None
    interactive: bool = False
    """True when a person can answer questions: ``merge`` then pauses with ``interrupt()`` instead of deciding."""
    record: bool = True
    """False keeps the ``record`` node from appending to the approval ledger (graph/record.py)."""
