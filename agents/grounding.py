"""Grounding: validate a subordinate agent's output against what it was shown, before it can count.

A finding an agent adds is kept only if it cites an object of its input (kind and name, and namespace when
given) or a file and line present in its input (an object's location, a deterministic finding's location, or
— for path-level agents — a changed path). A declared conflict must cite the same way, and be the agent's own
(one agent cannot declare a trade-off between two others). Everything else is dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.llm.base import SpecialistInput
from agents.roster import SPECIALISTS
from core.models import AgentVerdict, Conflict, Finding, ResourceRef


@dataclass(frozen=True)
class Evidence:
    """What a specialist's input lets it cite."""

    objects: frozenset[tuple[str, str, str | None]]
    """(kind, name, namespace) of every object and every finding's resource."""
    locations: frozenset[tuple[str, int]]
    """(file, line) of every object and every finding with a line."""
    files: frozenset[str]
    """Files citable without a line: changed paths and files of line-less findings."""


def evidence(inp: SpecialistInput) -> Evidence:
    """Collect the citable objects, locations and files of ``inp``."""
    refs = {(o.kind, o.name, o.namespace) for o in inp.objects}
    refs |= {(f.resource.kind, f.resource.name, f.resource.namespace) for f in inp.findings if f.resource.kind}
    locations = {(o.file, o.line) for o in inp.objects}
    locations |= {(f.file, f.line) for f in inp.findings if f.file and f.line}
    files = set(inp.changed_paths) | {f.file for f in inp.findings if f.file and not f.line}
    return Evidence(frozenset(refs), frozenset(locations), frozenset(files))


def _cites_object(ref: ResourceRef, ev: Evidence) -> bool:
    if not (ref.kind and ref.name):
        return False
    return any(kind == ref.kind and name == ref.name and (ref.namespace is None or ns == ref.namespace)
               for kind, name, ns in ev.objects)


def cites(resource: ResourceRef, file: str | None, line: int | None, ev: Evidence) -> bool:
    """True when the citation names an object, or a file and line, present in the agent's input (and nothing
    absent)."""
    known_files = ev.files | {f for f, _ in ev.locations}
    if resource.kind and not _cites_object(resource, ev):
        return False
    if file and file not in known_files:
        return False
    if resource.kind:
        return True
    return bool(file) and ((file, line) in ev.locations if line else file in ev.files)


def is_grounded(f: Finding, ev: Evidence) -> bool:
    """True when ``f`` cites an object, or a file and line, present in the agent's input (and nothing absent)."""
    return cites(f.resource, f.file, f.line, ev)


def _own_conflict(c: Conflict, agent: str, ev: Evidence) -> bool:
    """A trade-off the agent itself declares with another specialist, on something its input shows."""
    return c.agents[0] == agent and c.agents[1] in SPECIALISTS and c.agents[1] != agent and \
        cites(c.resource, c.file, c.line, ev)


def ground(verdict: AgentVerdict, inp: SpecialistInput) -> tuple[AgentVerdict, int]:
    """Keep only grounded findings (attributed to the agent, never suppressed) and grounded conflicts the agent
    declared itself; return the number dropped."""
    ev = evidence(inp)
    kept = [f.model_copy(update={"source": f"agent:{inp.agent}", "suppressed": False, "suppression_reason": None})
            for f in verdict.findings if is_grounded(f, ev)]
    conflicts = [c for c in verdict.conflicts if _own_conflict(c, inp.agent, ev)]
    dropped = len(verdict.findings) - len(kept) + len(verdict.conflicts) - len(conflicts)
    return verdict.model_copy(update={"findings": kept, "conflicts": conflicts}), dropped
