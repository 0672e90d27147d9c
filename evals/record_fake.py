"""Re-record every scenario's ``recordings/`` from the scripted expert instead of the API.

Synthetic answers for replay where no API key is at hand. Scenarios with an ``expert.yaml`` get the scripted
expert's answers (:mod:`expert`): the findings an experienced reviewer adds where the rules pass, and the
scripted model faults (an outage, a hallucinated finding, a declared trade-off). Every other specialist
approves with no finding (the rule floor decides). The run records in mode ``replay``, so replay-only
scenarios are recorded too. Real recordings come from ``infra-orchestrator eval --provider anthropic --record``.

    uv run python evals/record_fake.py            # from the repository root; about a minute
    uv run python evals/record_fake.py ID...      # only these scenarios
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from expert import Expert, load_script, resolve_lines  # noqa: E402

from infra_orchestrator.evals.replay import ReplayServer, provider_factory, replay_key, replayed  # noqa: E402
from infra_orchestrator.evals.runner import run_suite  # noqa: E402
from infra_orchestrator.evals.scenario import discover  # noqa: E402
from infra_orchestrator.evals.workspace import WorkspaceBuilder  # noqa: E402

SCENARIOS = HERE / "scenarios"
FIXTURES = HERE / "fixtures"


def scripts_for(scenarios, fixtures: Path) -> dict:
    """Every scenario's expert script with its citations' lines found in the scenario's built head tree."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="infra-eval-expert-") as tmp:
        builder = WorkspaceBuilder(fixtures, Path(tmp))
        for loaded in scenarios:
            script = load_script(loaded.path)
            if script is not None:
                try:
                    out[loaded.scenario.id] = resolve_lines(script, builder.build(loaded))
                except ValueError as exc:
                    raise SystemExit(f"{loaded.path / 'expert.yaml'}: {exc}") from None
    return out


def record(scenarios, fixtures: Path = FIXTURES, concurrency: int = 4):
    """Record ``scenarios`` (loaded) from the scripted expert; return the results of the recording run."""
    runnable = [s for s in scenarios if "replay" in s.scenario.modes]
    expert = Expert(scripts_for(runnable, fixtures))
    with replay_key(), ReplayServer({s.scenario.id: s.path for s in runnable}, upstream=expert) as server:
        return run_suite(runnable, mode="replay", provider_factory=provider_factory(server), fixtures=fixtures,
                         concurrency=concurrency, after=replayed(server))


def main(argv: list[str]) -> int:
    scenarios = discover(SCENARIOS)
    if argv:
        scenarios = [s for s in scenarios if s.scenario.id in set(argv)]
    results = record(scenarios)
    bad = [f"{r.id}: {r.status} ({r.actual.value if r.actual else r.error})" for r in results if r.status != "pass"]
    files = sum(1 for s in scenarios for _ in (s.path / "recordings").glob("*/*.json"))
    sys.stdout.write(f"recorded {len(results)} scenario(s), {files} recording(s)\n")
    sys.stdout.write("".join(f"  not passing while recording: {line}\n" for line in bad))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
