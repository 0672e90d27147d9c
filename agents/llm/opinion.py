"""What a model may answer: the input schemas of the forced tools ``submit_verdict`` and ``submit_plan``.

The schemas are derived from these pydantic models, and a model's tool input is validated against them;
:func:`to_verdict` turns a valid opinion into an :class:`AgentVerdict` (bounded and grounded later by
``agents``). Conflicts a specialist declares become typed :class:`~core.models.Conflict` records of its verdict.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.roster import names
from core.models import AgentVerdict, Category, Conflict, Finding, Outcome, ResourceRef, Severity

CONFLICT_ID = "AGENT-CONFLICT"
VERDICT_TOOL = "submit_verdict"
PLAN_TOOL = "submit_plan"
AgentName = Literal[names()]  # type: ignore[valid-type]  # the table of specialists, in its order


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectRef(_Closed):
    """The Kubernetes object a finding is about, exactly as named in the input."""

    kind: str
    name: str
    namespace: str | None = None


class OpinionFinding(_Closed):
    """A finding the agent adds; it must cite an object or a file and line present in its input."""

    check_id: str = Field(description="a catalog id, or AGENT-<SHORT-NAME> for something the catalog lacks")
    severity: Severity
    category: Category
    message: str
    file: str | None = None
    line: int | None = None
    resource: ObjectRef | None = None


class ConflictClaim(_Closed):
    """A trade-off with another specialist's likely recommendation on one object."""

    agent: AgentName
    resource: ObjectRef | None = None
    file: str | None = None
    line: int | None = None
    tradeoff: str = Field(description="what each side wants and what choosing either costs")


class AgentOpinion(_Closed):
    """A specialist's answer: outcome, summary, reasoning, added findings, recommendations, conflicts."""

    outcome: Outcome
    summary: str = Field(description="one sentence")
    reasoning: str = ""
    findings: list[OpinionFinding] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    conflicts_with: list[ConflictClaim] = Field(default_factory=list)


class PlanOpinion(_Closed):
    """The supervisor's answer: which specialists to consult and what each should focus on."""

    specialists: list[AgentName]
    focus: dict[str, str] = Field(default_factory=dict)
    rationale: str = ""


def _ref(ref: ObjectRef | None) -> ResourceRef:
    return ResourceRef(kind=ref.kind, name=ref.name, namespace=ref.namespace) if ref else ResourceRef()


def to_verdict(agent: str, opinion: AgentOpinion, provider: str) -> AgentVerdict:
    """The verdict of ``agent`` from a validated opinion; its declared trade-offs become typed conflicts."""
    findings = [Finding(check_id=f.check_id, severity=f.severity, category=f.category, message=f.message,
                        file=f.file, line=f.line, resource=_ref(f.resource), source=f"agent:{agent}")
                for f in opinion.findings if f.check_id != CONFLICT_ID]  # conflicts only via conflicts_with
    conflicts = [Conflict(agents=(agent, c.agent), detail=c.tradeoff, resource=_ref(c.resource), file=c.file,
                          line=c.line) for c in opinion.conflicts_with if c.agent != agent]
    return AgentVerdict(agent=agent, outcome=opinion.outcome, summary=opinion.summary, reasoning=opinion.reasoning,
                        findings=findings, recommendations=opinion.recommendations, conflicts=conflicts,
                        provider=provider)
