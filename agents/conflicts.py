"""Conflicts between specialists, typed by concern: the same concern, opposite conclusions, each with evidence.

A concern is one field of one object (or file): ``Deployment shop/web`` × ``spec.replicas``. Two specialists
conflict on it when

* one's verified finding and the other's verified confirmation speak of it (one wants it changed, the other
  checked it and wants it kept), or
* one declared a trade-off with the other on it, and the other made a verified claim on the same object (and
  field, when the trade-off names one).

Anything else is no conflict: two outcomes that merely differ, or a note on the same object about something else,
never turn a grounded verdict into a question. A declared trade-off the other side never addressed is a *gap*:
the supervisor may ask about it in its follow-up round; after that it is reported, not decided on.
Degraded agents take no part.
"""

from __future__ import annotations

import re

from core.models import AgentVerdict, Claim, Conflict, ResourceRef

_INDEX = re.compile(r"\[[^\]]*\]")


def _field(path: str | None) -> str:
    return _INDEX.sub("", path or "").strip(".").lower()


def same_field(a: str | None, b: str | None) -> bool:
    """``spec.replicas`` and ``replicas`` are the same field (one ends the other at a dot); "" matches nothing."""
    fa, fb = _field(a), _field(b)
    if not fa or not fb:
        return False
    short, long = sorted((fa, fb), key=len)
    return long == short or long.endswith("." + short)


def _same_object(ra: ResourceRef, fa: str | None, rb: ResourceRef, fb: str | None) -> bool:
    if ra.kind and rb.kind:
        return (ra.kind, ra.name) == (rb.kind, rb.name) and (not ra.namespace or not rb.namespace
                                                             or ra.namespace == rb.namespace)
    return bool(fa) and fa == fb


def _on(claim: Claim, resource: ResourceRef, file: str | None, concern: str) -> bool:
    """True when ``claim`` speaks of that object (and of the field ``concern``, when one is named)."""
    if not _same_object(claim.resource, claim.evidence.file, resource, file):
        return False
    return not concern or same_field(claim.evidence.field, concern)


def _quoted(agent: str, claim: Claim) -> str:
    return f"{agent}: {claim.statement} ({claim.evidence.location()}: \"{claim.evidence.quote.strip()[:80]}\")"


def _inferred(a: AgentVerdict, b: AgentVerdict) -> list[Conflict]:
    out = []
    for fa in (c for c in a.claims if c.kind == "finding" and c.evidence.field):
        for cb in (c for c in b.claims if c.kind == "confirmed"):
            if _on(cb, fa.resource, fa.evidence.file, fa.evidence.field or ""):
                out.append(Conflict(agents=(a.agent, b.agent), declared=False, concern=fa.evidence.field or "",
                                    resource=fa.resource, file=fa.evidence.file, line=fa.evidence.line,
                                    evidence=[fa.evidence, cb.evidence],
                                    detail=f"{_quoted(a.agent, fa)}; {_quoted(b.agent, cb)}"))
    return out


def _answer(c: Conflict, other: AgentVerdict | None) -> Claim | None:
    """The other side's verified claim on the declared trade-off's object (and field), if any."""
    if other is None:
        return None
    return next((x for x in other.claims if _on(x, c.resource, c.file, c.concern)), None)


def _live(verdicts: list[AgentVerdict]) -> dict[str, AgentVerdict]:
    return {v.agent: v for v in verdicts if not v.degraded}


def find_conflicts(verdicts: list[AgentVerdict]) -> list[Conflict]:
    """Every conflict among the verdicts (each pair and concern once)."""
    live = _live(verdicts)
    found: list[Conflict] = []
    for a in live.values():
        for b in live.values():
            if a.agent != b.agent:
                found += _inferred(a, b)
        for c in a.conflicts:
            other = _answer(c, live.get(c.agents[1])) if c.agents[0] == a.agent else None
            if other is not None:
                found.append(c.model_copy(update={"evidence": [*c.evidence[:1], other.evidence],
                                                  "concern": c.concern or (other.evidence.field or ""),
                                                  "detail": f"{c.detail}; {_quoted(c.agents[1], other)}"}))
    unique: dict[tuple, Conflict] = {}
    for c in found:
        unique.setdefault((frozenset(c.agents), c.target(), _field(c.concern)), c)
    return list(unique.values())


def open_tradeoffs(verdicts: list[AgentVerdict]) -> list[Conflict]:
    """Declared trade-offs the other specialist has not addressed (no verified claim on that object and field)."""
    live = _live(verdicts)
    return [c for v in live.values() for c in v.conflicts
            if c.agents[0] == v.agent and _answer(c, live.get(c.agents[1])) is None]


def gap_text(c: Conflict) -> str:
    field = f" ({c.concern})" if c.concern else ""
    return (f"{c.agents[0]} declares a trade-off with {c.agents[1]} on {c.target()}{field}: {c.detail}; "
            f"{c.agents[1]} has not addressed it")


def contested(conflicts: list[Conflict], verdicts: list[AgentVerdict]) -> set[tuple[str, str, str | None, int | None]]:
    """``(source, check_id, file, line)`` of every agent finding a conflict is about: it is the trade-off a person
    decides, so it does not reject by itself while the conflict stands."""
    by_agent = {v.agent: v for v in verdicts}
    out = set()
    for c in conflicts:
        for party in c.agents:
            v = by_agent.get(party)
            for claim in (v.claims if v else []):
                if claim.kind == "finding" and _on(claim, c.resource, c.file, c.concern):
                    out.add((f"agent:{party}", claim.check_id or "", claim.evidence.file, claim.evidence.line))
    return out
