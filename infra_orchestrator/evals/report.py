"""Score a run, compare it with a baseline, decide the exit code; merge shard reports.

The run fails (exit 1) on any false APPROVED (in any repeat), on any scenario error, and — without a
baseline — on any failed scenario; with a baseline, on a drop of outcome accuracy, finding recall or model
finding precision/recall beyond ``tolerance`` (a fraction, default 0.02 = 2 points) or a scenario that
passed in the baseline and fails now. With ``fail_on_stale``, stale recordings fail it too. Pending
(``pending:<feature>``) and skipped scenarios never fail the run; they are listed.

Writing the files (results.json, junit.xml, summary.md) is :mod:`infra_orchestrator.evals.render`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from core.errors import InputError
from core.models import Outcome
from infra_orchestrator.evals.runner import USAGE_KEYS, ScenarioResult

DEFAULT_TOLERANCE = 0.02
OUTCOMES = [o.value for o in Outcome]


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


class JudgeMetrics(BaseModel):
    """The LLM judge's figures (``--judge``); scenarios it could not grade are unscored, not zero."""

    scenarios: int
    unscored: int
    labels: int
    matched: int
    findings: int
    valid: int
    precision: float | None
    recall: float | None


class ModelMetrics(BaseModel):
    """Findings the model added, graded against the labels (gating scenarios)."""

    graded: int = 0
    """Scenarios with labelled model findings."""
    graded_pass: int = 0
    expert_agreement: int = 0
    """Graded scenarios whose outcome is the expert's (offline: what the rules alone reach)."""
    labels: int = 0
    matched: int = 0
    findings: int = 0
    """Model-added findings, in every gating scenario (labelled or not)."""
    false_positives: int = 0
    dropped: int = 0
    """Model findings dropped as ungrounded before the decision (they never reach the grade)."""
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    judge: JudgeMetrics | None = None


class Stability(BaseModel):
    """With ``--repeat N``: per-scenario agreement of outcomes over the runs (inspect's epochs, reduced by mode)."""

    runs: int
    scenarios: int
    stable: int
    unstable: list[str] = Field(default_factory=list)
    mean_agreement: float


class Metrics(BaseModel):
    """Scores over the gating scenarios (neither pending nor skipped)."""

    scenarios: int
    counts: dict[str, int]
    """status -> number of scenarios (all of them, pending included)."""
    confusion: dict[str, dict[str, int]]
    """expected outcome -> actual outcome (or ERROR) -> count."""
    accuracy: float
    recall: float
    """Expected (rule) findings that appeared / expected findings."""
    precision: float
    """Expected findings that appeared / (those + forbidden findings that appeared)."""
    model: ModelMetrics = Field(default_factory=ModelMetrics)
    """Absent from reports written before model findings were graded."""
    stale: list[str] = Field(default_factory=list)
    """``scenario: recording: reasons`` for every stale recording served."""
    stability: Stability | None = None
    usage: dict[str, int]
    cost_usd: float


class Change(BaseModel):
    id: str
    before: str
    after: str


class BaselineDiff(BaseModel):
    accuracy_delta: float
    recall_delta: float
    model_precision_delta: float | None = None
    model_recall_delta: float | None = None
    changed: list[Change] = Field(default_factory=list)
    """Scenarios whose status or outcome differ from the baseline."""
    regressed: list[str] = Field(default_factory=list)
    """Gating scenarios that passed in the baseline and do not pass now."""


class Report(BaseModel):
    """Everything ``results.json`` holds; a later run reads it back as its baseline."""

    provider: str
    mode: str = ""
    concurrency: int
    wall_s: float
    tolerance: float = DEFAULT_TOLERANCE
    shard: str | None = None
    """``i/N`` when the run covered one shard of the scenarios; merged reports list every shard."""
    shards: list[str] = Field(default_factory=list)
    repeat: int = 1
    fail_on_stale: bool = False
    metrics: Metrics
    results: list[ScenarioResult]
    baseline: BaselineDiff | None = None
    failures: list[str] = Field(default_factory=list)
    """Why the run fails (empty: it passes)."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def gating_of(results: list[ScenarioResult]) -> list[ScenarioResult]:
    return [r for r in results if r.gating]


def label_of(r: ScenarioResult) -> str:
    return r.actual.value if r.actual else "ERROR"


def _judge_metrics(gating: list[ScenarioResult]) -> JudgeMetrics | None:
    judged = [r for r in gating if r.judge is not None]
    if not judged:
        return None
    scored = [r.judge for r in judged if not r.judge.get("unscored")]
    total = {k: sum(int(j.get(k, 0)) for j in scored) for k in ("labels", "matched", "findings", "valid")}
    return JudgeMetrics(scenarios=len(judged), unscored=len(judged) - len(scored), **total,
                        precision=_ratio(total["valid"], total["findings"]),
                        recall=_ratio(total["matched"], total["labels"]))


def model_metrics(gating: list[ScenarioResult]) -> ModelMetrics:
    graded = [r for r in gating if r.expert is not None]
    grades = [r.grading for r in gating if r.grading is not None]
    matched = sum(len(g.matched) for g in grades)
    fps = sum(len(g.false_positives) for g in grades)
    labels = sum(g.labels for g in grades)
    precision, recall = _ratio(matched, matched + fps), _ratio(matched, labels)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision and recall else None
    return ModelMetrics(graded=len(graded), graded_pass=sum(r.status == "pass" for r in graded),
                        expert_agreement=sum(r.actual is r.expert for r in graded), labels=labels, matched=matched,
                        findings=sum(g.findings for g in grades), false_positives=fps,
                        dropped=sum(r.dropped for r in gating), precision=precision,
                        recall=recall, f1=f1, judge=_judge_metrics(gating))


def stability(results: list[ScenarioResult]) -> Stability | None:
    repeated = [r for r in results if len(r.repeats) > 1 and r.status != "skipped"]
    if not repeated:
        return None
    unstable = [r.id for r in repeated if len(set(r.repeats)) > 1]
    return Stability(runs=max(len(r.repeats) for r in repeated), scenarios=len(repeated),
                     stable=len(repeated) - len(unstable), unstable=unstable,
                     mean_agreement=round(sum(r.agreement or 0.0 for r in repeated) / len(repeated), 4))


def score(results: list[ScenarioResult]) -> Metrics:
    """Confusion matrix, accuracy, finding recall and precision, model-finding grades, tokens and cost."""
    gating = gating_of(results)
    confusion = {e: dict.fromkeys([*OUTCOMES, "ERROR"], 0) for e in OUTCOMES}
    for r in gating:
        confusion[r.expected.value][label_of(r)] += 1
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
        model=model_metrics(gating), stale=[f"{r.id}: {s}" for r in results for s in r.stale],
        stability=stability(results), usage=usage, cost_usd=round(sum(r.cost_usd for r in results), 6))


def load_baseline(path: Path) -> Report:
    """Read a previous run's ``results.json``."""
    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InputError(f"{path}: not a readable eval results.json ({str(exc).splitlines()[0]})") from None


def _state(r: ScenarioResult) -> str:
    return f"{r.status} ({label_of(r)})" if r.status != "skipped" else "skipped"


def _delta(now: float | None, then: float | None) -> float | None:
    return round(now - then, 4) if now is not None and then is not None else None


def diff(metrics: Metrics, results: list[ScenarioResult], baseline: Report) -> BaselineDiff:
    """What changed against ``baseline``: metric deltas, scenarios that changed, gating regressions."""
    before = {r.id: r for r in baseline.results}
    changed = [Change(id=r.id, before=_state(before[r.id]), after=_state(r))
               for r in results if r.id in before and _state(before[r.id]) != _state(r)]
    regressed = [r.id for r in gating_of(results) if r.status != "pass" and r.id in before
                 and before[r.id].status == "pass"]
    then = baseline.metrics.model
    return BaselineDiff(accuracy_delta=round(metrics.accuracy - baseline.metrics.accuracy, 4),
                        recall_delta=round(metrics.recall - baseline.metrics.recall, 4),
                        model_precision_delta=_delta(metrics.model.precision, then.precision),
                        model_recall_delta=_delta(metrics.model.recall, then.recall),
                        changed=changed, regressed=regressed)


def _false_approved_in_repeats(gating: list[ScenarioResult]) -> list[str]:
    return [r.id for r in gating if not r.false_approved and r.expected is not Outcome.approved
            and Outcome.approved.value in r.repeats]


def failures(results: list[ScenarioResult], base: BaselineDiff | None, tolerance: float,
             fail_on_stale: bool = False) -> list[str]:
    """The reasons the run fails, most serious first."""
    gating = gating_of(results)
    reasons: list[str] = []
    false_approved = [r.id for r in gating if r.false_approved]
    if false_approved:
        reasons.append(f"false APPROVED: {', '.join(false_approved)}")
    in_repeats = _false_approved_in_repeats(gating)
    if in_repeats:
        reasons.append(f"false APPROVED in a repeated run: {', '.join(in_repeats)}")
    errors = [r.id for r in gating if r.status == "error"]
    if errors:
        reasons.append(f"scenario errors: {', '.join(errors)}")
    stale = sorted({r.id for r in gating if r.stale})
    if fail_on_stale and stale:
        reasons.append(f"stale recordings: {', '.join(stale)}")
    if base is None:
        failed = [r.id for r in gating if r.status == "fail" and not r.false_approved]
        if failed:
            reasons.append(f"failed: {', '.join(failed)}")
        return reasons
    if base.regressed:
        reasons.append(f"regressed against the baseline: {', '.join(base.regressed)}")
    for name, delta in (("outcome accuracy", base.accuracy_delta), ("finding recall", base.recall_delta),
                        ("model finding precision", base.model_precision_delta),
                        ("model finding recall", base.model_recall_delta)):
        if delta is not None and delta < -tolerance:
            reasons.append(f"{name} dropped by {-delta:.1%} (tolerance {tolerance:.1%})")
    return reasons


def build_report(results: list[ScenarioResult], *, provider: str, concurrency: int, wall_s: float,
                 baseline: Report | None = None, tolerance: float = DEFAULT_TOLERANCE, mode: str = "",
                 shard: str | None = None, repeat: int = 1, fail_on_stale: bool = False,
                 shards: list[str] | None = None) -> Report:
    """Score ``results``, diff them against ``baseline`` and decide whether the run fails."""
    metrics = score(results)
    base = diff(metrics, results, baseline) if baseline else None
    return Report(provider=provider, mode=mode, concurrency=concurrency, wall_s=round(wall_s, 2), tolerance=tolerance,
                  shard=shard, shards=shards if shards is not None else ([shard] if shard else []), repeat=repeat,
                  fail_on_stale=fail_on_stale, metrics=metrics, results=results, baseline=base,
                  failures=failures(results, base, tolerance, fail_on_stale))


def merge_reports(reports: list[Report], *, baseline: Report | None = None,
                  tolerance: float = DEFAULT_TOLERANCE) -> Report:
    """One report from the reports of several shards of one run (same provider and mode, disjoint scenarios).

    The merged run fails like a single run would, and also when shards of an ``i/N`` split are missing."""
    if not reports:
        raise InputError("eval merge needs at least one results.json")
    kinds = {(r.provider, r.mode) for r in reports}
    if len(kinds) > 1:
        raise InputError("cannot merge reports of different providers or modes: "
                         + ", ".join(f"{p}/{m or '?'}" for p, m in sorted(kinds)))
    seen: dict[str, int] = {}
    for r in reports:
        for res in r.results:
            seen[res.id] = seen.get(res.id, 0) + 1
    twice = sorted(k for k, n in seen.items() if n > 1)
    if twice:
        raise InputError(f"scenarios in more than one report: {', '.join(twice)}")
    results = sorted((res for r in reports for res in r.results), key=lambda res: res.id)
    shards = sorted({s for r in reports for s in (r.shards or ([r.shard] if r.shard else []))})
    merged = build_report(results, provider=reports[0].provider, mode=reports[0].mode,
                          concurrency=max(r.concurrency for r in reports), wall_s=max(r.wall_s for r in reports),
                          baseline=baseline, tolerance=tolerance, repeat=max(r.repeat for r in reports),
                          fail_on_stale=any(r.fail_on_stale for r in reports), shards=shards)
    missing = missing_shards(shards)
    if missing:
        merged.failures.append(f"missing shard(s): {', '.join(missing)}")
    return merged


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); 1-based, ``1 <= i <= N``."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise InputError(f"--shard '{text}': expected i/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise InputError(f"--shard '{text}': i must be between 1 and N")
    return i, n


def missing_shards(shards: list[str]) -> list[str]:
    """The ``i/N`` shards absent from ``shards`` (for each N present)."""
    present = [parse_shard(s) for s in shards]
    out = []
    for n in sorted({n for _, n in present}):
        have = {i for i, m in present if m == n}
        out += [f"{i}/{n}" for i in range(1, n + 1) if i not in have]
    return out


def select_shard(items: list, shard: str) -> list:
    """The deterministic ``i/N`` subset of ``items`` (sorted by id): every N-th, starting at the i-th."""
    i, n = parse_shard(shard)
    return [x for k, x in enumerate(sorted(items, key=lambda x: x.scenario.id)) if k % n == i - 1]


def with_repeats(runs: list[list[ScenarioResult]]) -> list[ScenarioResult]:
    """The first run's results, each carrying the outcome of every run and the agreement with the most common."""
    if len(runs) < 2:
        return runs[0] if runs else []
    by_id = [{r.id: r for r in run} for run in runs]
    out = []
    for r in runs[0]:
        labels = [_state_label(run.get(r.id)) for run in by_id]
        top = Counter(labels).most_common(1)[0][1]
        out.append(r.model_copy(update={"repeats": labels, "agreement": round(top / len(labels), 4)}))
    return out


def _state_label(r: ScenarioResult | None) -> str:
    if r is None:
        return "MISSING"
    return "skipped" if r.status == "skipped" else label_of(r)
