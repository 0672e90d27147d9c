"""`infra-orchestrator chat` in a real terminal (pexpect): review, clarification, kill, resume, /quit."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest
from clirun import invoke

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "todo-phase-iv"
PROMPT = "infra>"  # prompt_toolkit styles the trailing space separately
ASK = "is build configuration of Phase III: approve this change as infrastructure-only? [y/N]"


def spawn(*args: str, **extra_env: str) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env.update({**extra_env, "INFRA_ORCH_NO_PROGRESS": "1", "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color",
                "COLUMNS": "200"})
    return pexpect.spawn(sys.executable, ["-m", "infra_orchestrator", "chat", *args], cwd=str(ROOT), env=env,
                         dimensions=(50, 200), encoding="utf-8", timeout=30)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    shutil.copytree(EXAMPLE, ws)
    return ws


def test_review_clarify_kill_resume_quit(repo: Path):
    chat = spawn("-C", str(repo))
    chat.expect(r"thread (\w{8})")
    thread = chat.match.group(1)
    chat.expect_exact(PROMPT)
    chat.sendline("review the k8s manifests")
    chat.expect_exact("[CHANGE VALIDATION: REJECTED]")
    chat.expect_exact("SEC-SECRET-ENV-LITERAL")
    chat.expect_exact(PROMPT)

    chat.sendline("/review frontend/next.config.js")
    chat.expect_exact(f"frontend/next.config.js {ASK}")
    chat.sendline("y")
    chat.expect_exact("[CHANGE VALIDATION: APPROVED]")
    chat.expect_exact(PROMPT)

    chat.sendline("/review frontend/package.json")
    chat.expect_exact(f"frontend/package.json {ASK}")
    chat.kill(signal.SIGKILL)
    chat.wait()
    assert not chat.isalive()

    resumed = spawn("-C", str(repo), "--thread", thread)
    resumed.expect_exact(f"frontend/package.json {ASK}")  # asked again: the run was saved mid-interrupt
    resumed.sendline("y")
    resumed.expect_exact("[CHANGE VALIDATION: APPROVED]")
    resumed.expect_exact(PROMPT)
    resumed.sendline("/quit")
    resumed.expect(pexpect.EOF)
    resumed.close()
    assert resumed.exitstatus == 0

    listing = invoke("chat", "-C", str(repo), "--list")
    assert thread in listing.stdout and "/review frontend/package.json" in listing.stdout
    assert "/review frontend/package.json" in (repo / ".infra-orchestrator" / "chat_history").read_text()


def test_ctrl_c_during_a_review_ends_the_turn_not_the_session(repo: Path):
    """The model takes a minute to plan; Ctrl-C stops that review, the prompt comes back, and the chat goes on."""
    from fakes.anthropic_server import Delay, FakeModelServer, default_responder

    def slow_plan(call):
        return Delay(60, default_responder(call)) if call.tool == "submit_plan" else default_responder(call)

    with FakeModelServer(slow_plan) as fake:
        chat = spawn("-C", str(repo), ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=fake.base_url)
        chat.expect_exact(PROMPT)
        chat.sendline("review the k8s manifests")
        deadline = time.monotonic() + 60  # until the supervisor's call is waiting on the model (a loaded CI is slow)
        while not fake.calls and time.monotonic() < deadline:
            chat.expect([pexpect.TIMEOUT], timeout=0.1)
        assert fake.calls, "the review never reached the model"
        chat.sendintr()
        chat.expect_exact("interrupted")
        chat.expect_exact(PROMPT)
        assert chat.isalive()
        chat.sendline("/status 001")  # the session still answers
        chat.expect_exact("Spec-Kit Plus status: 001")
        chat.expect_exact(PROMPT)
        chat.sendcontrol("c")  # Ctrl-C at the prompt: a new prompt, the session goes on
        chat.expect_exact(PROMPT)
        assert chat.isalive()
        for _ in range(3):  # Ctrl-D at the prompt ends the chat (resent if it lands while the prompt redraws)
            chat.sendcontrol("d")
            if chat.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=10) == 0:
                break
        else:
            raise AssertionError(f"Ctrl-D did not end the chat: {chat.before[-300:]!r}")
        chat.close()
    assert chat.exitstatus == 0
