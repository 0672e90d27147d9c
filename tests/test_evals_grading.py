"""The deterministic grader of model-added findings, and the report's figures built on it (no graph runs)."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.models import Outcome
from infra_orchestrator.evals.grading import ModelFinding, grade, normalise_field
from infra_orchestrator.evals.report import (
    build_report,
    merge_reports,
    missing_shards,
    parse_shard,
    select_shard,
    with_repeats,
)
from infra_orchestrator.evals.runner import ScenarioResult
from infra_orchestrator.evals.scenario import ModelFindingSpec


def label(**kw) -> ModelFindingSpec:
    base = {"concern": "rwo", "category": "scalability", "file": "k8s/api.yaml", "line": 5, "severity": "high"}
    return ModelFindingSpec.model_validate({**base, **kw})


def found(**kw) -> ModelFinding:
    base = {"agent": "scalability", "check": "AGENT-RWO", "category": "scalability", "severity": "high",
            "file": "k8s/api.yaml", "line": 5}
    return ModelFinding.model_validate({**base, **kw})


@pytest.mark.parametrize(("finding", "matched"), [
    ({}, True),
    ({"line": 8}, True),                                    # within the default tolerance of 3
    ({"line": 9}, False),                                   # one line too far
    ({"file": "./k8s/api.yaml"}, True),
    ({"file": "k8s/data.yaml"}, False),
    ({"line": None, "field": "spec.replicas"}, True),        # the field instead of the line
    ({"line": 40, "field": "spec.replicas.value"}, True),    # a field inside the labelled one
    ({"line": 40, "field": "spec.replicasX"}, False),        # not at a dot boundary
    ({"category": "security"}, False),                       # another concern ...
    ({"category": "security", "check": "AGENT-RWO-MULTI"}, True),  # ... unless its id names the labelled one
])
def test_a_finding_matches_by_file_place_and_concern(finding: dict, matched: bool) -> None:
    g = grade([label(field="spec.replicas", checks=["AGENT-RWO-*"])], [found(**finding)])
    assert (len(g.matched) == 1) is matched
    assert g.recall == (1.0 if matched else 0.0)


def test_a_finding_below_the_severity_floor_misses_the_label_but_is_no_false_positive() -> None:
    g = grade([label()], [found(severity="medium")])
    assert (g.matched, g.missed, g.under_severity, g.false_positives, g.related) == ([], ["rwo"], ["rwo"], [], [0])
    assert g.precision is None and g.recall == 0.0


def test_matching_is_one_to_one_closest_first_and_extra_citations_are_related() -> None:
    labels = [label(concern="a", line=5), label(concern="b", line=7)]
    g = grade(labels, [found(line=7), found(line=5), found(line=6), found(category="observability", line=30)])
    assert [(m.concern, m.finding) for m in g.matched] == [("a", 1), ("b", 0)]
    assert g.related == [2] and g.false_positives == [3]
    assert (g.precision, g.recall) == (round(2 / 3, 4), 1.0)


def test_required_and_optional_labels() -> None:
    g = grade([label(concern="main"), label(concern="extra", line=50, required=False)], [found()])
    assert g.missed == ["extra"] and g.missed_required == []
    assert g.reason() == "1/2 labelled concern(s) found; missed extra"


def test_a_label_needs_a_line_or_a_field() -> None:
    with pytest.raises(ValueError, match="needs a `line` or a `field`"):
        ModelFindingSpec.model_validate({"concern": "x", "category": "security", "file": "a.yaml"})


def test_field_paths_read_the_same_with_brackets_or_dots() -> None:
    assert normalise_field("spec.containers[0].env[1].name") == normalise_field("Spec.containers.0.env.1.name")


# -- the report's figures -------------------------------------------------------------------------------------------
def result(rid: str, expected: str = "APPROVED", actual: str | None = "APPROVED", **kw) -> ScenarioResult:
    status = kw.pop("status", "pass" if actual == expected else "fail")
    return ScenarioResult(id=rid, title=rid, tags=[], status=status, expected=Outcome(expected),
                          actual=Outcome(actual) if actual else None, **kw)


def test_model_figures_are_micro_averaged_and_none_without_a_denominator() -> None:
    graded = result("g", "REJECTED", "REJECTED", expert=Outcome.rejected,
                    grading=grade([label(), label(concern="x", line=50)], [found(), found(category="security")]))
    clean = result("c")
    m = build_report([graded, clean], provider="replay", concurrency=1, wall_s=0).metrics.model
    assert (m.graded, m.graded_pass, m.expert_agreement, m.labels, m.matched, m.findings, m.false_positives) == \
        (1, 1, 1, 2, 1, 2, 1)
    assert (m.precision, m.recall, m.f1) == (0.5, 0.5, 0.5)
    none = build_report([clean], provider="offline", concurrency=1, wall_s=0).metrics.model
    assert (none.precision, none.recall, none.f1) == (None, None, None)


def test_a_drop_of_model_recall_against_the_baseline_fails_the_run() -> None:
    def run(findings):
        return [result("g", "REJECTED", "REJECTED", expert=Outcome.rejected, grading=grade([label()], findings))]
    before = build_report(run([found()]), provider="replay", concurrency=1, wall_s=0)
    after = build_report(run([]), provider="replay", concurrency=1, wall_s=0, baseline=before)
    assert after.baseline.model_recall_delta == -1.0
    assert "model finding recall dropped by 100.0% (tolerance 2.0%)" in after.failures


def test_repeats_report_agreement_and_a_false_approved_in_any_run_fails() -> None:
    runs = [[result("a"), result("b", "REJECTED", "REJECTED")],
            [result("a", actual="REJECTED"), result("b", "REJECTED", "REJECTED")],
            [result("a"), result("b", "REJECTED", "APPROVED")]]
    merged = with_repeats(runs)
    assert [(r.id, r.repeats, r.agreement) for r in merged] == [
        ("a", ["APPROVED", "REJECTED", "APPROVED"], 0.6667), ("b", ["REJECTED", "REJECTED", "APPROVED"], 0.6667)]
    report = build_report(merged, provider="anthropic", concurrency=1, wall_s=0, repeat=3)
    s = report.metrics.stability
    assert (s.runs, s.scenarios, s.stable, s.unstable) == (3, 2, 0, ["a", "b"])
    assert report.failures == ["false APPROVED in a repeated run: b"]


def test_stale_recordings_are_listed_and_fail_only_when_asked() -> None:
    results = [result("a", stale=["security/submit_verdict#0.0: prompt"])]
    assert build_report(results, provider="replay", concurrency=1, wall_s=0).failures == []
    strict = build_report(results, provider="replay", concurrency=1, wall_s=0, fail_on_stale=True)
    assert strict.metrics.stale == ["a: security/submit_verdict#0.0: prompt"]
    assert strict.failures == ["stale recordings: a"]


class _Loaded:
    def __init__(self, sid: str):
        self.scenario = type("S", (), {"id": sid})()


def test_shards_partition_the_scenarios_deterministically() -> None:
    items = [_Loaded(f"s{i:02}") for i in (7, 3, 9, 1, 4, 8, 2)]
    shards = [[x.scenario.id for x in select_shard(items, f"{i}/3")] for i in (1, 2, 3)]
    assert shards == [["s01", "s04", "s09"], ["s02", "s07"], ["s03", "s08"]]
    assert shards == [[x.scenario.id for x in select_shard(list(reversed(items)), f"{i}/3")] for i in (1, 2, 3)]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/2/3"):
        with pytest.raises(InputError):
            parse_shard(bad)
    assert missing_shards(["1/3", "3/3"]) == ["2/3"]


def test_merging_shard_reports_scores_the_union_and_names_missing_shards() -> None:
    one = build_report([result("a")], provider="offline", mode="offline", concurrency=2, wall_s=3, shard="1/3")
    two = build_report([result("b", "REJECTED", "REJECTED")], provider="offline", mode="offline", concurrency=2,
                       wall_s=5, shard="2/3")
    merged = merge_reports([two, one])
    assert [r.id for r in merged.results] == ["a", "b"] and merged.shards == ["1/3", "2/3"]
    assert merged.wall_s == 5 and merged.metrics.scenarios == 2
    assert merged.failures == ["missing shard(s): 3/3"]
    with pytest.raises(InputError, match="more than one report: a"):
        merge_reports([one, one])
    other = build_report([result("c")], provider="replay", mode="replay", concurrency=1, wall_s=0)
    with pytest.raises(InputError, match="different providers or modes"):
        merge_reports([one, other])
