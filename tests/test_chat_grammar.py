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
