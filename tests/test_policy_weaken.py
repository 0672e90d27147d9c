"""The weakening table (tools.policy_weaken): which direction of each config field judges more leniently."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config

# -- the weakening table -------------------------------------------------------------------------------------------

WEAKER_CASES = [
    ("phase3.protected", {"phase3": {"protected": ["a/**", "b/**"]}}, {"phase3": {"protected": ["a/**"]}}),
    ("phase3.protected", {"phase3": {"protected": ["a/**"]}}, {"phase3": {"protected": ["a/**", "!a/x"]}}),
    ("phase3.needs_approval", {"phase3": {"needs_approval": ["p.json"]}}, {}),
    ("phase3.allowed", {}, {"phase3": {"allowed": ["a/gen/**"]}}),
    ("phase3.app_roots", {"phase3": {"app_roots": ["a"]}}, {}),
    ("policy.fail_on", {}, {"policy": {"fail_on": "high"}}),
    ("policy.on_agent_failure", {}, {"policy": {"on_agent_failure": "deterministic"}}),
    ("kubernetes.paths", {"kubernetes": {"paths": ["k8s/**", "helm/**"]}}, {"kubernetes": {"paths": ["k8s/**"]}}),
    ("checks.enabled", {}, {"checks": {"enabled": ["SEC-PRIVILEGED"]}}),
    ("checks.enabled", {"checks": {"enabled": ["SEC-PRIVILEGED", "SEC-HOST-PID"]}},
     {"checks": {"enabled": ["SEC-PRIVILEGED"]}}),
    ("checks.disabled", {}, {"checks": {"disabled": ["SEC-PRIVILEGED"]}}),
    ("checks.unsuppressible", {"checks": {"unsuppressible": ["SEC-PRIVILEGED"]}}, {}),
    ("checks.exclude_paths", {}, {"checks": {"exclude_paths": ["k8s/x.yaml"]}}),
    ("checks.profile", {"checks": {"profile": "strict"}}, {}),
    ("workflow.optional_stages", {}, {"workflow": {"optional_stages": ["clarify", "analyze", "plan"]}}),
    ("workflow.require_phr", {"workflow": {"require_phr": True}}, {}),
]


@pytest.mark.parametrize(("field", "base", "head"), WEAKER_CASES, ids=[c[0] for c in WEAKER_CASES])
def test_each_field_knows_its_weaker_direction(field: str, base: dict, head: dict):
    from tools.policy_weaken import weakenings

    assert [w.field for w in weakenings(Config.model_validate(base), Config.model_validate(head))] == [field]
    assert weakenings(Config.model_validate(head), Config.model_validate(base)) == []  # the other way: stronger


def test_fields_outside_the_table_are_changes_not_weakenings():
    from tools.policy_weaken import changed_fields, weakenings

    base, head = Config(), Config.model_validate({"helm": {"namespace": "x"}, "kubernetes": {"version": "1.30"},
                                                  "provider": {"base_url": "https://api.anthropic.com"}})
    assert weakenings(base, head) == []
    assert changed_fields(base, head) == ["helm.namespace", "kubernetes.version", "provider.base_url"]


def test_the_documented_table_is_the_code():
    from tools.policy_changes import weakening_table

    doc = (Path(__file__).resolve().parent.parent / "docs" / "decision-policy.md").read_text()
    rows = [line.split("|")[1:3] for line in doc.split("### Policy changes")[1].splitlines()
            if line.startswith("| `") and "|" in line[3:]]
    documented = [(f.strip().strip("`"), w.strip()) for f, w in rows if "." in f and "POLICY" not in f
                  and f.strip() != "`phase3.lock`"]
    assert documented == weakening_table()
