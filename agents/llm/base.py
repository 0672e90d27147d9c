"""The provider contract: how the supervisor and the specialists obtain an opinion beyond the rules.

A provider never sees the decision policy. It receives a rule-based baseline (delegation plan or
verdict) computed from the deterministic findings and returns its own; ``agents`` then enforces the
floor: a provider may add findings and escalate, never relax. The offline provider returns the
baseline unchanged, which makes the rule-based specialists the default behaviour.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from core.models import AgentVerdict, DelegationPlan, Finding


class ObjectSummary(BaseModel):
    """A Kubernetes object as shown to a specialist: identity, location and (redacted) body."""

    kind: str
    name: str
    namespace: str | None = None
    file: str
    line: int
    body: dict[str, Any] | None = None


class SupervisorInput(BaseModel):
    request_kind: str
    intent: str = ""
    changed_paths: list[str] = Field(default_factory=list)
    finding_counts: dict[str, int] = Field(default_factory=dict)
    """Deterministic findings per category."""
    object_kinds: dict[str, int] = Field(default_factory=dict)
    available: list[str] = Field(default_factory=list)


class SpecialistInput(BaseModel):
    """Everything one specialist may look at: its categories' findings and the relevant objects only."""

    agent: str
    request_kind: str
    intent: str = ""
    focus: str = ""
    findings: list[Finding] = Field(default_factory=list)
    objects: list[ObjectSummary] = Field(default_factory=list)
    changed_paths: list[str] = Field(default_factory=list)
    fail_on: str = "high"
    context: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """An opinion source for the supervisor and specialists."""

    name: str

    def plan(self, inp: SupervisorInput, baseline: DelegationPlan) -> DelegationPlan:
        """Return the delegation plan; ``baseline`` is the rule-based routing."""
        ...

    def assess(self, inp: SpecialistInput, baseline: AgentVerdict) -> AgentVerdict:
        """Return a specialist verdict; ``baseline`` is the rule-based verdict from the findings."""
        ...


class OfflineProvider:
    """The default: no model. The rule-based baseline is the answer."""

    name = "offline"

    def plan(self, inp: SupervisorInput, baseline: DelegationPlan) -> DelegationPlan:
        return baseline

    def assess(self, inp: SpecialistInput, baseline: AgentVerdict) -> AgentVerdict:
        return baseline
