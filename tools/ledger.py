"""The approval ledger: every decision appended to ``history/approvals/ledger.jsonl``, hash-chained and signed.

One JSON object per line. Each record carries its ``index`` (0-based), who recorded it (``actor`` and
``actor_source``), the ``commit`` checked out (HEAD; null outside git), a one-line ``message``, the ``prev``
hash (the previous record's ``hash``; 64 zeros for the first), optionally a ``signature`` (an SSH signature of
the record without ``hash`` and ``signature``, see :mod:`tools.ledger_sign`) and its own ``hash``: the sha256 of
its canonical JSON (sorted keys, no spaces, UTF-8) without the ``hash`` key, signature included.

Two heads hold the count and the last hash: ``ledger.head`` beside the file (committed with it: catches
accidents such as a truncated file in any clone) and one kept outside the ledger (:mod:`tools.ledger_head`:
catches a rewritten file whose chain was recomputed, and an emptied one). :func:`verify` names the first
record that is edited, missing, reordered, unparsable, not chained, badly signed or unsigned after signed ones.

Writers hold an exclusive ``fcntl.flock`` on ``ledger.lock`` (POSIX only) while they re-read the ledger, check
it still extends the outside head, append one line and rewrite both heads, so concurrent processes neither
lose nor interleave records, and a tampered ledger is never extended (and so never blessed) by a new record.
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

from core import confine
from core.errors import InputError
from tools import ledger_sign
from tools.ledger_head import Head, LedgerError, check_against, head_path, loads, read_head, write_head

if TYPE_CHECKING:  # keeps the writer import light: concurrent writers start fast
    from core.models import Decision

LEDGER_DIR = Path("history/approvals")
LEDGER_NAME = "ledger.jsonl"
HEAD_NAME = "ledger.head"
LOCK_NAME = "ledger.lock"
MAX_LEDGER_BYTES = 1024 * 1024 * 1024
"""A ledger larger than this is refused unread."""
GENESIS = "0" * 64
_TICKED = re.compile(rb"^([ \t]*[-*+][ \t]*)\[[xX]\]", re.M)


def ledger_path(root: Path) -> Path:
    """Where the ledger of the repository ``root`` lives."""
    return root / LEDGER_DIR / LEDGER_NAME


def opt_in(root: Path) -> None:
    """Create ``history/approvals/`` in ``root`` so its decisions are recorded; LedgerError when it cannot be."""
    try:
        (root / LEDGER_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(f"cannot create the ledger directory {root / LEDGER_DIR}: {exc.strerror or exc}") from None


def canonical(data: Any) -> bytes:
    """The canonical JSON bytes of ``data``: sorted keys, no insignificant spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """The sha256 of ``record``'s canonical JSON, ignoring its own ``hash`` key."""
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def signed_bytes(record: dict[str, Any]) -> bytes:
    """What a record's signature covers: its canonical JSON without ``hash`` and ``signature``."""
    return canonical({k: v for k, v in record.items() if k not in ("hash", "signature")})


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
    header = "STAGE APPROVAL DECISION" if decision.kind == "stage" else "CHANGE VALIDATION"
    tally = ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "no findings"
    return {
        "kind": decision.kind,
        "outcome": decision.outcome.value,
        "message": f"[{header}: {decision.outcome.value}] {decision.title or decision.kind} ({tally})"[:500],
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


def _read_ledger(path: Path) -> bytes:
    """The ledger's bytes through the confined reader: a FIFO or a device as the ledger is refused, never read."""
    return confine.read_regular(os.path.realpath(path), MAX_LEDGER_BYTES, what=f"the ledger {path}")


def _records(path: Path) -> list[dict[str, Any]]:
    """The records of the ledger at ``path`` for appending; LedgerError when it is damaged."""
    if not path.exists():
        return []
    data = _read_ledger(path)
    if data and not data.endswith(b"\n"):
        raise LedgerError(f"{path}: the last record is incomplete (truncated file); run 'audit verify'")
    records = []
    for index, line in enumerate(data.splitlines()):
        try:
            record = loads(line, f"{path}: record {index}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise LedgerError(f"{path}: record {index} is not JSON; run 'audit verify'") from None
        if not isinstance(record, dict) or record.get("index") != index or not isinstance(record.get("hash"), str):
            raise LedgerError(f"{path}: record {index} is out of place; run 'audit verify'")
        records.append(record)
    return records


def append(root: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append ``entry`` to the ledger of ``root`` under the lock; returns the record as written.

    The record is ``entry`` plus ``index``, ``timestamp`` (UTC, ISO 8601), ``actor``, ``actor_source``,
    ``commit``, ``prev``, ``signature`` (when a signing key is configured) and ``hash``. Refused (LedgerError)
    when the ledger no longer extends the head kept outside it, or is signed and no key is configured.
    """
    path = ledger_path(root)
    try:
        return _append(root, path, entry)
    except OSError as exc:  # an unwritable or odd ledger directory: one line, exit 2, no decision printed
        raise LedgerError(f"cannot write the ledger {path}: {exc.strerror or exc}") from None
    except (confine.NotRegularFile, confine.TooLarge) as exc:
        raise LedgerError(f"cannot write the ledger {path}: {exc}") from None


def _append(root: Path, path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    who, source = ledger_sign.actor(root)
    commit = ledger_sign.head_commit(root)
    key = ledger_sign.signing_key(root)
    outside, _ = head_path(path)
    with _locked(path.parent):
        records = _records(path)
        remembered = read_head(outside)
        if remembered is not None:
            bad, reason = check_against(remembered, [r["hash"] for r in records], outside)
            if reason:
                raise LedgerError(f"{path}: record {bad} {reason}; run 'audit verify'")
        last = records[-1] if records else None
        signed_from = next((r["index"] for r in records if r.get("signature")), None)
        if remembered is not None and remembered.signed_from is not None:
            signed_from = remembered.signed_from if signed_from is None else min(signed_from, remembered.signed_from)
        if key is None and signed_from is not None:
            raise LedgerError(f"{path}: records are signed from record {signed_from} on; configure the signing key "
                              f"(${ledger_sign.ENV_KEY}, or git user.signingkey with gpg.format=ssh) to append")
        record = {**entry, "index": 0 if last is None else last["index"] + 1,
                  "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                  "actor": who, "actor_source": source, "commit": commit,
                  "prev": GENESIS if last is None else last["hash"]}
        if key is not None:
            record["signature"] = {"format": "ssh", "namespace": ledger_sign.NAMESPACE, "principal": who,
                                   "key_source": key.source, "sig": ledger_sign.sign(signed_bytes(record), key)}
            signed_from = record["index"] if signed_from is None else signed_from
        record["hash"] = record_hash(record)
        with path.open("ab") as fh:
            fh.write(canonical(record) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        head = path.parent / HEAD_NAME
        tmp = head.with_suffix(".tmp")
        tmp.write_bytes(canonical({"count": record["index"] + 1, "hash": record["hash"]}) + b"\n")
        os.replace(tmp, head)
        if outside is not None:
            write_head(outside, Head(record["index"] + 1, record["hash"], signed_from), path)
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """The parsable records of the ledger file ``path`` (none when it does not exist); for reporting only."""
    if not path.exists():
        return []
    out = []
    for line in _read_ledger(path).splitlines():
        try:
            record = loads(line, "a ledger record")
        except (json.JSONDecodeError, UnicodeDecodeError, LedgerError):
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify`: ``count`` good records, or the first bad one and why.

    ``signed`` records carry a good signature (by ``principals``); ``head`` describes the head kept outside
    the ledger (its path and count, or why there is none); ``anchored`` is False when there is none;
    ``prefix_intact`` is False when the records before the bad one cannot be vouched for (a recomputed chain).
    """

    count: int
    bad_index: int | None = None
    reason: str = ""
    signed: int = 0
    principals: tuple[str, ...] = ()
    head: str = ""
    anchored: bool = False
    prefix_intact: bool = True

    @property
    def ok(self) -> bool:
        return self.bad_index is None

    def summary(self, file: Path, signers: Path | None = None) -> str:
        """One line: what was proven, or the first bad record."""
        if not self.ok:
            intact = f"; {self.count} record(s) before it are intact" if self.prefix_intact else ""
            return f"{file}: record {self.bad_index} {self.reason}{intact}"
        line = f"{file}: {self.count} record(s), chain intact"
        if self.count and self.signed == self.count:
            line += f", all signed by {', '.join(self.principals)} and verified against {signers}"
        elif self.signed:
            line += (f", {self.signed} signed by {', '.join(self.principals)} and verified against {signers}; "
                     f"the first {self.count - self.signed} record(s), written before signing began, are UNSIGNED")
        else:
            line += ", UNSIGNED: proves integrity against accidents, not against whoever can write the file"
        if self.anchored:
            return f"{line}; head kept outside the ledger: {self.head}"
        return f"{line}; no head kept outside the ledger ({self.head}): a rewritten or emptied ledger is not detected"


def _check_line(index: int, line: bytes, prev: str, path: Path) -> tuple[dict[str, Any] | None, str]:
    """The record on line ``index`` and why it is not a valid record chained to ``prev`` ("" when it is)."""
    try:
        record = loads(line, f"{path}: record {index}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, "is not valid JSON (edited or truncated)"
    if not isinstance(record, dict):
        return None, "is not a JSON object"
    if record.get("index") != index:
        return None, f"has index {record.get('index')!r} where {index} belongs (removed or reordered records)"
    if record.get("prev") != prev:
        return None, "does not chain to the previous record (removed or reordered records)"
    if record.get("hash") != record_hash(record):
        return None, "hash does not match its content (edited)"
    return record, ""


def _check_signature(record: dict[str, Any], signers: Path | None, path: Path) -> str:
    sig = record["signature"]
    if not isinstance(sig, dict) or sig.get("format") != "ssh" or not isinstance(sig.get("sig"), str):
        return "has a signature in an unknown format"
    if sig.get("namespace") != ledger_sign.NAMESPACE or sig.get("principal") != record.get("actor"):
        return "has a signature for another namespace or another actor than the record names"
    if signers is None:
        raise ledger_sign.SigningError(
            f"{path}: record {record['index']} is signed; name the allowed-signers file (--allowed-signers, "
            f"${ledger_sign.ENV_SIGNERS} or git gpg.ssh.allowedSignersFile) to verify it")
    return ledger_sign.verify(signed_bytes(record), sig["sig"], str(sig["principal"]), signers,
                              record.get("timestamp"))


def _check_head(path: Path, count: int, last_hash: str) -> str:
    head = path.parent / HEAD_NAME
    if not head.exists():
        return f"{HEAD_NAME} is missing" if count else ""
    try:
        data = loads(head.read_bytes(), f"{head}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"{HEAD_NAME} is not valid JSON"
    if not isinstance(data, dict) or data != {"count": count, "hash": last_hash}:
        data = data if isinstance(data, dict) else {}
        return f"{HEAD_NAME} expects {data.get('count')} record(s) ending in {str(data.get('hash'))[:12]}…"
    return ""


def verify(path: Path, signers: Path | None = None, *, require_signatures: bool = False,
           head: Path | None = None) -> Verification:
    """Check every record of the ledger file ``path``, their signatures, ``ledger.head`` and the outside head.

    ``signers`` is the allowed-signers file the signatures are checked against; ``require_signatures`` makes an
    unsigned record a failure; ``head`` names the outside head (default: :func:`tools.ledger_head.head_path`).
    Raises InputError (exit 2) when the ledger is missing and no head remembers it, a record is nested past
    the JSON depth bound, or a signature cannot be checked.
    """
    outside, why = head_path(path, head)
    remembered = read_head(outside)
    where = f"{outside}, {remembered.count} record(s)" if remembered else why or f"none yet at {outside}"
    if require_signatures and signers is None:
        raise ledger_sign.SigningError("signatures are required but no allowed-signers file is named "
                                       f"(--allowed-signers, ${ledger_sign.ENV_SIGNERS} or git gpg.ssh.allowedSignersFile)")
    if not path.is_file():
        if remembered is not None:
            return Verification(0, 0, f"is missing: the ledger file is gone, but the head kept outside it "
                                      f"({outside}) saw {remembered.count} record(s)", head=where,
                                prefix_intact=False)
        raise InputError(f"no ledger at {path}")
    data = _read_ledger(path)
    if not data:
        seen = f"; the head kept outside it ({outside}) saw {remembered.count} record(s)" if remembered else ""
        return Verification(0, 0, f"is missing: the ledger file is empty, and the writer never leaves it so "
                                  f"(emptied){seen}", head=where, prefix_intact=False)
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    prev, hashes, principals, signed = GENESIS, [], [], 0
    for index, line in enumerate(complete):
        record, reason = _check_line(index, line, prev, path)
        if not reason and record.get("signature") is not None:
            reason = _check_signature(record, signers, path)
            signed += not reason
            if record.get("actor") not in principals:
                principals.append(str(record.get("actor")))
        elif not reason and (require_signatures or signed):
            reason = "is unsigned " + ("(signatures are required)" if require_signatures else
                                       "although earlier records are signed (a signature was stripped)")
        elif not reason and remembered and remembered.signed_from is not None and index >= remembered.signed_from:
            reason = (f"is unsigned although the head kept outside the ledger ({outside}) says records are signed "
                      f"from record {remembered.signed_from} on (signatures were stripped)")
        if reason:
            return Verification(index, index, reason, head=where)
        prev = record["hash"]
        hashes.append(prev)
    if tail:
        return Verification(len(complete), len(complete), "is incomplete (truncated file)", head=where)
    reason = _check_head(path, len(complete), prev)
    if reason:
        return Verification(len(complete), len(complete), f"is missing or the head is damaged: {reason}", head=where)
    if remembered is not None:
        bad, reason = check_against(remembered, hashes, outside)
        if reason:
            return Verification(bad, bad, reason, head=where, prefix_intact=False)
        newer = len(hashes) - remembered.count
        where += f"; {newer} newer record(s) appended elsewhere" if newer else ""
    return Verification(len(complete), signed=signed, principals=tuple(principals), head=where,
                        anchored=remembered is not None)
