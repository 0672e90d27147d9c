"""`check` against checkov on the same corpus, measured the same way on both sides (run by hand).

checkov lives in its own environment, never the project's:

    uv venv /tmp/checkov -p 3.11 && uv pip install -p /tmp/checkov checkov
    uv run python benchmarks/bench_checkov.py [--checkov /tmp/checkov] [--sizes 500,5000] [--repeat 3]

Corpus: bench_engine.py's synthetic manifests (Deployments, Services, HPAs, NetworkPolicies, ServiceAccounts,
Roles, RoleBindings), or ``--corpus DIR`` for any directory of manifests. Two measures, both CPU seconds
(user + system; the machine is shared, wall time would measure the neighbours), median of ``--repeat``:

* whole process: a fresh ``infra-orchestrator check DIR -q --format json`` against a fresh
  ``checkov -d DIR --framework kubernetes -o json --quiet``; the children's ``getrusage(RUSAGE_CHILDREN)``
  (start-up, imports, everything);
* in process, warm: after one warm-up run in the same interpreter, ``tools.engine.check_paths`` against
  checkov's ``checkov.kubernetes.runner.Runner().run(...)`` (each in its own interpreter and environment,
  ``time.process_time`` around the call). Ours three ways: with the in-process memo off
  (``INFRA_ORCH_NO_MEMO=1``: every run parses and checks everything, as checkov's runner does); with one file
  of the corpus edited before every run (the keystroke: that file is parsed and checked again, the others are
  reused, see ``tools/memo.py``); and with nothing changed. checkov has no such reuse: its warm runs are the
  same in all three cases, so it is measured once.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import child_env  # noqa: E402
from bench_engine import ROOT, generate  # noqa: E402

_OURS_WARM = """
import json, sys, time
from pathlib import Path
from core.config import load_config
from tools import engine
root = Path(sys.argv[1]); repeat = int(sys.argv[2]); edit = sys.argv[3] == "edit"; config = load_config(root).config
victim = sorted(root.rglob("*.yaml"))[0]
original = victim.read_text()
engine.check_paths(root, [], config)
times = []
try:
    for i in range(repeat):
        if edit:  # the keystroke: one file of the corpus changes between runs (outside the timing)
            victim.write_text(original + f"# edit {i}\\n")
        started = time.process_time()
        n = len(engine.check_paths(root, [], config).findings)
        times.append(time.process_time() - started)
finally:
    victim.write_text(original)
print(json.dumps({"times": times, "findings": n}))
"""

_CHECKOV_WARM = """
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from checkov.kubernetes.runner import Runner
from checkov.runner_filter import RunnerFilter
root = sys.argv[1]; repeat = int(sys.argv[2])
def once():
    report = Runner().run(root_folder=root, runner_filter=RunnerFilter(framework=["kubernetes"]))
    return len(report.failed_checks) if not isinstance(report, list) else sum(len(r.failed_checks) for r in report)
once()
times = []
for _ in range(repeat):
    started = time.process_time()
    n = once()
    times.append(time.process_time() - started)
print(json.dumps({"times": times, "findings": n}))
"""


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole(cmd: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        started = child_cpu()
        subprocess.run(cmd, capture_output=True, check=False, cwd=ROOT, env=env, timeout=3600)
        times.append(child_cpu() - started)
    return statistics.median(times)


def warm(python: str, script: str, corpus: Path, repeat: int, mode: str = "same",
         **env: str) -> tuple[float, int]:
    proc = subprocess.run([python, "-c", script, str(corpus), str(repeat), mode], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=7200, env=child_env(**env))
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return statistics.median(data["times"]), data["findings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", type=Path, default=Path("/tmp/checkov"), help="checkov's environment")
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--corpus", type=Path, help="a directory of manifests instead of the synthetic corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-warm", action="store_true")
    args = parser.parse_args()
    checkov_bin, checkov_py = args.checkov / "bin" / "checkov", args.checkov / "bin" / "python"
    if not checkov_bin.exists():
        sys.exit(f"checkov not found in {args.checkov}: see the docstring for the install")
    env = child_env()
    corpora = [args.corpus] if args.corpus else [generate(int(s)) for s in args.sizes.split(",")]
    print(f"median of {args.repeat}, CPU seconds\n")
    print("| corpus | ours whole process | checkov whole process | ratio | checkov warm | ours warm, memo off | ratio "
          "| ours warm, one file edited | ratio | ours warm, unchanged | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for corpus in corpora:
        ours = whole([sys.executable, "-m", "infra_orchestrator", "check", str(corpus), "-q", "--format", "json"],
                     args.repeat, env)
        theirs = whole([str(checkov_bin), "-d", str(corpus), "--framework", "kubernetes", "-o", "json", "--quiet"],
                       args.repeat, env)
        row = f"| {corpus.name} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f}× |"
        if args.no_warm:
            print(row + " | | | | | | | |", flush=True)
            continue
        theirs_warm, _ = warm(str(checkov_py), _CHECKOV_WARM, corpus, args.repeat)
        row += f" {theirs_warm:.2f} |"
        for mode, env in (("same", {"INFRA_ORCH_NO_MEMO": "1"}), ("edit", {}), ("same", {})):
            ours_warm, _ = warm(sys.executable, _OURS_WARM, corpus, args.repeat, mode, **env)
            row += f" {ours_warm:.3f} | {theirs_warm / ours_warm:.1f}× |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
