"""The ``record`` node: append the rendered decision to the repository's approval ledger.

It records only when the run allows it (``GraphContext.record``) **and** the workspace already has a
``history/approvals/`` directory: a repository opts in once (``stage approve --record`` creates it), so
tests and read-only reviews never write into a repository that did not ask for a ledger.
"""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from core.models import StageRequest
from graph.state import GraphContext, ReviewState, View
from tools import ledger
from tools.workflow import judged_artifacts


def _subject_and_paths(view: View, root: Path) -> tuple[dict, list[Path]]:
    """What the decision was about and the files it judged (a stage's artifacts; a change's files in scope)."""
    req, stage = view.request, view.stage
    if isinstance(req, StageRequest) and stage is not None:
        return ({"feature": stage.feature, "target": stage.target},
                judged_artifacts(root, root / (stage.feature_dir or f"specs/{stage.feature}"), stage.target))
    changes = view.changes
    subject = {"mode": changes.mode, "base": changes.base, "head": changes.head, "paths": len(changes.files),
               "intent": req.intent}
    return subject, [root / p for p in view.state.get("scope", [])]


def record(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """Append the decision to ``history/approvals/ledger.jsonl`` (no state update: the ledger is the output)."""
    view = View(state)
    root = Path(view.request.workspace)
    if not (runtime.context and runtime.context.record and (root / ledger.LEDGER_DIR).is_dir()):
        return {}
    subject, paths = _subject_and_paths(view, root)
    entry = ledger.entry_for(view.decision, subject, ledger.file_digests(root, paths), view.config.digest())
    ledger.append(root, entry)
    return {}
