"""Write a report: ``results.json`` (the whole run), ``junit.xml`` (one testcase per scenario), ``summary.md``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from infra_orchestrator.evals.report import OUTCOMES, Report, gating_of, label_of
from infra_orchestrator.evals.runner import USAGE_KEYS, ScenarioResult


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _spec(s) -> str:
    return f"{s.check}@{s.path}" if s.path else s.check


def why(r: ScenarioResult) -> str:
    """One line saying why a scenario did not pass (or what it is, when skipped)."""
    if r.status in ("error", "skipped"):
        return r.error or r.status
    parts = [f"expected {r.expected.value}, got {label_of(r)}"]
    if r.missing:
        parts.append("missing " + ", ".join(_spec(s) for s in r.missing))
    if r.forbidden:
        parts.append("unwanted " + ", ".join(_spec(s) for s in r.forbidden))
    if r.grading and r.grading.missed_required:
        parts.append("model missed " + ", ".join(r.grading.missed_required))
    return "; ".join(parts)


def _properties(case: ET.Element, r: ScenarioResult) -> None:
    props = {}
    if r.grading is not None:
        props |= {"model.labels": r.grading.labels, "model.matched": len(r.grading.matched),
                  "model.findings": r.grading.findings, "model.false_positives": len(r.grading.false_positives),
                  "model.precision": _pct(r.grading.precision), "model.recall": _pct(r.grading.recall)}
    if r.stale:
        props["replay.stale"] = len(r.stale)
    if r.agreement is not None:
        props["repeat.agreement"] = f"{r.agreement:.2f}"
        props["repeat.outcomes"] = ", ".join(r.repeats)
    if props:
        node = ET.SubElement(case, "properties")
        for name, value in props.items():
            ET.SubElement(node, "property", name=name, value=str(value))


def junit_xml(report: Report) -> str:
    """JUnit XML: one testcase per scenario; pending and skipped ones are <skipped/>; model grades as properties."""
    gating = Counter(r.status for r in gating_of(report.results))
    suite = ET.Element("testsuite", name=f"infra-orchestrator-eval[{report.provider}]",
                       tests=str(len(report.results)), failures=str(gating["fail"]), errors=str(gating["error"]),
                       skipped=str(sum(not r.gating for r in report.results)), time=f"{report.wall_s:.2f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"eval.{report.provider}", name=r.id,
                             time=f"{r.latency_ms / 1000:.3f}")
        _properties(case, r)
        detail = why(r)
        if r.pending or r.status == "skipped":
            ET.SubElement(case, "skipped", message=f"pending: {', '.join(r.pending)}; {detail}" if r.pending else detail)
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.error or "error")
        elif r.status == "fail":
            ET.SubElement(case, "failure", message=detail)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def _model_section(report: Report) -> list[str]:
    mm = report.metrics.model
    out = ["", "## Model findings (graded against labels; pending scenarios listed, not counted)", ""]
    out.append(f"Graded scenarios {mm.graded}: pass {mm.graded_pass}, outcome = the expert's {mm.expert_agreement}. "
               f"Labels {mm.labels}, matched {mm.matched}; model-added findings {mm.findings}, unlabelled "
               f"{mm.false_positives}; dropped as ungrounded before the decision {mm.dropped}. **Precision {_pct(mm.precision)}, recall {_pct(mm.recall)}**"
               f"{', F1 ' + _pct(mm.f1) if mm.f1 is not None else ''}.")
    if mm.judge:
        j = mm.judge
        out.append(f"LLM judge: {j.scenarios} scenario(s) graded ({j.unscored} unscored): precision "
                   f"{_pct(j.precision)}, recall {_pct(j.recall)}.")
    rows = [[r.id + (" (pending)" if r.pending else ""), str(r.expert.value if r.expert else "-"), label_of(r), f"{len(r.grading.matched)}/{r.grading.labels}",
             str(len(r.grading.false_positives)), r.grading.reason()]
            for r in report.results if r.grading is not None and r.status != "skipped"]
    if rows:
        out += [""] + _table(["scenario", "expert", "actual", "matched/labels", "unlabelled", "detail"], rows)
    return out


def summary_markdown(report: Report, slowest: int = 5) -> str:
    """The human summary; the false-APPROVED list comes first."""
    m, results = report.metrics, report.results
    verdict = "FAIL" if report.failures else "PASS"
    where = f", shard {report.shard}" if report.shard else (f", shards {', '.join(report.shards)}" if report.shards
                                                             else "")
    out = [f"# Eval {verdict}: {m.scenarios} scenarios, provider `{report.provider}`"
           f"{f' (mode {report.mode})' if report.mode else ''}{where}", ""]
    fa = [r for r in results if r.false_approved]
    out += ["## False APPROVED", ""]
    out += [f"- **{r.id}**{' (pending: ' + ', '.join(r.pending) + ')' if r.pending else ''} — expected "
            f"{r.expected.value}: {r.title}" for r in fa] or ["None."]
    out += ["", "## Verdict", ""] + ([f"- {f}" for f in report.failures] or ["No regression."])
    out += ["", f"Counts (all scenarios): {', '.join(f'{k} {v}' for k, v in sorted(m.counts.items()))}; outcome accuracy "
            f"{m.accuracy:.1%}; finding recall {m.recall:.1%}; precision {m.precision:.1%} "
            f"(gating scenarios only). Wall time {report.wall_s:.1f} s at concurrency {report.concurrency}."]
    out += _model_section(report)
    out += ["", "## Confusion matrix (rows expected, columns actual)", ""]
    out += _table(["expected \\ actual", *OUTCOMES, "ERROR"],
                  [[e, *(str(v) for v in row.values())] for e, row in m.confusion.items()])
    bad = [r for r in results if r.gating and r.status in ("fail", "error")]
    out += ["", "## Failures and errors", ""] + ([f"- **{r.id}** — {why(r)}" for r in bad] or ["None."])
    out += ["", "## Stale recordings", ""]
    out += ([f"- {s}" for s in m.stale] + ["", "Served from their slot; re-record to refresh them "
                                           "(`uv run python evals/record_fake.py`, or `--record` with a key)."]
            if m.stale else ["None."])
    if m.stability:
        s = m.stability
        out += ["", f"## Stability over {s.runs} runs", "",
                f"{s.stable}/{s.scenarios} scenarios gave the same outcome every run; mean agreement "
                f"{s.mean_agreement:.1%}."]
        out += [f"- {r.id}: {', '.join(r.repeats)}" for r in results if r.id in s.unstable]
    pending = [r for r in results if r.pending]
    out += ["", "## Pending (not gating)", ""]
    out += [f"- {r.id} [{', '.join(r.pending)}] — {r.status}: {why(r)}" for r in pending] or ["None."]
    ready = [r.id for r in pending if r.status == "pass"]
    if ready:
        out += ["", f"Passing now, remove their `pending:` tag: {', '.join(ready)}."]
    skipped = [r.id for r in results if r.status == "skipped"]
    if skipped:
        out += ["", f"Skipped in this mode: {', '.join(skipped)}."]
    out += ["", "## Tokens and cost", ""]
    out += _table(["input", "output", "cache write", "cache read", "cost (USD)"],
                  [[*(str(m.usage.get(k, 0)) for k in USAGE_KEYS), f"{m.cost_usd:.4f}"]])
    out += ["", f"## Slowest {slowest} scenarios", ""]
    out += _table(["scenario", "latency (ms)", "tokens"],
                  [[r.id, f"{r.latency_ms:.0f}", str(sum(r.usage.values()))]
                   for r in sorted(results, key=lambda r: -r.latency_ms)[:slowest]])
    out += ["", "## Against the baseline", ""]
    if report.baseline is None:
        out.append("No baseline given.")
    else:
        b = report.baseline
        model = "".join(f", {name} {d:+.1%}" for name, d in (("model precision", b.model_precision_delta),
                                                             ("model recall", b.model_recall_delta)) if d is not None)
        out.append(f"Outcome accuracy {b.accuracy_delta:+.1%}, finding recall {b.recall_delta:+.1%}{model} "
                   f"(tolerance {report.tolerance:.1%}).")
        out += [""] + (_table(["scenario", "baseline", "now"], [[c.id, c.before, c.after] for c in b.changed])
                       if b.changed else ["No scenario changed."])
    return "\n".join(out) + "\n"


def write_report(report: Report, directory: Path) -> list[Path]:
    """Write ``results.json``, ``junit.xml`` and ``summary.md`` into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"results.json": report.model_dump_json(indent=2) + "\n", "junit.xml": junit_xml(report),
             "summary.md": summary_markdown(report)}
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return [directory / name for name in files]
