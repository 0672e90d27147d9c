"""The repository's workflows: CI runs .ci/run on push and pull request; the self-test uses the action's inputs."""

from __future__ import annotations

import yaml

from tests.clirun import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_ci_runs_the_ci_script_on_push_and_pull_request():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    assert any(step.get("run", "").strip() == "bash .ci/run" for step in steps(ci))
    assert (ROOT / ".ci" / "run").is_file()
    assert ci["permissions"] == {"contents": "read"}


def test_the_self_test_exercises_the_action_on_the_examples_with_declared_inputs():
    selftest = load("action-selftest.yml")
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    uses_action = [step for step in steps(selftest) if step.get("uses") == "./"]
    assert len(uses_action) >= 3
    for step in uses_action:
        assert set(step.get("with", {})) <= inputs, step
        for path in str(step["with"]["paths"]).split():
            assert path == "fixed" or (ROOT / path).exists(), path
    assert any(step["with"].get("format") == "sarif" for step in uses_action)
    assert any(step.get("continue-on-error") for step in uses_action)  # the failing example is verified to fail


def test_every_workflow_pins_its_actions_to_a_major_version():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for step in steps(load(path.name)):
            uses = step.get("uses")
            if uses and uses != "./":
                assert "@" in uses and uses.split("@")[1] not in ("main", "master", "latest"), (path.name, uses)
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].split("@")[1].startswith("v"), step["uses"]
