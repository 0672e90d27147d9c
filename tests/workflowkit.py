"""What the stage-gate tests share: the bundled features' paths and lines, one stage's findings, a copy of the
``complete`` fixture."""

from __future__ import annotations

from pathlib import Path

from featurekit import copy_fixture

from core.config import WorkflowConfig
from tools.workflow import evaluate_stage

FEATURE = "specs/001-todo-k8s"
LEGACY_FEATURE = "specs/002-chat-api"
LEGACY_MARKER_LINE = 22
LEGACY_OPEN_ITEM_LINE = 12
DEFAULT = WorkflowConfig()


def stage(root: Path, name: str, feature: str = FEATURE) -> list:
    return evaluate_stage(root, root / feature, name)


def complete_repo(tmp_path: Path) -> Path:
    """A copy of the ``complete`` fixture (a feature that passes every gate)."""
    return copy_fixture("complete", tmp_path)
