"""`check PATH...`: the engine alone (``tools.engine.check_paths``), lint-style (no git, no graph, no agents).

A directory argument is analysed as a workspace of its own (its ``.infra-orchestrator.yaml``, its charts);
file arguments are analysed relative to the current directory. Paths in the output are as the user gave them.
Exit codes: 0 no finding at or above ``--fail-on``, 1 some, 2 usage/config/input error, 4 internal error.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.errors import InputError
from core.models import Severity


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def targets(paths: list[Path], cwd: Path) -> list[tuple[Path, list[str], str]]:
    """``(workspace root, files relative to it or [] for the whole directory, display prefix)`` per target.

    A directory is its own workspace; files are grouped under the current directory (or their own directory
    when they lie outside it).
    """
    out: list[tuple[Path, list[str], str]] = []
    files: dict[Path, list[str]] = {}
    for path in paths:
        if not path.exists():
            raise InputError(f"path '{path}' does not exist")
        real = path.resolve()
        if real.is_dir():
            out.append((real, [], os.path.relpath(real, cwd) if _inside(real, cwd) else str(real)))
        else:
            root = cwd if _inside(real, cwd) else real.parent
            files.setdefault(root, []).append(real.relative_to(root).as_posix())
    out += [(root, rels, "" if root == cwd else str(root)) for root, rels in files.items()]
    return out


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a scan allocates millions of short-lived acyclic containers, and
    the collector's passes over them cost 10-20% of a large scan (benchmarks/README.md)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _display(prefix: str, file: str | None) -> str | None:
    if not file or prefix in ("", "."):
        return file
    return f"{prefix.rstrip('/')}/{file}"


def run_engine(root: Path, rels: list[str], config_file: Path | None, profile: str | None) -> tuple[list, Severity]:
    """Findings of the engine over one target and the ``fail_on`` severity of its configuration."""
    from core.config import load_config
    from tools import engine

    config = load_config(root, config_file).config
    if profile:
        config.checks.profile = profile
    return engine.check_paths(root, rels, config).findings, config.policy.fail_on


def _text(findings: list, fail_on: Severity, quiet: bool) -> str:
    from core.render import finding_line

    shown = [f for f in findings if not f.suppressed and (not quiet or f.severity.at_least(fail_on))]
    lines = [finding_line(f) for f in shown]
    if not quiet:
        active = [f for f in findings if not f.suppressed]
        counts = ", ".join(f"{sum(f.severity is s for f in active)} {s.value}" for s in Severity
                           if any(f.severity is s for f in active))
        suppressed = sum(f.suppressed for f in findings)
        lines.append(f"{len(active)} finding(s){': ' + counts if counts else ''}; {suppressed} suppressed; "
                     f"fail-on {fail_on.value}")
    return "\n".join(lines) + "\n"


def _json(findings: list, fail_on: Severity, failed: bool) -> str:
    import json

    active = [f for f in findings if not f.suppressed]
    summary = {"total": len(active), "suppressed": len(findings) - len(active), "fail_on": fail_on.value,
               "failed": failed, "by_severity": {s.value: sum(f.severity is s for f in active) for s in Severity}}
    return json.dumps({"findings": [f.model_dump(mode="json") for f in findings], "summary": summary}, indent=2) + "\n"


def _sarif(findings: list) -> str:
    import json

    from infra_orchestrator import __version__
    from tools.sarif import to_sarif

    return json.dumps(to_sarif(findings, __version__), indent=2) + "\n"


def check(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files and directories to check (default: .).")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.text,
    profile: Annotated[Optional[str], typer.Option("--profile", help="Check profile: default, strict, "
                                                   "pss-baseline, pss-restricted.")] = None,
    fail_on: Annotated[Optional[Severity], typer.Option("--fail-on", help="Exit 1 on findings at or above this "
                                                        "severity (default: policy.fail_on from the config).")] = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", "-c", help="Configuration file to use.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Text: only findings at or above --fail-on, "
                                        "no summary.")] = False,
) -> None:
    """Run the analysis engine over manifests, charts and Dockerfiles, lint-style (no git, no agents).

    Exit 0 when no unsuppressed finding reaches --fail-on, 1 when one does, 2 on a usage or config error.
    """
    import sys

    from core.models import Finding
    from tools.checks import PROFILES

    if profile is not None and profile not in PROFILES:
        raise InputError(f"unknown profile '{profile}'; profiles are: {', '.join(PROFILES)}")
    findings: list = []
    threshold = fail_on
    from infra_orchestrator.progress import file_progress

    with _no_cyclic_gc(), file_progress("check", quiet):
        for root, rels, prefix in targets(paths or [Path(".")], Path.cwd().resolve()):
            found, configured = run_engine(root, rels, config_file, profile)
            threshold = threshold or configured
            findings += [f.model_copy(update={"file": _display(prefix, f.file)}) for f in found]
    findings.sort(key=Finding.sort_key)
    failed = any(not f.suppressed and f.severity.at_least(threshold) for f in findings)
    if fmt is OutputFormat.sarif:
        sys.stdout.write(_sarif(findings))
    elif fmt is OutputFormat.json:
        sys.stdout.write(_json(findings, threshold, failed))
    else:
        sys.stdout.write(_text(findings, threshold, quiet))
    raise typer.Exit(1 if failed else 0)
