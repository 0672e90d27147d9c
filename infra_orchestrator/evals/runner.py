"""Run scenarios through the graph (threads in one process) and judge each decision against its expectation."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.llm.base import Provider
from core.config import Config
from core.models import ChangeRequest, Decision, Outcome, StageRequest
from infra_orchestrator.evals.scenario import FindingSpec, LoadedScenario, RequestSpec, Scenario
from infra_orchestrator.evals.workspace import BASE_REF, HEAD_REF, WorkspaceBuilder

Status = Literal["pass", "fail", "error", "skipped"]
ProviderFactory = Callable[[LoadedScenario, Config], Provider]
"""Makes the provider for one scenario (replay serves that scenario's recordings)."""
AfterCheck = Callable[[LoadedScenario], "str | None"]
"""Run after a scenario's decision; a message makes the scenario an ERROR (replay: unrecorded requests)."""

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
_PRICE_KEYS = dict(zip(USAGE_KEYS, ("input", "output", "cache_write", "cache_read"), strict=True))
WORKDIR_PREFIX = "infra-eval-"
"""Prefix of the temporary directory scenarios are built in (replay masks it out of request digests)."""

class SeenFinding(BaseModel):
    check: str
    file: str | None = None
    severity: str
    source: str
    suppressed: bool = False


class ScenarioResult(BaseModel):
    """What happened to one scenario; everything but ``latency_ms`` is deterministic for a given provider."""

    id: str
    title: str
    tags: list[str]
    pending: list[str] = Field(default_factory=list)
    status: Status
    expected: Outcome
    actual: Outcome | None = None
    findings: list[SeenFinding] = Field(default_factory=list)
    missing: list[FindingSpec] = Field(default_factory=list, description="expected findings that did not appear")
    forbidden: list[FindingSpec] = Field(default_factory=list, description="absent-listed findings that appeared")
    matched: int = 0
    degraded_agents: list[str] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None

    @property
    def false_approved(self) -> bool:
        """The gatekeeper's worst failure: APPROVED where the scenario expects anything else."""
        return self.actual is Outcome.approved and self.expected is not Outcome.approved

    @property
    def gating(self) -> bool:
        """Whether this result can fail the run (pending and skipped scenarios cannot)."""
        return not self.pending and self.status != "skipped"


def build_request(req: RequestSpec, repo: Path) -> ChangeRequest | StageRequest:
    """The request a scenario describes, against its built repository."""
    if req.kind == "stage":
        return StageRequest(workspace=str(repo), feature=req.feature, target=req.target, intent=req.intent)
    git_range = {"base": BASE_REF, "head": HEAD_REF} if req.mode == "range" else {}
    return ChangeRequest(workspace=str(repo), worktree=req.mode == "worktree", paths=req.paths,
                         intent=req.intent, **git_range)


def usage_and_cost(decision: Decision, prices: dict[str, float]) -> tuple[dict[str, int], float]:
    """Tokens of the decision (its metadata total when the provider reports one, else the sum over the
    agents' verdicts) and their cost at ``prices`` (USD per million tokens)."""
    total = decision.metadata.usage.get("total")
    rows = [total] if isinstance(total, dict) else [v.usage for v in decision.verdicts]
    usage = {k: sum(int(r.get(k, 0)) for r in rows) for k in USAGE_KEYS}
    cost = sum(usage[k] * prices.get(_PRICE_KEYS[k], 0.0) for k in USAGE_KEYS) / 1e6
    return {k: v for k, v in usage.items() if v}, round(cost, 6)

def judge(scenario: Scenario, decision: Decision) -> dict[str, Any]:
    """Compare a decision with the expectation: status, missing and forbidden findings, matched count."""
    seen = [(f.check_id, f.file) for f in decision.findings if not f.suppressed]
    missing = [s for s in scenario.expect.findings if not any(s.matches(c, p) for c, p in seen)]
    forbidden = [s for s in scenario.expect.absent if any(s.matches(c, p) for c, p in seen)]
    ok = decision.outcome is scenario.expect.outcome and not missing and not forbidden
    return {"status": "pass" if ok else "fail", "missing": missing, "forbidden": forbidden,
            "matched": len(scenario.expect.findings) - len(missing)}


def _base_result(s: Scenario, status: Status, **extra: Any) -> ScenarioResult:
    return ScenarioResult(id=s.id, title=s.title, tags=s.tags, pending=s.pending, status=status,
                          expected=s.expect.outcome, **extra)


def run_scenario(loaded: LoadedScenario, *, provider_name: str, provider_factory: ProviderFactory,
                 builder: WorkspaceBuilder, graph=None, after: AfterCheck | None = None) -> ScenarioResult:
    """Build the scenario's repository with ``builder``, run the graph once and judge the decision."""
    from graph.runner import prepare, review

    s = loaded.scenario
    if provider_name not in s.providers:
        return _base_result(s, "skipped", error=f"not applicable to provider '{provider_name}'")
    started = time.perf_counter()
    def decide(req: RequestSpec, repo: Path) -> tuple[Decision, Config]:
        request = build_request(req, repo)
        setup = prepare(request, lambda config: provider_factory(loaded, config))
        return review(request, setup=setup, graph=graph), setup.loaded.config

    def setup(repo: Path) -> None:
        for req in s.setup:
            decide(req, repo)

    try:
        decision, config = decide(s.request, builder.build(loaded, setup if s.setup else None))
    except Exception as exc:  # noqa: BLE001 - a scenario error is a result, never a crashed run
        return _base_result(s, "error", error=f"{type(exc).__name__}: {exc}",
                            latency_ms=round((time.perf_counter() - started) * 1000, 1))
    latency = round((time.perf_counter() - started) * 1000, 1)
    problem = after(loaded) if after else None
    if problem:
        return _base_result(s, "error", actual=decision.outcome, error=problem, latency_ms=latency)
    usage, cost = usage_and_cost(decision, config.provider.price_per_mtok)
    findings = [SeenFinding(check=f.check_id, file=f.file, severity=f.severity.value, source=f.source,
                            suppressed=f.suppressed) for f in decision.findings]
    return _base_result(s, actual=decision.outcome, findings=findings, usage=usage, cost_usd=cost,
                        degraded_agents=decision.metadata.degraded_agents,
                        latency_ms=latency, **judge(s, decision))


def run_suite(scenarios: list[LoadedScenario], *, provider_name: str, provider_factory: ProviderFactory,
              fixtures: Path, concurrency: int = 1, after: AfterCheck | None = None,
              on_result: Callable[[ScenarioResult], None] | None = None) -> list[ScenarioResult]:
    """Run every scenario on ``concurrency`` threads sharing one compiled graph; results sorted by id."""
    from graph.builder import build_graph

    graph = build_graph()
    with tempfile.TemporaryDirectory(prefix=WORKDIR_PREFIX) as tmp:
        builder = WorkspaceBuilder(fixtures, Path(tmp))

        def one(loaded: LoadedScenario) -> ScenarioResult:
            result = run_scenario(loaded, provider_name=provider_name, provider_factory=provider_factory,
                                  builder=builder, graph=graph, after=after)
            if on_result:
                on_result(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            results = list(pool.map(one, scenarios))
    return sorted(results, key=lambda r: r.id)
