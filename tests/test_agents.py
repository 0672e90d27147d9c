"""Agents without a network: evidence verification, conflicts typed by concern, the floor, truthful text."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.conflicts import find_conflicts, open_tradeoffs
from agents.grounding import ground
from agents.llm.base import ObjectSummary, OfflineProvider, SpecialistInput, ToolScope
from agents.llm.opinion import CONFLICT_ID, AgentOpinion, to_verdict
from agents.policy import MergeInput, decide
from agents.report import agents_status
from agents.specialists import bounded, run_specialist
from core.config import Config, PolicyConfig
from core.models import (
    AgentVerdict,
    Category,
    ChangeRequest,
    ChangeSet,
    Claim,
    Conflict,
    DelegationPlan,
    Evidence,
    Finding,
    Outcome,
    ResourceRef,
    Severity,
)
from core.render import render_text

APP = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: web:1.2.3
          env:
            - {name: DB_PASSWORD, value: hunter2hunter2}
"""
WEB = ResourceRef(kind="Deployment", name="web", namespace="shop")


@pytest.fixture()
def inp(tmp_path: Path) -> SpecialistInput:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(APP)
    (tmp_path / "outside.yaml").write_text("replicas: 1\n")
    scope = ToolScope(workspace=str(tmp_path / "k8s" / ".."), request=ChangeRequest(workspace=str(tmp_path)),
                      changes=ChangeSet(mode="directory"), config=Config())
    return SpecialistInput(agent="security", request_kind="change", changed_paths=["k8s/app.yaml"], scope=scope,
                           objects=[ObjectSummary(kind="Deployment", name="web", namespace="shop", file="k8s/app.yaml",
                                                  line=1)])


def opinion(agent: str, **answer) -> AgentVerdict:
    return to_verdict(agent, AgentOpinion.model_validate({"outcome": "APPROVED", "summary": "s", **answer}), "test")


def finding(quote: str, *, file="k8s/app.yaml", line: int | None = 5, field=None, resource=None, **kw) -> dict:
    ev = {k: v for k, v in (("file", file), ("line", line), ("field", field), ("quote", quote)) if v is not None}
    return {"evidence": ev, "check_id": "AGENT-X", "severity": "medium", "category": "security", "message": "m",
            "remediation": "fix it", **({"resource": resource} if resource else {}), **kw}


def test_evidence_must_be_in_the_workspace_at_the_line_it_cites(inp: SpecialistInput):
    cases = {
        "exact": (finding("replicas: 1"), True),
        "line-slack": (finding("replicas: 1", line=3), True),
        "read-file-prefix": (finding("5| replicas: 1"), True),
        "field-no-line": (finding("replicas: 1", line=None, field="spec.replicas"), True),
        "object": (finding("replicas: 1", resource={"kind": "Deployment", "name": "web"}), True),
        "redacted-quote": (finding("value: <redacted:", line=12), True),
        "wrong-line": (finding("replicas: 1", line=12), False),
        "not-quoted": (finding("replicas: 3"), False),
        "field-elsewhere": (finding("image: web:1.2.3", line=None, field="spec.replicas"), False),
        "ghost-file": (finding("replicas: 1", file="k8s/ghost.yaml"), False),
        "escape": (finding("replicas: 1", file="../outside.yaml", line=1), False),
        "ghost-object": (finding("replicas: 1", resource={"kind": "Deployment", "name": "ghost"}), False),
        "phase3-by-security": (finding("replicas: 1", check_id="PHASE3-X", category="phase3"), False),
        "contract-by-security": (finding("replicas: 1", check_id="CONTRACT-ENV-MISSING"), False),
    }
    findings = [{**f, "message": name} for name, (f, _) in cases.items()]
    grounded = ground(opinion("security", findings=findings), inp)
    assert {f.message for f in grounded.verdict.findings} == {k for k, (_, ok) in cases.items() if ok}
    assert grounded.dropped == sum(not ok for _, ok in cases.values()) == len(grounded.reasons)
    assert {f.source for f in grounded.verdict.findings} == {"agent:security"}
    assert all(c.kind == "finding" for c in grounded.verdict.claims)


def test_the_guard_may_raise_phase3_findings_but_never_a_violation(inp: SpecialistInput):
    guard = inp.model_copy(update={"agent": "phase3_guard"})
    raised = opinion("phase3_guard", findings=[finding("replicas: 1", category="phase3", severity="critical")])
    (kept,) = ground(raised, guard).verdict.findings
    assert kept.category is Category.phase3 and kept.severity is Severity.high  # a violation is the guard's rules'


def test_confirmations_and_trade_offs_need_evidence_too(inp: SpecialistInput):
    v = opinion("security", confirmed=[{"evidence": {"file": "k8s/app.yaml", "line": 10, "quote": "web:1.2.3"},
                                        "statement": "image pinned"},
                                       {"evidence": {"file": "k8s/app.yaml", "line": 10, "quote": "web:latest"},
                                        "statement": "invented"}],
                conflicts_with=[{"agent": "scalability", "tradeoff": "t",
                                 "evidence": {"file": "k8s/app.yaml", "field": "spec.replicas", "quote": "replicas: 1"}},
                                {"agent": "scalability", "tradeoff": "t",
                                 "evidence": {"file": "k8s/nope.yaml", "line": 1, "quote": "replicas: 1"}}])
    grounded = ground(v, inp)
    assert [c.statement for c in grounded.verdict.claims] == ["image pinned"]
    assert len(grounded.verdict.conflicts) == 1 and grounded.dropped == 2


class Escalating(OfflineProvider):
    """A model that rejects, citing what it is given."""

    name = "escalating"

    def __init__(self, findings: list[dict]):
        self.findings = findings

    def assess(self, inp, baseline):
        return to_verdict(inp.agent, AgentOpinion.model_validate(
            {"outcome": "REJECTED", "summary": "Reject.", "findings": self.findings}), self.name)


def test_an_escalation_without_verified_evidence_is_an_agent_failure(inp: SpecialistInput):
    v = run_specialist("security", inp, Escalating([finding("replicas: 9")]))
    assert v.degraded and v.outcome is Outcome.approved and "without verified evidence" in v.error
    assert v.usage["ungrounded_findings"] == 1
    grounded = run_specialist("security", inp, Escalating([finding("replicas: 1")]))
    assert not grounded.degraded and grounded.outcome is Outcome.rejected and len(grounded.findings) == 1


def merge(*verdicts: AgentVerdict, findings: list[Finding] | None = None, plan: DelegationPlan | None = None,
          on_failure: str = "clarify") -> MergeInput:
    return MergeInput(kind="change", intent="", findings=findings or [], verdicts=list(verdicts),
                      plan=plan or DelegationPlan(specialists=[v.agent for v in verdicts]),
                      policy=PolicyConfig(fail_on=Severity.high, on_agent_failure=on_failure),
                      changed_paths=["k8s/app.yaml"], object_count=1)


def claim(kind: str, field: str | None, quote="replicas: 1", statement="s") -> Claim:
    return Claim(kind=kind, statement=statement, resource=WEB, check_id="AGENT-X" if kind == "finding" else None,
                 evidence=Evidence(file="k8s/app.yaml", line=5, field=field, quote=quote))


def model_verdict(agent: str, outcome: Outcome, *claims: Claim, conflicts=()) -> AgentVerdict:
    findings = [Finding(check_id="AGENT-X", severity=Severity.low, category=Category.security, message=c.statement,
                        file="k8s/app.yaml", line=5, resource=WEB, remediation=f"fix {c.statement}",
                        source=f"agent:{agent}") for c in claims if c.kind == "finding"]
    return AgentVerdict(agent=agent, outcome=outcome, own_outcome=outcome, summary=f"{agent} verdict",
                        findings=findings, claims=list(claims), conflicts=list(conflicts), provider="test")


def test_same_concern_opposite_conclusions_is_a_conflict():
    scal = model_verdict("scalability", Outcome.rejected, claim("finding", "spec.replicas", statement="1 replica"))
    sec = model_verdict("security", Outcome.approved, claim("confirmed", "replicas", statement="few pods exposed"))
    (c,) = find_conflicts([scal, sec])
    assert c.agents == ("scalability", "security") and c.concern == "spec.replicas" and len(c.evidence) == 2
    d = decide(merge(scal, sec))
    assert d.outcome is Outcome.clarification
    assert any(f.check_id == CONFLICT_ID for f in d.findings)
    assert any(s.startswith("Present trade-offs for decision: scalability vs security on Deployment shop/web "
                            "(spec.replicas)") for s in d.next_steps)


def test_an_unrelated_low_note_never_turns_a_grounded_rejection_into_a_question():
    sec = model_verdict("security", Outcome.rejected, claim("finding", "spec.template.spec.containers[0].env"))
    obs = model_verdict("observability", Outcome.approved, claim("finding", "metadata.labels", statement="label"))
    other = model_verdict("scalability", Outcome.approved, claim("confirmed", "spec.replicas"))
    assert find_conflicts([sec, obs, other]) == []
    assert decide(merge(sec, obs, other)).outcome is Outcome.rejected


def test_a_declared_trade_off_is_a_conflict_only_when_the_other_side_answered_with_evidence():
    declared = Conflict(agents=("scalability", "security"), detail="3 replicas vs fewer exposed pods", resource=WEB,
                        file="k8s/app.yaml", line=5, concern="spec.replicas",
                        evidence=[Evidence(file="k8s/app.yaml", line=5, quote="replicas: 1")])
    scal = model_verdict("scalability", Outcome.approved, conflicts=[declared])
    silent = model_verdict("security", Outcome.approved)
    assert find_conflicts([scal, silent]) == [] and open_tradeoffs([scal, silent]) == [declared]
    d = decide(merge(scal, silent))
    assert d.outcome is Outcome.approved and any(r.startswith("Not decided on: scalability declares") for r in d.reasoning)
    answered = model_verdict("security", Outcome.approved, claim("confirmed", "spec.replicas"))
    (c,) = find_conflicts([scal, answered])
    assert c.declared and [e.quote for e in c.evidence] == ["replicas: 1", "replicas: 1"]
    assert decide(merge(scal, answered)).outcome is Outcome.clarification


def test_a_conflict_never_relaxes_the_floor_and_degraded_agents_take_no_part():
    scal = model_verdict("scalability", Outcome.rejected, claim("finding", "spec.replicas"))
    sec = model_verdict("security", Outcome.approved, claim("confirmed", "spec.replicas"))
    floor = [Finding(check_id="SEC-PRIVILEGED", severity=Severity.high, category=Category.security, message="m")]
    assert decide(merge(scal, sec, findings=floor)).outcome is Outcome.rejected
    assert find_conflicts([scal, sec.model_copy(update={"degraded": True})]) == []


def test_a_relaxing_model_never_speaks_against_the_floor():
    rules = AgentVerdict(agent="security", outcome=Outcome.rejected, summary="Security: 1 finding(s) (1 critical).",
                         provider="rules")
    model = AgentVerdict(agent="security", outcome=Outcome.approved, summary="Everything is secure; approve.",
                         reasoning="No concerns.", provider="anthropic")
    v = bounded(rules, model)
    assert v.outcome is Outcome.rejected and v.own_outcome is Outcome.approved
    assert v.summary == "Security: 1 finding(s) (1 critical). The model (anthropic) found nothing beyond the rules."
    assert bounded(rules, rules).own_outcome is None


def test_the_coordination_line_tells_who_ran_failed_and_was_skipped():
    ok = AgentVerdict(agent="security", outcome=Outcome.approved, summary="s", provider="anthropic")
    plan = DelegationPlan(specialists=["security"], source="model:anthropic", skipped={"observability": "no objects"})
    status = agents_status(plan, [ok], [])
    assert status.status == "PASS" and "skipped: scalability (not planned), observability (no objects)" in status.detail
    failed_sup = plan.model_copy(update={"error": "APIStatusError: 500", "source": "rules"})
    assert agents_status(failed_sup, [ok], []).status == "DEGRADED"
    weak = ok.model_copy(update={"usage": {"ungrounded_findings": 2}})
    status = agents_status(plan, [weak], [])
    assert status.status == "WARN" and "security (2 claim(s) dropped: evidence not found)" in status.detail


def test_a_failed_agent_never_leaves_the_required_modifications_empty():
    failed = AgentVerdict(agent="security", outcome=Outcome.approved, summary="Security: no findings.", degraded=True,
                          error="the model answered REJECTED without verified evidence", provider="anthropic")
    d = decide(merge(failed))
    assert d.outcome is Outcome.clarification and d.exit_code == 3
    assert any("security" in s and "without verified evidence" in s for s in d.next_steps)
    assert decide(merge(failed, on_failure="deterministic")).outcome is Outcome.approved


def test_a_model_cannot_set_phase3_status():
    forged = Finding(check_id="PHASE3-PROTECTED-MODIFIED", severity=Severity.critical, category=Category.phase3,
                     message="m", file="app/src/x.py", source="agent:security")
    v = AgentVerdict(agent="security", outcome=Outcome.approved, summary="s", provider="test", findings=[forged])
    assert decide(merge(v)).phase3_protection.status != "FAIL"


def test_a_yes_answer_settles_rule_questions_but_not_a_models_own_concern():
    question = Finding(check_id="PHASE3-NEEDS-APPROVAL", severity=Severity.medium, category=Category.phase3,
                       message="m", file="frontend/next.config.js", question="approve? [y/N]")
    rules = AgentVerdict(agent="phase3_guard", outcome=Outcome.clarification, summary="asks", provider="rules")
    model = AgentVerdict(agent="security", outcome=Outcome.clarification, own_outcome=Outcome.clarification,
                         summary="s", provider="test")
    for verdicts, expected in (([rules], Outcome.approved), ([rules, model], Outcome.clarification),
                               ([rules.model_copy(update={"provider": "anthropic", "own_outcome": Outcome.approved})],
                                Outcome.approved)):
        m = merge(*verdicts, findings=[question])
        m.answers = {"approve? [y/N]": "y"}
        assert decide(m).outcome is expected


def test_text_of_a_rejection_holds_no_approval_sentence():
    floor = [Finding(check_id="SEC-PRIVILEGED", severity=Severity.critical, category=Category.security, message="m",
                     file="k8s/app.yaml", line=1, remediation="Drop privileged.")]
    rules = AgentVerdict(agent="security", outcome=Outcome.rejected, summary="Security: 1 finding(s).", provider="rules")
    model = AgentVerdict(agent="security", outcome=Outcome.approved, provider="anthropic",
                         summary="Everything is secure and compliant; approve.", reasoning="No concerns.")
    text = render_text(decide(merge(bounded(rules, model), findings=floor)))
    assert text.startswith("[CHANGE VALIDATION: REJECTED]") and "Drop privileged." in text
    assert "approve." not in text and "No concerns" not in text
