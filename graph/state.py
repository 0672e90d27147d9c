"""Graph state: plain JSON-able data only (pydantic models are dumped), so checkpoints stay portable."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from agents.llm.base import OfflineProvider, Provider


def merge_dicts(left: dict, right: dict) -> dict:
    return {**(left or {}), **(right or {})}


class ReviewState(TypedDict, total=False):
    request: dict[str, Any]
    """ChangeRequest or StageRequest, dumped."""
    config: dict[str, Any]
    config_path: str | None
    changes: dict[str, Any]
    scope: list[str]
    scope_note: str
    objects: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    stage: dict[str, Any] | None
    plan: dict[str, Any]
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    answers: dict[str, str]
    decision: dict[str, Any]
    rendered: str
    timings_ms: Annotated[dict[str, float], merge_dicts]


class SpecialistTask(TypedDict):
    """The private input of one specialist branch (a ``Send`` payload)."""

    agent: str
    payload: dict[str, Any]


@dataclass
class GraphContext:
    """Run-scoped dependencies injected by the front-end (never checkpointed)."""

    provider: Provider = field(default_factory=OfflineProvider)
    progress: Callable[[str], None] | None = None
    interactive: bool = False
    """True when a person can answer questions: ``merge`` then pauses with ``interrupt()`` instead of deciding."""
    record: bool = True
    """False keeps the ``record`` node from appending to the approval ledger (graph/record.py)."""
