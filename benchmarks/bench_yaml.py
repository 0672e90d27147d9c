"""Evaluate YAML parsers for the manifest loader: correctness as Kubernetes reads YAML, then speed.

Run by hand, in a throwaway environment (never the project's), with the corpus of bench_engine.py:

    uv venv /tmp/yamlbench -p 3.11
    uv pip install -p /tmp/yamlbench pyyaml rapidyaml yaml-rs ryaml libfyaml
    uv run python benchmarks/bench_engine.py --sizes 10000 --no-checkov --repeat 1   # writes the corpus
    /tmp/yamlbench/bin/python benchmarks/bench_yaml.py [--corpus benchmarks/out/corpus-10000] [--repeat 3]

Correctness: each case is one small document and the value Kubernetes' decoder (sigs.k8s.io/yaml, go-yaml v2
rules, into JSON) produces for it; a parser passes a case when it returns that value (for duplicate keys:
when it reports them instead of keeping one value). "marks" asks whether the Python API gives the line and
column of every key and item (the loader needs them for every finding). Speed: CPU seconds (process_time),
median of ``--repeat`` runs, to load every document of every file of the corpus into Python objects.

The loader's own row ("pyyaml + kube resolver") imports core.yamlsafe from this checkout (PyYAML only).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DUPLICATE = "duplicate"
ERROR = "error"

CASES: list[tuple[str, str, object]] = [
    ("bool yes", "a: yes\n", [{"a": True}]),
    ("bool y", "a: y\n", [{"a": True}]),
    ("bool off", "a: off\n", [{"a": False}]),
    ("octal 0777", "a: 0777\n", [{"a": 511}]),
    ("octal 0o17", "a: 0o17\n", [{"a": 15}]),
    ("date stays text", "a: 2024-01-15\n", [{"a": "2024-01-15"}]),
    ("12:30 stays text", "a: 12:30\n", [{"a": "12:30"}]),
    ("float 1e3", "a: 1e3\n", [{"a": 1000.0}]),
    ("quoted '12:30'", "a: '12:30'\n", [{"a": "12:30"}]),
    ("anchor + alias", "a: &x {b: 1}\nc: *x\n", [{"a": {"b": 1}, "c": {"b": 1}}]),
    ("merge key", "b: &b {x: 1}\nm: {<<: *b, z: 2}\n", [{"b": {"x": 1}, "m": {"x": 1, "z": 2}}]),
    ("key y is a bool", "y: 1\n", [{"true": 1}]),
    ("!!str tag", "a: !!str 5\n", [{"a": "5"}]),
    ("duplicate key", "a: 1\na: 2\n", DUPLICATE),
    ("multi-document", "a: 1\n---\nb: 2\n", [{"a": 1}, {"b": 2}]),
]


# --- parsers: each loads every document of a text into Python objects -------------------------------------


def _pyyaml(loader_name: str) -> Callable[[str], list]:
    import yaml

    loader = getattr(yaml, loader_name)
    return lambda text: list(yaml.load_all(text, Loader=loader))


def _kube() -> Callable[[str], list]:
    """The product's loader: libyaml composes, core.yamlsafe resolves as Kubernetes does, duplicates reported
    while mappings are built (as tools/manifests.py does)."""
    from yaml.nodes import ScalarNode

    from core.yamlsafe import KUBE_LOADER, KubeConstructor, NotPlain, plain_document

    class Checked(KubeConstructor):
        def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
            keys = set()
            for key, _ in node.value:
                if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in keys:
                        raise ValueError(DUPLICATE)
                    keys.add((key.tag, key.value))
            return super().construct_mapping(node, deep)

    def load(text: str) -> list:
        loader = KUBE_LOADER(text)
        out = []
        try:
            while loader.check_node():
                node, duplicates = loader.get_node(), []
                try:  # the fast path tools/manifests.py takes when the text has no anchor
                    data = plain_document(node, duplicates) if "&" not in text else NotPlain
                except NotPlain:
                    data = NotPlain
                if data is NotPlain:
                    data = Checked().construct_document(node)
                elif duplicates:
                    raise ValueError(DUPLICATE)
                out.append(data)
        finally:
            loader.dispose()
        return out

    return load


def _ryml() -> Callable[[str], list]:
    """rapidyaml: a tree of untyped scalars (no resolution, no duplicate check); converted here to Python."""
    import ryml

    def convert(tree, node):
        if tree.is_map(node):
            out = {}
            child = tree.first_child(node)
            while child != ryml.NONE:
                out[bytes(tree.key(child)).decode()] = convert(tree, child)
                child = tree.next_sibling(child)
            return out
        if tree.is_seq(node):
            items = []
            child = tree.first_child(node)
            while child != ryml.NONE:
                items.append(convert(tree, child))
                child = tree.next_sibling(child)
            return items
        return None if tree.val_is_null(node) else bytes(tree.val(node)).decode()

    def load(text: str) -> list:
        tree = ryml.parse_in_arena(text.encode())
        tree.resolve()  # expand aliases
        root = tree.root_id()
        if tree.is_stream(root):
            docs, child = [], tree.first_child(root)
            while child != ryml.NONE:
                docs.append(convert(tree, child))
                child = tree.next_sibling(child)
            return docs
        return [convert(tree, root)]

    return load


def _ryml_parse_only() -> Callable[[str], list]:
    import ryml

    return lambda text: [ryml.parse_in_arena(text.encode())]


def _yaml_rs() -> Callable[[str], list]:
    import yaml_rs

    def load(text: str) -> list:
        data = yaml_rs.loads(text, duplicate_keys=yaml_rs.DuplicateKeyPolicy.Error) if _yaml_rs_kw() else \
            yaml_rs.loads(text)
        return data if isinstance(data, list) and text.count("\n---") else [data]

    return load


def _yaml_rs_kw() -> bool:
    import yaml_rs

    try:
        yaml_rs.loads("a: 1\n", duplicate_keys=yaml_rs.DuplicateKeyPolicy.Error)
    except TypeError:
        return False
    return True


def _ryaml() -> Callable[[str], list]:
    import ryaml

    return lambda text: list(ryaml.loads_all(text))


def _libfyaml(mode: str) -> Callable[[str], list]:
    import libfyaml

    return lambda text: [d.to_python() for d in libfyaml.loads_all(text, mode=mode)]


PARSERS: dict[str, tuple[Callable[[], Callable[[str], list]], str]] = {
    # name: (factory, marks in the Python API)
    "pyyaml CSafeLoader": (lambda: _pyyaml("CSafeLoader"), "yes (compose: start/end mark per node)"),
    "pyyaml + kube resolver (ours)": (_kube, "yes (compose: start/end mark per node)"),
    "rapidyaml (ryml), to Python": (_ryml, "no (Tree has no location lookup in the Python API)"),
    "rapidyaml (ryml), parse only": (_ryml_parse_only, "no"),
    "yaml-rs": (_yaml_rs, "no (returns Python objects only)"),
    "ryaml": (_ryaml, "no (returns Python objects only)"),
    "libfyaml (yaml1.1 mode)": (lambda: _libfyaml("yaml1.1"), "no marker on a loads() value"),
}


def outcome(load: Callable[[str], list], text: str) -> object:
    try:
        return load(text)
    except Exception as exc:  # noqa: BLE001 - any failure is an outcome here
        return DUPLICATE if "dup" in f"{type(exc).__name__} {exc}".lower() else f"{ERROR}: {type(exc).__name__}"


def correctness(load: Callable[[str], list]) -> list[tuple[str, bool, object]]:
    rows = []
    for name, text, expected in CASES:
        got = outcome(load, text)
        ok = got == expected and (expected == DUPLICATE or _same_types(got, expected))
        rows.append((name, ok, got))
    return rows


def _same_types(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b)


def speed(load: Callable[[str], list], texts: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        for text in texts:
            load(text)
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "benchmarks" / "out" / "corpus-10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = [p.read_text(encoding="utf-8") for p in sorted((args.corpus / "k8s").glob("*.yaml"))]
    objects = sum(t.count("\nkind: ") + t.startswith("kind: ") for t in texts)
    print(f"corpus: {args.corpus} ({len(texts)} files, {objects} objects), median of {args.repeat}\n")
    print("| parser | cases passed | failed cases | line/col marks | CPU s | × fastest |")
    print("|---|---:|---|---|---:|---:|")
    rows = []
    for name, (factory, marks) in PARSERS.items():
        try:
            load = factory()
        except ImportError as exc:
            print(f"| {name} | not installed ({exc.name}) | | | | |")
            continue
        checks = correctness(load)
        failed = ", ".join(n for n, ok, _ in checks if not ok)
        cpu = speed(load, texts, args.repeat) if texts else float("nan")
        rows.append((name, sum(ok for _, ok, _ in checks), failed, marks, cpu))
    fastest = min(r[4] for r in rows)
    for name, passed, failed, marks, cpu in rows:
        print(f"| {name} | {passed}/{len(CASES)} | {failed or '—'} | {marks} | {cpu:.3f} | {cpu / fastest:.1f}× |")


if __name__ == "__main__":
    main()
