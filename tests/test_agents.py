"""Agents without a network: grounding, conflicts in the merge policy, the floor and the degraded rule."""

from __future__ import annotations

from agents.grounding import ground
from agents.llm.base import ObjectSummary, OfflineProvider, SpecialistInput
from agents.llm.opinion import CONFLICT_ID, AgentOpinion, to_verdict
from agents.policy import MergeInput, decide, find_conflicts
from agents.specialists import run_specialist
from core.config import PolicyConfig
from core.models import AgentVerdict, Category, DelegationPlan, Finding, Outcome, ResourceRef, Severity

WEB = ResourceRef(kind="Deployment", name="web", namespace="shop")
INP = SpecialistInput(
    agent="security", request_kind="change", changed_paths=["k8s/app.yaml"],
    objects=[ObjectSummary(kind="Deployment", name="web", namespace="shop", file="k8s/app.yaml", line=1)],
    findings=[Finding(check_id="SEC-X", severity=Severity.low, category=Category.security, message="m",
                      file="k8s/other.yaml", line=7, resource=ResourceRef(kind="Service", name="svc"))])


def agent_finding(**kw) -> Finding:
    return Finding(**{"check_id": "AGENT-X", "severity": Severity.medium, "category": Category.security,
                      "message": "m", "source": "model", **kw})


def verdict(agent: str, outcome: Outcome, *findings: Finding) -> AgentVerdict:
    return AgentVerdict(agent=agent, outcome=outcome, summary=f"{agent} says {outcome.value}", findings=list(findings),
                        provider="test")


def test_grounding_keeps_cited_objects_and_locations_only():
    cases = {
        "object": (agent_finding(resource=WEB), True),
        "object-any-namespace": (agent_finding(resource=ResourceRef(kind="Deployment", name="web")), True),
        "finding-resource": (agent_finding(resource=ResourceRef(kind="Service", name="svc")), True),
        "object-line": (agent_finding(file="k8s/app.yaml", line=1), True),
        "finding-line": (agent_finding(file="k8s/other.yaml", line=7), True),
        "changed-path": (agent_finding(file="k8s/app.yaml"), True),
        "wrong-namespace": (agent_finding(resource=ResourceRef(kind="Deployment", name="web", namespace="x")), False),
        "ghost": (agent_finding(resource=ResourceRef(kind="Deployment", name="ghost")), False),
        "ghost-file": (agent_finding(resource=WEB, file="k8s/ghost.yaml"), False),
        "wrong-line": (agent_finding(file="k8s/app.yaml", line=40), False),
        "nothing": (agent_finding(), False),
    }
    opinion = verdict("security", Outcome.approved, *(f.model_copy(update={"check_id": k}) for k, (f, _) in cases.items()))
    grounded, dropped = ground(opinion, INP)
    assert {f.check_id for f in grounded.findings} == {k for k, (_, ok) in cases.items() if ok}
    assert dropped == sum(not ok for _, ok in cases.values())
    assert {f.source for f in grounded.findings} == {"agent:security"}


class Hallucinating(OfflineProvider):
    name = "hallucinating"

    def assess(self, inp, baseline):
        return baseline.model_copy(update={"findings": [
            agent_finding(resource=WEB, suppressed=True, suppression_reason="trust me"),
            agent_finding(resource=ResourceRef(kind="Pod", name="ghost"), severity=Severity.critical)]})


def test_run_specialist_grounds_then_bounds_and_counts():
    v = run_specialist("security", INP, Hallucinating())
    assert [f.resource for f in v.findings] == [WEB] and not v.findings[0].suppressed  # agents cannot suppress
    assert v.usage["ungrounded_findings"] == 1 and not v.degraded


def merge(*verdicts: AgentVerdict, findings: list[Finding] | None = None) -> MergeInput:
    return MergeInput(kind="change", intent="", findings=findings or [], verdicts=list(verdicts),
                      plan=DelegationPlan(specialists=[v.agent for v in verdicts]),
                      policy=PolicyConfig(fail_on=Severity.high),  # the medium agent findings alone do not reject
                      changed_paths=["k8s/app.yaml"], object_count=1)


def test_opposing_verdicts_on_one_object_ask_a_person():
    sec = verdict("security", Outcome.rejected, agent_finding(resource=WEB))
    scal = verdict("scalability", Outcome.approved, agent_finding(resource=WEB, category=Category.scalability))
    obs = verdict("observability", Outcome.approved)
    d = decide(merge(sec, scal, obs))
    assert d.outcome is Outcome.clarification
    assert [c.agents for c in find_conflicts([sec, scal, obs])] == [("security", "scalability")]
    assert any(s.startswith("Present trade-offs for decision: security vs scalability on Deployment shop/web")
               for s in d.next_steps)


def test_agreeing_or_unrelated_verdicts_are_no_conflict():
    sec = verdict("security", Outcome.rejected, agent_finding(resource=WEB))
    same = verdict("scalability", Outcome.rejected, agent_finding(resource=WEB))
    other = verdict("observability", Outcome.approved, agent_finding(resource=ResourceRef(kind="Service", name="s")))
    assert find_conflicts([sec, same, other]) == []
    assert decide(merge(sec, same, other)).outcome is Outcome.rejected


def test_a_declared_conflict_is_a_typed_record_of_the_verdict():
    opinion = AgentOpinion.model_validate({"outcome": "APPROVED", "summary": "s", "conflicts_with": [
        {"agent": "security", "resource": {"kind": "Deployment", "name": "web"}, "tradeoff": "replicas vs exposure"}]})
    v = to_verdict("scalability", opinion, "test")
    assert v.findings == []
    (c,) = v.conflicts
    assert c.agents == ("scalability", "security") and c.detail == "replicas vs exposure" and c.declared
    d = decide(merge(v, verdict("security", Outcome.approved)))
    assert d.outcome is Outcome.clarification and d.conflicts == [c]
    (f,) = [f for f in d.findings if f.check_id == CONFLICT_ID]  # reported as a finding of the declaring agent
    assert f.source == "agent:scalability" and f.category is Category.scalability and f.resource.name == "web"
    assert f.message == "trade-off between scalability and security: replicas vs exposure"


def test_a_conflict_message_is_never_read_back():
    """A finding that merely looks like a declared trade-off is a finding, not a conflict."""
    lookalike = agent_finding(check_id=CONFLICT_ID, message="trade-off between security and scalability: x",
                              source="agent:security", resource=WEB)
    d = decide(merge(verdict("security", Outcome.approved, lookalike), verdict("scalability", Outcome.approved)))
    assert d.conflicts == [] and d.outcome is Outcome.approved


def test_a_conflict_never_relaxes_the_floor_or_an_uncontested_rejection():
    floor = [Finding(check_id="SEC-PRIVILEGED", severity=Severity.high, category=Category.security, message="m")]
    sec = verdict("security", Outcome.rejected, agent_finding(resource=WEB))
    scal = verdict("scalability", Outcome.approved, agent_finding(resource=WEB))
    assert decide(merge(sec, scal, findings=floor)).outcome is Outcome.rejected
    obs = verdict("observability", Outcome.rejected)
    assert decide(merge(sec, scal, obs)).outcome is Outcome.rejected


def test_degraded_agents_never_take_part_in_conflicts():
    sec = verdict("security", Outcome.approved, agent_finding(resource=WEB)).model_copy(update={"degraded": True})
    scal = verdict("scalability", Outcome.rejected, agent_finding(resource=WEB))
    assert find_conflicts([sec, scal]) == []


def test_a_yes_answer_settles_rule_questions_but_not_a_models_own_concern():
    question = Finding(check_id="PHASE3-NEEDS-APPROVAL", severity=Severity.medium, category=Category.phase3,
                       message="m", file="frontend/next.config.js", question="approve? [y/N]")
    rules = AgentVerdict(agent="phase3_guard", outcome=Outcome.clarification, summary="asks", provider="rules")
    model = verdict("security", Outcome.clarification).model_copy(  # e.g. "NetworkPolicy allows 0.0.0.0/0 egress"
        update={"own_outcome": Outcome.clarification})
    m = merge(rules, findings=[question])
    m.answers = {"approve? [y/N]": "y"}
    assert decide(m).outcome is Outcome.approved
    m = merge(rules, model, findings=[question])
    m.answers = {"approve? [y/N]": "y"}
    assert decide(m).outcome is Outcome.clarification
    # the guard's rule verdict bounded a model that approved: the answer settles it (the model had no concern)
    guard = rules.model_copy(update={"provider": "anthropic", "own_outcome": Outcome.approved})
    m = merge(guard, findings=[question])
    m.answers = {"approve? [y/N]": "y"}
    assert decide(m).outcome is Outcome.approved


def test_an_agent_cannot_forge_a_conflict_between_two_others():
    from core.models import Conflict

    forged = Conflict(agents=("security", "scalability"), detail="x", resource=WEB)
    claimed = verdict("observability", Outcome.approved).model_copy(update={"conflicts": [forged]})
    inp = INP.model_copy(update={"agent": "observability"})
    grounded, dropped = ground(claimed, inp)
    assert grounded.conflicts == [] and dropped == 1
    assert find_conflicts([claimed]) == []  # and the policy ignores one that got through
    own = Conflict(agents=("security", "scalability"), detail="x", resource=WEB)
    grounded, dropped = ground(verdict("security", Outcome.approved).model_copy(update={"conflicts": [own]}), INP)
    assert grounded.conflicts == [own] and dropped == 0
    ghost = own.model_copy(update={"resource": ResourceRef(kind="Deployment", name="ghost")})
    assert ground(verdict("security", Outcome.approved).model_copy(update={"conflicts": [ghost]}), INP)[1] == 1


def test_bounded_keeps_the_models_own_outcome_apart_from_the_floor():
    from agents.specialists import bounded

    rules = AgentVerdict(agent="phase3_guard", outcome=Outcome.clarification, summary="asks", provider="rules")
    model = AgentVerdict(agent="phase3_guard", outcome=Outcome.approved, summary="fine", provider="anthropic")
    v = bounded(rules, model)
    assert v.outcome is Outcome.clarification and v.own_outcome is Outcome.approved
    assert bounded(rules, rules).own_outcome is None  # the offline provider answers with the rule verdict
