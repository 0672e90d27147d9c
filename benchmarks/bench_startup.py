"""Cold starts and warm `review` against the engine (run by hand, not part of the tests).

    uv run python benchmarks/bench_startup.py [--repeat 7] [--baseline DIR]

Cold starts: CPU seconds (children's ``getrusage``; user + system) of a fresh interpreter running
``python -c pass`` (the floor), ``--version``, ``check`` of one manifest, ``guard hook`` with a Bash
PreToolUse event and with a Write of a protected file of the example (denied), ``check`` and ``review`` of the
example offline; median of ``--repeat``.

``--baseline DIR``: the same cold starts of another checkout (``git worktree add DIR main``), run with
``PYTHONPATH=DIR`` in turn with this tree's, one run of each per round, so that a neighbour's load on a shared
machine falls on both columns alike; each side gets its own schema cache (``INFRA_ORCH_CACHE_DIR``) so neither
evicts the other's compiled validators.

Warm: in one interpreter, after a warm-up, ``tools.engine.check_paths`` and ``tools.engine.analyse`` (the same
plus the Phase III guard) against ``graph.runner.decide`` (the whole LangGraph decision, offline provider) on ``examples/todo-phase-iv``; ``time.process_time``, median.
"""

from __future__ import annotations

import argparse
import compileall
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _env import PACKAGES, child_env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "todo-phase-iv"
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{port: 80}]\n"


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold(args: list[str], cwd: Path, repeat: int, stdin: str = "", envs: list[dict[str, str]] | None = None
         ) -> list[float]:
    """Median CPU seconds of ``args`` in a fresh interpreter, per environment of ``envs`` (one run of each per
    round; default: this tree's)."""
    if envs is None:
        envs = [child_env()]
    times: list[list[float]] = [[] for _ in envs]
    for _ in range(repeat):
        for env, out in zip(envs, times, strict=True):
            env.pop("ANTHROPIC_API_KEY", None)
            started = child_cpu()
            subprocess.run([sys.executable, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env,
                           check=False, timeout=600)
            out.append(child_cpu() - started)
    return [statistics.median(t) for t in times]


def side_envs(baseline: Path | None, tmp: Path) -> list[dict[str, str]]:
    """This tree's children's environment, then (``baseline``) the other checkout's; each its own cache."""
    if baseline is None:
        return [child_env()]
    for package in PACKAGES:
        compileall.compile_dir(baseline / package, quiet=1)
    ours = child_env(INFRA_ORCH_CACHE_DIR=str(tmp / "cache-this"))
    theirs = child_env(INFRA_ORCH_CACHE_DIR=str(tmp / "cache-baseline"), PYTHONPATH=str(baseline.resolve()))
    return [ours, theirs]


def warm(repeat: int) -> tuple[float, float, float]:
    from agents.llm.base import OfflineProvider
    from core.config import load_config
    from core.models import ChangeRequest
    from graph.builder import build_graph
    from graph.runner import decide
    from tools import engine

    config = load_config(EXAMPLE).config
    graph = build_graph()

    def engine_once() -> None:
        engine.check_paths(EXAMPLE, [], config)

    def analyse_once() -> None:  # the engine with the Phase III guard: the deterministic work a review does
        engine.analyse(ChangeRequest(workspace=str(EXAMPLE)), config)

    def review_once() -> None:
        decide(ChangeRequest(workspace=str(EXAMPLE)), config=config, provider=OfflineProvider(), graph=graph,
               record=False)

    out = []
    for fn in (engine_once, analyse_once, review_once):
        fn()
        times = []
        for _ in range(repeat):
            started = time.process_time()
            fn()
            times.append(time.process_time() - started)
        out.append(statistics.median(times))
    return out[0], out[1], out[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure in turn (cold starts only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        (ws / "k8s").mkdir(parents=True)
        (ws / "k8s" / "svc.yaml").write_text(SERVICE, encoding="utf-8")
        example = Path(tmp) / "example"
        shutil.copytree(EXAMPLE, example)
        event = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"},
                            "cwd": str(ws)})
        write = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Write", "cwd": str(example),
                            "tool_input": {"file_path": str(example / "backend" / "src" / "main.py"), "content": "x"}})
        cli = ["-m", "infra_orchestrator"]
        envs = side_envs(args.baseline, Path(tmp))
        rows = [
            ("`python -c pass`", cold(["-c", "pass"], ws, args.repeat, envs=envs)),
            ("`--version`", cold([*cli, "--version"], ws, args.repeat, envs=envs)),
            ("`check` one file", cold([*cli, "check", "k8s/svc.yaml", "-q", "--format", "json"], ws, args.repeat,
                                      envs=envs)),
            ("`guard hook` (Bash event)", cold([*cli, "guard", "hook"], ws, args.repeat, stdin=event, envs=envs)),
            ("`guard hook` (Write of a protected file, the example)", cold([*cli, "guard", "hook"], example,
                                                                          args.repeat, stdin=write, envs=envs)),
            ("`check` the example", cold([*cli, "check", ".", "-q", "--format", "json"], example, args.repeat,
                                         envs=envs)),
            ("`review` the example (no API key: offline)", cold([*cli, "review", ".", "--format", "json"], example,
                                                   args.repeat, envs=envs)),
        ]
    if args.baseline is None:
        print(f"cold starts, CPU seconds, median of {args.repeat}\n\n| command | CPU s |\n|---|---:|")
        for name, (cpu,) in rows:
            print(f"| {name} | {cpu:.3f} |")
    else:
        print(f"cold starts, CPU seconds, median of {args.repeat}, in turn\n\n| command | {args.baseline} | "
              f"this tree | change |\n|---|---:|---:|---:|")
        for name, (cpu, base) in rows:
            print(f"| {name} | {base:.3f} | {cpu:.3f} | {(cpu - base) / base:+.0%} |")
    engine_cpu, analyse_cpu, review_cpu = warm(args.repeat)
    print(f"\nwarm, in process, the example: check_paths {engine_cpu:.3f} s, analyse (with the Phase III guard) "
          f"{analyse_cpu:.3f} s, review (graph, offline) {review_cpu:.3f} s; review / analyse "
          f"{review_cpu / analyse_cpu:.2f}×, review / check_paths {review_cpu / engine_cpu:.2f}×")


if __name__ == "__main__":
    main()
