"""One catalog entry: the metadata of a finding id (``CheckSpec`` of the registry extends it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from core.models import Category, Severity
from tools.suppress import peer_ids

Family = Literal["check", "engine", "phase3", "workflow", "agent"]
FAMILIES: dict[str, str] = {
    "check": "Checks of the registry (`tools/checks`): Kubernetes objects, Dockerfiles, base-to-head diffs.",
    "engine": "Engine findings: loading, rendering and schema validation of the inputs, chart values, and the "
              "runtime contract between the manifests and the Phase III app.",
    "phase3": "Phase III guard: frozen application code. Never disabled, never suppressed.",
    "workflow": "Spec-Kit Plus stage gates. They are configured under `workflow:` (`optional_stages`, "
                "`require_phr`), not under `checks:`.",
    "agent": "Findings the specialist agents add. The deterministic floor stands: an agent may add findings and "
             "escalate, never approve what the checks reject.",
}
PEER_TOOLS = ("kube-linter", "kube-score", "polaris", "checkov", "hadolint")
"""The peer tools whose ids entries list as aliases."""
ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")
"""What a finding id looks like (``SEC-PRIVILEGED``, ``WF-PLAN-EXISTS``)."""
DOCS_URL = "https://github.com/infra-orchestrator/infra-orchestrator/blob/main/docs/checks.md"
"""Where docs/checks.md is published: a SARIF rule's ``helpUri`` is this plus the id's anchor."""


@dataclass(frozen=True, kw_only=True)
class Entry:
    """Metadata of one finding id (or, with ``pattern``, of the ids starting with ``id`` minus its ``*``).

    ``severities``/``categories``: values the code may emit besides the defaults; ``variation`` says when.
    ``disable``: may be named in ``checks.disabled``/``checks.enabled``. ``suppress``: an annotation may suppress
    it. ``peers`` maps a peer tool (kube-linter, kube-score, polaris, checkov, hadolint) to its ids for the same
    concern, comma-separated; they are shown in the docs and read as suppression aliases. ``source``: the module
    that emits it.
    """

    id: str
    category: Category
    severity: Severity
    title: str
    description: str
    remediation: str
    family: Family = "check"
    source: str = ""
    peers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    disable: bool = True
    suppress: bool = True
    severities: tuple[Severity, ...] = ()
    categories: tuple[Category, ...] = ()
    variation: str = ""
    pattern: bool = False

    def peer_ids(self, tool: str) -> tuple[str, ...]:
        """The ids ``tool`` uses for this entry (empty when it has none)."""
        return tuple(peer_ids(self.peers, tool))

    def matches(self, check_id: str) -> bool:
        """Whether ``check_id`` is this entry's id (or, for a pattern, starts with its prefix)."""
        return check_id.startswith(self.id[:-1]) if self.pattern else check_id == self.id

    def allows(self, severity: Severity, category: Category) -> bool:
        """Whether the code may emit this id with ``severity`` and ``category``, as the entry documents."""
        any_severity = self.pattern and not self.severities
        any_category = self.pattern and not self.categories
        return ((any_severity or severity is self.severity or severity in self.severities)
                and (any_category or category is self.category or category in self.categories))

    def emitted_severities(self) -> tuple[Severity, ...]:
        """The default severity first, then the documented variations."""
        return (self.severity, *(s for s in self.severities if s is not self.severity))

    @property
    def anchor(self) -> str:
        """The GitHub anchor of the id's heading in docs/checks.md."""
        return re.sub(r"[^a-z0-9 _-]", "", self.id.lower()).replace(" ", "-")

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.anchor}"
