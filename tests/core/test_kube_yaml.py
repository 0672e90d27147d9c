"""Kubernetes' scalar resolution (core.yamlsafe.KUBE_LOADER) against PyYAML's SafeLoader, the reference.

Kubernetes decodes manifests with sigs.k8s.io/yaml (its go-yaml v2 fork, into interface{}, then JSON); every
row below is a plain scalar where the two disagree, or agree, and the value the API server would see.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import pytest
import yaml

from core.config import Config
from core.yamlsafe import KUBE_LOADER, LOADER, load_kube
from tools import engine
from tools.manifests import load_manifest_text

# text -> (PyYAML SafeLoader, Kubernetes)
DIFFERENCES = {
    "2024-01-15": (datetime.date(2024, 1, 15), "2024-01-15"),
    "2024-01-15T10:00:00Z": (datetime.datetime(2024, 1, 15, 10, tzinfo=datetime.UTC),
                             "2024-01-15T10:00:00Z"),
    "12:30": (750, "12:30"),
    "190:20:30": (685230, "190:20:30"),
    "y": ("y", True),
    "N": ("N", False),
    "0o17": ("0o17", 15),
    "1e3": ("1e3", 1000.0),
    "09": ("09", 9.0),
}
SAME = {
    "yes": True, "Off": False, "ON": True, "true": True, "False": False, "~": None, "null": None, "": None,
    "0777": 511, "0x1F": 31, "0b101": 5, "-0b101": -5, "1_000": 1000, "+12": 12, "-3": -3,
    "1.5": 1.5, ".5": 0.5, "-.inf": -math.inf, "1.5.1": "1.5.1", "v1": "v1", "nginx:1.25": "nginx:1.25",
    "100m": "100m", "64Mi": "64Mi", "0.0.0.0/0": "0.0.0.0/0",
}


def test_the_kubernetes_loader_runs_on_libyaml_when_pyyaml_has_it() -> None:
    """The pure-Python parser is ~10x slower: the C parser must be used whenever CSafeLoader is."""
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    assert issubclass(KUBE_LOADER, yaml.cyaml.CParser)


def _both(text: str) -> tuple[object, object]:
    doc = f"v: {text}\n"
    return yaml.load(doc, Loader=LOADER)["v"], yaml.load(doc, Loader=KUBE_LOADER)["v"]


@pytest.mark.parametrize("text", sorted(DIFFERENCES))
def test_differs_from_pyyaml_as_kubernetes_does(text: str) -> None:
    pyyaml, kube = _both(text)
    assert (pyyaml, kube) == DIFFERENCES[text]
    assert type(kube) is type(DIFFERENCES[text][1])


@pytest.mark.parametrize("text", sorted(SAME))
def test_agrees_with_pyyaml_elsewhere(text: str) -> None:
    pyyaml, kube = _both(text)
    assert kube == SAME[text] and type(kube) is type(SAME[text])
    assert pyyaml == kube


def test_quoted_scalars_stay_strings_and_explicit_tags_are_honoured() -> None:
    data = load_kube("a: '12:30'\nb: \"yes\"\nc: !!int 0o10\nd: !!str 5\ne: !!float 3\nf: !!timestamp 2024-01-01\n"
                     "g: !!binary aGVsbG8=\n", "t")
    assert data == {"a": "12:30", "b": "yes", "c": 8, "d": "5", "e": 3.0, "f": "2024-01-01", "g": "hello"}


def test_bad_explicit_scalars_fail_closed() -> None:
    for doc in ("a: !!int 1:30\n", "a: !!bool maybe\n", "a: !!float x\n"):
        with pytest.raises(yaml.constructor.ConstructorError):
            load_kube(doc, "t")


def test_non_string_keys_become_json_text_and_merge_keys_still_merge() -> None:
    data = load_kube("m:\n  y: 1\n  80: http\n  ~: n\nbase: &b {x: 1}\nmore:\n  <<: *b\n  z: 2\n", "t")
    assert data["m"] == {"true": 1, "80": "http", "null": False}
    assert data["more"] == {"x": 1, "z": 2}


def test_an_equals_sign_is_text_not_pyyamls_value_tag() -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.load("a: =\n", Loader=LOADER)
    assert load_kube("a: =\n", "t") == {"a": "="}


MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: release
  annotations:
    released: 2024-01-15
    window: 12:30
data:
  date: 2024-01-15
  slot: 12:30
"""


def test_manifest_objects_keep_timestamps_and_clock_times_as_text() -> None:
    (obj,), findings = load_manifest_text(MANIFEST, "k8s/cm.yaml")
    assert findings == []
    assert obj.body["metadata"]["annotations"] == {"released": "2024-01-15", "window": "12:30"}
    assert obj.body["data"] == {"date": "2024-01-15", "slot": "12:30"}


def test_no_false_schema_findings_for_dates_and_clock_times(tmp_path: Path) -> None:
    """PyYAML made the annotation a date and an int: two false high SCH-SCHEMA-VALID findings."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cm.yaml").write_text(MANIFEST)
    findings = engine.check_paths(tmp_path, [], Config()).findings
    assert [f for f in findings if f.check_id == "SCH-SCHEMA-VALID"] == []


def test_a_real_type_error_is_still_reported(tmp_path: Path) -> None:
    """``yes`` is a boolean for Kubernetes too: an annotation ``yes`` is rejected by the API server."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cm.yaml").write_text(MANIFEST.replace("window: 12:30", "window: yes"))
    schema = [f for f in engine.check_paths(tmp_path, [], Config()).findings if f.check_id == "SCH-SCHEMA-VALID"]
    assert len(schema) == 1 and "annotations.window" in schema[0].message


def _full_and_fast(text: str) -> list[tuple[object, object]]:
    from core.yamlsafe import KubeConstructor, NotPlain, plain_document

    loader = KUBE_LOADER(text)
    pairs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                fast: object = plain_document(node, [])
            except NotPlain:
                fast = NotPlain
            try:
                full: object = KubeConstructor().construct_document(node)
            except Exception as exc:  # noqa: BLE001
                full = type(exc)
            pairs.append((full, fast))
    finally:
        loader.dispose()
    return pairs


FAST_CASES = [
    "a: 1\nb: [x, 'y', 2.5, .inf, ~, yes, n, 0o17, 1e3, 2024-01-15, 12:30]\nc: {d: {e: f}}\n",
    "80: http\ny: 1\n~: z\n1.5: f\n",
    "a: !!str 5\nb: !!int 0x10\nc: !!float 3\nd: !!bool off\n",
    "a: 1\na: 2\nm: {k: 1, k: 2}\n",
    "- a\n- [b, {c: d}]\n---\nx: |\n  text\n",
]
SLOW_CASES = ["m: {<<: {a: 1}, b: 2}\n", "a: !!timestamp 2024-01-01\n", "a: !!binary aGk=\n", "a: !!set {x}\n",
              "a: !custom x\n", "a: !!int 1:30\n", "? [a]\n: b\n"]


@pytest.mark.parametrize("text", FAST_CASES)
def test_the_fast_path_builds_what_the_full_constructor_builds(text: str) -> None:
    for full, fast in _full_and_fast(text):
        assert fast == full and _types(fast) == _types(full)


@pytest.mark.parametrize("text", SLOW_CASES)
def test_anything_unusual_goes_to_the_full_constructor(text: str) -> None:
    from core.yamlsafe import NotPlain

    assert [fast for _, fast in _full_and_fast(text)] == [NotPlain]


def test_the_fast_path_reports_the_duplicate_keys_the_full_constructor_reports() -> None:
    objects, findings = load_manifest_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n"
                                           "data:\n  k: 1\n  k: 2\n", "k8s/cm.yaml")
    assert [(f.check_id, f.line) for f in findings] == [("SCH-DUPLICATE-KEY", 3), ("SCH-DUPLICATE-KEY", 6)]
    assert objects[0].body["data"] == {"k": 2} and objects[0].name == "b"


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__
