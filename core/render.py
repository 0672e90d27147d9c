"""Render a :class:`Decision` in the seed's exact text format, as Markdown, or as JSON."""

from __future__ import annotations

from core.models import Decision

MAX_TEXT_ISSUES = 40


def _bullets(items: list[str]) -> list[str]:
    return [f"- {i}" for i in items]


def _issues(d: Decision) -> list[str]:
    shown = d.issues[:MAX_TEXT_ISSUES]
    lines = _bullets(shown)
    if len(d.issues) > len(shown):
        lines.append(f"- … {len(d.issues) - len(shown)} more (see --format json)")
    return lines


def summary_lines(d: Decision) -> list[str]:
    return [
        f"- Spec-Kit Plus Compliance: {d.spec_kit_compliance.render()}",
        f"- Phase III Protection: {d.phase3_protection.render()}",
        f"- Kubernetes Best Practices: {d.k8s_best_practices.render()}",
        f"- Agent Coordination: {d.agent_coordination.render()}",
    ]


def render_text(d: Decision) -> str:
    """The seed's format, to the letter: the bracketed header line, then the sections it names."""
    if d.kind == "stage":
        out = [f"[STAGE APPROVAL DECISION: {d.outcome.value}]", "", "Validation Summary:", *summary_lines(d), ""]
        out += [d.analysis, *_bullets(d.reasoning)]
        if d.issues:
            out += ["", "Issues:", *_issues(d)]
        out += ["", "Next steps:", *_bullets(d.next_steps)]
        return "\n".join(out) + "\n"
    out = [f"[CHANGE VALIDATION: {d.outcome.value}]", "", d.analysis, *_bullets(d.reasoning), ""]
    if d.issues:
        out += ["Issues identified:", *_issues(d)]
    else:
        out += ["Compliance confirmed:", *_bullets(_confirmations(d))]
    heading = "Required modifications:" if d.outcome.value != "APPROVED" else "Recommendations:"
    out += ["", heading, *_bullets(d.next_steps)]
    return "\n".join(out) + "\n"


def _confirmations(d: Decision) -> list[str]:
    return [
        f"Phase III Protection: {d.phase3_protection.render()}",
        f"Kubernetes Best Practices: {d.k8s_best_practices.render()}",
        f"Agent Coordination: {d.agent_coordination.render()}",
    ]


def render_markdown(d: Decision) -> str:
    header = "STAGE APPROVAL DECISION" if d.kind == "stage" else "CHANGE VALIDATION"
    out = [f"## [{header}: {d.outcome.value}]", ""]
    if d.kind == "stage":
        out += ["**Validation Summary:**", "", *summary_lines(d), ""]
    out += [d.analysis, ""]
    if d.findings:
        out += ["| Severity | Check | Location | Resource | Message |", "|---|---|---|---|---|"]
        for f in d.findings:
            sev = f"{f.severity.value}{' (suppressed)' if f.suppressed else ''}"
            msg = f.message.replace("|", "\\|")
            field = (f.field or "").replace("|", "\\|")
            where = f"{f.location()} `{field}`" if field else f.location()
            out.append(f"| {sev} | `{f.check_id}` | {where} | {f.resource.label()} | {msg} |")
        out.append("")
    if d.reasoning:
        out += ["### Reasoning", "", *d.reasoning, ""]
    out += ["### Next steps", "", *_bullets(d.next_steps)]
    return "\n".join(out) + "\n"


def render_json(d: Decision) -> str:
    return d.model_dump_json(indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(d: Decision, fmt: str = "text") -> str:
    return RENDERERS[fmt](d)
