"""Spec-Kit Plus stage gates: deterministic checks that a feature under ``specs/NNN-name/`` finished a stage.

Layout, by concern:

- :mod:`.stages` — one record per stage (artifacts, started, gates, entry conditions, PHR names);
- :mod:`.gates` / :mod:`.gate` — every gate and the machinery that runs it (reject, ask or warn);
- :mod:`.markdown`, :mod:`.tasks`, :mod:`.artifacts`, :mod:`.report`, :mod:`.records` — reading the
  artifacts as the real tools write them (tasks, constitution, spec, plan, analyze reports, PHRs, ADRs);
- :mod:`.features` — which feature a request means; :mod:`.approvals` — the ledger and drift;
- :mod:`.transition` — the decision of a transition and the ``stage status`` table.

Findings are of category ``workflow``: severity ``high`` rejects, ``medium`` with a question asks (the real
command stops and asks), ``low`` warns. Unreadable files become findings, never tracebacks.
"""

from tools.workflow.approvals import StaleApproval, judged_artifacts, latest_approvals, stale_approvals
from tools.workflow.features import (
    DEFAULT_BRANCHES,
    FEATURE_JSON,
    current_branch,
    default_feature,
    feature_base,
    feature_from_branch,
    features,
    resolve_feature,
)
from tools.workflow.gate import CONSTITUTION_PATH, Gate, Hit
from tools.workflow.records import ADR_DIRS, Adr, list_adrs
from tools.workflow.stages import DONE, ENTRY_GATES, GATES, PHR_STAGES, STAGE, STAGE_TABLE, TARGETS, Stage
from tools.workflow.transition import (
    FeatureStatus,
    StageRow,
    TransitionResult,
    evaluate_stage,
    evaluate_transition,
    feature_status,
    stage_table,
)

__all__ = [
    "ADR_DIRS", "CONSTITUTION_PATH", "DEFAULT_BRANCHES", "DONE", "ENTRY_GATES", "FEATURE_JSON", "GATES", "PHR_STAGES",
    "STAGE", "STAGE_TABLE", "TARGETS", "Adr", "FeatureStatus", "Gate", "Hit", "Stage", "StageRow", "StaleApproval",
    "TransitionResult", "current_branch", "default_feature", "evaluate_stage", "evaluate_transition",
    "feature_base", "feature_from_branch", "feature_status", "features", "judged_artifacts", "latest_approvals",
    "list_adrs", "resolve_feature", "stage_table", "stale_approvals",
]
