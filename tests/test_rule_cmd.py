"""`rule`: list and explain the finding ids; shell completion; a closed pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.clirun import ROOT, invoke
from tools.checks import registry
from tools.checks.catalog import entries


def test_rule_without_arguments_lists_every_catalogued_id_once():
    result = invoke("rule")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == [e.id for e in entries()] and {spec.id for spec in registry()} <= set(listed)
    privileged = next(line for line in result.stdout.splitlines() if line.startswith("SEC-PRIVILEGED "))
    assert privileged.split()[1] == "critical" and "Privileged container" in privileged


def test_rule_explains_an_id_ours_or_a_peer_tools():
    ours = invoke("rule", "DOCKER-USER-ROOT")
    assert ours.returncode == 0
    assert ours.stdout.startswith("DOCKER-USER-ROOT: Container image runs as root\n")
    assert "fix: Add `USER 10001`" in ours.stdout and "hadolint: DL3002" in ours.stdout
    assert invoke("rule", "DL3002").stdout == ours.stdout  # hadolint's id
    assert invoke("rule", "docker-user-root").stdout == ours.stdout  # any case
    assert invoke("rule", "privileged-container").stdout.startswith("SEC-PRIVILEGED:")  # kube-linter's id
    assert "SEC-PRIV-ESCALATION:" in invoke("rule", "CKV_K8S_20").stdout  # checkov's id


def test_unknown_ids_exit_2_after_the_known_ones():
    result = invoke("rule", "SEC-PRIVILEGED", "NOT-AN-ID")
    assert result.returncode == 2
    assert result.stdout.startswith("SEC-PRIVILEGED:") and "'NOT-AN-ID' is not in the catalog" in result.stderr


def test_rule_all_explains_every_entry_and_json_is_structured():
    full = invoke("rule", "--all").stdout
    assert [block.split(":")[0] for block in full.strip().split("\n\n")] == [e.id for e in entries()]
    data = json.loads(invoke("rule", "--format", "json", "SEC-PRIVILEGED").stdout)
    [entry] = data
    assert entry["id"] == "SEC-PRIVILEGED" and entry["severity"] == "critical" and entry["suppress"] is True
    assert "privileged-container" in entry["peers"]["kube-linter"] and entry["help_uri"].endswith("#sec-privileged")
    assert len(json.loads(invoke("rule", "--format", "json").stdout)) == len(entries())
    assert invoke("rule", "--all", "SEC-PRIVILEGED").returncode == 2


def _complete(words: str) -> list[str]:
    env = {**os.environ, "_INFRA_ORCHESTRATOR_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    proc = subprocess.run([sys.executable, "-m", "infra_orchestrator"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    return proc.stdout.split()


def test_shell_completion_is_offered():
    script = invoke("--show-completion", "bash")
    assert script.returncode == 0 and "_INFRA_ORCHESTRATOR_COMPLETE=complete_bash" in script.stdout
    assert {"check", "chat"} <= set(_complete("infra-orchestrator ch"))
    assert _complete("infra-orchestrator check --format ") == ["text", "json", "sarif", "github"]
    assert "--color" in _complete("infra-orchestrator check --col")
    assert "rule" in _complete("infra-orchestrator r")


def test_a_closed_pipe_is_not_an_internal_error():
    proc = subprocess.run(f"'{sys.executable}' -m infra_orchestrator rule --all | head -n 1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith(entries()[0].id) and "internal error" not in proc.stderr
    assert "Traceback" not in proc.stderr
