"""`audit verify`: check the approval ledger's hash chain, its signatures and the head kept outside it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The approval ledger (history/approvals/ledger.jsonl).", no_args_is_help=True)
    audit_app.command("verify")(audit_verify)
    app.add_typer(audit_app, name="audit")


def audit_verify(
    path: Annotated[Path, typer.Argument(help="Ledger file, or the repository holding history/approvals/.")] = Path("."),
    allowed_signers: Annotated[Path | None, typer.Option(
        "--allowed-signers", help="SSH allowed-signers file (git's format) to check record signatures against; "
                                  "default $INFRA_ORCH_ALLOWED_SIGNERS, then git gpg.ssh.allowedSignersFile.")] = None,
    require_signatures: Annotated[bool, typer.Option(
        "--require-signatures", help="Fail on any unsigned record (for CI, where no earlier head is kept).")] = False,
    head: Annotated[Path | None, typer.Option(
        "--head", help="The head kept outside the ledger; default $INFRA_ORCH_LEDGER_HEAD, then "
                       "<git dir>/infra-orchestrator/ledger-head.")] = None,
) -> None:
    """Detect edited, removed, reordered, re-chained or badly signed records, a truncated or emptied file: exit 0
    when intact (saying whether it is signed), 1 naming the first bad record, 2 when it cannot be judged."""
    from tools.ledger import ledger_path, verify
    from tools.ledger_sign import allowed_signers as find_signers

    file = ledger_path(path) if path.is_dir() else path
    root = path if path.is_dir() else file.parent
    signers = find_signers(root if root.is_dir() else Path("."), allowed_signers)
    result = verify(file, signers, require_signatures=require_signatures, head=head)
    typer.echo(result.summary(file, signers))
    raise typer.Exit(0 if result.ok else 1)
