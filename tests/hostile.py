"""The hostile-input corpus: one row per input that once crashed, hung or silently passed a front-end.

Each :class:`Case` builds its input into a clean workspace (one hardened Deployment that ``check`` and
``review`` APPROVE, Phase III boundaries declared) and names the front-ends it goes through. A run is
*clean* when the process ends within the time limit, without a traceback, with an exit code that is not
APPROVED (0) and not an internal error (4): a finding (1), a question (3) or one line of refusal (2).
For ``guard hook`` a clean answer is ``deny`` or ``ask``. ``tests/test_hostile.py`` runs every row;
``python tests/hostile.py`` prints the tally.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()
CONFIG = ("phase3:\n  protected: [backend/src/**]\n  app_roots: [backend/src]\n"
          "kubernetes:\n  paths: ['k8s/**', 'helm/**', '**/*.json']\n")
TIMEOUT = int(os.environ.get("HOSTILE_TIMEOUT", "60"))
FRONTS = ("check", "review")

PRIVILEGED_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "p"}},
    "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "securityContext": {"privileged": True}}]},
}


def base_workspace(root: Path, config: str = CONFIG) -> Path:
    """A workspace that check and review APPROVE."""
    (root / "k8s").mkdir(parents=True, exist_ok=True)
    (root / "backend" / "src").mkdir(parents=True, exist_ok=True)
    (root / "k8s" / "app.yaml").write_text(GOOD)
    (root / "backend" / "src" / "main.py").write_text("import os\nPORT = os.environ.get('PORT', '8080')\n")
    (root / ".infra-orchestrator.yaml").write_text(config)
    return root


def _write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)


def _fifo(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)


def _link(root: Path, rel: str, target: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.symlink(target, path)


def _socket(root: Path, rel: str) -> None:
    path = root / rel
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays


def flow_nest(depth: int) -> str:
    return "[" * depth + "]" * depth + "\n"


def block_nest(depth: int) -> str:
    return "- " * depth + "x\n"


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def _spec_feature(root: Path) -> None:
    feature = root / "specs" / "001-todo"
    feature.mkdir(parents=True, exist_ok=True)
    (feature / "spec.md").write_text("# Feature\n\n## Requirements\n- FR-001: list todos\n")
    _write(root, ".specify/memory/constitution.md", "# Constitution\n\n## Principles\n- Test first.\n")


def _helm_chart(root: Path, extra_template: str = "") -> Path:
    chart = root / "helm" / "c"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    if extra_template:
        (chart / "templates" / "cm.yaml").write_text(extra_template)
    return chart


FILES_GET = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n"
             "  motd: {{ .Files.Get \"files/motd.txt\" | quote }}\n")


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    fronts: tuple[str, ...] = FRONTS
    """Which of check, review, worktree (``review --worktree``), hook, stage, audit the input goes through."""
    args: tuple[str, ...] = ()
    """Extra arguments for ``stage approve``."""
    may_approve: bool = False
    """Nothing in the input goes unanalysed (an app source, a directory named ``*.yaml``, a link back into the
    workspace): an answer must come, and it may approve."""


def _config(text: str) -> Callable[[Path], None]:
    return lambda root: _write(root, ".infra-orchestrator.yaml", text)


def _git_commit_all(root: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "base")):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _protected_fifo_in_git(root: Path) -> None:
    _git_commit_all(root)
    (root / "backend" / "src" / "main.py").unlink()
    os.mkfifo(root / "backend" / "src" / "main.py")


def _deep_ledger(root: Path) -> None:
    _write(root, "history/approvals/ledger.jsonl", "[" * 100_000 + "]" * 100_000 + "\n")


def _helm_values_absolute(root: Path) -> None:
    _helm_chart(root, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  r: {{ .Values.replicas | quote }}\n")
    _write(root, ".infra-orchestrator.yaml", CONFIG + "helm:\n  charts: [helm/c]\n  values:\n    helm/c: [/etc/hostname]\n")


def _files_get_outside(root: Path) -> None:
    chart = _helm_chart(root, FILES_GET)
    _link(root, "helm/c/files/motd.txt", "/etc/hostname")
    _write(root, ".infra-orchestrator.yaml", CONFIG + "helm:\n  charts: [helm/c]\n")
    assert chart.is_dir()


CASES: tuple[Case, ...] = (
    # nesting that once segfaulted the YAML loader
    Case("manifest-flow-25k", lambda r: _write(r, "k8s/deep.yaml", flow_nest(25_000))),
    Case("manifest-block-25k", lambda r: _write(r, "k8s/deep.yaml", block_nest(25_000))),
    Case("manifest-json-30k", lambda r: _write(r, "k8s/deep.json", flow_nest(30_000))),
    Case("config-flow-100k", _config("phase3: " + flow_nest(100_000)), FRONTS + ("hook",)),
    Case("config-block-20k", _config("phase3:\n  protected:\n" + "  " + block_nest(20_000)), FRONTS + ("hook",)),
    Case("values-flow-25k", lambda r: (_helm_chart(r, FILES_GET.replace("motd.txt", "x")),
                                       _write(r, "helm/c/values.yaml", "x: " + flow_nest(25_000)))),
    # special files that once hung a read
    Case("config-fifo", lambda r: _fifo(r, ".infra-orchestrator.yaml"), FRONTS + ("hook",)),
    Case("config-dev-zero", lambda r: _link(r, ".infra-orchestrator.yaml", "/dev/zero"), FRONTS + ("hook",)),
    Case("config-dev-stdin", lambda r: _link(r, ".infra-orchestrator.yaml", "/dev/stdin"), FRONTS + ("hook",)),
    Case("config-directory", lambda r: ((r / ".infra-orchestrator.yaml").unlink(),
                                        (r / ".infra-orchestrator.yaml").mkdir()), FRONTS + ("hook",)),
    Case("manifest-fifo", lambda r: _fifo(r, "k8s/pipe.yaml")),
    Case("manifest-socket", lambda r: _socket(r, "k8s/sock.yaml")),
    Case("manifest-dev-zero", lambda r: _link(r, "k8s/zero.yaml", "/dev/zero")),
    Case("manifest-dev-stdin", lambda r: _link(r, "k8s/stdin.yaml", "/dev/stdin")),
    Case("app-source-fifo", lambda r: _fifo(r, "backend/src/pipe.py"), ("review",), may_approve=True),
    Case("protected-file-replaced-by-fifo", _protected_fifo_in_git, ("worktree",)),
    Case("spec-md-fifo", lambda r: (_spec_feature(r), _fifo(r, "specs/001-todo/spec.md")), ("stage",), ("001",)),
    # content from outside the workspace
    Case("manifest-link-outside", lambda r: _link(r, "k8s/host.yaml", "/etc/hostname")),
    Case("manifest-proc-root", lambda r: _link(r, "k8s/passwd.yaml", "/proc/self/root/etc/passwd")),
    Case("manifest-proc-cwd-dir", lambda r: _link(r, "k8s/up", "/proc/self/cwd/..")),
    Case("manifest-dir-outside", lambda r: _link(r, "k8s/etc", "/etc")),
    Case("chart-files-get-outside", _files_get_outside),
    Case("helm-values-absolute", _helm_values_absolute),
    Case("chart-fifo", lambda r: (_helm_chart(r, FILES_GET.replace("motd.txt", "x")), _fifo(r, "helm/c/files/x"),
                                  _write(r, ".infra-orchestrator.yaml", CONFIG + "helm:\n  charts: [helm/c]\n"))),
    Case("chart-dir-link-outside", lambda r: (_helm_chart(r, FILES_GET.replace("motd.txt", "etc/motd")),
                                              _write(r.parent, "outside/motd", "from outside\n"),
                                              _link(r, "helm/c/etc", str(r.parent / "outside")),
                                              _write(r, ".infra-orchestrator.yaml", CONFIG + "helm:\n  charts: [helm/c]\n"))),
    Case("constitution-outside", lambda r: (_spec_feature(r),
                                            _link(r, ".specify/memory/constitution.md", "/etc/hostname")),
         ("stage",), ("001",)),
    Case("feature-dir-outside", lambda r: (_link(r, "specs/001-todo", "/etc")), ("stage",), ("001",)),
    # manifests that must be analysed, not skipped
    Case("privileged-pod-70-dirs-deep", lambda r: _write(r, "k8s/" + "d/" * 70 + "pod.yaml", json.dumps(PRIVILEGED_POD))),
    Case("privileged-pod-json", lambda r: _write(r, "k8s/pod.json", json.dumps(PRIVILEGED_POD, indent=2))),
    Case("privileged-pod-json-compact", lambda r: _write(r, "k8s/pod.json", json.dumps(PRIVILEGED_POD))),
    # files that cannot be analysed
    Case("manifest-binary", lambda r: _write(r, "k8s/bin.yaml", b"\x7fELF\x00\x01\x02" * 100)),
    Case("manifest-invalid-utf8", lambda r: _write(r, "k8s/bad.yaml", b"apiVersion: v1\nkind: \xff\xfe\n")),
    Case("manifest-huge", lambda r: _write(r, "k8s/huge.yaml", "# pad\n" * 1_000_000)),
    Case("manifest-alias-bomb", lambda r: _write(r, "k8s/bomb.yaml", alias_bomb())),
    Case("manifest-directory", lambda r: (r / "k8s" / "dir.yaml").mkdir(), may_approve=True),
    Case("symlink-loop-file", lambda r: (_link(r, "k8s/a.yaml", "b.yaml"), _link(r, "k8s/b.yaml", "a.yaml"))),
    Case("symlink-loop-dir", lambda r: _link(r, "k8s/loop", "."), may_approve=True),
    Case("symlink-dangling", lambda r: _link(r, "k8s/gone.yaml", "missing.yaml")),
    Case("config-binary", _config("\x00\x01phase3"), FRONTS + ("hook",)),
    Case("config-alias-bomb", _config(alias_bomb())),
    # other front-ends
    Case("feature-name-4300-digits", _spec_feature, ("stage",), ("1" * 4300,)),
    Case("ledger-line-100k-deep", _deep_ledger, ("audit",)),
    Case("record-unwritable", lambda r: (_spec_feature(r), _write(r, "history", "a file, not a directory\n")),
         ("stage",), ("001", "--record")),
)


@dataclass
class Outcome:
    case: str
    front: str
    clean: bool
    detail: str


HOOK_EVENT = {"tool_name": "Write", "tool_input": {"file_path": "k8s/new.yaml", "content": "x: 1\n"},
              "hook_event_name": "PreToolUse"}


def command(case: Case, front: str, root: Path) -> list[str]:
    if front == "stage":
        return ["stage", "approve", *case.args, "--to", "specify", "-C", str(root)]
    if front == "audit":
        return ["audit", "verify", str(root)]
    if front == "hook":
        return ["guard", "hook"]
    if front == "worktree":
        return ["review", str(root), "--worktree"]
    return [front, str(root)]


def run(case: Case, front: str, root: Path) -> Outcome:
    """Run one front-end over one built workspace; judge the answer."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "INFRA_ORCH_CONFIG")}
    env["INFRA_ORCH_NO_PROGRESS"] = "1"
    stdin = json.dumps({**HOOK_EVENT, "cwd": str(root)}) if front == "hook" else ""
    try:
        proc = subprocess.run([sys.executable, "-m", "infra_orchestrator", *command(case, front, root)],
                              cwd=root, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Outcome(case.name, front, False, f"no answer within {TIMEOUT}s")
    out = proc.stdout + proc.stderr
    if "Traceback" in out:
        return Outcome(case.name, front, False, f"traceback (exit {proc.returncode})")
    if front == "hook":
        try:
            decision = json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"]
        except (ValueError, KeyError, TypeError):
            decision = None
        ok = decision in ("deny", "ask") or proc.returncode == 2
        return Outcome(case.name, front, ok, f"exit {proc.returncode}, decision {decision}")
    ok = proc.returncode in ((0, 1, 2, 3) if case.may_approve else (1, 2, 3)) and bool(out.strip())
    last = (out.strip().splitlines() or [""])[-1][:160]
    return Outcome(case.name, front, ok, f"exit {proc.returncode}: {last}")


def run_case(case: Case, tmp: Path) -> list[Outcome]:
    outcomes = []
    for front in case.fronts:
        root = base_workspace(tmp / f"{case.name}-{front}")
        case.build(root)
        outcomes.append(run(case, front, root))
    return outcomes


def main() -> int:
    import tempfile

    results: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            for outcome in run_case(case, Path(tmp)):
                results.append(outcome)
                print(f"{'clean' if outcome.clean else 'FAIL '} {outcome.case:30} {outcome.front:7} {outcome.detail}",
                      flush=True)
    clean = sum(o.clean for o in results)
    print(f"{len(CASES)} inputs, {len(results)} runs: {clean} clean, {len(results) - clean} not")
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
