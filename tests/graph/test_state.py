"""graph/state.py: the typed reading of a state validates each channel value once, and hands intake's objects on
to the next node as the very instances the engine's per-object reuse knows."""

from __future__ import annotations

from pathlib import Path

from core.config import Config
from core.models import ChangeRequest, Finding
from graph.runner import initial_state
from graph.state import View, dump, dump_collected
from tools import engine

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _state(tmp_path: Path) -> tuple[dict, engine.Collected]:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text((FIXTURES / "good_app.yaml").read_text())
    req = ChangeRequest(workspace=str(tmp_path))
    collected = engine.collect(req, tmp_path, Config())
    return {**initial_state(req, Config(), None), **dump_collected(collected)}, collected


def test_the_next_node_reads_back_the_objects_intake_read(tmp_path: Path) -> None:
    state, collected = _state(tmp_path)
    assert collected.objects
    read = View(dict(state)).collected  # a node gets a new state dict holding the same channel values
    assert all(a is b for a, b in zip(read.objects, collected.objects, strict=True))


def test_equal_but_new_data_is_validated_again(tmp_path: Path) -> None:
    state, collected = _state(tmp_path)
    restored = {**state, "objects": dump(collected.objects)}  # e.g. read back from a checkpoint
    read = View(restored).objects
    assert read == collected.objects and not any(a is b for a, b in zip(read, collected.objects, strict=True))


def test_a_list_read_from_a_channel_is_the_readers_own(tmp_path: Path) -> None:
    state, _ = _state(tmp_path)
    first = View(dict(state)).findings
    first.append(Finding.model_validate({"check_id": "X", "severity": "low", "category": "security", "message": "m"}))
    assert len(View(dict(state)).findings) == len(first) - 1
