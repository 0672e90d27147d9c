"""The shapes every command exchanges: severities, findings, Kubernetes objects, change sets and requests.

Import them from :mod:`core.models`, the one public place for every domain model; they are defined here, apart
from the shapes of a decision (:mod:`core.decisions`), so that a lint-style ``check`` builds only these.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


class Severity(str, Enum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self.value]

    def at_least(self, other: Severity | str) -> bool:
        return self.rank >= Severity(other).rank


_SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class Category(str, Enum):
    security = "security"
    scalability = "scalability"
    observability = "observability"
    phase3 = "phase3"
    workflow = "workflow"
    schema = "schema"


class Outcome(str, Enum):
    approved = "APPROVED"
    rejected = "REJECTED"
    clarification = "REQUIRES CLARIFICATION"

    @property
    def rank(self) -> int:
        return {"APPROVED": 0, "REQUIRES CLARIFICATION": 1, "REJECTED": 2}[self.value]

    @property
    def exit_code(self) -> int:
        return {"APPROVED": 0, "REJECTED": 1, "REQUIRES CLARIFICATION": 3}[self.value]

    @staticmethod
    def worst(*outcomes: Outcome) -> Outcome:
        return max(outcomes, key=lambda o: o.rank, default=Outcome.approved)


_SHARED_FIELD_SETS: dict[frozenset[str], set[str]] = {}
_MAX_SHARED_FIELD_SETS = 4096


def _shared_fields_set(fields: set[str]) -> set[str]:
    """One set object for every model whose explicitly set fields are ``fields`` (past the limit: ``fields``)."""
    key = frozenset(fields)
    found = _SHARED_FIELD_SETS.get(key)
    if found is None:
        if len(_SHARED_FIELD_SETS) >= _MAX_SHARED_FIELD_SETS:
            return fields
        found = _SHARED_FIELD_SETS[key] = set(key)
    return found


class Lean(BaseModel):
    """A model whose record of explicitly set fields (pydantic's ``model_fields_set``, a set of 700 bytes per
    instance) is one set shared by every instance with the same fields set: a scan holds 100k objects and
    50k findings. The shared set is never changed in place: assigning a field not yet set, and ``model_copy``
    with ``update``, give the instance (again) the shared set of its new fields."""

    def model_post_init(self, context: Any, /) -> None:
        object.__setattr__(self, "__pydantic_fields_set__", _shared_fields_set(self.__pydantic_fields_set__))

    def __setattr__(self, name: str, value: Any) -> None:
        fields = self.__pydantic_fields_set__
        if name in fields or name not in type(self).__pydantic_fields__:
            super().__setattr__(name, value)
            return
        object.__setattr__(self, "__pydantic_fields_set__", set(fields))  # pydantic adds ``name`` to this copy
        try:
            super().__setattr__(name, value)
        finally:
            object.__setattr__(self, "__pydantic_fields_set__", _shared_fields_set(self.__pydantic_fields_set__))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)  # its own copy of the set, updated in place
        object.__setattr__(copied, "__pydantic_fields_set__", _shared_fields_set(copied.__pydantic_fields_set__))
        return copied


class ResourceRef(Lean):
    """Identifies a Kubernetes object (or nothing, for file-level findings)."""

    model_config = ConfigDict(frozen=True)

    api_version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None

    def label(self) -> str:
        if not self.kind:
            return ""
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name or '<unnamed>'}"


class Finding(Lean):
    """One observation about the change, produced by a check, the guard, a gate or an agent."""

    check_id: str
    severity: Severity
    category: Category
    message: str
    resource: ResourceRef = Field(default_factory=ResourceRef)
    file: str | None = None
    line: int | None = None
    remediation: str | None = None
    source: str = "deterministic"
    """Who produced it: ``deterministic`` (a tool), or an agent name such as ``agent:security``."""
    question: str | None = None
    """A finding with a question cannot be decided by the tool: the decision needs a human answer."""
    suppressed: bool = False
    suppression_reason: str | None = None
    field: str | None = None
    """The field the finding is about, from the object's root: ``spec.template.spec.containers[1].image``."""
    column: int | None = None
    """1-based column of ``line`` where the field (or, for a missing field, its closest parent) starts."""
    object_line: int | None = None
    """The line the object starts on (``line`` is the field's)."""

    def location(self) -> str:
        if not self.file:
            return ""
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"

    def sort_key(self) -> tuple:
        return (-self.severity.rank, self.category.value, self.file or "", self.line or 0, self.check_id)


class FileChange(BaseModel):
    """One path touched by the change, with git's view of what happened to it."""

    path: str
    status: Literal["added", "modified", "deleted", "renamed", "copied", "type_changed", "mode_changed", "unknown"]
    old_path: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    is_symlink: bool = False
    symlink_target: str | None = None
    is_submodule: bool = False
    is_binary: bool = False


class ChangeSet(BaseModel):
    """The set of files the request is about."""

    mode: Literal["git-range", "git-worktree", "directory", "paths"]
    base: str | None = None
    head: str | None = None
    files: list[FileChange] = Field(default_factory=list)

    def paths(self) -> list[str]:
        out: list[str] = []
        for f in self.files:
            out.append(f.path)
            if f.old_path and f.old_path != f.path:
                out.append(f.old_path)
        return out


class FieldMarks(Mapping[str, tuple[int, int]]):
    """An object's field marks (path -> 1-based ``(line, column)`` in its file, as a dict would hold them), kept
    as a ``layout`` of positions relative to the object's first line, which objects of the same shape share,
    plus that line (``start``). Read-only; serialised, compared and copied as the dict it stands for."""

    __slots__ = ("layout", "start")

    def __init__(self, layout: dict[str, tuple[int, int]], start: int) -> None:
        self.layout = layout
        self.start = start

    def __getitem__(self, path: str) -> tuple[int, int]:
        line, column = self.layout[path]
        return line + self.start, column

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        found = self.layout.get(path)
        return default if found is None else (found[0] + self.start, found[1])

    def __contains__(self, path: object) -> bool:
        return path in self.layout

    def __iter__(self) -> Iterator[str]:
        return iter(self.layout)

    def __len__(self) -> int:
        return len(self.layout)

    def __repr__(self) -> str:
        return repr(dict(self))

    def __copy__(self) -> FieldMarks:
        return self

    def __deepcopy__(self, memo: dict) -> FieldMarks:
        return self

    def __reduce__(self) -> tuple:
        return dict, (dict(self),)


def _marks_as_dict(marks: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return marks if type(marks) is dict else dict(marks)


_MARKS_AS_DICT = PlainSerializer(_marks_as_dict, return_type=dict[str, tuple[int, int]])


class K8sObject(Lean):
    """A Kubernetes object as loaded (or rendered) from a file, with a pointer back to its source."""

    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str | None = None
    file: str
    line: int = 1
    doc_index: int = 0
    body: dict[str, Any]
    rendered_from: str | None = None
    """For objects produced by Helm/Kustomize: the template file they came from."""
    values_lines: dict[str, str] = Field(default_factory=dict)
    """For Helm-rendered objects: ``env:<container>:<NAME>`` / ``image:<container>`` -> ``file:line:path`` of the
    values line that set the rendered value (see ``tools.rendering.at_values_lines``)."""
    marks: Annotated[dict[str, tuple[int, int]], _MARKS_AS_DICT] = Field(default_factory=dict, repr=False)
    """Field path -> 1-based (line, column) in ``file`` of every key and sequence item (``tools.fieldpath``); a
    loaded object holds them as :class:`FieldMarks` (a read-only mapping), a validated one as a dict."""
    value_sources: dict[str, str] = Field(default_factory=dict, repr=False)
    """Helm: field path -> the values file line(s) that set it (``.Values.image.tag at chart/values.yaml:7``)."""

    def ref(self) -> ResourceRef:
        """The object's reference; one instance (frozen) for all the findings about the object that are alive."""
        key = (self.api_version or None, self.kind or None, self.namespace, self.name or None)
        found = _REFS.get(key)
        if found is None:
            found = _REFS[key] = ResourceRef(api_version=key[0], kind=key[1], namespace=key[2], name=key[3])
        return found


_REFS: weakref.WeakValueDictionary[tuple[str | None, ...], ResourceRef] = weakref.WeakValueDictionary()


class ChangeRequest(BaseModel):
    """Validate a change: a git range or work tree, or a set of paths, plus a sentence of intent."""

    kind: Literal["change"] = "change"
    workspace: str
    base: str | None = None
    head: str | None = None
    worktree: bool = False
    """Review staged, unstaged and untracked changes against HEAD."""
    paths: list[str] = Field(default_factory=list)
    intent: str = ""


class StageRequest(BaseModel):
    """Approve a stage transition of a feature under ``specs/NNN-name/``."""

    kind: Literal["stage"] = "stage"
    workspace: str
    feature: str
    target: str
    intent: str = ""
