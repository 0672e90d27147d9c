"""Phase III path guard: frozen application code must not be touched by infrastructure work.

Boundaries are gitignore-style globs declared in ``phase3`` of ``.infra-orchestrator.yaml``. Every path a
change touches is classified against them; touching protected code is a critical finding, touching Phase III
build configuration needs a human's approval. Pure and deterministic: no git, no I/O.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

import pathspec

from infra_orchestrator.config import CONFIG_FILENAME, Phase3Config
from infra_orchestrator.errors import InputError
from infra_orchestrator.models import Category, ChangeSet, FileChange, Finding, Severity

Zone = Literal["protected", "needs_approval", "allowed", "outside"]

UNDEFINED = "PHASE3-BOUNDARIES-UNDEFINED"
PROTECTED = "PHASE3-PROTECTED-MODIFIED"
SYMLINK = "PHASE3-SYMLINK-INTO-PROTECTED"
NEEDS_APPROVAL = "PHASE3-NEEDS-APPROVAL"
TOUCHING_CHECKS = frozenset({PROTECTED, SYMLINK, NEEDS_APPROVAL})
"""Check ids whose findings mean the change touches Phase III."""

UNDEFINED_QUESTION = (
    "Phase III boundaries are not declared, so the guard cannot tell frozen application code from "
    f"infrastructure: declare them under `phase3.protected` in {CONFIG_FILENAME} "
    "(or run `infra-orchestrator guard init`) — treat this change as infrastructure-only?"
)


def normalize_path(path: str) -> str:
    """Return ``path`` as a normalized posix path relative to the workspace root.

    Strips ``./``, collapses ``..`` and duplicate slashes; the root itself is ``"."``. Raises
    :class:`InputError` for absolute paths and paths that escape the root (``../x``).
    """
    norm = posixpath.normpath(PurePath(path).as_posix())
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../"):
        raise InputError(f"path '{path}' is outside the workspace")
    return norm


def _spec(globs: list[str]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(globs)


@dataclass(frozen=True)
class Boundaries:
    """Compiled Phase III globs of one workspace."""

    protected: pathspec.GitIgnoreSpec
    needs_approval: pathspec.GitIgnoreSpec
    allowed: pathspec.GitIgnoreSpec
    defined: bool

    @classmethod
    def from_config(cls, phase3: Phase3Config) -> Boundaries:
        """Compile the globs of ``phase3``."""
        return cls(protected=_spec(phase3.protected), needs_approval=_spec(phase3.needs_approval),
                   allowed=_spec(phase3.allowed), defined=phase3.defined)

    def classify(self, path: str, is_dir: bool = False) -> Zone:
        """Classify a workspace-relative path; ``is_dir`` lets directory globs (``app/``) match it.

        Precedence is allowed > protected > needs_approval: ``allowed`` is a carve-out that wins over
        everything, and a build-configuration glob never downgrades a protected path to "needs approval".
        A path matching no glob is ``"outside"`` Phase III.
        """
        norm = normalize_path(path)
        candidate = f"{norm}/" if is_dir else norm
        for zone, spec in (("allowed", self.allowed), ("protected", self.protected),
                           ("needs_approval", self.needs_approval)):
            if spec.match_file(candidate):
                return zone
        return "outside"


def _what(change: FileChange) -> str:
    """What happened to ``change.path``, as a past participle phrase."""
    if change.is_submodule and change.status in ("modified", "type_changed"):
        return "submodule pointer changed"
    if change.status == "type_changed":
        return "replaced by a symlink" if change.is_symlink else "type changed"
    if change.status == "mode_changed":
        return f"mode changed from {change.old_mode} to {change.new_mode}"
    if change.status in ("renamed", "copied"):
        return f"{change.status} from {change.old_path}"
    return "changed" if change.status == "unknown" else change.status


def _sides(change: FileChange) -> list[tuple[str, str]]:
    """The (path, what happened) pairs of a change that modify the tree.

    A rename counts on both sides: it deletes the old path. A copy leaves its source untouched (when the
    source also changed, git reports that as a change of its own), so only the new path counts.
    """
    sides = [(change.path, _what(change))]
    if change.status == "renamed" and change.old_path:
        sides.append((change.old_path, f"renamed to {change.path}"))
    return sides


def _protected_finding(path: str, what: str) -> Finding:
    return Finding(
        check_id=PROTECTED, severity=Severity.critical, category=Category.phase3, file=path,
        message=f"{path}: {what}; it is Phase III code, which is immutable for infrastructure work",
        remediation=f"Revert the change so {path} matches the Phase III baseline; keep infrastructure "
        "changes outside the protected paths.",
    )


def _approval_finding(path: str, what: str) -> Finding:
    return Finding(
        check_id=NEEDS_APPROVAL, severity=Severity.medium, category=Category.phase3, file=path,
        message=f"{path}: {what}; it is Phase III build configuration, which may change only with approval",
        remediation=f"Confirm the change to {path} is infrastructure-only, or revert it.",
        question=f"{path} is build configuration of Phase III: approve this change as infrastructure-only? [y/N]",
    )


def _symlink_destination(change: FileChange) -> str | None:
    """Where a symlink points, relative to the workspace root; None when it leaves the workspace."""
    target = change.symlink_target
    if not target or posixpath.isabs(target):
        return None
    try:
        return normalize_path(posixpath.join(posixpath.dirname(change.path), target))
    except InputError:
        return None


def _symlink_finding(change: FileChange, bounds: Boundaries) -> Finding | None:
    """A finding when a new or changed symlink points into protected code (as a file or a directory)."""
    if not change.is_symlink or change.status == "deleted":
        return None
    dest = _symlink_destination(change)
    if dest is None or "protected" not in (bounds.classify(dest), bounds.classify(dest, is_dir=True)):
        return None
    return Finding(
        check_id=SYMLINK, severity=Severity.critical, category=Category.phase3, file=change.path,
        message=f"{change.path}: symlink to '{change.symlink_target}' points into protected Phase III "
        f"path {dest}; writes through it would modify immutable Phase III code",
        remediation=f"Remove the symlink {change.path} or point it outside the Phase III paths.",
    )


def _change_findings(change: FileChange, bounds: Boundaries) -> list[Finding]:
    findings: list[Finding] = []
    for path, what in _sides(change):
        zone = bounds.classify(path, is_dir=change.is_submodule)
        if zone == "protected":
            findings.append(_protected_finding(path, what))
        elif zone == "needs_approval":
            findings.append(_approval_finding(path, what))
    symlink = _symlink_finding(change, bounds)
    return findings + ([symlink] if symlink else [])


def undefined_finding() -> Finding:
    """The finding reported when no Phase III boundaries are declared."""
    return Finding(
        check_id=UNDEFINED, severity=Severity.medium, category=Category.phase3,
        message="Phase III boundaries are not declared (phase3.protected is empty); "
        "changes to frozen application code cannot be detected",
        remediation=f"Declare the Phase III globs under `phase3.protected` in {CONFIG_FILENAME}, "
        "or run `infra-orchestrator guard init`.",
        question=UNDEFINED_QUESTION,
    )


def guard_change_set(changes: ChangeSet, phase3: Phase3Config) -> list[Finding]:
    """Check every path of ``changes`` against the Phase III boundaries; findings sorted by path.

    Paths must be relative to the workspace root (a path escaping it raises :class:`InputError`).
    """
    bounds = Boundaries.from_config(phase3)
    findings = [f for change in changes.files for f in _change_findings(change, bounds)]
    if not bounds.defined:
        findings.append(undefined_finding())
    return sorted(findings, key=lambda f: (f.file or "", f.check_id))


def touched_summary(findings: list[Finding], changed_paths: int) -> str:
    """One line for the "Phase III Protection" summary, from the guard's findings."""
    if any(f.check_id == UNDEFINED for f in findings):
        return "boundaries undefined"
    touched = sorted({f.file for f in findings if f.check_id in TOUCHING_CHECKS and f.file})
    if touched:
        return "touched: " + ", ".join(touched)
    noun = "path" if changed_paths == 1 else "paths"
    return f"none of {changed_paths} changed {noun} touch Phase III"
