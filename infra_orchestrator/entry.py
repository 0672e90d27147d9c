"""The console script: ``guard hook`` answers on a fast path; every other command goes to the typer CLI.

``infra-orchestrator guard hook`` runs on every tool call Claude Code makes, so it must not pay for typer,
rich or pydantic: it is answered here before the CLI is imported. Even a failure to import the hook
(a broken installation) answers ``deny`` with exit code 2, so a broken guard blocks instead of letting the
tool call through.
"""

from __future__ import annotations

import sys

from infra_orchestrator.shadow import exit_if_shadowed


def _hook() -> int:
    try:
        from infra_orchestrator.hook import main as hook_main
    except BaseException as exc:  # noqa: BLE001 - fail closed
        import json

        reason = f"Phase III guard: cannot start ({type(exc).__name__}: {exc}); denying to stay safe"
        sys.stdout.write(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                                            "permissionDecision": "deny",
                                                            "permissionDecisionReason": reason}}) + "\n")
        sys.stderr.write(reason + "\n")
        return 2
    return hook_main()


def main() -> None:
    """``guard hook`` (exactly) → the hook; ``--version`` (alone) → the version; anything else →
    :func:`infra_orchestrator.cli.main`."""
    exit_if_shadowed()  # a package of ours replaced by another distribution's: exit 2 (infra_orchestrator/shadow.py)
    if sys.argv[1:] == ["guard", "hook"]:
        sys.stdout.flush()
        sys.exit(_hook())
    if sys.argv[1:] == ["--version"]:  # answered before typer and the models are imported, as the CLI would
        from infra_orchestrator import __version__

        sys.stdout.write(f"infra-orchestrator {__version__}\n")
        sys.exit(0)
    from infra_orchestrator.cli import main as cli_main

    cli_main()
