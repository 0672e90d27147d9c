"""`audit verify`: check the approval ledger's hash chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

audit_app = typer.Typer(help="The approval ledger (history/approvals/ledger.jsonl).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    audit_app.command("verify")(audit_verify)
    app.add_typer(audit_app, name="audit")


def audit_verify(
    path: Annotated[Path, typer.Argument(help="Ledger file, or the repository holding history/approvals/.")] = Path("."),
) -> None:
    """Detect edited, removed or reordered records and a truncated file: exit 0 when intact, 1 naming the first bad record."""
    from tools.ledger import ledger_path, verify

    file = ledger_path(path) if path.is_dir() else path
    result = verify(file)
    if result.ok:
        typer.echo(f"{file}: {result.count} record(s), chain intact")
        raise typer.Exit(0)
    typer.echo(f"{file}: record {result.bad_index} {result.reason}; {result.count} record(s) before it are intact")
    raise typer.Exit(1)
