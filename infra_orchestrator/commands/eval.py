"""`eval`: run the recorded scenarios through the graph and report whether decisions got better or worse."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.errors import InputError


class EvalProvider(str, Enum):
    offline = "offline"
    replay = "replay"
    anthropic = "anthropic"


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


@contextmanager
def _provider(provider: EvalProvider, record: bool, scenarios) -> Iterator[tuple]:
    """The per-scenario provider factory and after-check for ``provider`` (exit 2 when it cannot run)."""
    from agents.llm.base import OfflineProvider

    if record and provider is not EvalProvider.anthropic:
        raise InputError("--record needs --provider anthropic (it calls the real API and rewrites recordings)")
    if provider is EvalProvider.offline:
        yield (lambda loaded, config: OfflineProvider()), None
        return
    if provider is EvalProvider.anthropic and not os.environ.get("ANTHROPIC_API_KEY"):
        raise InputError("--provider anthropic needs ANTHROPIC_API_KEY")
    if provider is EvalProvider.anthropic and not record:
        from agents.llm.anthropic import AnthropicProvider

        yield (lambda loaded, config: AnthropicProvider(config.provider)), None
        return
    from infra_orchestrator.evals import replay

    dirs = {s.scenario.id: s.path for s in scenarios}
    upstream = (os.environ.get("ANTHROPIC_BASE_URL") or replay.ANTHROPIC_API) if record else None
    with contextlib.ExitStack() as stack:
        if not record:
            stack.enter_context(replay.replay_key())
        server = stack.enter_context(replay.ReplayServer(dirs, upstream=upstream))
        yield replay.provider_factory(server, backoff_s=0.5 if record else 0.0), replay.missing_recordings(server)


def _default_fixtures(directory: Path) -> Path:
    """``fixtures/`` next to the scenarios directory (DIR may be the directory or one scenario in it)."""
    from infra_orchestrator.evals.scenario import SCENARIO_FILE

    root = directory.resolve()
    return (root.parent if (root / SCENARIO_FILE).exists() else root).parent / "fixtures"


def _progress():
    """A rich progress bar on stderr (silent when INFRA_ORCH_NO_PROGRESS is set)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from infra_orchestrator.progress import stderr_console

    return Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}"), console=stderr_console(), transient=True,
                    disable=bool(os.environ.get("INFRA_ORCH_NO_PROGRESS")))


def _line(r) -> str:
    mark = {"pass": "ok", "fail": "FAIL", "error": "ERROR", "skipped": "skip"}[r.status]
    if r.pending and r.status != "skipped":
        mark = f"pending({mark})"
    actual = r.actual.value if r.actual else "-"
    checks = ",".join(sorted({f.check for f in r.findings})) or "-"
    return (f"{mark:<14} {r.id:<40} {actual:<22} {r.latency_ms:>7.0f} ms {sum(r.usage.values()):>7} tok  "
            f"{checks}")


def eval_command(
    directory: Annotated[Path, typer.Argument(help="Scenario directory (or one scenario).")] = Path("evals/scenarios"),
    provider: Annotated[EvalProvider, typer.Option("--provider", help="offline: rule-based; replay: recorded "
                                                   "model responses; anthropic: the live API.")] = EvalProvider.offline,
    record: Annotated[bool, typer.Option("--record", help="With --provider anthropic: rewrite the recordings.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64,
                                             help="Scenarios run at once (threads).")] = 1,
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="A previous run's results.json.")] = None,
    report: Annotated[Path, typer.Option("--report", help="Directory for results.json, junit.xml, summary.md.")]
    = Path(".infra-orchestrator/eval-report"),
    tags: Annotated[Optional[list[str]], typer.Option("--tag", help="Only scenarios with this tag (repeatable).")]
    = None,
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, max=1.0,
                                             help="Allowed drop of accuracy/recall against the baseline.")] = 0.02,
    fixtures: Annotated[Optional[Path], typer.Option("--fixtures", help="Shared fixture trees "
                                                     "(default: fixtures/ next to the scenarios directory).")] = None,
) -> None:
    """Evaluate the gatekeeper over recorded scenarios. Exit 1 on a false APPROVED, a scenario error or a
    regression (see evals/README.md), 2 on bad input or an unavailable provider."""
    from infra_orchestrator.evals.report import build_report, load_baseline, write_report
    from infra_orchestrator.evals.runner import run_suite
    from infra_orchestrator.evals.scenario import discover

    scenarios = discover(directory, tags)
    before = load_baseline(baseline) if baseline else None
    fixtures_dir = fixtures or _default_fixtures(directory)
    started = time.perf_counter()
    with _provider(provider, record, scenarios) as (factory, after), _progress() as bar:
        task = bar.add_task("", total=len(scenarios))
        results = run_suite(scenarios, provider_name=provider.value, provider_factory=factory,
                            fixtures=fixtures_dir, concurrency=concurrency, after=after,
                            on_result=lambda r: bar.update(task, advance=1, description=r.id))
    outcome = build_report(results, provider=provider.value, concurrency=concurrency,
                           wall_s=time.perf_counter() - started, baseline=before, tolerance=tolerance)
    paths = write_report(outcome, report)
    for r in results:
        typer.echo(_line(r))
    m = outcome.metrics
    typer.echo(f"\n{m.scenarios} scenarios: {', '.join(f'{k} {v}' for k, v in sorted(m.counts.items()))}; "
               f"accuracy {m.accuracy:.1%}, recall {m.recall:.1%}, precision {m.precision:.1%}; "
               f"{outcome.wall_s:.1f} s")
    for reason in outcome.failures:
        typer.echo(f"FAIL: {reason}")
    if outcome.baseline and outcome.baseline.changed:
        typer.echo("changed against the baseline: " + ", ".join(
            f"{c.id} ({c.before} -> {c.after})" for c in outcome.baseline.changed))
    sys.stderr.write(f"report: {', '.join(str(p) for p in paths)}\n")
    raise typer.Exit(outcome.exit_code)
