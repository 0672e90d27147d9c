"""`eval`: run the recorded scenarios through the graph and report whether decisions got better or worse;
`eval merge`: combine the reports of several shards into one."""

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
from typer.core import TyperGroup

from core.errors import InputError

MODES = {"offline": "offline", "replay": "replay", "anthropic": "live"}
"""Provider -> the scenario mode it runs (``modes:`` in scenario.yaml)."""


class EvalProvider(str, Enum):
    offline = "offline"
    replay = "replay"
    anthropic = "anthropic"


class _RunByDefault(TyperGroup):
    """``eval DIR …`` is ``eval run DIR …``; ``eval merge …`` merges reports."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    eval_app = typer.Typer(cls=_RunByDefault, help="Evaluate the gatekeeper over recorded scenarios (`eval DIR`, the "
                           "same as `eval run DIR`), or merge shard reports (`eval merge REPORT…`). See "
                           "evals/README.md.")
    eval_app.command("run")(eval_command)
    eval_app.command("merge")(merge_command)
    app.add_typer(eval_app, name="eval")


@contextmanager
def _provider(provider: EvalProvider, record: bool, scenarios) -> Iterator[tuple]:
    """The per-scenario provider factory and after-check for ``provider`` (exit 2 when it cannot run)."""
    from agents.llm.base import OfflineProvider

    if provider is EvalProvider.offline:
        yield (lambda loaded, config: OfflineProvider()), None
        return
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
        yield replay.provider_factory(server, backoff_s=0.5 if record else 0.0), replay.replayed(server)


def _check_options(provider: EvalProvider, record: bool, judge: bool, repeat: int) -> None:
    if record and provider is not EvalProvider.anthropic:
        raise InputError("--record needs --provider anthropic (it calls the real API and rewrites recordings)")
    if provider is EvalProvider.anthropic and not os.environ.get("ANTHROPIC_API_KEY"):
        raise InputError("--provider anthropic needs ANTHROPIC_API_KEY")
    if judge and provider is not EvalProvider.anthropic:
        raise InputError("--judge needs --provider anthropic (the judge is a live model)")
    if record and repeat > 1:
        raise InputError("--record records once: drop --repeat")


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
    graded = f"  model {len(r.grading.matched)}/{r.grading.labels}" if r.grading and r.grading.labels else ""
    return (f"{mark:<14} {r.id:<40} {actual:<22} {r.latency_ms:>7.0f} ms {sum(r.usage.values()):>7} tok  "
            f"{checks}{graded}")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _finish(outcome, paths: list[Path]) -> None:
    """Print the verdict of a report and exit with its code."""
    m = outcome.metrics
    mm = m.model
    typer.echo(f"\n{m.scenarios} scenarios: {', '.join(f'{k} {v}' for k, v in sorted(m.counts.items()))}; "
               f"accuracy {m.accuracy:.1%}, recall {m.recall:.1%}, precision {m.precision:.1%}; "
               f"{outcome.wall_s:.1f} s")
    typer.echo(f"model findings: {mm.graded} graded scenario(s), {mm.graded_pass} pass; labels {mm.labels}, "
               f"matched {mm.matched}, unlabelled {mm.false_positives}; precision {_pct(mm.precision)}, "
               f"recall {_pct(mm.recall)}")
    if mm.judge:
        typer.echo(f"judge: precision {_pct(mm.judge.precision)}, recall {_pct(mm.judge.recall)} "
                   f"({mm.judge.unscored} unscored)")
    if m.stale:
        typer.echo(f"stale recordings: {len(m.stale)} (see summary.md)")
    if m.stability:
        typer.echo(f"stability over {m.stability.runs} runs: {m.stability.stable}/{m.stability.scenarios} stable, "
                   f"mean agreement {m.stability.mean_agreement:.1%}")
    for reason in outcome.failures:
        typer.echo(f"FAIL: {reason}")
    if outcome.baseline and outcome.baseline.changed:
        typer.echo("changed against the baseline: " + ", ".join(
            f"{c.id} ({c.before} -> {c.after})" for c in outcome.baseline.changed))
    sys.stderr.write(f"report: {', '.join(str(p) for p in paths)}\n")
    raise typer.Exit(outcome.exit_code)


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
    shard: Annotated[Optional[str], typer.Option("--shard", help="Run only shard i of N (e.g. 2/4): every N-th "
                                                 "scenario by id; merge the reports with `eval merge`.")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=20, help="Run every scenario N times and report "
                                        "the agreement of outcomes (stability).")] = 1,
    judge: Annotated[bool, typer.Option("--judge", help="With --provider anthropic: also grade the model-added "
                                        "findings with an LLM judge.")] = False,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="The judge's model (default: "
                                                       "the provider's).")] = None,
    fail_on_stale: Annotated[bool, typer.Option("--fail-on-stale", help="Replay: fail the run when a recording "
                                                "is stale (its data turn, prompt or tool schema changed).")] = False,
) -> None:
    """Evaluate the gatekeeper over recorded scenarios. Exit 1 on a false APPROVED, a scenario error or a
    regression (see evals/README.md), 2 on bad input or an unavailable provider."""
    from infra_orchestrator.bundled import scenarios_dir
    from infra_orchestrator.evals.render import write_report
    from infra_orchestrator.evals.report import build_report, load_baseline, select_shard, with_repeats
    from infra_orchestrator.evals.runner import run_suite
    from infra_orchestrator.evals.scenario import discover

    _check_options(provider, record, judge, repeat)
    mode = MODES[provider.value]
    if directory == Path("evals/scenarios") and not directory.exists():  # an installed tool: its bundled suite
        directory = scenarios_dir() or directory
    scenarios = discover(directory, tags)
    if shard:
        scenarios = select_shard(scenarios, shard)
    before = load_baseline(baseline) if baseline else None
    fixtures_dir = fixtures or _default_fixtures(directory)
    runnable = [s for s in scenarios if mode in s.scenario.modes]  # recording never clears a skipped scenario
    started = time.perf_counter()
    runs = []
    with _progress() as bar:
        task = bar.add_task("", total=len(scenarios) * repeat)
        for _ in range(repeat):
            with _provider(provider, record, runnable) as (factory, after):
                runs.append(run_suite(scenarios, mode=mode, provider_factory=factory, fixtures=fixtures_dir,
                                      concurrency=concurrency, after=after,
                                      on_result=lambda r: bar.update(task, advance=1, description=r.id)))
    results = with_repeats(runs)
    if judge:
        from core.config import ProviderConfig
        from infra_orchestrator.evals.judge import Judge, judge_results

        results = judge_results(Judge(judge_model or ProviderConfig().model), scenarios, results, concurrency)
    outcome = build_report(results, provider=provider.value, mode=mode, concurrency=concurrency,
                           wall_s=time.perf_counter() - started, baseline=before, tolerance=tolerance,
                           shard=shard, repeat=repeat, fail_on_stale=fail_on_stale)
    paths = write_report(outcome, report)
    for r in results:
        typer.echo(_line(r))
    _finish(outcome, paths)


def merge_command(
    reports: Annotated[list[Path], typer.Argument(help="Report directories (or their results.json) to merge.")],
    report: Annotated[Path, typer.Option("--report", help="Directory for the merged results.json, junit.xml, "
                                         "summary.md.")] = Path(".infra-orchestrator/eval-report"),
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="A previous run's results.json.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, max=1.0,
                                             help="Allowed drop of accuracy/recall against the baseline.")] = 0.02,
) -> None:
    """Merge the reports of the shards of one run (`eval --shard i/N`) into one report, judged like a single
    run; missing shards fail it. Exit 1 when the merged run fails, 2 on unreadable or overlapping reports."""
    from infra_orchestrator.evals.render import write_report
    from infra_orchestrator.evals.report import load_baseline, merge_reports

    parts = [load_baseline(p / "results.json" if p.is_dir() else p) for p in reports]
    merged = merge_reports(parts, baseline=load_baseline(baseline) if baseline else None, tolerance=tolerance)
    paths = write_report(merged, report)
    typer.echo(f"merged {len(parts)} report(s): {', '.join(merged.shards) or 'no shards named'}")
    _finish(merged, paths)
