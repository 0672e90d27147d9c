from __future__ import annotations

import pytest

from core.yamlsafe import MAX_DEPTH, YamlTooDeep, _upper_bound, check_depth, depth_exceeds, load

DEEP_FORMS = {
    "flow sequences": "[" * 30_000 + "]" * 30_000,
    "flow mappings": "{a: " * 30_000 + "1" + "}" * 30_000,
    "inline block sequences": "- " * 30_000 + "x\n",
    "indented mappings": "".join(" " * i + f"k{i}:\n" for i in range(0, 3_000)) + " " * 3_000 + "v: 1\n",
}


@pytest.mark.parametrize("form", sorted(DEEP_FORMS))
def test_deep_documents_are_refused_without_crashing(form):
    with pytest.raises(YamlTooDeep, match="nested deeper than"):
        check_depth(DEEP_FORMS[form], "x.yaml")


@pytest.mark.parametrize("depth", [1, 10, MAX_DEPTH])
def test_documents_up_to_the_limit_load(depth):
    text = "[" * depth + "]" * depth
    assert not depth_exceeds(text)
    assert load(text, "x.yaml") is not None


def test_one_past_the_limit_is_refused():
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert depth_exceeds(text)


def test_bound_is_never_below_the_real_depth_for_block_styles():
    text = "a:\n- b:\n  - c:\n    - d: 1\n"
    assert _upper_bound(text) >= 7
    assert load(text, "x.yaml") == {"a": [{"b": [{"c": [{"d": 1}]}]}]}


def test_a_wide_but_shallow_manifest_skips_the_event_scan():
    text = "items:\n" + "".join(f"- name: n{i}\n  value: '{i}'\n" for i in range(5_000))
    assert _upper_bound(text) < MAX_DEPTH


def test_shallow_syntax_errors_are_left_to_the_loader():
    assert depth_exceeds(" " * 300 + "a: b: c\n") is False


def test_an_unclosed_deep_prefix_still_counts_as_deep():
    assert depth_exceeds("[" * 500) is True


def _real_depth(text: str) -> int | None:
    import yaml

    depth = deepest = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                deepest = max(deepest, depth)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return deepest


def test_bound_is_never_below_the_real_depth_on_every_fixture() -> None:
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(fixtures.rglob("*"))
             if p.suffix in (".yaml", ".yml", ".json") and p.is_file()]
    texts += ["- - - - - [a, {b: [c]}]\n", "a:\n- b:\n  - ? c\n    : [d, [e]]\n", '{"a": [[[{"b": 1}]]]}\n']
    measured = [(t, d) for t in texts if (d := _real_depth(t)) is not None]
    assert len(measured) > 300
    assert all(_upper_bound(t) >= d for t, d in measured)
