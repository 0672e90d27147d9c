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

from fakes.anthropic_server import Error, FakeModelServer, ToolUse, approve, default_responder  # noqa: E402

SCENARIOS = ROOT / "evals" / "scenarios"
WORKER = {"kind": "Deployment", "name": "worker", "namespace": "shop"}


def outage(call):
    """The security specialist's model is overloaded on every attempt."""
    return Error(529, retry_after=0.01) if call.agent == "security" else default_responder(call)


def hallucination(call):
    """Security reports a ClusterRole that is nowhere in its input."""
    if call.agent != "security":
        return default_responder(call)
    return approve(findings=[{"check_id": "AGENT-RBAC-WILDCARD", "severity": "high", "category": "security",
                              "message": "ClusterRole admin grants * on *",
                              "resource": {"kind": "ClusterRole", "name": "admin"}}])


def conflict(call):
    """Scalability wants more replicas of the worker; security wants fewer exposed pods."""
    if call.agent != "scalability":
        return default_responder(call)
    return ToolUse({"outcome": "APPROVED", "summary": "One replica is a single point of failure.",
                    "recommendations": ["run 3 replicas"],
                    "conflicts_with": [{"agent": "security", "resource": WORKER,
                                        "tradeoff": "3 replicas for availability vs fewer exposed pods"}]})


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
