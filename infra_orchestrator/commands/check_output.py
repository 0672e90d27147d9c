"""Where and how ``check`` writes: colour on a terminal, GitHub workflow annotations, ``--output-file``.

Colour follows ``--color``: ``always``, ``never``, or ``auto`` (the default), where a non-empty ``NO_COLOR``
turns it off (no-color.org), then a non-empty ``FORCE_COLOR`` turns it on (force-color.org), then the stream
decides: a terminal whose ``TERM`` is not ``dumb``. Only the text format is coloured.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import IO

from core.errors import InputError
from core.models import Severity


class ColorMode(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
SEVERITY_STYLE = {"critical": "\x1b[1;31m", "high": RED, "medium": "\x1b[33m", "low": "\x1b[36m",
                  "info": DIM}


def use_color(mode: ColorMode, stream: IO[str], env: dict[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream``."""
    if mode is not ColorMode.auto:
        return mode is ColorMode.always
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and env.get("TERM") != "dumb"


def paint(f, line: str) -> str:
    """``line`` (the finding's text line) with its location bold, its severity coloured and its id bold; a line
    that does not start the expected way is returned unchanged."""
    location = f.location() or "-"
    severity = f.severity.value
    head = f"{location}: {severity} {f.check_id}"
    if not line.startswith(head):
        return line
    rest = line[len(head):]
    if f.suppressed and rest.endswith(" (suppressed)"):
        rest = rest[: -len(" (suppressed)")] + f"{DIM} (suppressed){RESET}"
    return (f"{BOLD}{location}{RESET}: {SEVERITY_STYLE.get(severity, '')}{severity}{RESET} "
            f"{BOLD}{f.check_id}{RESET}{rest}")


def paint_summary(line: str, failed: bool) -> str:
    return f"{BOLD}{RED if failed else GREEN}{line}{RESET}"


def _data(text: str) -> str:
    """A workflow command's message, escaped as the Actions toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    """A workflow command's property value: the message escapes plus ``:`` and ``,``."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_level(f, fail_on: Severity) -> str:
    """``error`` for a finding that fails the run, ``notice`` for info, ``warning`` for the rest."""
    if f.severity.at_least(fail_on):
        return "error"
    return "notice" if f.severity is Severity.info else "warning"


def github(findings: list, fail_on: Severity, summary: str) -> str:
    """One ``::error|warning|notice file=…,line=…,col=…,title=…::message`` workflow command per unsuppressed
    finding (the fix on the annotation's second line), then the summary as a plain log line."""
    lines = []
    for f in findings:
        if f.suppressed:
            continue
        props = []
        if f.file:
            props.append(f"file={_prop(f.file)}")
            if f.line:
                props.append(f"line={f.line}")
                column = getattr(f, "column", None)
                if column:
                    props.append(f"col={column}")
        props.append(f"title={_prop(f'{f.check_id} ({f.severity.value})')}")
        message = f.message + (f"\nFix: {f.remediation}" if f.remediation else "")
        lines.append(f"::{annotation_level(f, fail_on)} {','.join(props)}::{_data(message)}")
    lines.append(summary)
    return "\n".join(lines) + "\n"


def write(text: str | Iterable[str], output_file: Path | None) -> None:
    """``text`` (one string, or its parts in order, written as they come) to ``output_file`` (its directory
    created) or to stdout; an unwritable file is an input error."""
    parts = [text] if isinstance(text, str) else text
    if output_file is None:
        _write_parts(parts, sys.stdout)
        sys.stdout.flush()
        return
    try:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        with output_file.open("w", encoding="utf-8") as out:
            _write_parts(parts, out)
    except OSError as exc:
        raise InputError(f"cannot write the output file '{output_file}': {exc.strerror or exc}") from None


_BLOCK = 1 << 16


def _write_parts(parts: Iterable[str], out: IO[str]) -> None:
    """Write ``parts`` in blocks of about 64 KiB: one output of 100k findings is never held whole."""
    block: list[str] = []
    size = 0
    for part in parts:
        block.append(part)
        size += len(part)
        if size >= _BLOCK:
            out.write("".join(block))
            block.clear()
            size = 0
    if block:
        out.write("".join(block))
