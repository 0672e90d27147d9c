"""The provider contract: how the supervisor and the specialists obtain an opinion beyond the rules.

A provider never sees the decision policy. It receives a rule-based baseline (delegation plan, verdict or
reconciliation) computed from the deterministic findings and returns its own; ``agents`` then enforces the
floor: a provider may add findings and escalate, never relax. The offline provider returns the baseline
unchanged, which makes the rule-based specialists the default behaviour.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from core.config import Config
from core.models import (
    AgentVerdict,
    ChangeRequest,
    ChangeSet,
    Conflict,
    DelegationPlan,
    Finding,
    Outcome,
    StageRequest,
)


class ObjectSummary(BaseModel):
    """A Kubernetes object as shown to a specialist: identity, location and (redacted) body."""

    kind: str
    name: str
    namespace: str | None = None
    file: str
    line: int
    body: dict[str, Any] | None = None


class ToolScope(BaseModel):
    """What a specialist's read-only tools, and the verification of its evidence, may reach: one workspace (never
    sent to a model)."""

    workspace: str
    request: Annotated[ChangeRequest | StageRequest, Field(discriminator="kind")]
    changes: ChangeSet
    config: Config


class SupervisorInput(BaseModel):
    """What the supervisor plans from: the change (a diff summary), the intent, the rule findings, the boundaries."""

    request_kind: str
    intent: str = ""
    changes: list[dict[str, Any]] = Field(default_factory=list)
    """One row per changed path (status, old path, the objects it holds), capped by the input budget."""
    changed_paths: list[str] = Field(default_factory=list)
    finding_counts: dict[str, int] = Field(default_factory=dict)
    """Deterministic findings per category."""
    findings: list[dict[str, Any]] = Field(default_factory=list)
    """The most severe deterministic findings, compactly, capped by the input budget."""
    object_kinds: dict[str, int] = Field(default_factory=dict)
    boundaries: dict[str, list[str]] = Field(default_factory=dict)
    """The Phase III boundaries (protected, needs_approval, allowed, app_roots) from the trusted configuration."""
    stage: dict[str, str] | None = None
    omitted: dict[str, int] = Field(default_factory=dict)
    """What the budget left out (``paths``, ``findings``)."""
    available: list[str] = Field(default_factory=list)


class FollowUpInput(BaseModel):
    """The supervisor's follow-up question to one specialist, with its first answer and the other side's claims."""

    question: str
    previous: dict[str, Any] = Field(default_factory=dict)
    others: list[dict[str, Any]] = Field(default_factory=list)


class SpecialistInput(BaseModel):
    """Everything one specialist may look at: its categories' findings and the objects in scope, within the input
    budget (objects beyond it are one-line summaries; a tool fetches any of them)."""

    agent: str
    request_kind: str
    intent: str = ""
    focus: str = ""
    """The supervisor's targeted question (or the specialist's default focus)."""
    findings: list[Finding] = Field(default_factory=list)
    objects: list[ObjectSummary] = Field(default_factory=list)
    summaries: list[str] = Field(default_factory=list)
    """One line per object beyond the budget: ``Kind ns/name @ file:line``."""
    omitted_objects: int = 0
    """Objects beyond even the summaries (search or fetch them with the tools)."""
    changed_paths: list[str] = Field(default_factory=list)
    fail_on: str = "high"
    boundaries: dict[str, list[str]] | None = None
    """Phase III guard only: the declared boundaries."""
    contract: list[dict[str, Any]] | None = None
    """Phase III guard only: the app's runtime contract (env vars it reads, ports, health endpoints)."""
    follow_up: FollowUpInput | None = None
    round: int = 1
    context: dict[str, Any] = Field(default_factory=dict)
    """Static context (the check catalog of its categories): sent as a cached system block, not as data."""
    scope: ToolScope | None = None
    """The workspace its tools read and its evidence is verified in (never sent to the model)."""


class ReconcileInput(BaseModel):
    """What the supervisor reconciles: every verdict (with its verified claims), the conflicts and the gaps."""

    agent: str = "supervisor"
    request_kind: str
    intent: str = ""
    round: int = 1
    floor: Outcome
    """The outcome of the deterministic findings alone."""
    verdicts: list[dict[str, Any]] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    gaps: list[str] = Field(default_factory=list)
    """One-sided trade-offs and other open points a follow-up question could settle."""
    available: list[str] = Field(default_factory=list)


class Reconciliation(BaseModel):
    """The supervisor's reading of the verdicts: follow-up questions (one round at most) and the coordination text."""

    round: int = 1
    follow_ups: dict[str, str] = Field(default_factory=dict)
    note: str = ""
    """The coordination and trade-off text, as the supervisor wrote it."""
    outcome: Outcome | None = None
    """The outcome the supervisor's model said the verdicts support (None for rules)."""
    source: str = "rules"
    error: str | None = None


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

    def reconcile(self, inp: ReconcileInput, baseline: Reconciliation) -> Reconciliation:
        """Return follow-up questions and the coordination text; ``baseline`` asks nothing."""
        ...


class OfflineProvider:
    """The default: no model. The rule-based baseline is the answer."""

    name = "offline"

    def plan(self, inp: SupervisorInput, baseline: DelegationPlan) -> DelegationPlan:
        return baseline

    def assess(self, inp: SpecialistInput, baseline: AgentVerdict) -> AgentVerdict:
        return baseline

    def reconcile(self, inp: ReconcileInput, baseline: Reconciliation) -> Reconciliation:
        return baseline
