"""Phase III path guard: frozen application code must not be touched by infrastructure work.

Boundaries are gitignore-style globs declared in ``phase3`` of ``.infra-orchestrator.yaml``. Every path a
change touches is classified against them; touching protected code is a critical finding, touching Phase III
build configuration needs a human's approval. Pure and deterministic: no git, no I/O.
"""

from __future__ import annotations

from core.config import CONFIG_FILENAME, Phase3Config
from core.models import ChangeSet, FileChange, Finding
from tools.catalog import finding
from tools.layout import Boundaries, link_destination, normalize_path

__all__ = ["Boundaries", "guard_change_set", "normalize_path", "undefined_finding"]

UNDEFINED = "PHASE3-BOUNDARIES-UNDEFINED"
PROTECTED = "PHASE3-PROTECTED-MODIFIED"
SYMLINK = "PHASE3-SYMLINK-INTO-PROTECTED"
NEEDS_APPROVAL = "PHASE3-NEEDS-APPROVAL"

UNDEFINED_QUESTION = (
    "Phase III boundaries are not declared, so the guard cannot tell frozen application code from "
    f"infrastructure: declare them under `phase3.protected` in {CONFIG_FILENAME} "
    "(or run `infra-orchestrator guard init`) — treat this change as infrastructure-only?"
)


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
    return finding(
        PROTECTED, file=path,
        message=f"{path}: {what}; it is Phase III code, which is immutable for infrastructure work",
        remediation=f"Revert the change so {path} matches the Phase III baseline; keep infrastructure "
        "changes outside the protected paths.",
    )


def _approval_finding(path: str, what: str) -> Finding:
    return finding(
        NEEDS_APPROVAL, file=path,
        message=f"{path}: {what}; it is Phase III build configuration, which may change only with approval",
        remediation=f"Confirm the change to {path} is infrastructure-only, or revert it.",
        question=f"{path} is build configuration of Phase III: approve this change as infrastructure-only? [y/N]",
    )


def _symlink_finding(change: FileChange, bounds: Boundaries, root: str | None) -> Finding | None:
    """A finding when a new or changed symlink points into protected code: a protected file, a protected
    directory, or a directory holding protected code (``k8s/app -> ../backend`` with ``backend/src/**``)."""
    if not change.is_symlink or change.status == "deleted":
        return None
    dest = link_destination(change.path, change.symlink_target or "", root)
    if dest is None or not bounds.reaches_protected(dest):
        return None
    return finding(
        SYMLINK, file=change.path,
        message=f"{change.path}: symlink to '{change.symlink_target}' points into protected Phase III "
        f"path {dest}; writes through it would modify immutable Phase III code",
        remediation=f"Remove the symlink {change.path} or point it outside the Phase III paths.",
    )


def _change_findings(change: FileChange, bounds: Boundaries, root: str | None) -> list[Finding]:
    findings: list[Finding] = []
    for path, what in _sides(change):
        zone = bounds.classify(path, is_dir=change.is_submodule)
        if zone == "protected":
            findings.append(_protected_finding(path, what))
        elif zone == "needs_approval":
            findings.append(_approval_finding(path, what))
    symlink = _symlink_finding(change, bounds, root)
    return findings + ([symlink] if symlink else [])


def undefined_finding() -> Finding:
    """The finding reported when no Phase III boundaries are declared."""
    return finding(
        UNDEFINED,
        message="Phase III boundaries are not declared (phase3.protected is empty); "
        "changes to frozen application code cannot be detected",
        remediation=f"Declare the Phase III globs under `phase3.protected` in {CONFIG_FILENAME}, "
        "or run `infra-orchestrator guard init`.",
        question=UNDEFINED_QUESTION,
    )


def guard_change_set(changes: ChangeSet, phase3: Phase3Config, root: str | None = None) -> list[Finding]:
    """Check every path of ``changes`` against the Phase III boundaries; findings sorted by path.

    Paths must be relative to the workspace root (a path escaping it raises :class:`InputError`); ``root``, the
    workspace's real path, lets absolute symlink targets that land inside it be judged too.
    """
    bounds = Boundaries.from_config(phase3)
    findings = [f for change in changes.files for f in _change_findings(change, bounds, root)]
    if not bounds.defined:
        findings.append(undefined_finding())
    return sorted(findings, key=lambda f: (f.file or "", f.check_id))
