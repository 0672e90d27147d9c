"""Domain models: the one place where the shapes exchanged by every layer are defined.

Everything here is pydantic v2 and JSON-able; graph state stores ``model_dump(mode="json")``
of these so checkpoints stay portable.

Import every model from here. They are defined in two modules: the shapes every command needs (severities,
findings, objects, change sets, requests) in :mod:`core.base_models`, imported at once; the shapes of a decision
(:class:`Decision`, :class:`AgentVerdict`, :class:`Conflict`, :class:`Claim`...) in :mod:`core.decisions`,
imported on first access of one of their names, so a lint-style ``check``, which decides nothing, does not build
them at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.base_models import (
    Category,
    ChangeRequest,
    ChangeSet,
    FieldMarks,
    FileChange,
    Finding,
    K8sObject,
    Outcome,
    ResourceRef,
    Severity,
    StageRequest,
)

if TYPE_CHECKING:
    from core.decisions import (
        AgentVerdict,
        Claim,
        Conflict,
        Decision,
        DecisionMetadata,
        DelegationPlan,
        Evidence,
        SummaryStatus,
    )

__all__ = ["AgentVerdict", "Category", "ChangeRequest", "ChangeSet", "Claim", "Conflict", "Decision",
           "DecisionMetadata", "DelegationPlan", "Evidence", "FieldMarks", "FileChange", "Finding", "K8sObject", "Outcome",
           "ResourceRef", "Severity", "StageRequest", "SummaryStatus"]

_DECISIONS = frozenset({"AgentVerdict", "Claim", "Conflict", "Decision", "DecisionMetadata", "DelegationPlan",
                        "Evidence", "SummaryStatus"})
"""Names re-exported from :mod:`core.decisions` on first access (:func:`__getattr__`)."""


def __getattr__(name: str) -> Any:
    if name in _DECISIONS:
        from core import decisions

        value = getattr(decisions, name)
        globals()[name] = value  # once: later lookups are plain attribute reads
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_DECISIONS})
