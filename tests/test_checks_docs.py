"""docs/checks.md is generated from the whole catalog and must be regenerated when an entry changes."""

from __future__ import annotations

import re

from tools.checks.catalog import entries
from tools.checks.docs import DOC_PATH, main, render


def test_docs_checks_md_is_up_to_date():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/checks.md is stale: run `uv run python -m tools.checks.docs`")


def test_docs_list_every_id_with_its_metadata(tmp_path):
    target = tmp_path / "checks.md"
    assert main([str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    headings = re.findall(r"^### (.+)$", text, re.M)
    assert [h.replace("\\*", "*") for h in headings] == [e.id for e in entries() if e.family == "check"] + [
        e.id for family in ("engine", "phase3", "workflow", "agent") for e in entries() if e.family == family]
    for e in entries():
        section = text.split(f"### {e.id.replace('*', chr(92) + '*')}\n", 1)[1].split("\n### ", 1)[0]
        assert e.remediation in section and e.description in section, e.id
        assert ("Can be disabled" if e.disable else "Cannot be disabled") in section, e.id
        assert e.variation in section
        for tool in e.peers:
            assert all(f"`{peer}`" in section for peer in e.peer_ids(tool)), e.id
        assert f"](#{e.anchor})" in text, e.id
    assert "PodSecurityPolicy" in text and "Control-plane flag checks" in text


def test_no_documented_id_is_one_the_catalog_lacks():
    known = {e.id for e in entries()}
    mentioned = set(re.findall(r"`([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)`", render()))
    assert mentioned - known == {"FR-001", "SC-001"}  # Spec-Kit requirement ids quoted by WF-SPECIFY-IDS
    assert "SCH-UNKNOWN-PROFILE" not in render() and "unknown profile name is a configuration error" in render()
