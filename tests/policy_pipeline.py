"""The deterministic review with the trusted-policy mechanism applied, composed as the engine composes it.

:func:`review_trusted` is the reference wiring of :mod:`tools.policy_source`, :mod:`tools.policy_changes` and
:mod:`tools.lock` into intake, the checks, the guard and the decision policy:

1. the trusted base is ``--base`` (a range) or ``HEAD`` (work tree, paths, directory in a repository);
2. the policy (config + lock) comes from that base, or from the operator's file;
3. the change set is taken whole; ``--path`` narrows only what is analysed and shown, the guard and the
   policy-change check see everything;
4. ``phase3.lock`` is the base's, compared with the reviewed head;
5. suppressions the change adds are lifted; policy edits are flagged.
"""

from __future__ import annotations

import os
from pathlib import Path

from agents.policy import MergeInput, decide
from core.models import ChangeRequest, Decision, DelegationPlan
from tools import analysis, git
from tools.guard import guard_change_set
from tools.lock import lock_findings_at
from tools.policy_changes import policy_changes, unhonoured_suppressions
from tools.policy_source import TrustedPolicy, resolve_policy, trusted_base


def _full_changes(req: ChangeRequest, root: Path):
    if req.worktree:
        return git.change_set_from_worktree(root)
    if req.base or req.head:
        return git.change_set_from_range(root, req.base or "HEAD", req.head)
    return analysis.change_set_for(req, root)


def trusted_findings(req: ChangeRequest, root: Path, policy: TrustedPolicy) -> tuple[list, object, object]:
    config = policy.config
    head_rev = git.resolve_ref(root, req.head or "HEAD") if req.base or req.head else None
    collected = analysis.collect(req, root, config)
    findings = [f for f in analysis.deterministic_findings(req, collected, config)
                if not f.check_id.startswith("PHASE3-LOCK")]
    findings += lock_findings_at(root, policy.lock_text, head_rev, config.phase3)
    full = _full_changes(req, root)
    if req.paths and full.mode != "paths":
        seen = {(f.check_id, f.file) for f in findings}
        findings += [f for f in guard_change_set(full, config.phase3, os.path.realpath(root))
                     if (f.check_id, f.file) not in seen]
    if full.mode in ("git-range", "git-worktree") and full.base:
        base_objs = analysis.base_objects(root, full, config)
        findings = unhonoured_suppressions(findings, collected.objects, base_objs, set(full.paths()))
    findings += policy_changes(full, root, policy, head_rev, findings)
    return findings, collected, full


def review_trusted(root: Path, *, env: dict[str, str] | None = None, operator_config: Path | None = None,
                   **request) -> tuple[Decision, TrustedPolicy]:
    req = ChangeRequest(workspace=str(root), **request)
    policy = resolve_policy(root, trusted_base(root, req.base), operator_config, env or {})
    findings, collected, full = trusted_findings(req, root, policy)
    decision = decide(MergeInput(
        kind="change", intent="", findings=findings, verdicts=[], plan=DelegationPlan(specialists=[]),
        policy=policy.config.policy, changed_paths=full.paths(), object_count=len(collected.objects),
        change_mode=full.mode))
    return decision, policy
