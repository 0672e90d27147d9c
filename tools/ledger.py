"""The approval ledger: every decision appended to ``history/approvals/ledger.jsonl``, hash-chained.

One JSON object per line. Each record carries its ``index`` (0-based), the ``prev`` hash (the previous
record's ``hash``; 64 zeros for the first) and its own ``hash``: the sha256 of its canonical JSON (sorted
keys, no spaces, UTF-8) without the ``hash`` key. ``ledger.head`` beside it holds the count and the last
hash, so removing records from the end (a truncated file) is detected too. :func:`verify` names the first
record that is edited, missing, reordered, unparsable or not chained.

Writers hold an exclusive ``fcntl.flock`` on ``ledger.lock`` (POSIX only) while they re-read the tail,
append one line and rewrite the head, so concurrent processes neither lose nor interleave records.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError

if TYPE_CHECKING:  # keeps the writer import light: concurrent writers start fast
    from core.models import Decision

LEDGER_DIR = Path("history/approvals")
LEDGER_NAME = "ledger.jsonl"
HEAD_NAME = "ledger.head"
LOCK_NAME = "ledger.lock"
GENESIS = "0" * 64
_TICKED = re.compile(rb"^([ \t]*[-*+][ \t]*)\[[xX]\]", re.M)


class LedgerError(InputError):
    """The ledger cannot be appended to: it is damaged (run ``audit verify``)."""


def ledger_path(root: Path) -> Path:
    """Where the ledger of the repository ``root`` lives."""
    return root / LEDGER_DIR / LEDGER_NAME


def canonical(data: Any) -> bytes:
    """The canonical JSON bytes of ``data``: sorted keys, no insignificant spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """The sha256 of ``record``'s canonical JSON, ignoring its own ``hash`` key."""
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def digest(data: bytes) -> dict[str, str]:
    """``sha256`` of the bytes, and ``sha256_unticked``: the same with every ``- [x]`` read as ``- [ ]``.

    Drift compares the unticked digest, so ticking tasks (the implement stage's job) or checklist items
    does not make an approval stale, while any other edit does.
    """
    return {"sha256": hashlib.sha256(data).hexdigest(),
            "sha256_unticked": hashlib.sha256(_TICKED.sub(rb"\1[ ]", data)).hexdigest()}


def file_digests(root: Path, paths: Iterable[Path]) -> dict[str, dict[str, str]]:
    """``{posix path relative to root: digest(...)}`` of the regular files among ``paths``."""
    out: dict[str, dict[str, str]] = {}
    for path in paths:
        full = path if path.is_absolute() else root / path
        if full.is_file():
            out[Path(os.path.relpath(full, root)).as_posix()] = digest(full.read_bytes())
    return out


def entry_for(decision: Decision, subject: dict[str, Any], artifacts: dict[str, dict[str, str]],
              config_digest: str) -> dict[str, Any]:
    """The ledger entry of ``decision`` about ``subject`` (stage: feature and target; change: its scope)."""
    counts: dict[str, int] = {}
    for f in decision.findings:
        if not f.suppressed:
            counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    return {
        "kind": decision.kind,
        "outcome": decision.outcome.value,
        "subject": subject,
        "findings": counts,
        "summary": {
            "spec_kit_compliance": decision.spec_kit_compliance.render(),
            "phase3_protection": decision.phase3_protection.render(),
            "k8s_best_practices": decision.k8s_best_practices.render(),
            "agent_coordination": decision.agent_coordination.render(),
        },
        "artifacts": artifacts,
        "config_digest": config_digest,
        "versions": decision.metadata.versions,
        "prompt_versions": decision.metadata.prompt_versions,
    }


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the exclusive POSIX lock of the ledger in ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOCK_NAME).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _last_record(path: Path) -> dict[str, Any] | None:
    """The last record of the ledger at ``path`` (None when empty); LedgerError when it is damaged."""
    if not path.exists():
        return None
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        raise LedgerError(f"{path}: the last record is incomplete (truncated file); run 'audit verify'")
    lines = data.splitlines()
    if not lines:
        return None
    try:
        last = json.loads(lines[-1])
    except json.JSONDecodeError:
        raise LedgerError(f"{path}: record {len(lines) - 1} is not JSON; run 'audit verify'") from None
    if not isinstance(last, dict) or last.get("index") != len(lines) - 1:
        raise LedgerError(f"{path}: record {len(lines) - 1} is out of place; run 'audit verify'")
    return last


def append(root: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append ``entry`` to the ledger of ``root`` under the lock; returns the record as written.

    The record is ``entry`` plus ``index``, ``timestamp`` (UTC, ISO 8601), ``prev`` and ``hash``.
    """
    path = ledger_path(root)
    with _locked(path.parent):
        last = _last_record(path)
        record = {**entry, "index": 0 if last is None else last["index"] + 1,
                  "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                  "prev": GENESIS if last is None else last["hash"]}
        record["hash"] = record_hash(record)
        with path.open("ab") as fh:
            fh.write(canonical(record) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        head = path.parent / HEAD_NAME
        tmp = head.with_suffix(".tmp")
        tmp.write_bytes(canonical({"count": record["index"] + 1, "hash": record["hash"]}) + b"\n")
        os.replace(tmp, head)
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """The parsable records of the ledger file ``path`` (none when it does not exist); for reporting only."""
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify`: ``count`` good records, or the first bad one and why."""

    count: int
    bad_index: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_index is None


def _check_line(index: int, line: bytes, prev: str) -> str:
    """Why line ``index`` is not a valid record chained to ``prev`` ("" when it is)."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "is not valid JSON (edited or truncated)"
    if not isinstance(record, dict):
        return "is not a JSON object"
    if record.get("index") != index:
        return f"has index {record.get('index')!r} where {index} belongs (removed or reordered records)"
    if record.get("prev") != prev:
        return "does not chain to the previous record (removed or reordered records)"
    if record.get("hash") != record_hash(record):
        return "hash does not match its content (edited)"
    return ""


def _check_head(path: Path, count: int, last_hash: str) -> str:
    head = path.parent / HEAD_NAME
    if not head.exists():
        return f"{HEAD_NAME} is missing" if count else ""
    try:
        data = json.loads(head.read_bytes())
    except json.JSONDecodeError:
        return f"{HEAD_NAME} is not valid JSON"
    if data != {"count": count, "hash": last_hash}:
        return f"{HEAD_NAME} expects {data.get('count')} record(s) ending in {str(data.get('hash'))[:12]}…"
    return ""


def verify(path: Path) -> Verification:
    """Check every record of the ledger file ``path`` and the head beside it."""
    if not path.is_file():
        raise InputError(f"no ledger at {path}")
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    prev = GENESIS
    for index, line in enumerate(complete):
        reason = _check_line(index, line, prev)
        if reason:
            return Verification(index, index, reason)
        prev = json.loads(line)["hash"]
    if tail:
        return Verification(len(complete), len(complete), "is incomplete (truncated file)")
    reason = _check_head(path, len(complete), prev)
    if reason:
        return Verification(len(complete), len(complete), f"is missing or the head is damaged: {reason}")
    return Verification(len(complete))
