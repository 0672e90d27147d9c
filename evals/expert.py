"""The scripted expert: deterministic model answers per scenario, for synthetic recordings (``record_fake.py``).

A scenario directory may hold ``expert.yaml``: what an experienced reviewer would answer, agent by agent —
outcome, summary, the findings the rules missed (each citing a file, the verbatim text there and the field),
what it checked and confirmed, a trade-off with another specialist, or an HTTP error the agent's model
returns on every attempt. It is the *fake model's script*, not the scenario's labels (``expect.model_findings``
in ``scenario.yaml``): the two are written separately, and the expert may miss a label or add a note no label
names, as a real reviewer would. Agents without a script approve with no finding.

Answers take the shape of the tool schema in each request (the forced ``submit_*`` tool's ``input_schema``):
findings carry ``evidence`` {file, line, field, quote} where the schema asks for it, else ``file`` and
``line``; a plan names ``engage`` or ``specialists``, whichever the schema has. A finding's ``line`` is found
by searching its ``quote`` in the scenario's built head tree (:func:`resolve_lines`), so a script survives
edits that move lines.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agents.roster import SPECIALISTS
from core.models import Outcome
from infra_orchestrator.evals.replay import data_turn, final_tool

EXPERT_FILE = "expert.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cited(_Strict):
    """Something said about a place: a file, the verbatim text there, and the field it is about."""

    file: str
    quote: str
    field: str | None = None
    line: int | None = Field(None, description="found from `quote` when absent")
    occurrence: int = Field(1, ge=1, description="which occurrence of `quote` in the file (1 = the first)")
    resource: dict[str, str] | None = None
    grounded: bool = Field(True, description="false: the quote is deliberately absent (a scripted hallucination)")


class ExpertFinding(Cited):
    check_id: str
    severity: str
    category: str
    message: str
    remediation: str = ""


class ExpertConfirmation(Cited):
    statement: str


class ExpertConflict(Cited):
    agent: str
    tradeoff: str


class AgentScript(_Strict):
    outcome: Outcome = Outcome.approved
    summary: str = "No concerns."
    reasoning: str = ""
    findings: list[ExpertFinding] = Field(default_factory=list)
    confirmed: list[ExpertConfirmation] = Field(default_factory=list)
    conflicts_with: list[ExpertConflict] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    error: int | None = Field(None, description="an HTTP status the agent's model answers on every attempt")


class ExpertScript(_Strict):
    note: str = Field("", description="what the expert sees in this change, for the reader")
    coordination: str = ""
    agents: dict[str, AgentScript] = Field(default_factory=dict)

    def items(self) -> list[Cited]:
        return [c for a in self.agents.values() for c in (*a.findings, *a.confirmed, *a.conflicts_with)]


def load_script(scenario_dir: Path) -> ExpertScript | None:
    file = scenario_dir / EXPERT_FILE
    if not file.exists():
        return None
    return ExpertScript.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")) or {})


def find_line(text: str, quote: str, occurrence: int = 1) -> int | None:
    """The 1-based line holding the ``occurrence``-th line that contains ``quote``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if quote in line]
    return hits[occurrence - 1] if len(hits) >= occurrence else None


def resolve_lines(script: ExpertScript, repo: Path) -> ExpertScript:
    """Fill every grounded citation's ``line`` from its quote in the built tree ``repo``; ValueError when absent."""
    for item in script.items():
        if not item.grounded or item.line is not None:
            continue
        path = repo / item.file
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        item.line = find_line(text, item.quote, item.occurrence)
        if item.line is None:
            raise ValueError(f"{item.file}: quote {item.quote!r} not found (occurrence {item.occurrence})")
    return script


# -- shaping answers to the request's tool schema ----------------------------------------------------------------
def _tool_schema(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next((t.get("input_schema") or {} for t in body.get("tools") or [] if t.get("name") == name), {})


def _props(schema: dict[str, Any], model: str | None = None) -> set[str]:
    node = schema if model is None else (schema.get("$defs") or {}).get(model, {})
    return set((node.get("properties") or {}).keys())


def _cite(c: Cited) -> dict[str, Any]:
    return {"file": c.file, "line": c.line, "quote": c.quote, **({"field": c.field} if c.field else {})}


def _with_resource(row: dict[str, Any], c: Cited) -> dict[str, Any]:
    return {**row, "resource": c.resource} if c.resource else row


def finding_input(f: ExpertFinding, schema: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"check_id": f.check_id, "severity": f.severity, "category": f.category, "message": f.message}
    if "evidence" in _props(schema, "OpinionFinding"):
        row = {"evidence": _cite(f), **row, "remediation": f.remediation or "See the message."}
    else:
        row |= {"file": f.file, "line": f.line}
    return _with_resource(row, f)


def conflict_input(c: ExpertConflict, schema: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"agent": c.agent, "tradeoff": c.tradeoff}
    row |= {"evidence": _cite(c)} if "evidence" in _props(schema, "ConflictClaim") else {"file": c.file,
                                                                                         "line": c.line}
    return _with_resource(row, c)


def verdict_input(script: AgentScript, schema: dict[str, Any]) -> dict[str, Any]:
    top = _props(schema)
    out: dict[str, Any] = {"outcome": script.outcome.value, "summary": script.summary,
                           "reasoning": script.reasoning or script.summary}
    if script.findings:
        out["findings"] = [finding_input(f, schema) for f in script.findings]
    if script.conflicts_with:
        out["conflicts_with"] = [conflict_input(c, schema) for c in script.conflicts_with]
    if script.confirmed and "confirmed" in top:
        out["confirmed"] = [_with_resource({"evidence": _cite(c), "statement": c.statement}, c)
                            for c in script.confirmed]
    if script.recommendations:
        out["recommendations"] = script.recommendations
    return out


def plan_input(schema: dict[str, Any], script: ExpertScript | None) -> dict[str, Any]:
    chosen = list(SPECIALISTS)
    ask = {n: f"Review this change for {SPECIALISTS[n].focus[0].lower()}{SPECIALISTS[n].focus[1:]}" for n in chosen}
    if "engage" in _props(schema):
        return {"engage": [{"agent": n, "question": ask[n]} for n in chosen], "skip": [],
                "rationale": "every specialist: the change touches manifests"}
    return {"specialists": chosen, "focus": ask, "rationale": "every specialist: the change touches manifests"}


def reconcile_input(script: ExpertScript | None) -> dict[str, Any]:
    agents = script.agents.values() if script else []
    outcome = Outcome.worst(Outcome.approved, *(a.outcome for a in agents if a.error is None))
    return {"follow_ups": [], "outcome": outcome.value,
            "coordination": (script.coordination if script and script.coordination else
                             "The verdicts agree; no follow-up needed.")}


def _message(body: dict[str, Any], tool: str, tool_input: dict[str, Any], seed: str) -> dict[str, Any]:
    digest = hashlib.sha256(seed.encode()).hexdigest()[:24]
    text = json.dumps(body, sort_keys=True)
    return {"id": f"msg_{digest}", "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [{"type": "tool_use", "id": f"toolu_{digest}", "name": tool, "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": len(text) // 4, "output_tokens": len(json.dumps(tool_input)) // 4}}


def _error(status: int) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": f"scripted {status}"}}


class Expert:
    """The in-process upstream for :class:`~infra_orchestrator.evals.replay.ReplayServer` in record mode."""

    def __init__(self, scripts: dict[str, ExpertScript]):
        self.scripts = scripts

    def __call__(self, scenario_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        tool = final_tool(body)
        schema = _tool_schema(body, tool)
        script = self.scripts.get(scenario_id)
        data = data_turn(body)
        agent = str(data.get("agent", "")) if isinstance(data, dict) else ""
        seed = f"{scenario_id}/{tool}/{agent}/{json.dumps(data, sort_keys=True)}"
        if tool == "submit_plan":
            return 200, _message(body, tool, plan_input(schema, script), seed)
        if tool == "submit_reconciliation":
            return 200, _message(body, tool, reconcile_input(script), seed)
        mine = (script.agents.get(agent) if script else None) or AgentScript()
        if mine.error is not None:
            return mine.error, _error(mine.error)
        return 200, _message(body, tool, verdict_input(mine, schema), seed)
