"""`check PATH...`: the engine alone (``tools.engine.check_paths``), lint-style (no git, no graph, no agents).

Each path is analysed in the workspace of the closest ``.infra-orchestrator.yaml`` up the tree (stopping at the
git root); without one a directory is a workspace of its own and files are read relative to the current
directory (``check_targets``). ``-`` reads stdin. Paths in the output are relative to the current directory.
Exit codes: 0 no finding at or above ``--fail-on`` (or ``--exit-zero``), 1 some, 2 usage/config/input error,
4 internal error.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.errors import InputError
from core.gcpause import paused_gc
from core.models import Severity
from infra_orchestrator.commands.check_output import ColorMode


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def load(root: Path, config_file: Path | None, profile: str | None):
    """The configuration of the workspace ``root`` (or ``config_file``), with ``--profile`` applied."""
    from core.config import load_config

    config = load_config(root, config_file).config
    if profile:
        config.checks.profile = profile
    return config


def run_engine(root: Path, rels: list[str], config) -> list:
    """Findings of the engine over ``rels`` of ``root`` (all of it when empty)."""
    from tools import engine, memo

    memo.set_enabled(False)  # one run per process: nothing to reuse, and keeping it only costs memory
    return engine.check_paths(root, rels, config).findings


def _workspace_findings(target, in_context: bool, cwd: Path, profile: str | None) -> tuple[list, Severity]:
    from infra_orchestrator.commands.check_targets import about, display, unit_of

    config = load(target.config_root, target.config, profile)
    if in_context and not target.whole:  # every object of the workspace read; findings about the paths named
        named = [unit_of(target.root, rel) for rel in target.paths()]
        found = [f for f in run_engine(target.root, [], config) if about(f.file, named)]
    else:
        found = run_engine(target.root, target.paths(), config)
    shown: dict[str | None, str | None] = {}
    for i, f in enumerate(found):  # in place: the engine's findings are let go one by one, not all held twice
        if f.file not in shown:
            shown[f.file] = display(target.root, f.file, cwd)
        found[i] = f.model_copy(update={"file": shown[f.file]})
    return found, config.policy.fail_on


def _stdin_findings(name: str | None, cwd: Path, config_file: Path | None,
                    profile: str | None) -> tuple[list, Severity]:
    import sys

    from core.config import CONFIG_FILENAME
    from infra_orchestrator.commands.check_targets import stdin_workspace
    from tools.engine import in_scope, is_dockerfile, is_yaml
    from tools.workspace import MAX_FILE_BYTES

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputError("'-' reads stdin, but there is no standard input")
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"stdin is over the {MAX_FILE_BYTES:,}-byte limit of one file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"stdin is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    with stdin_workspace(text, name, cwd, config_file) as target:
        config = load(target.config_root, target.config, profile)
        if name is None:  # unnamed stdin is a manifest, wherever kubernetes.paths points
            config.kubernetes.paths, config.checks.exclude_paths = list(target.rels), []
        if not in_scope(target.rels, config) or not (is_yaml(target.rels[0]) or is_dockerfile(target.rels[0])):
            own = target.config_root / CONFIG_FILENAME
            source = target.config or (own if own.is_file() else None)
            raise InputError(f"'{name or '-'}' is not a YAML manifest or Dockerfile in scope (kubernetes.paths, "
                             f"checks.exclude_paths{' of ' + str(source) if source else ''}): nothing to check")
        found = run_engine(target.root, target.rels, config)
    shown = name or "-"
    return [f.model_copy(update={"file": shown}) if f.file == target.rels[0] else f for f in found], \
        config.policy.fail_on


def summary_line(findings: list, fail_on: Severity) -> str:
    active = [f for f in findings if not f.suppressed]
    counts = ", ".join(f"{sum(f.severity is s for f in active)} {s.value}" for s in Severity
                       if any(f.severity is s for f in active))
    suppressed = sum(f.suppressed for f in findings)
    return (f"{len(active)} finding(s){': ' + counts if counts else ''}; {suppressed} suppressed; "
            f"fail-on {fail_on.value}")


def _text(findings: list, fail_on: Severity, quiet: bool, color: bool = False, failed: bool = False) -> str:
    from core.render import finding_line
    from infra_orchestrator.commands.check_output import paint, paint_summary

    shown = [f for f in findings if not f.suppressed and (not quiet or f.severity.at_least(fail_on))]
    lines = [paint(f, finding_line(f)) if color else finding_line(f) for f in shown]
    if not quiet:
        summary = summary_line(findings, fail_on)
        lines.append(paint_summary(summary, failed) if color else summary)
    return "\n".join(lines) + "\n"


def _json(findings: list, fail_on: Severity, failed: bool) -> Iterator[str]:
    """The JSON report, in parts: ``json.dumps({"findings": [...], "summary": {...}}, indent=2)`` to the byte,
    one finding dumped at a time (the whole document of 100k findings is never built)."""
    import json

    active = [f for f in findings if not f.suppressed]
    summary = {"total": len(active), "suppressed": len(findings) - len(active), "fail_on": fail_on.value,
               "failed": failed, "by_severity": {s.value: sum(f.severity is s for f in active) for s in Severity}}
    if not findings:
        yield json.dumps({"findings": [], "summary": summary}, indent=2) + "\n"
        return
    yield '{\n  "findings": [\n    '
    for i, f in enumerate(findings):  # a JSON string never holds a raw newline: re-indenting is exact
        yield ("" if i == 0 else ",\n    ") + json.dumps(f.model_dump(mode="json"), indent=2).replace("\n", "\n    ")
    yield '\n  ],\n  "summary": ' + json.dumps(summary, indent=2).replace("\n", "\n  ") + "\n}\n"


def _sarif(findings: list) -> str:
    import json

    from infra_orchestrator import __version__
    from tools.sarif import to_sarif

    return json.dumps(to_sarif(findings, __version__), indent=2) + "\n"


def _render(fmt: OutputFormat, findings: list, threshold: Severity, failed: bool, quiet: bool,
            color: bool) -> str | Iterator[str]:
    from infra_orchestrator.commands.check_output import github

    if fmt is OutputFormat.sarif:
        return _sarif(findings)
    if fmt is OutputFormat.json:
        return _json(findings, threshold, failed)
    if fmt is OutputFormat.github:
        return github(findings, threshold, summary_line(findings, threshold))
    return _text(findings, threshold, quiet, color, failed)


def check(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files and directories to check (default: .); "
                                                          "'-' reads stdin.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format (github: workflow "
                                              "annotations).")] = OutputFormat.text,
    profile: Annotated[Optional[str], typer.Option("--profile", help="Check profile: default, local, "
                                                   "strict, pss-baseline, pss-restricted.")] = None,
    fail_on: Annotated[Optional[Severity], typer.Option("--fail-on", help="Exit 1 on findings at or above this "
                                                        "severity (default: policy.fail_on from the config).")] = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", "-c", help="Configuration file to use "
                                                        "(default: the closest .infra-orchestrator.yaml up the "
                                                        "tree, up to the git root).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Text: only findings at or above --fail-on, "
                                        "no summary.")] = False,
    output_file: Annotated[Optional[Path], typer.Option("--output-file", "-o", help="Write the output to this "
                                                        "file instead of stdout.")] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when findings reach --fail-on "
                                            "(errors still exit 2).")] = False,
    stdin_filename: Annotated[Optional[str], typer.Option("--stdin-filename", help="The path stdin stands for: "
                                                          "its kind (manifest or Dockerfile), its configuration "
                                                          "and the name in the output.")] = None,
    in_context: Annotated[bool, typer.Option("--in-context", help="Read every infrastructure file of the "
                                             "workspace, so cross-object checks see objects in files not named; "
                                             "report only findings about the paths named.")] = False,
    color: Annotated[ColorMode, typer.Option("--color", help="Colour the text output: auto (a terminal, unless "
                                             "NO_COLOR; FORCE_COLOR forces), always, never.")] = ColorMode.auto,
) -> None:
    """Run the analysis engine over manifests, charts and Dockerfiles, lint-style (no git, no agents).

    Exit 0 when no unsuppressed finding reaches --fail-on, 1 when one does, 2 on a usage or config error.
    """
    import sys

    from core.models import Finding
    from infra_orchestrator.commands.check_output import use_color, write
    from infra_orchestrator.commands.check_targets import targets
    from tools.checks import PROFILES

    if profile is not None and profile not in PROFILES:
        raise InputError(f"unknown profile '{profile}'; profiles are: {', '.join(PROFILES)}")
    given = paths or []
    stdin = [p for p in given if str(p) == "-"]
    if stdin and len(given) > 1:
        raise InputError("'-' (stdin) cannot be combined with other paths")
    if stdin_filename is not None and given and not stdin:
        raise InputError("--stdin-filename names stdin: pass '-' (or no path), not other paths")
    cwd = Path.cwd().resolve()
    findings: list = []
    threshold = fail_on
    from infra_orchestrator.progress import file_progress

    with paused_gc(), file_progress("check", quiet):
        if stdin or stdin_filename is not None:
            findings, configured = _stdin_findings(stdin_filename, cwd, config_file, profile)
            threshold = threshold or configured
        else:
            for target in targets(given or [Path(".")], cwd, config_file):
                found, configured = _workspace_findings(target, in_context, cwd, profile)
                threshold = threshold or configured
                findings += found
    findings.sort(key=Finding.sort_key)
    failed = any(not f.suppressed and f.severity.at_least(threshold) for f in findings)
    painted = fmt is OutputFormat.text and use_color(color, sys.stdout if output_file is None else _NotATerminal())
    write(_render(fmt, findings, threshold, failed, quiet, painted), output_file)
    raise typer.Exit(1 if failed and not exit_zero else 0)


class _NotATerminal:
    """What ``--color auto`` sees for ``--output-file``: a file is never a terminal."""

    def isatty(self) -> bool:
        return False
