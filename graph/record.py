"""The ``record`` node: append the rendered decision to the repository's approval ledger.

It records only when the run allows it (``GraphContext.record``) **and** the workspace already has a
``history/approvals/`` directory: a repository opts in once (``stage approve --record`` creates it), so
tests and read-only reviews never write into a repository that did not ask for a ledger.
"""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from core.config import Config
from core.models import Decision
from graph.state import GraphContext, ReviewState
from tools import ledger
from tools.workflow import judged_artifacts


def _subject_and_paths(state: ReviewState, root: Path) -> tuple[dict, list[Path]]:
    """What the decision was about and the files it judged (a stage's artifacts; a change's files in scope)."""
    req = state["request"]
    if req.get("kind") == "stage":
        feature, target = state["stage"]["feature"], state["stage"]["target"]
        feature_dir = root / (state["stage"].get("feature_dir") or f"specs/{feature}")
        return {"feature": feature, "target": target}, judged_artifacts(root, feature_dir, target)
    changes = state["changes"]
    subject = {"mode": changes["mode"], "base": changes.get("base"), "head": changes.get("head"),
               "paths": len(changes.get("files", [])), "intent": req.get("intent", "")}
    return subject, [root / p for p in state.get("scope", [])]


def record(state: ReviewState, runtime: Runtime[GraphContext]) -> dict:
    """Append the decision to ``history/approvals/ledger.jsonl`` (no state update: the ledger is the output)."""
    root = Path(state["request"]["workspace"])
    if not (runtime.context and runtime.context.record and (root / ledger.LEDGER_DIR).is_dir()):
        return {}
    subject, paths = _subject_and_paths(state, root)
    entry = ledger.entry_for(Decision.model_validate(state["decision"]), subject, ledger.file_digests(root, paths),
                             Config.model_validate(state["config"]).digest())
    ledger.append(root, entry)
    return {}
