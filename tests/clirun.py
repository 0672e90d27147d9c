"""Run the real console entry point in a subprocess, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (exit codes and streams as a user sees them)."""
    full_env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    full_env.update({"INFRA_ORCH_NO_PROGRESS": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "infra_orchestrator", *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, input=input, timeout=timeout)


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``main(args)`` in this process (same error mapping and exit codes, no interpreter start-up).

    Returns a CompletedProcess-like result so tests read the same as with :func:`run_cli`.
    """
    import contextlib
    import io

    from infra_orchestrator.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(["infra-orchestrator", *args], code, out.getvalue(), err.getvalue())
