"""Freeze and verify Phase III without git: ``phase3.lock`` holds a sha256 per protected file.

The lock records, for every file the ``protected`` globs select (minus ``allowed``), its git-style mode
(``100644``, ``100755`` or ``120000`` for a symlink, whose target is recorded and hashed instead of
followed) and the sha256 of its content, plus one tree digest over all of them. It is JSON with sorted
keys and no timestamp, so freezing an unchanged tree twice gives byte-identical files. Verification
selects files with the globs stored *in the lock*, so editing the config cannot hide a change.

A review reads the lock at its trusted base revision (:func:`lock_findings_at`, text from
:mod:`tools.policy_source`) and compares it with the reviewed head, a revision (:func:`snapshot_at`, blobs
read raw) or the work tree (:func:`snapshot`): re-freezing or deleting the lock in the change hides nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from core import confine
from core.config import Phase3Config
from core.errors import InputError
from core.models import Finding, Severity
from tools.catalog import finding
from tools.guard import Boundaries
from tools.layout import literal_prefix
from tools.workspace import PRUNE_DIRS, walk

LOCK_FILENAME = "phase3.lock"
LOCK_VERSION = 1
MISMATCH = "PHASE3-LOCK-MISMATCH"
INVALID = "PHASE3-LOCK-INVALID"
SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class Entry:
    """One locked file: git-style mode, sha256 of the content (of the target for a symlink), the target."""

    mode: str
    sha256: str
    target: str | None = None

    def as_json(self) -> dict:
        data = {"mode": self.mode, "sha256": self.sha256}
        return data | ({"target": self.target} if self.target is not None else {})


@dataclass
class LockDiff:
    """What changed in the protected files since the lock was written."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    """(path, what changed: "content", "mode 100644 -> 100755", "symlink target ...")."""

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """One human-readable line per difference, sorted by path."""
        out = [(p, f"added: {p}") for p in self.added] + [(p, f"removed: {p}") for p in self.removed]
        out += [(p, f"changed ({what}): {p}") for p, what in self.changed]
        return [line for _, line in sorted(out)]


MAX_LOCK_BYTES = 16 * 1024 * 1024
"""A lock file larger than this is refused unread."""


def _entry(full: Path) -> Entry:
    if full.is_symlink():
        target = os.readlink(full)
        return Entry(SYMLINK_MODE, hashlib.sha256(os.fsencode(target)).hexdigest(), target)
    info = os.stat(full)
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device is never opened: its kind is its content
        return Entry(f"special-{stat.S_IFMT(info.st_mode):o}", hashlib.sha256(b"not a regular file").hexdigest())
    mode = "100755" if info.st_mode & 0o111 else "100644"
    digest = hashlib.sha256()
    with confine.open_regular(full) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return Entry(mode, digest.hexdigest())


def _candidates(root: Path, protected: list[str]) -> list[str]:
    """Every file and symlink that ``protected`` may select (posix, relative to ``root``, sorted).

    Only the fixed leading directories of the globs are walked (all of ``root`` when a glob has none);
    symlinked directories are listed, not followed.
    """
    prefixes = {literal_prefix(g) for g in protected if not g.startswith("!")}
    starts = [root] if "" in prefixes else [root / p for p in sorted(prefixes)]
    out: set[str] = {s.relative_to(root).as_posix() for s in starts if s.is_symlink() or s.is_file()}
    for start in starts:
        out.update(path.relative_to(root).as_posix() for path, _ in walk(start))
    return sorted(out)


def snapshot(root: Path, protected: list[str], allowed: list[str]) -> dict[str, Entry]:
    """The current entry of every protected file under ``root``."""
    bounds = Boundaries.from_config(Phase3Config(protected=protected, allowed=allowed))
    return {rel: _entry(root / rel) for rel in _candidates(root, protected) if bounds.classify(rel) == "protected"}


def tree_digest(entries: dict[str, Entry]) -> str:
    """One sha256 over every ``mode sha256 path`` line, in path order."""
    lines = "".join(f"{e.mode} {e.sha256} {p}\n" for p, e in sorted(entries.items()))
    return hashlib.sha256(os.fsencode(lines)).hexdigest()


def render_lock(entries: dict[str, Entry], phase3: Phase3Config) -> str:
    """The lock file's text: JSON, sorted keys, two-space indent, trailing newline."""
    data = {
        "version": LOCK_VERSION, "algorithm": "sha256",
        "protected": list(phase3.protected), "allowed": list(phase3.allowed),
        "tree": tree_digest(entries), "files": {p: e.as_json() for p, e in entries.items()},
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def freeze(root: Path, phase3: Phase3Config) -> tuple[Path, int]:
    """Write ``root/phase3.lock`` for the protected files of ``phase3``; return its path and file count."""
    if not phase3.defined:
        raise InputError("phase3.protected is empty: declare the boundaries first (infra-orchestrator guard init)")
    entries = snapshot(root, phase3.protected, phase3.allowed)
    path = root / LOCK_FILENAME
    path.write_text(render_lock(entries, phase3), encoding="utf-8")
    return path, len(entries)


def parse_lock(text: str, origin: str) -> dict:
    """The parsed lock ``text`` (read from ``origin``); :class:`InputError` when it is malformed."""
    try:
        data = json.loads(text)
        files = {p: Entry(e["mode"], e["sha256"], e.get("target")) for p, e in data["files"].items()}
        if data.get("version") != LOCK_VERSION or tree_digest(files) != data["tree"]:
            raise ValueError("version or tree digest does not match")
        return {"protected": list(data["protected"]), "allowed": list(data.get("allowed", [])), "files": files}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InputError(f"{origin}: not a valid {LOCK_FILENAME} ({exc}); regenerate it with `guard freeze`") from None


def read_lock(root: Path) -> dict | None:
    """The parsed lock of ``root``; None when there is none; :class:`InputError` when it is malformed."""
    path = root / LOCK_FILENAME
    if not path.exists():
        return None
    try:
        text = confine.read_regular(path, MAX_LOCK_BYTES, what=str(path)).decode("utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a valid {LOCK_FILENAME} ({exc}); regenerate it with `guard freeze`") from None
    return parse_lock(text, str(path))


def snapshot_at(root: Path, rev: str, protected: list[str], allowed: list[str]) -> dict[str, Entry]:
    """The entry of every protected file of the revision ``rev`` under ``root`` (blobs read raw). Files under
    a pruned directory (``node_modules``, ``.venv``...) are left out, as :func:`snapshot`'s walk leaves them."""
    from tools.git_tree import read_blobs, tree_entries

    bounds = Boundaries.from_config(Phase3Config(protected=protected, allowed=allowed))
    chosen = [e for e in tree_entries(root, rev).values()
              if e.type == "blob" and bounds.classify(e.path) == "protected"
              and not PRUNE_DIRS.intersection(e.path.split("/")[:-1])]
    blobs = read_blobs(root, [e.sha for e in chosen])
    out = {}
    for e in chosen:
        data = blobs.get(e.sha, b"")
        target = os.fsdecode(data) if e.mode == SYMLINK_MODE else None
        out[e.path] = Entry(e.mode, hashlib.sha256(data).hexdigest(), target)
    return out


def _what_changed(old: Entry, new: Entry) -> str | None:
    if old == new:
        return None
    if old.mode == SYMLINK_MODE and new.mode == SYMLINK_MODE:
        return f"symlink target '{old.target}' -> '{new.target}'"
    if new.mode == SYMLINK_MODE:
        return f"replaced by a symlink to '{new.target}'"
    if old.mode == SYMLINK_MODE:
        return "symlink replaced by a file"
    parts = (["content"] if old.sha256 != new.sha256 else []) + (
        [f"mode {old.mode} -> {new.mode}"] if old.mode != new.mode else [])
    return ", ".join(parts)


def diff_entries(locked: dict[str, Entry], current: dict[str, Entry]) -> LockDiff:
    """Compare a lock's entries with the current ones."""
    changed = [(p, what) for p in sorted(locked.keys() & current.keys())
               if (what := _what_changed(locked[p], current[p]))]
    return LockDiff(added=sorted(current.keys() - locked.keys()), removed=sorted(locked.keys() - current.keys()),
                    changed=changed)


def verify(root: Path) -> LockDiff | None:
    """Compare ``root`` with its ``phase3.lock`` (using the lock's own globs); None when there is no lock."""
    lock = read_lock(root)
    if lock is None:
        return None
    return diff_entries(lock["files"], snapshot(root, lock["protected"], lock["allowed"]))


def _mismatch(path: str, what: str) -> Finding:
    return finding(
        MISMATCH, file=path,
        message=f"{path}: {what} since {LOCK_FILENAME} was frozen; it is Phase III code, which is immutable "
        "for infrastructure work (caught by the lock, whatever git history says)",
        remediation=f"Restore {path} to its frozen state (`infra-orchestrator guard verify` lists every "
        f"difference); refreeze only if Phase III itself was deliberately re-released.",
    )


def lock_findings(root: Path, phase3: Phase3Config) -> list[Finding]:
    """Critical ``PHASE3-LOCK-MISMATCH`` findings for every difference from ``phase3.lock`` (none without a lock).

    ``phase3`` is unused for selection (the lock's own globs are authoritative) but a lock whose globs
    differ from the configuration's is reported, so the two cannot drift apart unnoticed.
    """
    try:
        lock = read_lock(root)
    except InputError as exc:
        return [finding(INVALID, str(exc), file=LOCK_FILENAME,
                        remediation="Regenerate the lock with `infra-orchestrator guard freeze`.")]
    if lock is None:
        return []
    return _diff_findings(lock, diff_entries(lock["files"], snapshot(root, lock["protected"], lock["allowed"])), phase3)


def _diff_findings(lock: dict, diff: LockDiff, phase3: Phase3Config) -> list[Finding]:
    findings = [_mismatch(p, "added") for p in diff.added] + [_mismatch(p, "removed") for p in diff.removed]
    findings += [_mismatch(p, f"changed ({what})") for p, what in diff.changed]
    if (lock["protected"], lock["allowed"]) != (list(phase3.protected), list(phase3.allowed)):
        findings.append(finding(
            INVALID, severity=Severity.medium, file=LOCK_FILENAME,
            message=f"{LOCK_FILENAME} was frozen with other phase3 globs than the configuration declares; "
            "it is verified with its own globs",
            remediation="Refreeze with `infra-orchestrator guard freeze` once the new boundaries are approved.",
        ))
    return sorted(findings, key=lambda f: f.file or "")


def lock_findings_at(root: Path, lock_text: str | None, head_rev: str | None, phase3: Phase3Config,
                     origin: str = LOCK_FILENAME) -> list[Finding]:
    """Like :func:`lock_findings`, with the lock given as text (the trusted base's ``phase3.lock``) and compared
    with the revision ``head_rev`` (blobs), or with the work tree when ``head_rev`` is None."""
    if lock_text is None:
        return []
    try:
        lock = parse_lock(lock_text, origin)
    except InputError as exc:
        return [finding(INVALID, str(exc), severity=Severity.high, file=LOCK_FILENAME,
                        remediation="Regenerate the lock with `infra-orchestrator guard freeze`.")]
    current = (snapshot_at(root, head_rev, lock["protected"], lock["allowed"]) if head_rev
               else snapshot(root, lock["protected"], lock["allowed"]))
    return _diff_findings(lock, diff_entries(lock["files"], current), phase3)


def lock_diff_at(root: Path, lock_text: str, head_rev: str | None) -> LockDiff:
    """The differences between the lock ``lock_text`` and the revision ``head_rev`` (work tree when None)."""
    lock = parse_lock(lock_text, LOCK_FILENAME)
    current = (snapshot_at(root, head_rev, lock["protected"], lock["allowed"]) if head_rev
               else snapshot(root, lock["protected"], lock["allowed"]))
    return diff_entries(lock["files"], current)
