""".gitattributes edits that change Phase III files without touching them.

An attribute such as ``eol=crlf``, ``working-tree-encoding=UTF-16``, ``filter=...``, ``ident``, ``text`` or
``export-ignore`` changes the bytes a checkout writes, or what ``git archive`` ships, for every file it matches;
``-diff`` hides its edits from a reviewer's diff. A change that gives a protected file such an attribute
therefore modifies it, even though its blob is the same.

Attributes are computed by git itself (``git check-attr``: macros, nested ``.gitattributes`` and precedence
included) at the base and at the head. Git 2.39 has no ``--attr-source``, so a revision's attributes are read
with ``--cached`` from a temporary index filled from that revision's tree (``git read-tree``); the work tree's
are read directly. ``.git/info/attributes`` applies to both sides alike, so it cannot make a difference appear
or disappear here (the work-tree review compares raw bytes regardless: :mod:`tools.git_tree`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from core.models import Category, ChangeSet, Finding, Severity
from tools import git
from tools.git_tree import tree_entries
from tools.layout import Boundaries

CONTENT_ATTRS = ("text", "eol", "crlf", "working-tree-encoding", "filter", "ident", "export-ignore", "export-subst",
                 "diff")
"""Attributes that change a file's checked-out bytes or its presence in an export, or hide its diff."""
PROTECTED = "PHASE3-PROTECTED-MODIFIED"
NEEDS_APPROVAL = "PHASE3-NEEDS-APPROVAL"
MAX_NAMED = 20
"""Findings name at most this many files; one more finding counts the rest."""


def _parse(out: bytes) -> dict[str, dict[str, str]]:
    fields = out.split(b"\0")
    attrs: dict[str, dict[str, str]] = {}
    for i in range(0, len(fields) - 2, 3):
        path = fields[i].decode("utf-8", errors="surrogateescape")
        attrs.setdefault(path, {})[fields[i + 1].decode()] = fields[i + 2].decode("utf-8", errors="replace")
    return attrs


def attributes(root: Path, paths: Iterable[str], rev: str | None) -> dict[str, dict[str, str]]:
    """:data:`CONTENT_ATTRS` of each path (relative to ``root``) as the revision ``rev`` defines them, or as the
    work tree does when ``rev`` is None. Values are git's: ``set``, ``unset``, ``unspecified`` or a value."""
    names = list(paths)
    if not names:
        return {}
    stdin = b"".join(os.fsencode(p) + b"\0" for p in names)
    if rev is None:
        return _parse(git.run_git_bytes(root, "check-attr", "-z", "--stdin", *CONTENT_ATTRS, input=stdin))
    sha = git.resolve_ref(root, rev)
    with tempfile.TemporaryDirectory(prefix="infra-orch-attrs-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git.run_git_bytes(root, "read-tree", sha, env=env)
        out = git.run_git_bytes(root, "check-attr", "--cached", "-z", "--stdin", *CONTENT_ATTRS, input=stdin, env=env)
    return _parse(out)


def _worktree_files(root: Path) -> list[str]:
    return [p for p in git.run_git(root, "ls-files", "-z", "--cached", "--others",
                                   "--exclude-per-directory=.gitignore").split("\0") if p]


def touches_attributes(changes: ChangeSet) -> bool:
    """Whether the change adds, edits, removes or renames a ``.gitattributes`` file."""
    return any(Path(p).name == ".gitattributes" for f in changes.files for p in (f.path, f.old_path) if p)


def _describe(before: dict[str, str], after: dict[str, str]) -> str:
    return ", ".join(f"{a}: {before.get(a, 'unspecified')} -> {after.get(a, 'unspecified')}"
                     for a in CONTENT_ATTRS if before.get(a, "unspecified") != after.get(a, "unspecified"))


def attribute_findings(root: Path, changes: ChangeSet, base_rev: str, head_rev: str | None,
                       bounds: Boundaries) -> list[Finding]:
    """Phase III findings for protected (and ``needs_approval``) files whose content attributes the change's
    ``.gitattributes`` edits change; ``head_rev`` None means the work tree. Empty when no ``.gitattributes``
    is touched."""
    if not touches_attributes(changes) or not bounds.defined:
        return []
    files = set(tree_entries(root, base_rev)) | (set(tree_entries(root, head_rev)) if head_rev
                                                  else set(_worktree_files(root)))
    guarded = sorted(p for p in files if bounds.classify(p) in ("protected", "needs_approval"))
    before, after = attributes(root, guarded, base_rev), attributes(root, guarded, head_rev)
    changed = [(p, what) for p in guarded if (what := _describe(before.get(p, {}), after.get(p, {})))]
    source = next(p for f in changes.files for p in (f.path, f.old_path) if p and Path(p).name == ".gitattributes")
    findings = []
    for path, what in changed[:MAX_NAMED]:
        zone = bounds.classify(path)
        findings.append(_finding(path, what, source, zone))
    if len(changed) > MAX_NAMED:
        rest = len(changed) - MAX_NAMED
        findings.append(Finding(
            check_id=PROTECTED, severity=Severity.critical, category=Category.phase3, file=source,
            message=f"{source}: changes the checkout attributes of {rest} more Phase III file(s) "
            f"(the first {MAX_NAMED} are named separately)",
            remediation="Scope the .gitattributes edit to infrastructure files; leave Phase III paths as they are."))
    return findings


def _finding(path: str, what: str, source: str, zone: str) -> Finding:
    message = (f"{path}: the .gitattributes edit in this change ({source}) changes how it is checked out or "
               f"exported ({what})")
    remediation = f"Revert the .gitattributes lines that match {path}, or scope them to infrastructure files."
    if zone == "protected":
        return Finding(check_id=PROTECTED, severity=Severity.critical, category=Category.phase3, file=path,
                       message=message + "; it is Phase III code, which is immutable for infrastructure work",
                       remediation=remediation)
    return Finding(check_id=NEEDS_APPROVAL, severity=Severity.medium, category=Category.phase3, file=path,
                   message=message + "; it is Phase III build configuration, which may change only with approval",
                   remediation=remediation,
                   question=f"{path} is build configuration of Phase III and the change alters its checkout "
                   f"attributes ({what}): approve this as infrastructure-only? [y/N]")
