"""Grounding: validate a subordinate agent's output against what it was shown, before it can count.

A finding an agent adds is kept only if it cites an object of its input (kind and name, and namespace when
given) or a file and line present in its input (an object's location, a deterministic finding's location, or
— for path-level agents — a changed path). Everything else is dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.llm.base import SpecialistInput
from core.models import AgentVerdict, Finding, ResourceRef


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


def is_grounded(f: Finding, ev: Evidence) -> bool:
    """True when ``f`` cites an object, or a file and line, present in the agent's input (and nothing absent)."""
    known_files = ev.files | {file for file, _ in ev.locations}
    if f.resource.kind and not _cites_object(f.resource, ev):
        return False
    if f.file and f.file not in known_files:
        return False
    if f.resource.kind:
        return True
    return bool(f.file) and ((f.file, f.line) in ev.locations if f.line else f.file in ev.files)


def ground(verdict: AgentVerdict, inp: SpecialistInput) -> tuple[AgentVerdict, int]:
    """Keep only grounded findings (attributed to the agent, never suppressed); return the number dropped."""
    ev = evidence(inp)
    kept = [f.model_copy(update={"source": f"agent:{inp.agent}", "suppressed": False, "suppression_reason": None})
            for f in verdict.findings if is_grounded(f, ev)]
    return verdict.model_copy(update={"findings": kept}), len(verdict.findings) - len(kept)
