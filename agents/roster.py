"""The table of specialists: adding one is one entry here plus its prompt, ``prompts/<name>.md``.

Everything else reads this table: the supervisor's routing and mandatory rules, the scoping of each
specialist's input, the tool schemas a model answers with (``agents.llm.opinion``), the Agent Coordination
line and the graph's fan-out.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Category, Finding


@dataclass(frozen=True)
class Specialist:
    name: str
    """Its id in plans, verdicts and prompts (``prompts/<name>.md``)."""
    title: str
    primary: Category
    """The category of the findings it declares itself (a conflict it declares is filed under it)."""
    focus: str
    """What the supervisor asks it to look at by default."""
    also: frozenset[Category] = frozenset()
    """Further categories whose deterministic findings it reviews."""
    always_for: frozenset[str] = frozenset()
    """Request kinds (``change``, ``stage``) on which it is consulted whatever the supervisor plans."""
    sees_objects: bool = True
    """False for a path-level specialist: it sees changed paths and its findings, not object bodies."""

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset({self.primary}) | self.also

    def owns(self, finding: Finding) -> bool:
        return finding.category is self.primary or finding.category in self.also

    @property
    def prompt(self) -> str:
        return self.name


SPECIALISTS: dict[str, Specialist] = {
    s.name: s
    for s in (
        Specialist("security", "Security", Category.security,
                   "Pod security, RBAC, network exposure and secret handling of the objects in scope."),
        Specialist("scalability", "Scalability", Category.scalability,
                   "Resources, probes, replicas/HPA/PDB, wiring between objects, schema validity.",
                   also=frozenset({Category.schema})),
        Specialist("observability", "Observability", Category.observability,
                   "Labels, logging/metrics/tracing hooks, graceful shutdown, rollback and GitOps hygiene."),
        Specialist("phase3_guard", "Phase III guard", Category.phase3,
                   "Whether any changed path or the runtime contract affects frozen Phase III code.",
                   always_for=frozenset({"change"}), sees_objects=False),
    )
}
"""Every specialist, in the order plans list them and reports show them."""


def names() -> tuple[str, ...]:
    return tuple(SPECIALISTS)


def listing() -> str:
    """The specialists' names, each in backticks and comma-separated, as the supervisor's prompt lists them."""
    return ", ".join(f"`{n}`" for n in SPECIALISTS)
