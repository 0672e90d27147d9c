"""In-process reuse across runs (tools.memo): an unchanged file's objects and findings are reused; anything that
can change a result (the file's text, its path, the check selection, what may be suppressed) is a miss."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from core.config import Config
from tools import engine, memo
from tools.memo import ENV_OFF, LoadMemo, ObjectMemo

POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations: {{"infra-orchestrator.io/ignore": "SEC-PRIVILEGED: lab node"}}
spec:
  containers:
  - name: web
    image: web:1.0
    securityContext: {{privileged: {privileged}}}
"""


def ids(findings: list) -> list[tuple[str, str | None, int | None, bool]]:
    return [(f.check_id, f.file, f.line, f.suppressed) for f in findings]


@pytest.fixture(autouse=True)
def memo_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reuse on, whatever ran before (an in-process CLI test turns it off for the rest of the process)."""
    monkeypatch.delenv(ENV_OFF, raising=False)
    monkeypatch.setattr(memo, "_ON", [True])


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    engine.LOADS.clear()
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(POD.format(privileged="false"))
    return tmp_path


def check(root: Path, config: Config | None = None) -> list:
    return engine.check_paths(root, [], config or Config()).findings


def test_an_unchanged_file_is_parsed_once_and_gives_the_same_findings(workspace: Path) -> None:
    first = check(workspace)
    hits = engine.LOADS.hits
    again = check(workspace)
    assert engine.LOADS.hits == hits + 1
    assert ids(again) == ids(first)
    assert [f.model_dump() for f in again] == [f.model_dump() for f in first]


def test_an_edit_is_always_seen(workspace: Path) -> None:
    assert "SEC-PRIVILEGED" not in {f.check_id for f in check(workspace)}
    (workspace / "k8s" / "pod.yaml").write_text(POD.format(privileged="true"))
    found = [f for f in check(workspace) if f.check_id == "SEC-PRIVILEGED"]
    assert [(f.file, f.line, f.field) for f in found] == [("k8s/pod.yaml", 11, "spec.containers[0].securityContext"
                                                                                ".privileged")]


def test_the_same_text_at_another_path_reports_that_path(workspace: Path) -> None:
    check(workspace)
    (workspace / "k8s" / "pod.yaml").rename(workspace / "k8s" / "moved.yaml")
    assert {f.file for f in check(workspace) if f.file} == {"k8s/moved.yaml"}


def test_what_may_be_suppressed_is_part_of_the_key(workspace: Path) -> None:
    (workspace / "k8s" / "pod.yaml").write_text(POD.format(privileged="true"))
    lax = [f for f in check(workspace) if f.check_id == "SEC-PRIVILEGED"]
    strict = Config.model_validate({"checks": {"unsuppressible": ["SEC-PRIVILEGED"]}})
    firm = [f for f in check(workspace, strict) if f.check_id == "SEC-PRIVILEGED"]
    assert [f.suppressed for f in lax] == [True] and [f.suppressed for f in firm] == [False]


def test_the_check_selection_is_part_of_the_key(workspace: Path) -> None:
    (workspace / "k8s" / "pod.yaml").write_text(POD.format(privileged="true"))
    assert "SEC-PRIVILEGED" in {f.check_id for f in check(workspace)}
    fewer = Config.model_validate({"checks": {"disabled": ["SEC-PRIVILEGED"]}})
    assert "SEC-PRIVILEGED" not in {f.check_id for f in check(workspace, fewer)}
    assert "SEC-PRIVILEGED" in {f.check_id for f in check(workspace)}


def test_off_by_environment(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_OFF, "1")
    check(workspace)
    check(workspace)
    assert engine.LOADS.hits == 0 and engine.LOADS.misses == 0


def test_the_memo_matches_a_cold_run_on_the_peers_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[1] / "fixtures" / "peers"
    check(root)
    hits = engine.LOADS.hits
    warm = [check(root), check(root)]
    assert engine.LOADS.hits > hits  # the second and third runs did reuse
    monkeypatch.setenv(ENV_OFF, "1")
    cold = check(root)
    dumped = [[f.model_dump() for f in run] for run in (*warm, cold)]
    assert dumped[0] == dumped[1] == dumped[2] and len(dumped[0]) > 100


def test_the_load_memo_is_bounded_by_text_size() -> None:
    calls: list[str] = []
    memo = LoadMemo(lambda text, file: (calls.append(file) or [file], []), max_chars=10)
    for name in ("a", "b", "c"):
        memo.load("xxxx", name)
    memo.load("xxxx", "a")  # evicted: a and b do not fit beside c... a was first out
    memo.load("xxxx", "c")  # still kept
    assert calls == ["a", "b", "c", "a"]
    memo.load("y" * 11, "big")
    memo.load("y" * 11, "big")  # larger than the whole memo: never kept
    assert calls[-2:] == ["big", "big"]


def test_the_object_memo_keeps_only_the_latest_run() -> None:
    memo, first, second = ObjectMemo(), object(), object()
    assert memo.get(first, "k", lambda: 1) == 1
    assert memo.get(first, "k", lambda: 2) == 1
    memo.keep_only([second])
    assert len(memo) == 0
    assert memo.get(first, "k", lambda: 3) == 3


def test_concurrent_runs_share_the_memo_safely(workspace: Path) -> None:
    expected = ids(check(workspace))
    results: list[list] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(20):
                results.append(ids(check(workspace)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 80 and all(r == expected for r in results)


def test_one_shot_check_keeps_nothing_for_a_later_run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clirun import invoke

    result = invoke("check", str(workspace), "-q")
    assert result.returncode == 1 and "SEC-PRIV-ESCALATION" in result.stdout, result.stdout + result.stderr
    assert not memo.enabled()
    assert engine.LOADS.misses == 0 and engine.LOADS.hits == 0
