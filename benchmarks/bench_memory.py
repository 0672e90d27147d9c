"""Peak memory of `infra-orchestrator check` at 1k / 10k / 100k objects (run by hand, not part of the tests).

    uv run python benchmarks/bench_memory.py [--sizes 1000,10000,100000] [--tracemalloc]

For each size it writes (once) the corpus of bench_engine.py, then runs ``check DIR -q --format json`` in a
fresh interpreter and reports its peak resident set (``ru_maxrss``, as ``/usr/bin/time -v`` shows it), its CPU
seconds, and KiB per object above the 1k run. ``--tracemalloc`` also runs the engine in process under
tracemalloc and prints the peak of Python allocations and the ten largest allocation sites at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import child_env  # noqa: E402
from bench_engine import ROOT, generate, object_count  # noqa: E402

_CLI = ("import resource, sys\nfrom infra_orchestrator.cli import main\n"
        "try:\n    main(['check', sys.argv[1], '-q', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
        "u = resource.getrusage(resource.RUSAGE_SELF)\n"
        "sys.stderr.write(f'MAXRSS {u.ru_maxrss} CPU {u.ru_utime + u.ru_stime}\\n')")

_TRACE = ("import sys, tracemalloc\nfrom pathlib import Path\nfrom core.config import load_config\n"
          "from tools import engine\nroot = Path(sys.argv[1]); cfg = load_config(root).config\n"
          "tracemalloc.start(1)\nengine.check_paths(root, [], cfg)\n"
          "current, peak = tracemalloc.get_traced_memory()\nsnap = tracemalloc.take_snapshot()\n"
          "print(f'tracemalloc peak {peak / 2**20:.0f} MiB, still held {current / 2**20:.0f} MiB')\n"
          "for s in snap.statistics('lineno')[:10]:\n    print('  ', s)")


def run(corpus: Path) -> tuple[float, float]:
    proc = subprocess.run([sys.executable, "-c", _CLI, str(corpus)], capture_output=True, text=True, cwd=ROOT,
                          env=child_env(), check=False)
    line = next(line for line in proc.stderr.splitlines() if line.startswith("MAXRSS"))
    _, rss, _, cpu = line.split()
    return int(rss) / 1024, float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    print("| objects | peak RSS (MiB) | CPU s | KiB per object above the smallest |")
    print("|---:|---:|---:|---:|")
    base: tuple[int, float] | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        corpus = generate(size)
        rss, cpu = run(corpus)
        n = object_count(size)
        per = "" if base is None else f"{(rss - base[1]) * 1024 / (n - base[0]):.2f}"
        base = base or (n, rss)
        print(f"| {n:,} | {rss:.0f} | {cpu:.1f} | {per} |", flush=True)
        if args.tracemalloc:
            subprocess.run([sys.executable, "-c", _TRACE, str(corpus)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
