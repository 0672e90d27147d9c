"""Grounding: a model's claim counts only with evidence that code has verified in the workspace.

Every finding, confirmation and declared trade-off a specialist's model returns cites a file, a line or a field,
and a quote. It is kept only when the file exists in the workspace (read confined, like every read) — or, for a
path the change deletes or renames away, at the base of the change — and holds the quote at that line (a couple
of lines of slack) or, for a field, holds the quote with the field's key beside it. An object it names must be an
object of the review. Only the Phase III guard raises Phase III findings (``phase3``, ``PHASE3-*``,
``CONTRACT-*``), and a model's are at most high: a Phase III *violation* is the deterministic guard's alone.
Everything else is dropped and counted; the decision says how many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agents.llm.base import SpecialistInput
from agents.roster import SPECIALISTS
from agents.toolbox import Toolbox, shown_lines
from core.errors import OrchestratorError
from core.models import AgentVerdict, Category, Claim, Conflict, Evidence, Finding, ResourceRef, Severity
from tools.workspace import read_text

LINE_SLACK = 2
"""A quote may sit this many lines away from the line the model gave."""
PHASE3_GUARD = "phase3_guard"
PHASE3_PREFIXES = ("PHASE3-", "CONTRACT-")
_NUMBERED = re.compile(r"^\s*\d+\|\s?")
_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    text = text.replace("\\u003c", "<").replace("\\u003e", ">")  # as the data block escapes them
    return _SPACE.sub(" ", text).strip().strip("`").strip()


def _quote_lines(quote: str) -> list[str]:
    """The quote's lines without the ``12| `` prefix that ``read_file`` shows."""
    return [_NUMBERED.sub("", line) for line in quote.strip().splitlines() if line.strip()]


def _key(field_path: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", field_path).rstrip(".").split(".")[-1]


@dataclass
class Verifier:
    """Checks evidence against the workspace of one specialist (texts read once)."""

    inp: SpecialistInput
    toolbox: Toolbox | None = None
    texts: dict[str, tuple[list[str], list[str]] | None] = field(default_factory=dict)

    def lines(self, rel: str) -> tuple[list[str], list[str]] | None:
        """The file's raw lines and the same lines as a model sees them (redacted), or None."""
        if rel not in self.texts:
            text = self._read(rel)
            self.texts[rel] = None if text is None else (text.splitlines(), shown_lines(rel, text))
        return self.texts[rel]

    def _read(self, rel: str) -> str | None:
        scope = self.inp.scope
        if scope is None:
            return None
        root = Path(scope.workspace)
        try:
            if (root / rel).is_file():
                return read_text(root, rel)[0]
        except OrchestratorError:  # outside the workspace
            return None
        gone = {p for f in scope.changes.files for p in (f.path, f.old_path)
                if p and (f.status == "deleted" or (f.old_path == p and f.path != p))}
        if rel in gone and scope.changes.base:
            from tools.git import read_file_at

            try:
                data = read_file_at(root, scope.changes.base, rel)
            except OrchestratorError:
                return None
            return data.decode("utf-8", errors="replace") if data is not None else None
        return None

    def problem(self, ev: Evidence) -> str | None:
        """Why ``ev`` does not hold (None when it does)."""
        both = self.lines(ev.file)
        if both is None:
            return f"{ev.file} is not a file of the workspace"
        lines, shown = both
        wanted = _norm(" ".join(_quote_lines(ev.quote)))
        if len(wanted) < 3:
            return "the quote is empty"
        span = len(_quote_lines(ev.quote))
        if ev.line:
            start = max(0, ev.line - 1 - LINE_SLACK)
            end = ev.line + LINE_SLACK + span
            if not self._holds(lines[start:end], shown[start:end], wanted):
                return f"{ev.location()} does not hold the quoted text"
            return None
        hit = next((i for i in range(len(lines)) if self._holds(lines[i:i + span], shown[i:i + span], wanted)), None)
        if hit is None:
            return f"{ev.file} does not hold the quoted text"
        key = _key(ev.field or "")
        near = " ".join(lines[max(0, hit - 3):hit + span])
        if key and key not in near and key not in wanted:
            return f"{ev.file}:{hit + 1} quotes no '{ev.field}'"
        return None

    @staticmethod
    def _holds(raw: list[str], shown: list[str], wanted: str) -> bool:
        return wanted in _norm(" ".join(raw)) or wanted in _norm(" ".join(shown))

    def known(self, ref: ResourceRef) -> bool:
        """True when ``ref`` names nothing, or an object of the review."""
        if not ref.kind:
            return True
        inp = self.inp
        shown = {(o.kind, o.name, o.namespace) for o in inp.objects}
        shown |= {(f.resource.kind, f.resource.name, f.resource.namespace) for f in inp.findings if f.resource.kind}
        if any(k == ref.kind and n == ref.name and (ref.namespace is None or ns == ref.namespace)
               for k, n, ns in shown):
            return True
        label = f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name} @ "
        if any(s.startswith(label) for s in inp.summaries):
            return True
        return bool(self.toolbox and self.toolbox.find_object(ref.kind, ref.name or "", ref.namespace))


def _phase3_problem(agent: str, f: Finding) -> str | None:
    if agent != PHASE3_GUARD and (f.category is Category.phase3 or f.check_id.startswith(PHASE3_PREFIXES)):
        return f"{f.check_id}: only the Phase III guard raises Phase III findings"
    return None


@dataclass
class Grounded:
    verdict: AgentVerdict
    dropped: int = 0
    reasons: list[str] = field(default_factory=list)


def ground(verdict: AgentVerdict, inp: SpecialistInput, toolbox: Toolbox | None = None) -> Grounded:
    """Keep the verdict's findings, confirmations and declared trade-offs whose evidence holds; count the rest.

    Kept findings are the agent's (``source: agent:<name>``), never suppressed; the guard's are at most high."""
    check = Verifier(inp, toolbox)
    reasons: list[str] = []
    finding_claims = [c for c in verdict.claims if c.kind == "finding"]
    kept_findings: list[Finding] = []
    kept_claims: list[Claim] = []
    for i, f in enumerate(verdict.findings):
        claim = finding_claims[i] if i < len(finding_claims) else None
        why = ("no evidence" if claim is None else _phase3_problem(inp.agent, f) or check.problem(claim.evidence)
               or (None if check.known(f.resource) else f"no {f.resource.label()} in the review"))
        if why:
            reasons.append(f"{f.check_id}: {why}")
            continue
        severity = Severity.high if f.category is Category.phase3 and f.severity.at_least("critical") else f.severity
        kept_findings.append(f.model_copy(update={"source": f"agent:{inp.agent}", "suppressed": False,
                                                  "suppression_reason": None, "severity": severity}))
        kept_claims.append(claim)
    for c in verdict.claims:
        if c.kind != "confirmed":
            continue
        why = check.problem(c.evidence) or (None if check.known(c.resource) else f"no {c.resource.label()}")
        if why:
            reasons.append(f"confirmation: {why}")
        else:
            kept_claims.append(c)
    kept_conflicts = []
    for c in verdict.conflicts:
        why = _conflict_problem(c, inp.agent) or (check.problem(c.evidence[0]) if c.evidence else "no evidence")
        if why:
            reasons.append(f"trade-off with {c.agents[1]}: {why}")
        else:
            kept_conflicts.append(c)
    dropped = len(reasons)
    out = verdict.model_copy(update={"findings": kept_findings, "claims": kept_claims, "conflicts": kept_conflicts})
    return Grounded(out, dropped, reasons)


def _conflict_problem(c: Conflict, agent: str) -> str | None:
    """A trade-off must be the agent's own, with another specialist of the table."""
    if c.agents[0] != agent or c.agents[1] not in SPECIALISTS or c.agents[1] == agent:
        return f"not {agent}'s own trade-off with another specialist"
    return None
