"""Changes to the policy itself: flagged, never auto-approved, and rejected when the change relies on them.

* ``POLICY-CHANGE`` (high, phase3, with a question): the change edits a file the rules come from
  (:data:`POLICY_FILES`: the configuration, ``phase3.lock``, CODEOWNERS, Claude Code settings, the approval
  ledger unless it only appends, any ``.gitattributes``). A person must approve it; the change is still judged
  by the trusted (base) policy.
* ``POLICY-WEAKENED-AND-USED`` (critical, phase3: never overridable): the edit weakens the policy
  (:mod:`tools.policy_weaken`, or the lock re-frozen or deleted) *and* the change's other edits are judged
  differently because of it.
* ``.gitattributes`` edits that alter how protected files are checked out count as touching them
  (:mod:`tools.git_attrs`).
* Suppression annotations the change adds are not honoured (:func:`unhonoured_suppressions`).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from core import confine
from core.config import CONFIG_FILENAME, Config
from core.errors import InputError
from core.models import ChangeSet, Finding, K8sObject
from core.yamlsafe import depth_exceeds
from tools.catalog import finding
from tools.git_attrs import attribute_findings
from tools.layout import Boundaries
from tools.lock import lock_diff_at
from tools.policy_source import LOCK_FILENAME, TrustedPolicy, head_policy, read_policy_blob
from tools.policy_weaken import Weakening, changed_fields, relied_on, weakenings
from tools.suppress import annotation_sets

POLICY_CHANGE = "POLICY-CHANGE"
WEAKENED = "POLICY-WEAKENED-AND-USED"
LEDGER = "history/approvals/ledger.jsonl"
POLICY_FILES = {
    CONFIG_FILENAME: "the configuration",
    LOCK_FILENAME: "the Phase III lock",
    "CODEOWNERS": "the code owners", ".github/CODEOWNERS": "the code owners",
    "docs/CODEOWNERS": "the code owners", ".gitlab/CODEOWNERS": "the code owners",
    ".claude/settings.json": "the Claude Code settings (the guard hook)",
    ".claude/settings.local.json": "the Claude Code settings (the guard hook)",
    LEDGER: "the approval ledger",
}
"""Workspace-relative path -> what it is. Any file named ``.gitattributes`` is one too."""


def policy_file_kind(path: str, extra: tuple[str, ...] = ()) -> str | None:
    """What policy file ``path`` is, or None. ``extra``: more paths (an in-repository ``--config``)."""
    if path in POLICY_FILES:
        return POLICY_FILES[path]
    if PurePosixPath(path).name == ".gitattributes":
        return "git attributes"
    if path in extra:
        return "the configuration named by --config"
    return None


def _key_line(text: str | None, dotted: str) -> int | None:
    """The 1-based line of the key ``dotted`` (or of its nearest present parent) in YAML ``text``."""
    if not text or depth_exceeds(text):
        return None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = None
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line


def _is_append(root: Path, policy: TrustedPolicy, head_rev: str | None, path: str) -> bool:
    """True when ``path`` at the head only appends to its base content (a ledger growing by new records)."""
    if policy.rev is None:
        return False
    try:
        before = read_policy_blob(root, policy.rev, path)
        after = read_policy_blob(root, head_rev, path) if head_rev else confine.read_text_file(root / path, root=root)
    except (OSError, UnicodeDecodeError, InputError):
        return False
    return before is not None and after is not None and after.startswith(before) and after != before


def _weakened(path: str, line: int | None, field: str, detail: str, reason: str) -> Finding:
    return finding(
        WEAKENED, file=path, line=line,
        message=f"{path}: {field} {detail}, and this change relies on it: {reason}. The rules that judge a change "
        "cannot come from the change; it is judged by the base policy",
        remediation=f"Revert the edit of {field} in {path}, or land the policy change on its own and have it "
        "approved before the changes that rely on it.",
    )


def _policy_change(path: str, kind: str, notes: list[str], line: int | None = None) -> Finding:
    what = f" ({'; '.join(notes)})" if notes else ""
    return finding(
        POLICY_CHANGE, file=path, line=line,
        message=f"{path}: the change edits {kind}{what}; the change is judged by the base policy, and a policy "
        "change needs explicit approval",
        remediation=f"Have the edit of {path} approved by a policy owner, or move it to a change of its own.",
        question=f"The change edits {kind} ({path}){what}: approve this policy change? [y/N]",
    )


def _config_findings(policy: TrustedPolicy, head, paths: list[str], live: list[str],
                     findings: list[Finding]) -> list[Finding]:
    base: Config = policy.base_config or Config()
    if head.config is None:
        return [_policy_change(CONFIG_FILENAME, POLICY_FILES[CONFIG_FILENAME],
                               [f"the edited file does not load: {head.error}"])]
    notes, out = [], []
    for w in weakenings(base, head.config):
        reason = relied_on(w, base, head.config, paths, live, findings)
        if reason:
            out.append(_weakened(CONFIG_FILENAME, _key_line(head.config_text, w.field), w.field, w.detail, reason))
        else:
            notes.append(f"weakens {w.field}: {w.detail}")
    weak = {w.field for w in weakenings(base, head.config)}
    other = [f for f in changed_fields(base, head.config) if not any(f == w or f.startswith(w + ".") for w in weak)]
    if other:
        notes.append(f"also changes {', '.join(other[:8])}")
    if out:
        return out
    if not notes:
        notes.append("no field changes its value")
    first = next((w.field for w in weakenings(base, head.config)), other[0] if other else "")
    return [_policy_change(CONFIG_FILENAME, POLICY_FILES[CONFIG_FILENAME], notes,
                           _key_line(head.config_text, first) if first else None)]


def _lock_findings(root: Path, policy: TrustedPolicy, head, head_rev: str | None) -> list[Finding]:
    kind = POLICY_FILES[LOCK_FILENAME]
    if policy.lock_text is None:
        return [_policy_change(LOCK_FILENAME, kind, ["adds a lock: the base had none"])]
    what = "deleted" if head.lock_text is None else "re-frozen" if head.lock_text != policy.lock_text else None
    if what is None:
        return []
    try:
        diff = lock_diff_at(root, policy.lock_text, head_rev)
    except InputError:
        return [_policy_change(LOCK_FILENAME, kind, [f"{what}; the base lock does not parse"])]
    if diff.clean:
        return [_policy_change(LOCK_FILENAME, kind, [what])]
    lines = diff.lines()
    reason = f"the base lock records {len(lines)} protected difference(s) at the head ({'; '.join(lines[:3])})"
    return [_weakened(LOCK_FILENAME, None, LOCK_FILENAME, f"is {what}", reason)]


def policy_changes(changes: ChangeSet, root: Path, policy: TrustedPolicy, head_rev: str | None = None,
                   findings: list[Finding] | None = None, extra_files: tuple[str, ...] = ()) -> list[Finding]:
    """The policy findings of ``changes``: ``POLICY-CHANGE``, ``POLICY-WEAKENED-AND-USED`` and the
    ``.gitattributes`` findings, sorted by file.

    Give it the WHOLE change set (not one narrowed by ``--path``). ``head_rev`` is the reviewed head commit
    for a git range, None when the head is the work tree. ``findings`` are the change's deterministic
    findings under ``policy`` (used to tell whether a check-level weakening is relied on); ``extra_files`` are
    more policy files (an in-repository ``--config``)."""
    if changes.mode == "directory":
        return []
    head_rev = head_rev if changes.mode == "git-range" else None
    paths = changes.paths()
    live = [f.path for f in changes.files if f.status != "deleted"]
    touched = list(dict.fromkeys(p for p in paths if policy_file_kind(p, extra_files)))
    touched = [p for p in touched if not (p == LEDGER and _is_append(root, policy, head_rev, p))]
    out: list[Finding] = []
    head = head_policy(root, head_rev) if touched and policy.rev else None
    for path in touched:
        kind = policy_file_kind(path, extra_files) or ""
        if head is not None and path == CONFIG_FILENAME:
            out += _config_findings(policy, head, paths, live, findings or [])
        elif head is not None and path == LOCK_FILENAME:
            out += _lock_findings(root, policy, head, head_rev)
        else:
            note = [] if policy.rev else [f"policy: {policy.source}"]
            out.append(_policy_change(path, kind, note))
    if policy.rev:
        out += attribute_findings(root, changes, policy.rev, head_rev, Boundaries.from_config(policy.config.phase3))
    return sorted(out, key=lambda f: (f.file or "", f.check_id))


def weakening_table() -> list[tuple[str, str]]:
    """(field, weaker direction) rows, for the docs."""
    from tools.policy_weaken import WEAKER

    return [(field, direction) for field, direction, _ in WEAKER]


def _object_key(obj: K8sObject) -> tuple:
    return obj.kind, obj.namespace or "", obj.name


def _annotation(obj: K8sObject, key: str) -> str | None:
    return next((found[key] for found in annotation_sets(obj) if key in found), None)


def unhonoured_suppressions(findings: list[Finding], head_objects: list[K8sObject], base_objects: list[K8sObject],
                            changed_files: set[str]) -> list[Finding]:
    """``findings`` with every suppression the change itself adds lifted (``suppressed=False``), so it counts.

    A suppression is honoured when its object's file is not changed, or the object existed at the base with the
    same annotation value. ``base_objects`` are the changed files' objects at the base (rendered ones
    included, from a snapshot of the base)."""
    heads = {(o.file, *_object_key(o)): o for o in head_objects}
    bases = {_object_key(o): o for o in base_objects}
    out = []
    for f in findings:
        if not f.suppressed or f.file not in changed_files or not f.suppression_reason:
            out.append(f)
            continue
        key = f.suppression_reason.split(": ", 1)[0]
        ref = (f.file, f.resource.kind, f.resource.namespace or "", f.resource.name)
        head_obj = heads.get(ref)
        base_obj = bases.get(ref[1:])
        now = _annotation(head_obj, key) if head_obj else None
        if base_obj is not None and now is not None and _annotation(base_obj, key) == now:
            out.append(f)
            continue
        out.append(f.model_copy(update={
            "suppressed": False, "suppression_reason": None,
            "message": f"{f.message} (the suppression `{key}` is added by this change and is not honoured: "
            "suppressions take effect once they are in the base)"}))
    return out


__all__ = ["POLICY_CHANGE", "POLICY_FILES", "WEAKENED", "Weakening", "policy_changes", "policy_file_kind",
           "unhonoured_suppressions", "weakening_table"]
