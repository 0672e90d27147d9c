"""`guard init|freeze|verify|hook`: declare, freeze and enforce the Phase III boundaries.

Exit codes: 0 ok, 1 violation (verify found differences), 2 usage/input error, 3 nothing proposed
(init found no layout, or several), 4 internal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from core.errors import EXIT_CLARIFICATION, EXIT_REJECTED, ConfigError, InputError
from infra_orchestrator.commands.common import workspace_dir


def register(app: typer.Typer) -> None:
    guard_app = typer.Typer(help="Phase III guard: detect, freeze, verify and enforce the frozen application's "
                            "boundaries.", no_args_is_help=True)
    guard_app.command("init")(guard_init)
    guard_app.command("freeze")(guard_freeze)
    guard_app.command("verify")(guard_verify)
    guard_app.command("hook")(guard_hook)
    app.add_typer(guard_app, name="guard")


def _merged_config(root: Path, phase3: dict) -> str:
    """The config file's text with ``phase3`` replaced by the proposal (other keys kept), validated."""
    import yaml

    from core.config import CONFIG_FILENAME, MAX_CONFIG_BYTES, Config
    from core.confine import read_text_file
    from core.yamlsafe import load

    path = root / CONFIG_FILENAME
    try:
        data = (load(read_text_file(path, MAX_CONFIG_BYTES), str(path)) or {}) if os.path.lexists(path) \
            else {"version": 1}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not readable YAML ({type(exc).__name__}); fix it before `guard init --write`") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping; fix it before `guard init --write`")
    data["phase3"] = {**(data.get("phase3") or {}), **phase3}
    try:
        Config.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: merging the proposal gives an invalid config: {str(exc).splitlines()[0]}") from None
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def guard_init(
    path: Annotated[Path, typer.Argument(help="Repository root.")] = Path("."),
    write: Annotated[bool, typer.Option("--write", help="Merge the proposal into .infra-orchestrator.yaml.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print the proposal (the default).")] = False,
) -> None:
    """Detect the Phase III layout and propose a `phase3` block; never guesses (exit 3 when unsure)."""
    import yaml

    from core.config import CONFIG_FILENAME
    from tools.layout import detect_layout

    if write and dry_run:
        raise InputError("--write and --dry-run exclude each other")
    root = workspace_dir(path)
    det = detect_layout(root)
    for reason in det.reasons:
        typer.echo(f"# {reason}")
    if det.problem or det.kind is None:
        typer.echo(f"# nothing proposed: {det.problem}", err=True)
        raise typer.Exit(EXIT_CLARIFICATION)
    typer.echo(f"# layout: {det.kind}")
    typer.echo(yaml.safe_dump({"phase3": det.phase3()}, sort_keys=False), nl=False)
    if write:
        (root / CONFIG_FILENAME).write_text(_merged_config(root, det.phase3()), encoding="utf-8")
        typer.echo(f"wrote the phase3 block to {root / CONFIG_FILENAME} (other keys kept; comments are not "
                   "preserved)", err=True)


def guard_freeze(path: Annotated[Path, typer.Argument(help="Repository root.")] = Path(".")) -> None:
    """Write phase3.lock: sha256 and mode of every protected file, plus one tree digest."""
    from core.config import load_config
    from tools.lock import freeze

    root = workspace_dir(path)
    lock, count = freeze(root, load_config(root).config.phase3)
    typer.echo(f"froze {count} protected file(s) into {lock}")


def guard_verify(path: Annotated[Path, typer.Argument(help="Repository root.")] = Path(".")) -> None:
    """Compare the protected files with phase3.lock: every added, removed or changed file; exit 1 if any."""
    from tools.lock import LOCK_FILENAME, verify

    root = workspace_dir(path)
    diff = verify(root)
    if diff is None:
        raise InputError(f"no {LOCK_FILENAME} in {root}; create it with `infra-orchestrator guard freeze`")
    for line in diff.lines():
        typer.echo(line)
    if not diff.clean:
        raise typer.Exit(EXIT_REJECTED)
    typer.echo(f"{LOCK_FILENAME}: Phase III unchanged")


def guard_hook() -> None:
    """Claude Code PreToolUse hook: reads the event JSON on stdin; deny/ask JSON on stdout, or nothing."""
    from infra_orchestrator.hook import main

    raise typer.Exit(main())
