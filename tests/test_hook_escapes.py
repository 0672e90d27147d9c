"""The hook fails closed: every escape of the corpus gets deny or ask, benign commands stay quiet, and attacks
on the hook itself (its policy files, its config reader, its input, its deadline) are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hookcorpus import ROOT, build_workspace, edit_escapes, read_benign, read_escapes

from core.config import Phase3Config
from core.globs import phase3_globs
from infra_orchestrator.hook import respond

ESCAPES = read_escapes()
ATTACKS = edit_escapes()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("escapes") / "todo")


def decision(raw: str, env: dict | None = None) -> tuple[str | None, int]:
    reply = respond(raw, None, (env or {}).get("HOME", "/nonexistent-home"))
    out = json.loads(reply.stdout)["hookSpecificOutput"]["permissionDecision"] if reply.stdout else None
    return out, reply.code


def test_the_corpus_is_large_enough() -> None:
    assert len(ESCAPES) >= 33 + 40 and len(ATTACKS) >= 25 and len(read_benign()) >= 40


@pytest.mark.parametrize(("expected", "command"), ESCAPES, ids=[c[:60] for _, c in ESCAPES])
def test_bash_escapes_get_a_clean_opinion(workspace: Path, expected: str, command: str) -> None:
    event = {"tool_name": "Bash", "cwd": str(workspace), "tool_input": {"command": command}}
    assert decision(json.dumps(event)) == (expected, 0)


@pytest.mark.parametrize("command", read_benign())
def test_benign_commands_get_no_opinion(workspace: Path, command: str) -> None:
    event = {"tool_name": "Bash", "cwd": str(workspace), "tool_input": {"command": command}}
    assert decision(json.dumps(event)) == (None, 0)


@pytest.mark.parametrize(("name", "make"), ATTACKS, ids=[n for n, _ in ATTACKS])
def test_attacks_on_the_hook_are_refused(tmp_path: Path, name: str, make) -> None:
    event, env, stdin = make(build_workspace(tmp_path / "ws"))
    out, code = decision(stdin if stdin is not None else json.dumps(event), env)
    if name.startswith(("Write", "Edit phase3")):
        assert (out, code) == ("ask", 0)  # a policy change: the operator decides
    elif name.startswith(("dot", "MultiEdit", "NotebookEdit")):
        assert (out, code) == ("deny", 0)
    else:
        assert (out, code) == ("deny", 2)  # cannot read something: fail closed, blocking on both channels


def test_the_hook_and_the_config_model_normalise_globs_alike() -> None:
    forms = ["./backend/**", "././frontend/src/**", "backend/src/**", "!./backend/Dockerfile", "/abs/**"]
    assert phase3_globs({"protected": forms})["protected"] == Phase3Config(protected=forms).protected
    for bad in ["", " backend/**", "backend\\src", "../x/**", "a/../../b"]:
        with pytest.raises(ValueError):
            phase3_globs({"protected": [bad]})
        with pytest.raises(ValueError):
            Phase3Config(protected=[bad])


def test_dot_slash_glob_denies_what_review_reports(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    (root / ".infra-orchestrator.yaml").write_text('phase3:\n  protected: ["./backend/**"]\n')
    event = {"tool_name": "Edit", "cwd": str(root), "tool_input": {"file_path": str(root / "backend/main.py")}}
    reply = respond(json.dumps(event))
    assert json.loads(reply.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "glob 'backend/**'" in reply.stdout


def _hook(stdin: str | None, cwd: Path, env: dict | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra_orchestrator", "guard", "hook"], input=stdin, text=True,
                          capture_output=True, cwd=cwd, timeout=60, env={**os.environ, **(env or {})}, **kw)


def test_a_config_nested_100000_deep_is_denied_by_the_process(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    (root / ".infra-orchestrator.yaml").write_text("phase3:\n  protected: " + "[" * 100_000 + "]" * 100_000)
    event = {"tool_name": "Write", "cwd": str(root), "tool_input": {"file_path": str(root / "k8s/x.yaml")}}
    proc = _hook(json.dumps(event), ROOT)
    assert proc.returncode == 2, proc.stderr  # not -11: no segfault
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "nested deeper than 200 levels" in proc.stderr


def test_a_stuck_input_is_denied_at_the_deadline(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "infra_orchestrator", "guard", "hook"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "INFRA_ORCH_HOOK_DEADLINE": "0.5"})
    try:
        proc.wait(timeout=30)  # stdin stays open: the hook must not wait for it
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    assert proc.returncode == 2
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "no answer within 0.5 s" in err


def test_the_deadline_can_only_be_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra_orchestrator.hook import DEADLINE_S, deadline

    for value, expected in [("0.5", 0.5), ("600", DEADLINE_S), ("-1", DEADLINE_S), ("x", DEADLINE_S)]:
        monkeypatch.setenv("INFRA_ORCH_HOOK_DEADLINE", value)
        assert deadline() == expected


def test_a_broken_installation_still_denies(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['tools.hookguard'] = None; sys.argv = ['infra-orchestrator', 'guard', 'hook'];"
            "from infra_orchestrator.entry import main; main()")
    proc = subprocess.run([sys.executable, "-c", code], input="{}", text=True, capture_output=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "cannot start (ModuleNotFoundError" in proc.stderr


def test_an_internal_error_is_a_blocking_deny(monkeypatch: pytest.MonkeyPatch) -> None:
    import infra_orchestrator.hook as hook

    def boom(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(hook, "decide", boom)
    reply = hook.respond(json.dumps({"tool_name": "Write", "tool_input": {"file_path": "x"}}))
    assert reply.code == 2 and "internal error (RuntimeError: boom)" in reply.stderr
    assert json.loads(reply.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
