"""The shapes every command exchanges: severities, findings, Kubernetes objects, change sets and requests.

Import them from :mod:`core.models`, the one public place for every domain model; they are defined here, apart
from the shapes of a decision (:mod:`core.decisions`), so that a lint-style ``check`` builds only these.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class ResourceRef(BaseModel):
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


class Finding(BaseModel):
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


class K8sObject(BaseModel):
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
    marks: dict[str, tuple[int, int]] = Field(default_factory=dict, repr=False)
    """Field path -> 1-based (line, column) in ``file`` of every key and sequence item (``tools.fieldpath``)."""
    value_sources: dict[str, str] = Field(default_factory=dict, repr=False)
    """Helm: field path -> the values file line(s) that set it (``.Values.image.tag at chart/values.yaml:7``)."""

    def ref(self) -> ResourceRef:
        return ResourceRef(api_version=self.api_version or None, kind=self.kind or None,
                           namespace=self.namespace, name=self.name or None)


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
