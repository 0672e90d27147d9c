"""Re-record the scenarios' ``recordings/`` against the fake Messages server instead of the API.

Synthetic answers for replay where no API key is at hand: every specialist APPROVES with no finding (the
rule floor decides), except the model scenarios below, which script an outage, a hallucinated finding and a
trade-off. Real recordings come from ``infra-orchestrator eval --provider anthropic --record``.

    uv run python evals/record_fake.py            # from the repository root
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakes.anthropic_server import (  # noqa: E402
    Error,
    FakeModelServer,
    ToolUse,
    approve,
    cite,
    default_responder,
    reconciled,
)

SCENARIOS = ROOT / "evals" / "scenarios"
WORKER = {"kind": "Deployment", "name": "worker", "namespace": "shop"}


def outage(call):
    """The security specialist's model is overloaded on every attempt."""
    return Error(529, retry_after=0.01) if call.agent == "security" else default_responder(call)


def hallucination(call):
    """Security reports a ClusterRole, citing a file that is nowhere in the workspace."""
    if call.agent != "security":
        return default_responder(call)
    return approve(findings=[{"evidence": cite("k8s/rbac.yaml", "verbs: ['*']", line=7),
                              "check_id": "AGENT-RBAC-WILDCARD", "severity": "high", "category": "security",
                              "message": "ClusterRole admin grants * on *", "remediation": "Name the verbs.",
                              "resource": {"kind": "ClusterRole", "name": "admin"}}])


REPLICAS = cite("k8s/worker.yaml", "replicas: 1", line=5, field="spec.replicas")


def conflict(call):
    """Scalability wants more replicas of the worker; security checked the single replica and wants it kept."""
    if call.tool == "submit_reconciliation":
        return reconciled("Scalability wants 3 replicas of worker for availability; security wants fewer exposed "
                          "pods: a person decides.", "REQUIRES CLARIFICATION")
    if call.agent == "scalability":
        return ToolUse({"findings": [{"evidence": REPLICAS, "check_id": "AGENT-SINGLE-REPLICA", "severity": "low",
                                      "category": "scalability", "resource": WORKER,
                                      "message": "one replica is a single point of failure",
                                      "remediation": "Run 3 replicas with a PodDisruptionBudget."}],
                        "outcome": "APPROVED", "summary": "One replica is a single point of failure."})
    if call.agent == "security":
        return approve("One replica keeps exposure low.", confirmed=[
            {"evidence": REPLICAS, "resource": WORKER, "statement": "a single replica keeps the exposed pods few"}])
    return default_responder(call)


SCRIPTED = {"model-outage": outage, "model-hallucinated-finding": hallucination,
            "model-conflicting-verdicts": conflict}


def record(target: Path, responder) -> None:
    """Run ``eval --record`` over ``target`` with the fake server as the API."""
    with FakeModelServer(responder) as fake:
        env = {**os.environ, "ANTHROPIC_API_KEY": "fake-key", "ANTHROPIC_BASE_URL": fake.base_url,
               "INFRA_ORCH_NO_PROGRESS": "1"}
        proc = subprocess.run(["uv", "run", "infra-orchestrator", "eval", str(target), "--provider", "anthropic",
                               "--record", "--concurrency", "4", "--report", str(ROOT / ".infra-orchestrator" /
                                                                                  "record-report")],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        sys.stdout.write(proc.stdout.splitlines()[-1] + "\n" if proc.stdout else proc.stderr)


if __name__ == "__main__":
    record(SCENARIOS, default_responder)
    for sid, responder in SCRIPTED.items():
        record(SCENARIOS / sid, responder)
