"""The shapes of a decision: the specialists' verdicts, their claims and conflicts, the supervisor's plan and the
orchestrator's answer. Import them from :mod:`core.models`, which loads this module on first use of one of them:
a lint-style ``check``, which decides nothing, never builds these classes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.base_models import Finding, Outcome, ResourceRef

__all__ = ["AgentVerdict", "Claim", "Conflict", "Decision", "DecisionMetadata", "DelegationPlan", "Evidence",
           "SummaryStatus"]


class SummaryStatus(BaseModel):
    """One line of the four-line Validation Summary."""

    status: Literal["PASS", "FAIL", "WARN", "NOT AFFECTED", "DEGRADED", "NEEDS INPUT", "SKIPPED", "N/A"]
    detail: str = ""

    def render(self) -> str:
        return f"{self.status} — {self.detail}" if self.detail else self.status


class Evidence(BaseModel):
    """Where a model's claim comes from: a workspace file, a line or a field, and the text quoted from it. Code
    verifies it (the file exists in the workspace and holds the quote there) before the claim counts."""

    file: str
    line: int | None = None
    field: str | None = None
    """A dotted field path in the object (``spec.replicas``): with the target, the concern a claim is about."""
    quote: str

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class Claim(BaseModel):
    """One verified statement of a specialist's model: a problem it found, or something it checked and confirmed."""

    kind: Literal["finding", "confirmed"]
    statement: str
    evidence: Evidence
    resource: ResourceRef = Field(default_factory=ResourceRef)
    check_id: str | None = None
    """The id of the finding a ``finding`` claim stands behind."""

    def target(self) -> str:
        """The object (or file) the claim is about."""
        return self.resource.label() or self.evidence.file

    def concern(self) -> tuple[str, str] | None:
        """``(target, field)``: two claims on the same concern speak of the same field of the same object."""
        return (self.target(), self.evidence.field) if self.evidence.field else None


class Conflict(BaseModel):
    """Two specialists reaching opposite conclusions on one concern, each with evidence: a trade-off for a person."""

    agents: tuple[str, str]
    """The declaring specialist first (for an inferred conflict: the first of the two), then the other."""
    detail: str
    """What each side wants and what choosing either costs."""
    resource: ResourceRef = Field(default_factory=ResourceRef)
    file: str | None = None
    line: int | None = None
    declared: bool = True
    """True when a specialist declared the trade-off; False when inferred from a finding and a confirmation on the
    same concern."""
    concern: str = ""
    """The field (or topic) both sides are about, e.g. ``spec.replicas``."""
    evidence: list[Evidence] = Field(default_factory=list)
    """Each side's verified evidence, in the order of ``agents``."""

    def target(self) -> str:
        """The object (or location) the conflict is about, or ``the change``."""
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        return self.resource.label() or where or "the change"


class AgentVerdict(BaseModel):
    """What one specialist concluded. Agents may add findings and escalate; they never relax the floor."""

    agent: str
    outcome: Outcome
    """The verdict that counts: the worst of the rule verdict and the provider's own."""
    own_outcome: Outcome | None = None
    """The provider's own outcome before the rule floor was applied (None for a verdict from rules alone), so an
    answered rule question can be told apart from a concern of the model's."""
    summary: str
    reasoning: str = ""
    findings: list[Finding] = Field(default_factory=list)
    """Findings the agent adds beyond the deterministic ones it was given."""
    reviewed: list[str] = Field(default_factory=list)
    """check ids / resources the agent looked at (evidence trail)."""
    recommendations: list[str] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    """Trade-offs this specialist declared with another one (``agents[0]`` is always this specialist)."""
    claims: list[Claim] = Field(default_factory=list)
    """What the provider found and confirmed, each with verified evidence (empty for a verdict of rules alone)."""
    question: str = ""
    """The targeted question the supervisor asked (the follow-up question in round 2)."""
    round: int = 1
    """1, or 2 for the answer to the supervisor's follow-up question (it replaces the first answer)."""
    degraded: bool = False
    """True when the agent failed and a rule-based verdict stands in for it."""
    error: str | None = None
    provider: str = "offline"
    usage: dict[str, int] = Field(default_factory=dict)
    elapsed_ms: float = 0.0


class DelegationPlan(BaseModel):
    """The supervisor's routing decision: which specialists to consult and what to focus on."""

    specialists: list[str]
    focus: dict[str, str] = Field(default_factory=dict)
    """The targeted question (or focus) for each specialist engaged."""
    rationale: str = ""
    source: str = "rules"
    skipped: dict[str, str] = Field(default_factory=dict)
    """Specialists not engaged, and why."""
    error: str | None = None
    """Set when the supervisor's model failed and rule routing took over."""


class DecisionMetadata(BaseModel):
    versions: dict[str, str] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    provider: str = "offline"
    specialists: list[str] = Field(default_factory=list)
    degraded_agents: list[str] = Field(default_factory=list)
    usage: dict[str, Any] = Field(default_factory=dict)
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    config_file: str | None = None
    workspace: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class Decision(BaseModel):
    """The orchestrator's answer, rendered in the seed's format by ``core.render``."""

    outcome: Outcome
    kind: Literal["change", "stage"]
    title: str = ""
    spec_kit_compliance: SummaryStatus
    phase3_protection: SummaryStatus
    k8s_best_practices: SummaryStatus
    agent_coordination: SummaryStatus
    analysis: str = ""
    reasoning: list[str] = Field(default_factory=list)
    issues: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    """The trade-offs between specialists left to a person (declared, or inferred from opposite verdicts)."""
    verdicts: list[AgentVerdict] = Field(default_factory=list)
    metadata: DecisionMetadata = Field(default_factory=DecisionMetadata)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code
