"""Graph state: plain JSON-able data (pydantic models are dumped), so checkpoints stay portable.

Nodes never read a channel by hand: :class:`View` validates each channel back into its model, and :func:`dump`
turns models into a state update. Nothing is parsed from strings.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypedDict, TypeVar, overload

from pydantic import BaseModel, Field, TypeAdapter

from agents.llm.base import OfflineProvider, Provider, Reconciliation
from agents.roster import SPECIALISTS
from core.config import Config
from core.models import (
    AgentVerdict,
    ChangeRequest,
    ChangeSet,
    Decision,
    DelegationPlan,
    Finding,
    K8sObject,
    StageRequest,
)
from tools.engine import Collected
from tools.policy_source import TrustedPolicy
from tools.workflow import TransitionResult

T = TypeVar("T")


def merge_dicts(left: dict, right: dict) -> dict:
    return {**(left or {}), **(right or {})}


class ReviewState(TypedDict, total=False):
    request: dict[str, Any]
    """ChangeRequest or StageRequest, dumped."""
    config: dict[str, Any]
    config_path: str | None
    policy: dict[str, Any]
    """Where the config came from (:meth:`tools.policy_source.TrustedPolicy.reference`)."""
    changes: dict[str, Any]
    scope: list[str]
    scope_note: str
    objects: list[dict[str, Any]]
    dockerfiles: dict[str, str]
    context: list[dict[str, Any]]
    """Objects of unchanged manifests, for cross-object checks (``Collected.context``)."""
    full_changes: dict[str, Any] | None
    """The whole change behind a ``--path`` (``Collected.full_changes``)."""
    findings: list[dict[str, Any]]
    stage: dict[str, Any] | None
    contract: list[dict[str, Any]] | None
    """The runtime contract the deterministic checks read (``agents.context.contract_rows``); None: not read."""
    plan: dict[str, Any]
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    """Every verdict of the run, both rounds (:attr:`View.verdicts` keeps each specialist's latest)."""
    reconciliations: list[dict[str, Any]]
    """The supervisor's reconciliations (reset by the supervisor node at the start of a run)."""
    answers: dict[str, str]
    decision: dict[str, Any]
    timings_ms: Annotated[dict[str, float], merge_dicts]


class SpecialistTask(TypedDict):
    """The private input of one specialist branch (a ``Send`` payload)."""

    agent: str
    payload: dict[str, Any]


class Channel(Generic[T]):
    """A state channel read back as ``T``: validated on first use, then cached on the view.

    LangGraph hands every node the same channel values until a node writes a new one, so the channel also keeps
    its latest ``(data, value)``: a later node reading the very same ``data`` object (``is``, never equality; the
    data is held, so its identity cannot be reused) gets the value without validating it again. Lists are
    handed out as copies; their models are shared, and nothing here modifies a model in place."""

    def __init__(self, model: Any, *, optional: bool = False, default: Any = None, key: str | None = None):
        self.adapter: TypeAdapter[T] = TypeAdapter(model)
        self.optional = optional
        self.default = default
        self.key = key
        self.latest: tuple[Any, Any] = (object(), None)

    def prime(self, data: Any, value: T) -> None:
        """``data`` is the dump of ``value``: a node reading it back gets ``value`` itself."""
        self.latest = (data, value)

    def read(self, data: Any) -> T:
        seen, value = self.latest
        if seen is not data:
            value = self.adapter.validate_python(data)
            self.latest = (data, value)
        return list(value) if isinstance(value, list) else value

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.key = self.key or name

    @overload
    def __get__(self, view: None, owner: type) -> Channel[T]: ...
    @overload
    def __get__(self, view: View, owner: type) -> T: ...

    def __get__(self, view, owner):
        if view is None:
            return self
        if self.name not in view.cache:
            data = view.state.get(self.key, self.default)
            view.cache[self.name] = None if data is None and self.optional else self.read(data)
        return view.cache[self.name]


class View:
    """The typed reading of a state: each channel validated back into its model once, on first use."""

    request: Channel[ChangeRequest | StageRequest] = Channel(
        Annotated[ChangeRequest | StageRequest, Field(discriminator="kind")])
    config: Channel[Config] = Channel(Config)
    changes: Channel[ChangeSet] = Channel(ChangeSet)
    objects: Channel[list[K8sObject]] = Channel(list[K8sObject], default=[])
    context_objects: Channel[list[K8sObject]] = Channel(list[K8sObject], default=[], key="context")
    findings: Channel[list[Finding]] = Channel(list[Finding], default=[])
    stage: Channel[TransitionResult | None] = Channel(TransitionResult, optional=True)
    plan: Channel[DelegationPlan] = Channel(DelegationPlan)
    all_verdicts: Channel[list[AgentVerdict]] = Channel(list[AgentVerdict], default=[], key="verdicts")
    reconciliations: Channel[list[Reconciliation]] = Channel(list[Reconciliation], default=[])
    decision: Channel[Decision | None] = Channel(Decision, optional=True)

    def __init__(self, state: ReviewState):
        self.state = state
        self.cache: dict[str, Any] = {}

    @property
    def verdicts(self) -> list[AgentVerdict]:
        """Each specialist's latest verdict (a follow-up answer replaces the first), in the roster's order."""
        latest: dict[str, AgentVerdict] = {}
        for v in self.all_verdicts:
            if v.agent not in latest or v.round >= latest[v.agent].round:
                latest[v.agent] = v
        order = {name: i for i, name in enumerate(SPECIALISTS)}
        return sorted(latest.values(), key=lambda v: order.get(v.agent, len(order)))

    @property
    def policy(self) -> TrustedPolicy | None:
        """The trusted policy the run was started with (None when a caller passed a bare config)."""
        ref = self.state.get("policy")
        return TrustedPolicy.restore(self.config, ref) if ref else None

    @property
    def collected(self) -> Collected:
        """What intake read (before ``deterministic`` replaces ``findings`` with every finding)."""
        data = {k: self.state[k] for k in Collected.model_fields if k in self.state}
        return Collected.model_validate({**data, "objects": self.objects, "context": self.context_objects})

    @property
    def reviewed_paths(self) -> list[str]:
        """The paths of the change; for a directory review (no change set), the files in scope."""
        return self.changes.paths() if self.changes.mode != "directory" else self.state.get("scope", [])


def dump_collected(collected: Collected) -> dict[str, Any]:
    """What intake read, as a state update. The objects' channels remember the models they were dumped from, so
    the next node reads back these very objects, which the engine's per-object reuse (``tools.memo``) knows."""
    update = dump(collected)
    View.objects.prime(update["objects"], collected.objects)
    View.context_objects.prime(update["context"], collected.context)
    return update


def dump(value: Any) -> Any:
    """A model (or a list or dict of models) as JSON-able data for a state update."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


@dataclass
class GraphContext:
    """Run-scoped dependencies injected by the front-end (never checkpointed)."""

    provider: Provider = field(default_factory=OfflineProvider)
    progress: Callable[[str], None] | None = None
    interactive: bool = False
    """True when a person can answer questions: ``merge`` then pauses with ``interrupt()`` instead of deciding."""
    record: bool = True
    """False keeps the ``record`` node from appending to the approval ledger (graph/record.py)."""
