"""docs/checks.md is generated from the registry and must be regenerated when a check changes."""

from __future__ import annotations

from tools.checks import registry
from tools.checks.docs import DOC_PATH, main, render


def test_docs_checks_md_is_up_to_date():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/checks.md is stale: run `uv run python -m tools.checks.docs`")


def test_docs_list_every_check_with_its_metadata(tmp_path):
    target = tmp_path / "checks.md"
    assert main([str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    for spec in registry():
        assert f"### {spec.id}\n" in text and spec.remediation in text
        for tool in spec.peers:
            assert all(f"`{peer}`" in text for peer in spec.peer_ids(tool)), spec.id
    assert "PodSecurityPolicy" in text and "Control-plane flag checks" in text
