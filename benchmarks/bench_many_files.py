"""Many small files: `check` and `review` over N one-object ConfigMap files, and `review --base` over a git range
that changes all of them. Builds the tree in a temporary directory; prints CPU seconds (user + system of
the CLI process, best of --repeat) and wall seconds.

    uv run python benchmarks/bench_many_files.py                 # 20,000 files
    uv run python benchmarks/bench_many_files.py --files 2000 --profile check   # cProfile top 25 of one run
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _env import child_env

CONFIG = "phase3:\n  protected: [backend/src/**]\npolicy:\n  fail_on: critical\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: ns-{ns}\ndata:\n  key: value-{i}-{rev}\n"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid", *args], cwd=root,
                   check=True, capture_output=True)


def build(root: Path, files: int, rev: int = 0) -> None:
    k8s = root / "k8s"
    for i in range(files):
        sub = k8s / f"d{i // 500:03d}"
        if i % 500 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"cm-{i:05d}.yaml").write_text(CM.format(i=i, ns=i % 20, rev=rev))


def make_tree(tmp: Path, files: int) -> Path:
    root = tmp / "repo"
    (root / "backend" / "src").mkdir(parents=True)
    (root / "backend" / "src" / "main.py").write_text("x = 1\n")
    (root / ".infra-orchestrator.yaml").write_text(CONFIG)
    git(root, "init", "-q", "-b", "main")
    build(root, files, rev=0)
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"{files} configmaps")
    build(root, files, rev=1)  # the range HEAD~1..HEAD changes every one of them
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"change {files} configmaps")
    return root


def run(root: Path, args: list[str], profile: Path | None = None) -> tuple[float, float, int]:
    """(CPU s, wall s, exit code) of one CLI run."""
    env = child_env()
    env.pop("ANTHROPIC_API_KEY", None)
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m"] if profile else [sys.executable, "-m"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([*prefix, "infra_orchestrator", *args], cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1, 3):
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    return cpu, wall, proc.returncode


COMMANDS = {
    "check": ["check", ".", "-q", "--format", "json"],
    "review": ["review", ".", "--format", "json"],
    "review-base": ["review", ".", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=sorted(COMMANDS), action="append")
    parser.add_argument("--profile", choices=sorted(COMMANDS), help="run this one under cProfile, print the top 25")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-many-") as tmp:
        t0 = time.perf_counter()
        root = make_tree(Path(tmp), args.files)
        print(f"built {args.files:,} files in {time.perf_counter() - t0:.1f}s", flush=True)
        if args.profile:
            out = Path(tmp) / "prof"
            run(root, COMMANDS[args.profile], out)
            import pstats

            pstats.Stats(str(out)).sort_stats("cumulative").print_stats(25)
            pstats.Stats(str(out)).sort_stats("tottime").print_stats(15)
            pstats.Stats(str(out)).sort_stats("cumulative").print_callers("run_git|_run\\b|signature")
            return 0
        print("| command | files | CPU s | wall s | exit |\n|---|---:|---:|---:|---:|")
        for name in args.only or list(COMMANDS):
            best = min((run(root, COMMANDS[name]) for _ in range(args.repeat)), key=lambda r: r[0])
            print(f"| `{name}` | {args.files:,} | {best[0]:.1f} | "
                  f"{best[1]:.1f} | {best[2]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
