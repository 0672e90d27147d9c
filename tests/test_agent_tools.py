"""Specialists with read-only tools and a supervisor that plans and reconciles, through the real anthropic SDK
against a scripted fake that plays an expert: it reads with the tools, cites what it read, and disagrees once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes.anthropic_server import (
    Call,
    FakeModelServer,
    ToolUse,
    approve,
    call_tool,
    cite,
    default_responder,
    plan,
    reconciled,
)
from gitrepo import commit, isolate_git_env, make_repo

from agents.llm import make_provider
from core.config import ProviderConfig, load_config
from core.models import ChangeRequest, Outcome
from graph.runner import run_request

GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()
ONE_REPLICA = GOOD.replace("spec:\n  selector", "spec:\n  replicas: 1\n  selector", 1)
SHARED_VOLUME = GOOD.replace("spec:\n  selector", "spec:\n  replicas: 3\n  selector", 1).replace(
    "          readinessProbe: {httpGet: {path: /ready, port: 8080}}\n",
    "          readinessProbe: {httpGet: {path: /ready, port: 8080}}\n"
    "          volumeMounts: [{name: data, mountPath: /data}]\n"
    "      volumes:\n        - {name: data, persistentVolumeClaim: {claimName: data}}\n")
PVC = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\nspec:\n"
       "  accessModes:\n    - MODE\n  resources: {requests: {storage: 1Gi}}\n")
WEB = {"kind": "Deployment", "name": "web", "namespace": "shop"}


def workspace(root: Path, files: dict[str, str], config: str = "phase3:\n  protected: ['app/src/**']\n") -> Path:
    for rel, text in {**files, ".infra-orchestrator.yaml": config}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def review(root: Path, responder, req: ChangeRequest | None = None, **provider):
    with FakeModelServer(responder) as fake:
        loaded = load_config(root).config
        config = loaded.model_copy(update={"provider": ProviderConfig(name="anthropic", base_url=fake.base_url,
                                                                      **provider)})
        decision, text = run_request(req or ChangeRequest(workspace=str(root), intent="run web"), config=config,
                                     provider=make_provider(config, config_trusted=True))
    return decision, text, fake


def result(call: Call, i: int = 0) -> str:
    """A tool result as the model reads it (the <data> wrapper and its escapes undone)."""
    text = call.results[i].removeprefix("<data>\n").removesuffix("\n</data>")
    return text.replace("\\u003c", "<").replace("\\u003e", ">")


def line_of(listing: str, needle: str) -> int:
    """The line number ``read_file`` shows for the first line holding ``needle``."""
    return int(next(m.group(1) for m in re.finditer(r"^(\d+)\| (.*)$", listing, re.M) if needle in m.group(2)))


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")


# --- the expert: plans, reads, cites, disagrees once -----------------------------------------------------------


def expert(security_holds: bool):
    """Scalability finds the single replica a single point of failure; security confirmed it keeps exposure low.
    Asked again in the follow-up round, security holds its ground (or concedes)."""

    def respond(call: Call):
        if call.tool == "submit_plan":
            return ToolUse({"engage": [{"agent": "security", "question": "Does web stay minimally exposed?"},
                                       {"agent": "scalability", "question": "Does web survive a node loss?"},
                                       {"agent": "phase3_guard", "question": "Is any Phase III path touched?"}],
                            "skip": [{"agent": "observability", "reason": "no logging, metrics or rollout change"}],
                            "rationale": "one Deployment changed"})
        if call.tool == "submit_reconciliation":
            if call.data["round"] == 1:
                return reconciled("Security and scalability disagree on spec.replicas.", "REQUIRES CLARIFICATION",
                                  {"security": "Scalability cites k8s/app.yaml:5 'replicas: 1' as a single point of "
                                               "failure. Does your exposure argument still hold?"})
            if security_holds:
                return reconciled("Scalability wants 2+ replicas of web for availability; security wants 1 to keep "
                                  "its exposure minimal: a person decides.", "REQUIRES CLARIFICATION")
            return reconciled("Security withdrew its objection: the single replica must go.", "REJECTED")
        if call.agent == "scalability":
            if call.turn == 0:
                return call_tool("get_object", kind="Deployment", name="web", namespace="shop")
            if call.turn == 1:
                assert "replicas: 1" in result(call)
                return call_tool("read_file", path="k8s/app.yaml")
            line = line_of(result(call), "replicas: 1")
            return ToolUse({"findings": [{"evidence": cite("k8s/app.yaml", "replicas: 1", line, "spec.replicas"),
                                          "check_id": "AGENT-SINGLE-REPLICA", "severity": "medium",
                                          "category": "scalability", "resource": WEB,
                                          "message": "one replica: a node loss takes web down",
                                          "remediation": "Run at least 2 replicas of web with a PodDisruptionBudget."}],
                            "outcome": "REJECTED", "summary": "Single point of failure."})
        if call.agent == "security":
            keep = {"evidence": cite("k8s/app.yaml", "replicas: 1", 5, "spec.replicas"), "resource": WEB,
                    "statement": "a single replica keeps the exposed surface minimal"}
            non_root = {"evidence": cite("k8s/app.yaml", "runAsNonRoot: true", 9), "statement": "web runs as non-root"}
            if call.data.get("follow_up"):
                return approve("Still one replica." if security_holds else "Fair: availability wins.",
                               confirmed=[keep, non_root] if security_holds else [non_root])
            if call.turn == 0:
                return call_tool("read_file", path="k8s/app.yaml", start_line=1, end_line=20)
            return approve("Minimal exposure.", confirmed=[keep, non_root])
        return default_responder(call)

    return respond


@pytest.mark.parametrize("holds", [True, False], ids=["security-holds", "security-concedes"])
def test_the_supervisor_engages_reconciles_and_reports_truthfully(tmp_path: Path, holds: bool):
    root = workspace(tmp_path, {"k8s/app.yaml": ONE_REPLICA})
    decision, text, fake = review(root, expert(holds))
    agents = [c.agent for c in fake.calls]
    assert agents[0] == "supervisor" and "observability" not in agents  # skipped, with its reason
    scal = [c for c in fake.calls if c.agent == "scalability"]
    assert [c.turn for c in scal] == [0, 1, 2] and not scal[0].forced  # it read before it answered
    assert "replicas: 1" in result(scal[2]) and "5| " in result(scal[2])  # the real file, numbered
    assert scal[0].data["focus"] == "Does web survive a node loss?"  # the supervisor's targeted question
    follow = next(c for c in fake.calls if c.agent == "security" and c.data.get("follow_up"))
    assert follow.data["round"] == 2 and "single point of failure" in follow.data["follow_up"]["question"]
    assert follow.data["follow_up"]["others"][0]["check_id"] == "AGENT-SINGLE-REPLICA"  # the other side's evidence
    rounds = [c.data["round"] for c in fake.calls if c.tool == "submit_reconciliation"]
    assert rounds == [1, 2]

    sec = next(v for v in decision.verdicts if v.agent == "security")
    assert sec.round == 2 and sec.question.startswith("Scalability cites")
    assert "found beyond the rules: AGENT-SINGLE-REPLICA at k8s/app.yaml:5" in text  # the model's value, shown
    assert "web runs as non-root (k8s/app.yaml:9)" in text and "The model (anthropic) confirmed: " in text
    coordination = decision.agent_coordination
    assert coordination.status == "PASS", coordination.detail
    assert "supervisor planned (model:anthropic)" in coordination.detail
    assert "completed: security (round 2), scalability, phase3_guard (anthropic)" in coordination.detail
    assert "skipped: observability (no logging, metrics or rollout change)" in coordination.detail
    assert "one follow-up round: security" in coordination.detail
    if holds:
        assert decision.outcome is Outcome.clarification, text
        (conflict,) = decision.conflicts
        assert conflict.agents == ("scalability", "security") and conflict.concern == "spec.replicas"
        assert [e.location() for e in conflict.evidence] == ["k8s/app.yaml:5", "k8s/app.yaml:5"]
        assert "Supervisor: Scalability wants 2+ replicas of web for availability" in text
        assert any(s.startswith("Present trade-offs for decision: scalability vs security on Deployment shop/web")
                   for s in decision.next_steps)
        assert "Run at least 2 replicas of web with a PodDisruptionBudget." not in decision.next_steps  # disputed
    else:
        assert decision.outcome is Outcome.rejected and decision.conflicts == [], text
        assert "Run at least 2 replicas of web with a PodDisruptionBudget." in decision.next_steps
        assert "Supervisor: Security withdrew its objection" in text
    assert decision.metadata.usage["agents"]["supervisor"]["calls"] == 3  # plan + two reconciliations
    assert decision.metadata.usage["total"]["calls"] == len(fake.calls)


# --- a tool call changes the verdict ---------------------------------------------------------------------------


def storage_expert(call: Call):
    """Scalability checks the volume's access mode before judging 3 replicas that mount it."""
    if call.agent != "scalability":
        return default_responder(call)
    if call.turn == 0:
        return call_tool("read_file", path="k8s/pvc.yaml")
    listing = result(call)
    if "ReadWriteOnce" in listing:
        line = line_of(listing, "ReadWriteOnce")
        return ToolUse({"findings": [{
            "evidence": cite("k8s/pvc.yaml", "- ReadWriteOnce", line, "spec.accessModes"),
            "check_id": "AGENT-RWO-SHARED", "severity": "high", "category": "scalability",
            "resource": {"kind": "PersistentVolumeClaim", "name": "data", "namespace": "shop"},
            "message": "3 replicas of web mount one ReadWriteOnce volume: pods on other nodes stay Pending",
            "remediation": "Use a ReadWriteMany volume, or a StatefulSet with a volume per replica."}],
            "outcome": "REJECTED", "summary": "Shared RWO volume."})
    line = line_of(listing, "ReadWriteMany")
    return approve("Shared volume is fine.", confirmed=[{
        "evidence": cite("k8s/pvc.yaml", "- ReadWriteMany", line), "statement": "the 3 replicas can share data"}])


@pytest.mark.parametrize(("mode", "outcome"), [("ReadWriteOnce", Outcome.rejected),
                                               ("ReadWriteMany", Outcome.approved)])
def test_a_specialists_tool_call_changes_its_verdict(tmp_path: Path, mode: str, outcome: Outcome):
    root = workspace(tmp_path, {"k8s/app.yaml": SHARED_VOLUME, "k8s/pvc.yaml": PVC.replace("MODE", mode)})
    decision, text, fake = review(root, storage_expert)
    scal = [c for c in fake.calls if c.agent == "scalability"]
    assert [c.turn for c in scal] == [0, 1] and mode in result(scal[1])
    assert decision.outcome is outcome, text
    verdict = next(v for v in decision.verdicts if v.agent == "scalability")
    assert verdict.usage["tool_calls"] == 1 and not verdict.degraded
    if outcome is Outcome.rejected:
        (f,) = [f for f in decision.findings if f.check_id == "AGENT-RWO-SHARED"]
        assert (f.file, f.line) == ("k8s/pvc.yaml", 6) and f.source == "agent:scalability"
    else:
        assert "confirmed: the 3 replicas can share data (k8s/pvc.yaml:6)" in text


# --- the tools -------------------------------------------------------------------------------------------------


def test_every_tool_reads_confined_and_redacted(tmp_path: Path):
    isolate_git_env(pytest.MonkeyPatch())
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: hunter2hunter2}\n"
    repo = make_repo(tmp_path, {"k8s/app.yaml": GOOD, ".infra-orchestrator.yaml": "phase3:\n  protected: [app/**]\n"})
    (tmp_path / "outside.txt").write_text("outside the workspace\n")
    base = commit(repo, {}, "base")
    commit(repo, {"k8s/app.yaml": GOOD.replace("1.2.3", "1.2.4"), "k8s/db.yaml": secret,
                  "helm/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
                  "helm/web/values.yaml": "replicas: 1\n",
                  "helm/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
                                                "data: {replicas: \"{{ .Values.replicas }}\"}\n",
                  ".env": "API_TOKEN=tok3n-value-abcdef\n"}, "change")
    script = [call_tool("read_file", path="../outside.txt"), call_tool("read_file", path=".git/config"),
              call_tool("read_file", path="k8s/db.yaml"), call_tool("get_object", kind="Secret", name="db"),
              call_tool("show_diff", path="k8s/app.yaml"), call_tool("show_diff", path="k8s/db.yaml"),
              call_tool("render_chart", chart="helm/web", values={"replicas": 7}),
              call_tool("explain_check", check_id="SEC-PRIVILEGED"), call_tool("search_repo", text="hunter2"),
              call_tool("search_repo", text="API_TOKEN")]

    def reader(call: Call):
        if call.agent != "security":
            return default_responder(call)
        return script[call.turn] if call.turn < len(script) else approve()

    decision, _, fake = review(repo, reader, ChangeRequest(workspace=str(repo), base=base, head="HEAD"),
                               max_tool_turns=len(script))
    sec = {c.turn: c for c in fake.calls if c.agent == "security"}
    out = {i: result(sec[i + 1]) for i in range(len(script))}
    assert out[0].startswith("error:") and "outside the workspace" in out[0]
    assert out[1].startswith("error:") and "not readable" in out[1]
    assert "password: <redacted:" in out[2] and "hunter2" not in out[2]
    assert "Secret shop/db at k8s/db.yaml:1" in out[3] and "hunter2" not in out[3]
    assert "-          image: registry.example/web:1.2.3" in out[4] and "+          image: registry.example/web:1.2.4" in out[4]
    assert "k8s/db.yaml: added" in out[5] and "hunter2" not in out[5]
    assert "1 object(s)" in out[6] and "replicas: '7'" in out[6]
    assert out[7].startswith("SEC-PRIVILEGED:") and "fix:" in out[7]
    assert out[8].startswith("0 line(s)")  # never found inside a secret
    assert ".env:1: API_TOKEN=<redacted:" in out[9] and "tok3n" not in out[9]
    sent = [c.body["messages"][0]["content"][0]["text"] for c in fake.calls]
    sent += [r for c in fake.calls for r in c.results if "line(s) holding 'hunter2'" not in r]  # its own words
    assert not any("hunter2" in t or "tok3n" in t for t in sent)
    assert not next(v for v in decision.verdicts if v.agent == "security").degraded


def test_the_turn_budget_forces_an_answer_and_says_so(tmp_path: Path):
    root = workspace(tmp_path, {"k8s/app.yaml": GOOD})

    def curious(call: Call):
        if call.agent != "security":
            return default_responder(call)
        return approve() if call.forced else call_tool("explain_check", check_id="SEC-PRIVILEGED")

    decision, _, fake = review(root, curious, max_tool_turns=2)
    sec = [c for c in fake.calls if c.agent == "security"]
    assert [c.forced for c in sec] == [False, False, True]
    assert decision.agent_coordination.status == "WARN"
    assert "security (its tool budget ran out before it answered)" in decision.agent_coordination.detail


# --- inputs: the budget, the guard's context -------------------------------------------------------------------


def test_a_hundred_configmaps_stay_within_the_input_budget(tmp_path: Path):
    blob = "x" * 6000
    maps = "---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:03d}, namespace: shop}}\n"
                        f"data: {{payload: {blob}}}\n" for i in range(100))
    root = workspace(tmp_path, {"k8s/app.yaml": GOOD, "k8s/maps.yaml": maps})

    def fetcher(call: Call):
        if call.agent == "scalability" and call.turn == 0:
            assert "ConfigMap shop/cm-099 @ k8s/maps.yaml:" in " ".join(call.data["summaries"])
            return call_tool("get_object", kind="ConfigMap", name="cm-099")
        return default_responder(call)

    decision, _, fake = review(root, fetcher, input_budget_tokens=8000)
    for call in fake.calls:
        if call.turn == 0:
            data_tokens = len(call.body["messages"][0]["content"][0]["text"]) // 4
            assert data_tokens <= 8000 * 1.1, (call.agent, data_tokens)  # was ~175k per specialist
    scal = [c for c in fake.calls if c.agent == "scalability"]
    assert "ConfigMap shop/cm-099" in result(scal[1]) and blob[:100] in result(scal[1])  # fetched on demand
    assert not decision.metadata.degraded_agents


def test_the_phase3_guard_sees_the_boundaries_and_the_runtime_contract(tmp_path: Path):
    root = workspace(tmp_path, {
        "k8s/app.yaml": GOOD,
        "backend/src/main.py": "import os\nDB = os.environ['DATABASE_URL']\nPORT = int(os.getenv('PORT', '8080'))\n"},
        config="phase3:\n  protected: ['backend/src/**']\n  needs_approval: ['backend/requirements.txt']\n")
    decision, _, fake = review(root, default_responder)
    (guard,) = [c for c in fake.calls if c.agent == "phase3_guard"]
    assert guard.data["boundaries"]["protected"] == ["backend/src/**"]
    assert guard.data["boundaries"]["needs_approval"] == ["backend/requirements.txt"]
    (app,) = guard.data["contract"]
    assert app["app_root"] == "backend/src"
    assert {"name": "DATABASE_URL", "required": True, "file": "backend/src/main.py", "line": 2} in app["env"]
    assert "Deployment shop/web @ k8s/app.yaml:1" in guard.data["summaries"]
    sec = next(c for c in fake.calls if c.agent == "security")
    assert {o["kind"] for o in sec.data["objects"]} == {"Deployment", "NetworkPolicy"}  # every object in scope


# --- evidence decides what counts ------------------------------------------------------------------------------


def test_only_the_guard_speaks_about_phase3(tmp_path: Path):
    root = workspace(tmp_path, {"k8s/app.yaml": GOOD})
    forged = {"evidence": cite("k8s/app.yaml", "kind: Deployment", 2), "check_id": "PHASE3-PROTECTED-MODIFIED",
              "severity": "critical", "category": "phase3", "message": "frozen code touched", "remediation": "revert"}
    decision, text, _ = review(root, lambda c: approve(findings=[forged]) if c.agent == "security"
                               else default_responder(c))
    assert decision.phase3_protection.status == "PASS", text
    assert not any(f.check_id == "PHASE3-PROTECTED-MODIFIED" for f in decision.findings)
    assert decision.outcome is Outcome.approved


def test_an_unrelated_note_never_turns_a_grounded_rejection_into_a_question(tmp_path: Path):
    root = workspace(tmp_path, {"k8s/app.yaml": GOOD})
    image = cite("k8s/app.yaml", "image: registry.example/web:1.2.3", 12, "spec.template.spec.containers[0].image")
    labels = cite("k8s/app.yaml", "metadata: {labels: {app: web}}", 7, "spec.template.metadata.labels")
    sec = ToolUse({"findings": [{"evidence": image, "check_id": "AGENT-UNSIGNED-IMAGE", "severity": "low",
                                 "category": "security", "resource": WEB, "message": "the image is not signed",
                                 "remediation": "Sign the image and verify it at admission."}],
                   "outcome": "REJECTED", "summary": "Unsigned image."})
    obs = approve("Fine.", findings=[{"evidence": labels, "check_id": "AGENT-LABELS", "severity": "low",
                                      "category": "observability", "resource": WEB,
                                      "message": "no app.kubernetes.io/name label", "remediation": "Add it."}])
    decision, text, _ = review(root, lambda c: {"security": sec, "observability": obs}.get(c.agent)
                               or default_responder(c))
    assert decision.outcome is Outcome.rejected and decision.conflicts == [], text
    assert "Sign the image and verify it at admission." in decision.next_steps
    assert plan  # the default plan engages every specialist
