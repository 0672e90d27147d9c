"""Catalog entries of the Phase III guard, the freeze lock and the decision policy: never deselected or suppressed."""

from __future__ import annotations

from core.models import Category, Severity
from tools.catalog.entry import Entry


def _phase3(id: str, severity: Severity, title: str, description: str, remediation: str, source: str,
            **extra) -> Entry:
    return Entry(id=id, category=Category.phase3, severity=severity, title=title, description=description,
                 remediation=remediation, family="phase3", source=source, disable=False, suppress=False, **extra)


ENTRIES: tuple[Entry, ...] = (
    _phase3("PHASE3-PROTECTED-MODIFIED", Severity.critical, "Protected Phase III code modified",
            "The change adds, modifies, deletes or renames a path matched by `phase3.protected` (and not by "
            "`phase3.allowed`). Phase III code is immutable for infrastructure work: the decision is REJECTED, "
            "whatever the agents or annotations say.",
            "Revert the change so the file matches the Phase III baseline; keep infrastructure changes outside "
            "the protected paths.", "tools/guard.py"),
    _phase3("PHASE3-SYMLINK-INTO-PROTECTED", Severity.critical, "Symlink into protected Phase III code",
            "A new or changed symlink points at a protected file, a protected directory, or a directory that "
            "holds protected code: writes through it would modify Phase III code.",
            "Remove the symlink or point it outside the Phase III paths.", "tools/guard.py"),
    _phase3("PHASE3-NEEDS-APPROVAL", Severity.medium, "Phase III build configuration changed",
            "The change touches a path matched by `phase3.needs_approval` (build configuration such as "
            "`package.json`, `requirements.txt`, migrations). It may change only with explicit approval, so "
            "the finding asks a person; answering no turns it into `PHASE3-APPROVAL-DECLINED`.",
            "Confirm the change is infrastructure-only, or revert it.", "tools/guard.py"),
    _phase3("PHASE3-BOUNDARIES-UNDEFINED", Severity.medium, "Phase III boundaries not declared",
            "`phase3.protected` is empty, so changes to frozen application code cannot be detected; the "
            "finding asks whether to proceed without that protection.",
            "Declare the Phase III globs under `phase3.protected` in `.infra-orchestrator.yaml`, or run "
            "`infra-orchestrator guard init`.", "tools/guard.py"),
    _phase3("PHASE3-LOCK-MISMATCH", Severity.critical, "Protected file differs from phase3.lock",
            "A protected file was added, removed or changed since `phase3.lock` was frozen, whatever git "
            "history says.",
            "Restore the file to its frozen state (`infra-orchestrator guard verify` lists every difference); "
            "refreeze only when Phase III itself was deliberately re-released.", "tools/lock.py"),
    _phase3("PHASE3-LOCK-INVALID", Severity.high, "phase3.lock unreadable or out of date",
            "`phase3.lock` cannot be read, its digest does not match its entries, or it was frozen with other "
            "globs than the configuration declares (it is then verified with its own globs).",
            "Regenerate the lock with `infra-orchestrator guard freeze` once the boundaries are approved.",
            "tools/lock.py", severities=(Severity.medium,),
            variation="high when the lock cannot be read or fails its digest; medium when its globs differ from "
                      "the configuration's."),
    _phase3("PHASE3-APPROVAL-DECLINED", Severity.critical, "Approval declined by the person asked",
            "The person answered no to an approval question (a Phase III build-configuration change, a file "
            "that could not be analysed, ...): the change is rejected like a Phase III violation.",
            "Revert the change the question was about, or change it so no approval is needed.",
            "agents/policy.py"),
    _phase3("POLICY-CHANGE", Severity.high, "The change edits a policy file",
            "The change edits a file that holds the rules a change is judged by: `.infra-orchestrator.yaml`, "
            "`phase3.lock`, CODEOWNERS, `.claude/settings*.json`, the approval ledger (appends excepted) or a "
            "`.gitattributes`. The change is judged by the base revision's policy, and the edit itself needs "
            "explicit approval (the finding asks), like `needs_approval`.",
            "Have the policy edit approved by a policy owner, or land it as a change of its own.",
            "tools/policy_changes.py"),
    _phase3("POLICY-WEAKENED-AND-USED", Severity.critical, "The change weakens its own policy and relies on it",
            "The change weakens the policy (drops protected globs, adds `allowed` carve-outs or "
            "`checks.disabled`, raises `fail_on`, adds `exclude_paths`, narrows `kubernetes.paths`, re-freezes "
            "`phase3.lock`) and other edits of the same change would be judged differently under the weakened "
            "policy. Never overridable: the rules that judge a change do not come from the change.",
            "Revert the policy edit, or land it on its own and have it approved before the changes that rely on "
            "it.", "tools/policy_changes.py"),
)
