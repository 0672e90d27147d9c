"""Progress on a terminal (tools/progress.py, infra_orchestrator/progress.py) and the paused collector (core/gcpause.py)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.config import Config
from core.gcpause import paused_gc
from tools import engine
from tools.progress import listening, report

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: shop}}\nspec:\n  ports: [{{port: 80}}]\n"


def corpus(root: Path, files: int) -> Path:
    (root / "k8s").mkdir(parents=True)
    for i in range(files):
        (root / "k8s" / f"s{i:03d}.yaml").write_text(SERVICE.format(i=i), encoding="utf-8")
    return root


def test_the_engine_reports_every_file_it_reads_then_the_checks(tmp_path):
    root = corpus(tmp_path, 7)
    events: list[tuple[str, int, int]] = []
    with listening(lambda *e: events.append(e)):
        analysis = engine.check_paths(root, [], Config())
    reading = [e for e in events if e[0] == "reading"]
    assert [d for _, d, _ in reading] == list(range(1, 8)) and {t for *_, t in reading} == {7}
    assert events.index(reading[-1]) < events.index(("checking", 0, len(analysis.collected.objects)))
    events.clear()
    engine.check_paths(root, [], Config())
    assert events == [], "a listener outlived its block"


def test_a_failing_listener_never_fails_the_analysis(tmp_path):
    root = corpus(tmp_path, 2)

    def broken(*_):
        raise RuntimeError("terminal gone")

    with listening(broken):
        assert engine.check_paths(root, [], Config()).collected.scope == ["k8s/s000.yaml", "k8s/s001.yaml"]


def test_listeners_of_concurrent_runs_stay_apart():
    seen: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        with listening(lambda phase, done, total: seen[name].append(done)):
            barrier.wait()
            for i in range(50):
                report("reading", i if name == "a" else -i, 50)

    threads = [threading.Thread(target=run, args=(n,)) for n in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a"] == list(range(50)) and seen["b"] == [-i for i in range(50)]


def test_the_collector_is_paused_inside_and_restored_after_nesting_and_errors():
    assert gc.isenabled()
    with pytest.raises(ValueError), paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled(), "an inner pause re-enabled the collector"
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled(), "a pause enabled a collector that was off"
    finally:
        gc.enable()


def test_the_engine_pauses_the_collector_for_in_process_callers(tmp_path):
    """A library caller of ``check_paths`` / ``analyse`` / ``collect`` / ``judge`` gets the pause too."""
    from core.models import ChangeRequest

    root = corpus(tmp_path, 2)
    for run in (lambda: engine.check_paths(root, [], Config()),
                lambda: engine.collect(ChangeRequest(workspace=str(root)), root, Config())):
        states: list[bool] = []
        with listening(lambda *_, states=states: states.append(gc.isenabled())):
            run()
        assert states and not any(states)
        assert gc.isenabled()


def test_a_review_runs_with_the_collector_paused_and_restores_it(tmp_path):
    from core.models import ChangeRequest
    from graph.runner import decide

    states: list[bool] = []
    root = corpus(tmp_path, 1)
    with listening(lambda *_: states.append(gc.isenabled())):
        decision = decide(ChangeRequest(workspace=str(root)), config=Config())
    assert decision.outcome and states and not any(states)
    assert gc.isenabled()


# --- on a terminal -------------------------------------------------------------------------------------------


def on_terminal(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout to a file: ``(exit code, stdout, stderr)``."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    out_path = cwd.parent / f"stdout-{os.getpid()}.txt"
    child_env = {k: v for k, v in os.environ.items() if k != "INFRA_ORCH_NO_PROGRESS"}
    child_env.update({"COLUMNS": "100", "TERM": "xterm", **(env or {})})
    with out_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "infra_orchestrator", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=slave, env=child_env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=300)
    return code, out_path.read_text(encoding="utf-8"), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    return corpus(tmp_path_factory.mktemp("many") / "repo", 60)


def test_check_over_many_files_draws_a_bar_on_stderr_only(many):
    code, out, err = on_terminal(["check", ".", "--format", "json"], many)
    assert code == 0 and json.loads(out)["summary"]["total"] >= 0
    assert "check: " in err and "60/60" in err  # rich draws its last frame, then erases the bar
    assert "\x1b" not in out


@pytest.mark.parametrize(("args", "env"), [(["-q"], {}), ([], {"INFRA_ORCH_NO_PROGRESS": "1"})])
def test_check_is_silent_with_quiet_or_the_variable(many, args, env):
    code, out, err = on_terminal(["check", ".", *args], many, env)
    assert code == 0 and "reading files" not in err and "━" not in err


def test_check_of_one_file_shows_nothing(many):
    code, _, err = on_terminal(["check", "k8s/s000.yaml"], many)
    assert code == 0 and err.strip() == ""


def test_check_off_a_terminal_is_silent(many):
    proc = subprocess.run([sys.executable, "-m", "infra_orchestrator", "check", "."], cwd=many, capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items() if k != "INFRA_ORCH_NO_PROGRESS"})
    assert proc.returncode == 0 and proc.stderr == ""


def test_review_shows_the_files_it_reads_in_its_spinner(many, monkeypatch):
    from core.models import ChangeRequest
    from infra_orchestrator import progress
    from infra_orchestrator.commands import common

    shown: list[str] = []

    class Status:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, text: str) -> None:
            shown.append(text)

    class Console:
        def status(self, label: str, spinner: str = ""):
            return Status()

    monkeypatch.setattr(common, "stderr_console", lambda: Console())
    monkeypatch.setattr(progress, "wanted", lambda quiet=False: True)
    decision = common.run_decision(ChangeRequest(workspace=str(many)), "Reviewing change")
    assert decision.outcome
    reading = [t for t in shown if "reading files" in t]
    assert reading and reading[-1].startswith("Reviewing change: reading files 60/60")
    assert any("deterministic" in t for t in shown)


def test_review_on_a_terminal_keeps_stdout_clean(many):
    code, out, err = on_terminal(["review", "."], many)
    assert out.startswith("[CHANGE VALIDATION:") and "\x1b" not in out and "Reviewing change" in err
