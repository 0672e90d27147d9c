"""What a model may answer: the input schemas of the final tools ``submit_plan``, ``submit_verdict`` and
``submit_reconciliation``.

The schemas are derived from these pydantic models (field order is the order a model writes in: a verdict's
evidence comes before its outcome), and a model's tool input is validated against them. :func:`to_verdict` turns
a valid opinion into an :class:`AgentVerdict` whose claims still carry unverified evidence: ``agents.grounding``
verifies each against the workspace before anything counts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.roster import names
from core.models import AgentVerdict, Category, Claim, Conflict, Evidence, Finding, Outcome, ResourceRef, Severity

CONFLICT_ID = "AGENT-CONFLICT"
VERDICT_TOOL = "submit_verdict"
PLAN_TOOL = "submit_plan"
RECONCILE_TOOL = "submit_reconciliation"
AgentName = Literal[names()]  # type: ignore[valid-type]  # the table of specialists, in its order


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cite(_Closed):
    """Evidence: a workspace file, the line or field, and the text there, copied verbatim. Code checks it."""

    file: str = Field(description="workspace-relative path, exactly as in the data or a tool result")
    line: int | None = Field(None, ge=1, description="1-based line the quote is on")
    field: str | None = Field(None, description="dotted field path in the object, e.g. spec.replicas")
    quote: str = Field(min_length=3, description="text copied verbatim from the file at that line (one line)")

    @model_validator(mode="after")
    def _line_or_field(self) -> Cite:
        if self.line is None and not self.field:
            raise ValueError("evidence needs a line or a field")
        return self

    def evidence(self) -> Evidence:
        return Evidence(file=self.file.removeprefix("./"), line=self.line, field=self.field, quote=self.quote)


class ObjectRef(_Closed):
    """The Kubernetes object a claim is about, exactly as named in the input."""

    kind: str
    name: str
    namespace: str | None = None


class OpinionFinding(_Closed):
    """A problem the rules did not report, with the evidence first."""

    evidence: Cite
    check_id: str = Field(description="a catalog id, or AGENT-<SHORT-NAME> for something the catalog lacks")
    severity: Severity
    category: Category
    message: str
    remediation: str = Field(description="the fix, one sentence")
    resource: ObjectRef | None = None


class Confirmation(_Closed):
    """Something you checked and found right (the model's value shows in what it confirms too)."""

    evidence: Cite
    statement: str = Field(description="what you checked and why it is right, one sentence")
    resource: ObjectRef | None = None


class ConflictClaim(_Closed):
    """Your conclusion on one concern is the opposite of what another specialist would want."""

    agent: AgentName
    evidence: Cite
    tradeoff: str = Field(description="what each side wants and what choosing either costs")
    resource: ObjectRef | None = None


class AgentOpinion(_Closed):
    """A specialist's answer: evidence-backed findings and confirmations first, then the outcome."""

    findings: list[OpinionFinding] = Field(default_factory=list)
    confirmed: list[Confirmation] = Field(default_factory=list)
    conflicts_with: list[ConflictClaim] = Field(default_factory=list)
    outcome: Outcome = Field(description="REJECTED or REQUIRES CLARIFICATION need verified evidence above")
    summary: str = Field(description="one sentence")
    reasoning: str = ""
    recommendations: list[str] = Field(default_factory=list)


class Engage(_Closed):
    agent: AgentName
    question: str = Field(description="the targeted question for this specialist about this change")


class Skip(_Closed):
    agent: AgentName
    reason: str


class PlanOpinion(_Closed):
    """The supervisor's plan: whom to engage with which question, whom to skip and why."""

    engage: list[Engage]
    skip: list[Skip] = Field(default_factory=list)
    rationale: str = ""


class FollowUp(_Closed):
    agent: AgentName
    question: str = Field(description="what this specialist must settle, naming the other side's evidence")


class ReconcileOpinion(_Closed):
    """The supervisor's reading of the verdicts: at most one follow-up round, and the coordination text."""

    follow_ups: list[FollowUp] = Field(default_factory=list,
                                       description="only for a conflict or a gap; empty when the verdicts settle it")
    coordination: str = Field(description="how the verdicts fit together: agreements, the trade-off left to decide")
    outcome: Outcome = Field(description="what the verdicts support; the deterministic checks keep the final say")


def _ref(ref: ObjectRef | None) -> ResourceRef:
    return ResourceRef(kind=ref.kind, name=ref.name, namespace=ref.namespace) if ref else ResourceRef()


def to_verdict(agent: str, opinion: AgentOpinion, provider: str) -> AgentVerdict:
    """The verdict of ``agent`` from a validated opinion: findings (with their evidence as claims), confirmations,
    and declared trade-offs as typed conflicts. Nothing is verified yet."""
    findings, claims = [], []
    for f in opinion.findings:
        if f.check_id == CONFLICT_ID:  # conflicts only via conflicts_with
            continue
        ev = f.evidence.evidence()
        findings.append(Finding(check_id=f.check_id, severity=f.severity, category=f.category, message=f.message,
                                file=ev.file, line=ev.line, resource=_ref(f.resource), remediation=f.remediation,
                                source=f"agent:{agent}"))
        claims.append(Claim(kind="finding", statement=f.message, evidence=ev, resource=_ref(f.resource),
                            check_id=f.check_id))
    claims += [Claim(kind="confirmed", statement=c.statement, evidence=c.evidence.evidence(), resource=_ref(c.resource))
               for c in opinion.confirmed]
    conflicts = [Conflict(agents=(agent, c.agent), detail=c.tradeoff, resource=_ref(c.resource),
                          file=c.evidence.file.removeprefix("./"), line=c.evidence.line,
                          concern=c.evidence.field or "", evidence=[c.evidence.evidence()])
                 for c in opinion.conflicts_with if c.agent != agent]
    return AgentVerdict(agent=agent, outcome=opinion.outcome, summary=opinion.summary, reasoning=opinion.reasoning,
                        findings=findings, claims=claims, recommendations=opinion.recommendations,
                        conflicts=conflicts, provider=provider)
