"""Reviews under the trusted policy through the production path: the graph, offline.

:func:`review_trusted` resolves the policy the way every front-end does (:func:`tools.policy_source.resolve_policy`
with the request's base and an explicit environment) and runs the whole graph with it, so the tests exercise the
engine's wiring: the whole change behind ``--path`` guarded, the base's ``phase3.lock``, lifted suppressions and
policy-change findings.
"""

from __future__ import annotations

from pathlib import Path

from core.models import ChangeRequest, Decision
from graph.runner import decide
from tools.policy_source import TrustedPolicy, request_base, resolve_policy


def review_trusted(root: Path, *, env: dict[str, str] | None = None, operator_config: Path | None = None,
                   **request) -> tuple[Decision, TrustedPolicy]:
    req = ChangeRequest(workspace=str(root), **request)
    policy = resolve_policy(root, request_base(req), operator_config, env or {})
    return decide(req, config=policy.config, config_path=policy.source, policy=policy, record=False), policy
