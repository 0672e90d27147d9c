"""The one renderer: a finding as one line, and a :class:`Decision` in the seed's text format, as Markdown or JSON.

Every front-end (``review``, ``stage approve``, ``check``, chat, the MCP tools) and every agent that writes about
a finding uses :func:`finding_line`; a decision is rendered from the model by :func:`render` when it is shown.
"""

from __future__ import annotations

from core.models import Decision, Finding

MAX_TEXT_ISSUES = 40


def finding_line(f: Finding) -> str:
    """``file:line: severity CHECK-ID message`` (``-`` when the finding has no file), lint-style."""
    suppressed = " (suppressed)" if f.suppressed else ""
    return f"{f.location() or '-'}: {f.severity.value} {f.check_id} {f.message}{suppressed}"


def _bullets(items: list[str]) -> list[str]:
    return [f"- {i}" for i in items]


def _issues(d: Decision) -> list[str]:
    shown = d.issues[:MAX_TEXT_ISSUES]
    lines = _bullets(shown)
    if len(d.issues) > len(shown):
        lines.append(f"- … {len(d.issues) - len(shown)} more (see --format json)")
    return lines


def _summary(d: Decision) -> list[str]:
    return [
        f"Spec-Kit Plus Compliance: {d.spec_kit_compliance.render()}",
        f"Phase III Protection: {d.phase3_protection.render()}",
        f"Kubernetes Best Practices: {d.k8s_best_practices.render()}",
        f"Agent Coordination: {d.agent_coordination.render()}",
    ]


def summary_lines(d: Decision) -> list[str]:
    """The Validation Summary, one bullet per line."""
    return _bullets(_summary(d))


def header(d: Decision) -> str:
    kind = "STAGE APPROVAL DECISION" if d.kind == "stage" else "CHANGE VALIDATION"
    return f"[{kind}: {d.outcome.value}]"


def render_text(d: Decision) -> str:
    """The seed's format, to the letter: the bracketed header line, then the sections it names."""
    if d.kind == "stage":
        out = [header(d), "", "Validation Summary:", *summary_lines(d), ""]
        out += [d.analysis, *_bullets(d.reasoning)]
        if d.issues:
            out += ["", "Issues:", *_issues(d)]
        out += ["", "Next steps:", *_bullets(d.next_steps)]
        return "\n".join(out) + "\n"
    out = [header(d), "", d.analysis, *_bullets(d.reasoning), ""]
    if d.issues:
        out += ["Issues identified:", *_issues(d)]
    else:  # a change has no Spec-Kit line: the other three confirm compliance
        out += ["Compliance confirmed:", *_bullets(_summary(d)[1:])]
    heading = "Required modifications:" if d.outcome.value != "APPROVED" else "Recommendations:"
    out += ["", heading, *_bullets(d.next_steps)]
    return "\n".join(out) + "\n"


def render_markdown(d: Decision) -> str:
    out = [f"## {header(d)}", ""]
    if d.kind == "stage":
        out += ["**Validation Summary:**", "", *summary_lines(d), ""]
    out += [d.analysis, ""]
    if d.findings:
        out += ["### Findings", "", *_bullets([finding_line(f) + (f" (`{f.field}`)" if f.field else "")
                                              for f in d.findings]), ""]
    if d.reasoning:
        out += ["### Reasoning", "", *d.reasoning, ""]
    out += ["### Next steps", "", *_bullets(d.next_steps)]
    return "\n".join(out) + "\n"


def render_json(d: Decision) -> str:
    return d.model_dump_json(indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(d: Decision, fmt: str = "text") -> str:
    return RENDERERS[fmt](d)
