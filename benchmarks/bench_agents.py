"""Benchmark the Claude-backed agents against the local fake Messages server (run by hand).

    uv run python benchmarks/bench_agents.py [--latency 0.25,0.5,1,2] [--repo examples/todo-phase-iv]

Measures, on one directory review of ``--repo``:

1. Decision wall time with the fake adding a fixed latency L per call: the graph (supervisor, then every
   specialist in one parallel round) against the same five calls made one after another.
2. Tokens sent per decision (the fake's estimate, characters / 4, over the whole request: tools, system,
   messages) against a naive prompt that sends the in-scope infrastructure files whole to each call.
3. Cache-read share of the input tokens of a repeated run (the fake simulates prompt caching).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.anthropic_server import FakeModelServer, tokens  # noqa: E402

from agents.llm.anthropic import AnthropicProvider  # noqa: E402
from core.config import Config, load_config  # noqa: E402
from core.models import ChangeRequest  # noqa: E402
from graph.runner import run_request  # noqa: E402


class Recorder:
    """Delegates to a provider and keeps the inputs it saw (to replay them as a sequential chain)."""

    def __init__(self, inner: AnthropicProvider):
        self.inner, self.name, self.seen = inner, inner.name, []

    def plan(self, inp, baseline):
        self.seen.append(("plan", inp, baseline))
        return self.inner.plan(inp, baseline)

    def assess(self, inp, baseline):
        self.seen.append(("assess", inp, baseline))
        return self.inner.assess(inp, baseline)

    def reconcile(self, inp, baseline):
        self.seen.append(("reconcile", inp, baseline))
        return self.inner.reconcile(inp, baseline)


def _config(repo: Path, base_url: str) -> Config:
    config = load_config(repo).config
    return config.model_copy(update={"provider": config.provider.model_copy(
        update={"name": "anthropic", "base_url": base_url})})


def _provider(config: Config) -> AnthropicProvider:
    from agents.llm.credentials import operator_endpoint

    return AnthropicProvider(config.provider, endpoint=operator_endpoint("anthropic", config.provider.base_url,
                                                                         "benchmark fake server"))


def _decision(repo: Path, config: Config, provider, intent: str = "") -> float:
    started = time.perf_counter()
    run_request(ChangeRequest(workspace=str(repo), intent=intent), config=config, provider=provider)
    return time.perf_counter() - started


def _whole_change(repo: Path) -> str:
    """What a naive gatekeeper would paste into each prompt: every in-scope infrastructure file of the review
    (the same scope the engine reads: ``kubernetes.paths``, Dockerfiles, charts), whole."""
    from tools.engine import in_scope, walk_files

    parts = []
    for rel in in_scope(walk_files(repo), load_config(repo).config):
        try:
            parts.append(f"=== {rel}\n{(repo / rel).read_text(encoding='utf-8')}")
        except (UnicodeDecodeError, OSError):
            continue
    return "\n".join(parts)


def bench_wall(repo: Path, latency: float, runs: int) -> dict[str, float]:
    offline = statistics.median(_decision(repo, load_config(repo).config, None) for _ in range(runs))
    with FakeModelServer(latency=latency) as fake:
        config = _config(repo, fake.base_url)
        graph_wall = statistics.median(_decision(repo, config, _provider(config)) for _ in range(runs))
        rec = Recorder(_provider(config))
        _decision(repo, config, rec)
        seq = []
        for _ in range(runs):
            started = time.perf_counter()
            for kind, inp, baseline in rec.seen:
                getattr(rec.inner, kind)(inp, baseline)
            seq.append(time.perf_counter() - started)
    return {"L_s": latency, "offline_s": offline, "graph_s": graph_wall, "graph_over_L": graph_wall / latency,
            "graph_minus_offline_over_L": (graph_wall - offline) / latency,
            "sequential_s": statistics.median(seq), "sequential_over_L": statistics.median(seq) / latency,
            "calls": len(rec.seen)}


def bench_tokens_and_cache(repo: Path) -> dict[str, float]:
    with FakeModelServer() as fake:
        config = _config(repo, fake.base_url)
        provider = _provider(config)
        _decision(repo, config, provider)
        first = provider.decision_usage()["total"]
        calls = list(fake.calls)
        sent = sum(tokens(c.text) for c in calls)
        whole = tokens(_whole_change(repo))
        naive = sum(tokens(json.dumps([c.body.get("tools"), c.body.get("system")])) + whole for c in calls)
        _decision(repo, config, provider)
        second = provider.decision_usage()["total"]
        _decision(repo, config, provider, intent="a different request over the same repository")
        other = provider.decision_usage()["total"]

    def inputs(u):
        return u["input_tokens"] + u["cache_write_tokens"] + u["cache_read_tokens"]
    return {"calls": len(calls), "tokens_sent": sent, "naive_tokens": naive, "sent_over_naive": sent / naive,
            "first_run_cache_write_share": first["cache_write_tokens"] / inputs(first),
            "repeat_cache_read_share": second["cache_read_tokens"] / inputs(second),
            "new_request_cache_read_share": other["cache_read_tokens"] / inputs(other),
            "first_run_cost_usd": first["cost_micro_usd"] / 1e6,
            "repeat_cost_usd": second["cost_micro_usd"] / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", default="0.25,0.5,1,2",
                        help="fixed latency L per call, seconds; a comma-separated list sweeps it")
    parser.add_argument("--repo", type=Path, default=ROOT / "examples" / "todo-phase-iv")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "test")
    repo = args.repo.resolve()
    walls = [bench_wall(repo, float(latency), args.runs) for latency in args.latency.split(",")]
    print("| L (s) | graph wall / L | of which model calls / L | the same calls in sequence / L |")
    print("|---:|---:|---:|---:|")
    for w in walls:
        print(f"| {w['L_s']:.2f} | {w['graph_over_L']:.2f} | {w['graph_minus_offline_over_L']:.2f} "
              f"| {w['sequential_over_L']:.2f} |")
    report = {"wall": walls, "tokens": bench_tokens_and_cache(repo)}
    print(json.dumps(report, indent=2, default=lambda v: round(v, 3)))


if __name__ == "__main__":
    main()
