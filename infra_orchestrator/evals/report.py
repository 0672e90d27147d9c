"""Score a run, compare it with a baseline, decide the exit code, and write results.json, junit.xml, summary.md.

The run fails (exit 1) on any false APPROVED, on any scenario error, and — without a baseline — on any
failed scenario; with a baseline, on a drop of outcome accuracy or finding recall beyond ``tolerance``
(a fraction, default 0.02 = 2 points) or a scenario that passed in the baseline and fails now.
Pending (``pending:<feature>``) and skipped scenarios never fail the run; they are listed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from pydantic import BaseModel, Field, ValidationError

from core.errors import InputError
from core.models import Outcome
from infra_orchestrator.evals.runner import USAGE_KEYS, ScenarioResult

DEFAULT_TOLERANCE = 0.02
OUTCOMES = [o.value for o in Outcome]


class Metrics(BaseModel):
    """Scores over the gating scenarios (neither pending nor skipped)."""

    scenarios: int
    counts: dict[str, int]
    """status -> number of scenarios (all of them, pending included)."""
    confusion: dict[str, dict[str, int]]
    """expected outcome -> actual outcome (or ERROR) -> count."""
    accuracy: float
    recall: float
    """Expected findings that appeared / expected findings."""
    precision: float
    """Expected findings that appeared / (those + forbidden findings that appeared)."""
    usage: dict[str, int]
    cost_usd: float


class Change(BaseModel):
    id: str
    before: str
    after: str


class BaselineDiff(BaseModel):
    accuracy_delta: float
    recall_delta: float
    changed: list[Change] = Field(default_factory=list)
    """Scenarios whose status or outcome differ from the baseline."""
    regressed: list[str] = Field(default_factory=list)
    """Gating scenarios that passed in the baseline and do not pass now."""


class Report(BaseModel):
    """Everything ``results.json`` holds; a later run reads it back as its baseline."""

    provider: str
    concurrency: int
    wall_s: float
    tolerance: float = DEFAULT_TOLERANCE
    metrics: Metrics
    results: list[ScenarioResult]
    baseline: BaselineDiff | None = None
    failures: list[str] = Field(default_factory=list)
    """Why the run fails (empty: it passes)."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def _gating(results: list[ScenarioResult]) -> list[ScenarioResult]:
    return [r for r in results if r.gating]


def _label(r: ScenarioResult) -> str:
    return r.actual.value if r.actual else "ERROR"


def score(results: list[ScenarioResult]) -> Metrics:
    """Confusion matrix, accuracy, finding recall and precision, tokens and cost."""
    gating = _gating(results)
    confusion = {e: dict.fromkeys([*OUTCOMES, "ERROR"], 0) for e in OUTCOMES}
    for r in gating:
        confusion[r.expected.value][_label(r)] += 1
    matched = sum(r.matched for r in gating)
    expected = matched + sum(len(r.missing) for r in gating)
    forbidden = sum(len(r.forbidden) for r in gating)
    usage = {k: sum(r.usage.get(k, 0) for r in results) for k in USAGE_KEYS}
    return Metrics(
        scenarios=len(results), counts=dict(Counter(r.status for r in results)), confusion=confusion,
        accuracy=round(sum(r.actual is r.expected and r.status != "error" for r in gating) / len(gating), 4)
        if gating else 1.0,
        recall=round(matched / expected, 4) if expected else 1.0,
        precision=round(matched / (matched + forbidden), 4) if matched + forbidden else 1.0,
        usage=usage, cost_usd=round(sum(r.cost_usd for r in results), 6))


def load_baseline(path: Path) -> Report:
    """Read a previous run's ``results.json``."""
    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InputError(f"{path}: not a readable eval results.json ({str(exc).splitlines()[0]})") from None


def _state(r: ScenarioResult) -> str:
    return f"{r.status} ({_label(r)})" if r.status != "skipped" else "skipped"


def diff(metrics: Metrics, results: list[ScenarioResult], baseline: Report) -> BaselineDiff:
    """What changed against ``baseline``: metric deltas, scenarios that changed, gating regressions."""
    before = {r.id: r for r in baseline.results}
    changed = [Change(id=r.id, before=_state(before[r.id]), after=_state(r))
               for r in results if r.id in before and _state(before[r.id]) != _state(r)]
    regressed = [r.id for r in _gating(results) if r.status != "pass" and r.id in before
                 and before[r.id].status == "pass"]
    return BaselineDiff(accuracy_delta=round(metrics.accuracy - baseline.metrics.accuracy, 4),
                        recall_delta=round(metrics.recall - baseline.metrics.recall, 4),
                        changed=changed, regressed=regressed)


def failures(results: list[ScenarioResult], base: BaselineDiff | None, tolerance: float) -> list[str]:
    """The reasons the run fails, most serious first."""
    gating = _gating(results)
    reasons: list[str] = []
    false_approved = [r.id for r in gating if r.false_approved]
    if false_approved:
        reasons.append(f"false APPROVED: {', '.join(false_approved)}")
    errors = [r.id for r in gating if r.status == "error"]
    if errors:
        reasons.append(f"scenario errors: {', '.join(errors)}")
    if base is None:
        failed = [r.id for r in gating if r.status == "fail" and not r.false_approved]
        if failed:
            reasons.append(f"failed: {', '.join(failed)}")
        return reasons
    if base.regressed:
        reasons.append(f"regressed against the baseline: {', '.join(base.regressed)}")
    for name, delta in (("outcome accuracy", base.accuracy_delta), ("finding recall", base.recall_delta)):
        if delta < -tolerance:
            reasons.append(f"{name} dropped by {-delta:.1%} (tolerance {tolerance:.1%})")
    return reasons


def build_report(results: list[ScenarioResult], *, provider: str, concurrency: int, wall_s: float,
                 baseline: Report | None = None, tolerance: float = DEFAULT_TOLERANCE) -> Report:
    """Score ``results``, diff them against ``baseline`` and decide whether the run fails."""
    metrics = score(results)
    base = diff(metrics, results, baseline) if baseline else None
    return Report(provider=provider, concurrency=concurrency, wall_s=round(wall_s, 2), tolerance=tolerance,
                  metrics=metrics, results=results, baseline=base, failures=failures(results, base, tolerance))


def junit_xml(report: Report) -> str:
    """JUnit XML: one testcase per scenario; pending and skipped ones are <skipped/>."""
    gating = Counter(r.status for r in _gating(report.results))
    suite = ET.Element("testsuite", name=f"infra-orchestrator-eval[{report.provider}]",
                       tests=str(len(report.results)), failures=str(gating["fail"]), errors=str(gating["error"]),
                       skipped=str(sum(not r.gating for r in report.results)), time=f"{report.wall_s:.2f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"eval.{report.provider}", name=r.id,
                             time=f"{r.latency_ms / 1000:.3f}")
        detail = _why(r)
        if r.pending or r.status == "skipped":
            ET.SubElement(case, "skipped", message=f"pending: {', '.join(r.pending)}; {detail}" if r.pending else detail)
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.error or "error")
        elif r.status == "fail":
            ET.SubElement(case, "failure", message=detail)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _why(r: ScenarioResult) -> str:
    if r.status in ("error", "skipped"):
        return r.error or r.status
    parts = [f"expected {r.expected.value}, got {_label(r)}"]
    if r.missing:
        parts.append("missing " + ", ".join(_spec(s) for s in r.missing))
    if r.forbidden:
        parts.append("unwanted " + ", ".join(_spec(s) for s in r.forbidden))
    return "; ".join(parts)


def _spec(s) -> str:
    return f"{s.check}@{s.path}" if s.path else s.check


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def summary_markdown(report: Report, slowest: int = 5) -> str:
    """The human summary; the false-APPROVED list comes first."""
    m, results = report.metrics, report.results
    verdict = "FAIL" if report.failures else "PASS"
    out = [f"# Eval {verdict}: {m.scenarios} scenarios, provider `{report.provider}`", ""]
    fa = [r for r in results if r.false_approved]
    out += ["## False APPROVED", ""]
    out += [f"- **{r.id}**{' (pending: ' + ', '.join(r.pending) + ')' if r.pending else ''} — expected "
            f"{r.expected.value}: {r.title}" for r in fa] or ["None."]
    out += ["", "## Verdict", ""] + ([f"- {f}" for f in report.failures] or ["No regression."])
    out += ["", f"Counts (all scenarios): {', '.join(f'{k} {v}' for k, v in sorted(m.counts.items()))}; outcome accuracy "
            f"{m.accuracy:.1%}; finding recall {m.recall:.1%}; precision {m.precision:.1%} "
            f"(gating scenarios only). Wall time {report.wall_s:.1f} s at concurrency {report.concurrency}.",
            "", "## Confusion matrix (rows expected, columns actual)", ""]
    out += _table(["expected \\ actual", *OUTCOMES, "ERROR"],
                  [[e, *(str(v) for v in row.values())] for e, row in m.confusion.items()])
    bad = [r for r in results if r.gating and r.status in ("fail", "error")]
    out += ["", "## Failures and errors", ""] + ([f"- **{r.id}** — {_why(r)}" for r in bad] or ["None."])
    pending = [r for r in results if r.pending]
    out += ["", "## Pending (not gating)", ""]
    out += [f"- {r.id} [{', '.join(r.pending)}] — {r.status}: {_why(r)}" for r in pending] or ["None."]
    ready = [r.id for r in pending if r.status == "pass"]
    if ready:
        out += ["", f"Passing now, remove their `pending:` tag: {', '.join(ready)}."]
    skipped = [r.id for r in results if r.status == "skipped"]
    if skipped:
        out += ["", f"Skipped for this provider: {', '.join(skipped)}."]
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
        out.append(f"Outcome accuracy {b.accuracy_delta:+.1%}, finding recall {b.recall_delta:+.1%} "
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

