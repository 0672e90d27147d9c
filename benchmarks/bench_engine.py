"""Benchmark the analysis engine (`infra-orchestrator check`) against checkov and PyYAML's C loader.

Run by hand (not part of the tests):

    uv run python benchmarks/bench_engine.py [--sizes 500,1000,5000,10000] [--no-checkov]

It generates a corpus of realistic objects (Deployments, Services, HPAs, NetworkPolicies, ServiceAccounts,
Roles, RoleBindings; some with the usual mistakes) under ``benchmarks/out/corpus-<N>/``, then measures for each
size, as CPU time (user + system; the machine may be shared, wall time would measure the neighbours),
best of ``--repeat`` runs:

* ``parse``: bare ``yaml.load_all(..., CSafeLoader)`` over the same files (the floor);
* ``engine``: in-process ``tools.engine.check_paths`` (loader, checks, schemas), as ``check`` runs it;
* ``cli``: ``infra-orchestrator check DIR -q`` in a fresh interpreter, with its peak RSS (``ru_maxrss``);
* ``checkov`` (500 objects only): ``checkov -d DIR --framework kubernetes``, installed with pip into
  ``benchmarks/out/checkov-venv`` (skipped with a message when the install fails).

Prints a Markdown table and writes it to ``benchmarks/out/results.md``.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from _env import child_env

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
OBJECTS_PER_APP = 7
APPS_PER_FILE = 10

_APP = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: shop}}
spec:
  replicas: 2
  revisionHistoryLimit: 5
  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: shop}}
    spec:
      serviceAccountName: {name}
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: app
          image: registry.example.com/shop/{name}:{tag}
          ports:
            - {{name: http, containerPort: 8080}}
          env:
            - {{name: LOG_LEVEL, value: info}}
            - name: DATABASE_URL
              valueFrom: {{secretKeyRef: {{name: {name}-db, key: url}}}}
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: {memory}}}
          securityContext:
            allowPrivilegeEscalation: {escalation}
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          readinessProbe:
            httpGet: {{path: /ready, port: http}}
          {liveness}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector: {{app.kubernetes.io/name: {name}}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {ns}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: {ns}
spec:
  podSelector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: {{matchLabels: {{app.kubernetes.io/part-of: shop}}}}
      ports:
        - {{port: 8080}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {ns}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {name}
  namespace: {ns}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: {verbs}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}
  namespace: {ns}
subjects:
  - {{kind: ServiceAccount, name: {name}, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}
"""


def app_yaml(i: int) -> str:
    """Seven objects of one app; every few apps carries a typical mistake."""
    return _APP.format(
        name=f"svc-{i:05d}", ns=f"team-{i % 20:02d}", tag="latest" if i % 7 == 0 else f"1.{i % 30}.0",
        memory="256Mi", escalation="true" if i % 11 == 0 else "false",
        liveness="" if i % 5 == 0 else "livenessProbe: {httpGet: {path: /healthz, port: http}}",
        verbs='["*"]' if i % 13 == 0 else "[get, list, watch]",
    )


def generate(n_objects: int) -> Path:
    """Write a corpus of about ``n_objects`` objects (``APPS_PER_FILE`` apps per file) and return its dir."""
    corpus = OUT / f"corpus-{n_objects}"
    apps = n_objects // OBJECTS_PER_APP
    if corpus.is_dir() and len(list((corpus / "k8s").glob("*.yaml"))) == -(-apps // APPS_PER_FILE):
        return corpus
    shutil.rmtree(corpus, ignore_errors=True)
    (corpus / "k8s").mkdir(parents=True)
    for start in range(0, apps, APPS_PER_FILE):
        text = "---\n".join(app_yaml(i) for i in range(start, min(start + APPS_PER_FILE, apps)))
        (corpus / "k8s" / f"apps-{start // APPS_PER_FILE:04d}.yaml").write_text(text, encoding="utf-8")
    return corpus


def object_count(n_objects: int) -> int:
    """The number of objects :func:`generate` writes for ``n_objects`` (whole apps only)."""
    return n_objects // OBJECTS_PER_APP * OBJECTS_PER_APP


def best_of(repeat: int, fn) -> float:
    """Least CPU time (user + system, this process) of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return min(times)


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_only(corpus: Path) -> None:
    loader = yaml.CSafeLoader
    for path in sorted((corpus / "k8s").glob("*.yaml")):
        list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))


def engine(corpus: Path) -> int:
    from core.config import load_config
    from tools import engine as the_engine

    return len(the_engine.check_paths(corpus, [], load_config(corpus).config).findings)


_CLI = ("import resource, sys\nfrom infra_orchestrator.cli import main\n"
        "try:\n    main(['check', sys.argv[1], '-q', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(f'MAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')")


def cli(corpus: Path) -> tuple[float, float]:
    """CPU time and peak RSS (MiB) of one `check` run in a fresh interpreter (start-up included)."""
    started = child_cpu()
    proc = subprocess.run([sys.executable, "-c", _CLI, str(corpus)], capture_output=True, text=True, cwd=ROOT,
                          env=child_env(), check=False)
    elapsed = child_cpu() - started
    rss = next((int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("MAXRSS")), 0)
    return elapsed, rss / 1024


def install_checkov() -> Path | None:
    venv = OUT / "checkov-venv"
    exe = venv / "bin" / "checkov"
    if exe.exists():
        return exe
    print("installing checkov into", venv, "(once) ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "checkov"], check=True,
                       capture_output=True, timeout=1800)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"checkov skipped: install failed ({type(exc).__name__})", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def checkov(exe: Path, corpus: Path) -> float:
    """CPU time of one checkov run over ``corpus`` (its child processes included)."""
    started = child_cpu()
    subprocess.run([str(exe), "-d", str(corpus), "--framework", "kubernetes", "--quiet", "--compact", "-o", "json"],
                   capture_output=True, text=True, check=False, timeout=3600)
    return child_cpu() - started


def main() -> None:
    # the engine against the parse: every run parses and checks everything (tools/memo.py would make the warm
    # runs after the first reuse it all; bench_checkov.py measures that separately)
    os.environ["INFRA_ORCH_NO_MEMO"] = "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-checkov", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in sizes:
        corpus = generate(size)
        n = object_count(size)
        parse_s = best_of(args.repeat, lambda c=corpus: parse_only(c))
        engine(corpus)  # warm: schema compilation and imports are paid once per process
        engine_s = best_of(args.repeat, lambda c=corpus: engine(c))
        cli_s, rss = min((cli(corpus) for _ in range(max(1, args.repeat - 1))), key=lambda r: r[0])
        rows.append({"objects": n, "parse": parse_s, "engine": engine_s, "cli": cli_s, "rss": rss})
        print(f"{n} objects: parse {parse_s:.3f}s engine {engine_s:.3f}s cli {cli_s:.3f}s rss {rss:.0f} MiB",
              file=sys.stderr)
    checkov_row = None
    if not args.no_checkov and 500 in sizes:
        exe = install_checkov()
        if exe is not None:
            corpus = generate(500)
            checkov_row = (object_count(500), checkov(exe, corpus))
    print(report(rows, checkov_row))
    (OUT / "results.md").write_text(report(rows, checkov_row), encoding="utf-8")


def report(rows: list[dict], checkov_row: tuple[int, float] | None) -> str:
    lines = ["| objects | C-loader parse (CPU s) | engine in-process (CPU s) | engine / parse | `check` CLI (CPU s) | "
             "objects/s (CLI) | peak RSS (MiB) |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['objects']:,} | {r['parse']:.3f} | {r['engine']:.3f} | {r['engine'] / r['parse']:.2f}× | "
                     f"{r['cli']:.2f} | {r['objects'] / r['cli']:,.0f} | {r['rss']:.0f} |")
    if len(rows) >= 2:
        small, big = rows[1] if len(rows) > 2 else rows[0], rows[-1]
        growth = (big["engine"] / small["engine"]) / (big["objects"] / small["objects"])
        lines.append(f"\nGrowth {small['objects']:,} → {big['objects']:,} objects: engine time per object × "
                     f"{growth:.2f} (1.00 = linear).")
    if checkov_row:
        n, seconds = checkov_row
        ours = next((r for r in rows if r["objects"] == n), rows[0])
        lines.append(f"\ncheckov at {n} objects: {seconds:.2f}s ({n / seconds:,.0f} objects/s); our CLI "
                     f"{ours['cli']:.2f}s ({n / ours['cli']:,.0f} objects/s): **{seconds / ours['cli']:.0f}×** "
                     f"checkov's throughput (in-process engine: {seconds / ours['engine']:.0f}×).")
    else:
        lines.append("\ncheckov: not measured (skipped or its install failed).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
