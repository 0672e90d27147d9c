"""Claude Code PreToolUse hook, the front-end: stdin JSON in, a reply and an exit code out, failing closed.

The judgement is :func:`tools.hookguard.decide`; this module turns it into what Claude Code reads:

- ``deny``/``ask`` → ``{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": ...,
  "permissionDecisionReason": ...}}`` on stdout, exit code 0;
- no opinion → no output, exit code 0 (Claude Code's normal permission flow applies). It never answers
  ``allow``, which would skip the user's own permission prompt;
- anything that goes wrong — input that is not a PreToolUse event, a config it cannot read, an internal
  error, running past its deadline — → the ``deny`` JSON on stdout, the reason on stderr and exit code
  **2**, which Claude Code treats as blocking whichever of the two it reads. Any other exit code would be a
  non-blocking error that lets the tool call through.

Imports stay light (no pydantic, typer, rich, langgraph, anthropic): this runs on every tool call.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

from core.errors import InputError
from tools.hookguard import Verdict, decide

EXIT_BLOCK = 2
DEADLINE_S = 5.0
"""The hook answers ``deny`` by itself after this long, well before the 10 s timeout ``init`` registers
(a timeout would be a non-blocking error). ``INFRA_ORCH_HOOK_DEADLINE`` may only lower it."""
MAX_INPUT_BYTES = 64_000_000


@dataclass(frozen=True)
class Reply:
    stdout: str
    stderr: str = ""
    code: int = 0


def refusal(why: str) -> Reply:
    """The fail-closed reply: ``deny`` with ``why``, on both channels, exit code 2."""
    reason = f"Phase III guard: {why}; denying to stay safe"
    return Reply(json.dumps(Verdict("deny", reason).payload()) + "\n", reason + "\n", EXIT_BLOCK)


def respond(raw: str, env_project_dir: str | None = None, home: str | None = None) -> Reply:
    """The reply to the stdin text ``raw``."""
    try:
        verdict = decide(json.loads(raw), env_project_dir, home)
    except InputError as exc:
        return refusal(f"cannot read the hook input: {exc.args[0]}")
    except ValueError as exc:  # JSONDecodeError
        return refusal(f"cannot read the hook input: not JSON ({exc})")
    except RecursionError:
        return refusal("cannot read the hook input: nested too deeply")
    except Exception as exc:  # noqa: BLE001 - fail closed: a crash must not let the tool call through
        return refusal(f"internal error ({type(exc).__name__}: {exc})")
    return Reply(json.dumps(verdict.payload()) + "\n") if verdict else Reply("")


def answer(raw: str, env_project_dir: str | None = None, home: str | None = None) -> str:
    """The hook's stdout for ``raw``: a JSON verdict line, or "" for no opinion."""
    return respond(raw, env_project_dir, home).stdout


def deadline() -> float:
    try:
        wanted = float(os.environ.get("INFRA_ORCH_HOOK_DEADLINE", DEADLINE_S))
    except ValueError:
        wanted = DEADLINE_S
    return min(DEADLINE_S, wanted) if wanted > 0 else DEADLINE_S


def _emit(reply: Reply, raw: bool = False) -> None:
    """Write ``reply``; ``raw`` (from a signal handler, or when ``sys.stdout`` is unusable) with ``os.write``."""
    if not raw:
        try:
            for stream, text in ((sys.stdout, reply.stdout), (sys.stderr, reply.stderr)):
                stream.write(text)
                stream.flush()
            return
        except (OSError, ValueError, AttributeError):
            pass
    for fd, text in ((1, reply.stdout), (2, reply.stderr)):
        data = text.encode("utf-8", "replace")
        while data:
            try:
                data = data[os.write(fd, data):]
            except OSError:
                break


def _arm(seconds: float) -> bool:
    """After ``seconds``, answer ``deny`` and exit 2, whatever the judgement is doing (stuck reading stdin,
    a slow file system). False when no timer can be set (not the main thread, no ``SIGALRM``)."""
    import signal

    def expire(*_: object) -> None:
        _emit(refusal(f"no answer within {seconds:g} s"), raw=True)
        os._exit(EXIT_BLOCK)

    try:
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    except (AttributeError, ValueError, OSError):
        return False
    return True


def _disarm() -> None:
    import signal

    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def main() -> int:
    """Entry point: stdin → stdout/stderr; returns the exit code (0, or 2 when failing closed)."""
    armed = False
    try:
        armed = _arm(deadline())
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(raw) > MAX_INPUT_BYTES:
            reply = refusal(f"the hook input is larger than {MAX_INPUT_BYTES} bytes")
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                reply = refusal("cannot read the hook input: not UTF-8")
            else:
                reply = respond(text, os.environ.get("CLAUDE_PROJECT_DIR"), os.environ.get("HOME"))
    except BaseException as exc:  # noqa: BLE001 - even KeyboardInterrupt: answer, then exit
        reply = refusal(f"internal error ({type(exc).__name__}: {exc})")
    _emit(reply)
    if armed:
        _disarm()
    return reply.code
