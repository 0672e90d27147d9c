"""The offline chat grammar: the issue's example requests and the slash commands."""

from __future__ import annotations

import pytest

from infra_orchestrator.chat_grammar import parse

FEATURES = ["001-k8s-deployment"]
DIRS = ["backend", "frontend", "helm", "k8s", "specs"]


def p(line: str):
    return parse(line, FEATURES, DIRS)


def test_review_in_plain_words_reads_base_and_paths():
    i = p("review the helm chart against main")
    assert (i.action, i.base, i.paths, i.note) == ("review", "main", ["helm"], "")


def test_review_keeps_path_case_and_reports_ignored_words():
    i = p("please check k8s/Backend.yaml vs origin/main quickly")
    assert (i.action, i.base, i.paths) == ("review", "origin/main", ["k8s/Backend.yaml"])
    assert i.note == "ignored: quickly"


def test_stage_request_in_plain_words():
    i = p("we finished the specs for 001, ready to plan")
    assert (i.action, i.feature, i.target) == ("stage", "001", "plan")


def test_stage_request_by_feature_name():
    i = p("move the k8s-deployment feature to implementation")
    assert (i.action, i.feature, i.target) == ("stage", "001-k8s-deployment", "implement")


def test_stage_without_feature_says_what_is_missing():
    i = p("ready to plan")
    assert i.action == "unknown" and "which feature" in i.note


@pytest.mark.parametrize("line,subject", [("why was the backend rejected?", "backend"),
                                          ("explain SEC-IMAGE-TAG", "sec-image-tag"),
                                          ("explain finding 3", "3")])
def test_explain(line, subject):
    i = p(line)
    assert (i.action, i.subject.lower()) == ("explain", subject.lower())


def test_status_and_unknown():
    assert (p("what's the status of 001?").action, p("status of 001").feature) == ("status", "001")
    i = p("make me a sandwich")
    assert i.action == "unknown" and "make me a sandwich" in i.note


@pytest.mark.parametrize("line,expected", [
    ("/review --base main helm k8s", ("review", None, None, "main", ["helm", "k8s"])),
    ("/stage 001 plan", ("stage", "001", "plan", None, [])),
    ("/status 001", ("status", "001", None, None, [])),
    ("/history", ("history", None, None, None, [])),
    ("/quit", ("quit", None, None, None, [])),
])
def test_slash_commands(line, expected):
    i = p(line)
    assert (i.action, i.feature, i.target, i.base, i.paths) == expected


@pytest.mark.parametrize("line,fragment", [("/stage 001 lunch", "usage: /stage"), ("/frobnicate", "unknown command"),
                                           ("/review --base", "usage: /review"), ("/explain", "usage: /explain")])
def test_slash_errors_explain_themselves(line, fragment):
    i = p(line)
    assert i.action == "unknown" and fragment in i.note


@pytest.mark.parametrize("line,feature,target", [
    ("approve stage plan for 001-k8s-deployment", "001-k8s-deployment", "plan"),
    ("approve the plan stage of 001-x", "001-x", "plan"),
    ("approve stage plan for 001", "001", "plan"),
    ("001 is ready for the tasks stage", "001", "tasks"),
    ("advance 001 to the tasks stage", "001", "tasks"),
    ("promote 001 to implementation", "001", "implement"),
    ("stage plan for 001", "001", "plan"),
    ("can you approve implementation for 001?", "001", "implement"),
])
def test_stage_requests_in_natural_forms(line, feature, target):
    i = p(line)
    assert (i.action, i.feature, i.target) == ("stage", feature, target)


def test_a_stage_named_without_a_feature_says_what_is_missing():
    i = p("approve the plan stage")
    assert i.action == "unknown" and "which feature" in i.note and i.target == "plan"


@pytest.mark.parametrize("line,paths", [
    ("review my uncommitted changes", []),
    ("check what I changed", []),
    ("please review the working tree", []),
    ("review my local changes in k8s", ["k8s"]),
    ("validate the uncommitted changes to the helm chart", ["helm"]),
])
def test_working_tree_reviews(line, paths):
    i = p(line)
    assert (i.action, i.worktree, i.base, i.paths, i.note) == ("review", True, None, paths, "")


def test_a_plain_review_is_not_a_working_tree_review():
    assert not p("review the helm chart against main").worktree
    assert p("/review --worktree").worktree and p("/review -w k8s").paths == ["k8s"]
    assert p("/review --worktree --base main").action == "unknown"


@pytest.mark.parametrize("line,expected", [
    ("/findings", (1, None)), ("/findings 2", (2, None)), ("/findings high", (1, "high")),
    ("/findings 3 low", (3, "low")), ("show all findings", (1, None)), ("list the findings", (1, None)),
])
def test_findings(line, expected):
    i = p(line)
    assert (i.action, i.page, i.min_severity) == ("findings", *expected)


def test_findings_usage_and_clear():
    assert p("/findings lots").action == "unknown" and "usage: /findings" in p("/findings lots").note
    for line in ("/clear", "start over", "new conversation", "clear"):
        assert p(line).action == "clear", line
