"""The ledger's head kept OUTSIDE the ledger file: how many records were written and the last one's hash.

The ledger itself is committed, so whoever can change the file can also rewrite ``ledger.head`` beside it and
recompute every hash. A second head that a change cannot touch closes that: by default
``<git dir>/infra-orchestrator/ledger-head`` of the clone that records decisions (``git rev-parse
--absolute-git-dir``: per work tree), or the file an operator names with ``$INFRA_ORCH_LEDGER_HEAD`` or
``--head`` (for example a CI cache). A workspace in a subdirectory of the repository gets
``ledger-head-<12 hex of its ledger path>`` so two workspaces never share a head.

It holds ``{"count", "hash", "signed_from", "ledger"}``: a ledger shorter than ``count``, or whose record
``count - 1`` has another hash, was truncated or rewritten; ``signed_from`` (the first signed record's index,
or null) makes stripping signatures visible. A longer ledger is accepted (records appended in another clone
and pulled): the head is a floor, never a ceiling.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import confine
from core.errors import InputError
from tools.ledger_sign import git

ENV_HEAD = "INFRA_ORCH_LEDGER_HEAD"
HEAD_DIR = "infra-orchestrator"
MAX_DEPTH = 32
"""JSON nesting a ledger record or head may have; the writer never goes past 5."""


class LedgerError(InputError):
    """The ledger cannot be read or appended to: it is damaged (run ``audit verify``)."""


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth_exceeds(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests arrays/objects deeper than ``limit`` (never recurses)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _NOT_BRACKET.sub(b"", _STRING.sub(b"", data)):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def loads(data: bytes, what: str) -> Any:
    """``json.loads`` after the depth bound: LedgerError (one line, exit 2) for a line nested past it."""
    if json_depth_exceeds(data):
        raise LedgerError(f"{what} is JSON nested deeper than {MAX_DEPTH} levels: not something the ledger writes "
                          "(damaged or hostile); refused before parsing")
    return json.loads(data)


@dataclass(frozen=True)
class Head:
    """What the outside head remembers."""

    count: int
    hash: str
    signed_from: int | None = None


def _existing(path: Path) -> Path:
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def head_path(ledger: Path, explicit: Path | None = None) -> tuple[Path | None, str]:
    """Where the outside head of ``ledger`` lives, or ``(None, why there is none)``."""
    if explicit is not None:
        return explicit.expanduser(), ""
    if os.environ.get(ENV_HEAD, "").strip():
        return Path(os.environ[ENV_HEAD].strip()).expanduser(), ""
    where = _existing(ledger.parent)
    git_dir, top = git(where, "rev-parse", "--absolute-git-dir"), git(where, "rev-parse", "--show-toplevel")
    if not git_dir or not top:
        return None, f"not in a git repository; name one with ${ENV_HEAD} or --head"
    try:
        rel = ledger.resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError:
        return None, f"the ledger is outside the repository at {top}; name a head with ${ENV_HEAD} or --head"
    name = "ledger-head" if rel == "history/approvals/ledger.jsonl" else \
        f"ledger-head-{hashlib.sha256(rel.encode()).hexdigest()[:12]}"
    return Path(git_dir) / HEAD_DIR / name, ""


def read_head(path: Path | None) -> Head | None:
    """The head at ``path`` (None when there is none); LedgerError when it is damaged."""
    if path is None or not (path.exists() or path.is_symlink()):
        return None
    if not path.is_file():
        raise LedgerError(f"the ledger head {path} is not a regular file")
    data = loads(confine.read_regular(os.path.realpath(path), 64 * 1024, what=f"the ledger head {path}"), f"the ledger head {path}")
    ok = isinstance(data, dict) and isinstance(data.get("count"), int) and not isinstance(data.get("count"), bool) \
        and data["count"] >= 1 and isinstance(data.get("hash"), str) \
        and (data.get("signed_from") is None or type(data.get("signed_from")) is int)
    if not ok:
        raise LedgerError(f"the ledger head {path} is damaged (expected count, hash and signed_from)")
    return Head(data["count"], data["hash"], data.get("signed_from"))


def write_head(path: Path, head: Head, ledger: Path) -> None:
    """Replace the head at ``path`` atomically (its directory is created)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"count": head.count, "hash": head.hash, "signed_from": head.signed_from,
                                   "ledger": str(ledger.resolve())}, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise LedgerError(f"cannot write the ledger head {path}: {exc.strerror or exc}") from None


def check_against(head: Head, hashes: list[str], where: Path) -> tuple[int, str]:
    """The first record of the ledger (whose record hashes are ``hashes``) that contradicts ``head``, and why
    (``(-1, "")`` when the ledger extends it). The reason reads after "record N"."""
    if len(hashes) < head.count:
        return len(hashes), (f"is missing: the ledger has {len(hashes)} record(s) but the head kept outside it "
                             f"({where}) saw {head.count}: records were removed, or this checkout is older than "
                             "the last recorded decision")
    if hashes[head.count - 1] != head.hash:
        return head.count - 1, (f"differs from the head kept outside the ledger ({where}): records up to it were "
                                "rewritten and the chain recomputed")
    return -1, ""
