"""The approval ledger (tools/ledger.py) and `audit verify`: hash chain, tampering, concurrent writers.

Signed ledgers, the head kept outside the ledger and the attacks on both are in tests/test_ledger_signed.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import ROOT, invoke
from gitrepo import isolate_git_env

from tools.ledger import GENESIS, HEAD_NAME, LedgerError, append, digest, ledger_path, read_records, verify

WRITERS = 20


@pytest.fixture(autouse=True)
def _no_operator_ledger_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unsigned ledgers outside git: the machine's git config and ledger variables play no part."""
    isolate_git_env(monkeypatch)
    for var in ("INFRA_ORCH_ACTOR", "INFRA_ORCH_LEDGER_KEY", "INFRA_ORCH_ALLOWED_SIGNERS", "INFRA_ORCH_LEDGER_HEAD"):
        monkeypatch.delenv(var, raising=False)


def fill(root: Path, n: int) -> Path:
    for i in range(n):
        append(root, {"kind": "stage", "outcome": "APPROVED", "subject": {"feature": "001-x", "target": f"t{i}"}})
    return ledger_path(root)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_records_are_indexed_and_chained(tmp_path: Path) -> None:
    path = fill(tmp_path, 3)
    records = read_records(path)
    assert [r["index"] for r in records] == [0, 1, 2]
    assert records[0]["prev"] == GENESIS
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    assert records[2]["subject"] == {"feature": "001-x", "target": "t2"}
    assert verify(path).ok and verify(path).count == 3


def test_ticking_a_checkbox_keeps_the_unticked_digest() -> None:
    open_, done = digest(b"- [ ] T001 a\n"), digest(b"- [X] T001 a\n")
    assert open_["sha256"] != done["sha256"] and open_["sha256_unticked"] == done["sha256_unticked"]
    assert digest(b"- [ ] T001 b\n")["sha256_unticked"] != open_["sha256_unticked"]


def test_edited_field_is_named(tmp_path: Path) -> None:
    path = fill(tmp_path, 4)
    rows = lines(path)
    rows[2] = rows[2].replace(b'"APPROVED"', b'"REJECTED"')
    path.write_bytes(b"".join(rows))
    result = verify(path)
    assert (result.ok, result.bad_index) == (False, 2) and "edited" in result.reason


def test_deleted_record_is_named(tmp_path: Path) -> None:
    path = fill(tmp_path, 4)
    rows = lines(path)
    del rows[1]
    path.write_bytes(b"".join(rows))
    result = verify(path)
    assert result.bad_index == 1 and "removed or reordered" in result.reason


def test_swapped_pair_is_named(tmp_path: Path) -> None:
    path = fill(tmp_path, 4)
    rows = lines(path)
    rows[1], rows[2] = rows[2], rows[1]
    path.write_bytes(b"".join(rows))
    assert verify(path).bad_index == 1


def test_truncated_mid_record(tmp_path: Path) -> None:
    path = fill(tmp_path, 3)
    path.write_bytes(path.read_bytes()[:-40])
    result = verify(path)
    assert result.bad_index == 2 and "truncated" in result.reason
    with pytest.raises(LedgerError, match="truncated"):
        append(tmp_path, {"kind": "change"})


def test_truncated_at_a_record_boundary(tmp_path: Path) -> None:
    path = fill(tmp_path, 3)
    path.write_bytes(b"".join(lines(path)[:2]))
    result = verify(path)
    assert result.bad_index == 2 and "is missing" in result.reason and HEAD_NAME in result.reason
    (path.parent / HEAD_NAME).unlink()
    assert "ledger.head is missing" in verify(path).reason


def test_audit_verify_cli(tmp_path: Path) -> None:
    path = fill(tmp_path, 2)
    ok = invoke("audit", "verify", str(tmp_path))
    assert ok.returncode == 0 and "2 record(s), chain intact, UNSIGNED" in ok.stdout
    assert "not against whoever can write the file" in ok.stdout and "no head kept outside" in ok.stdout
    rows = lines(path)
    rows[0] = rows[0].replace(b'"t0"', b'"t9"')
    path.write_bytes(b"".join(rows))
    bad = invoke("audit", "verify", str(path))
    assert bad.returncode == 1 and "record 0" in bad.stdout
    missing = invoke("audit", "verify", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr


WRITER = """
import sys
from pathlib import Path
from tools.ledger import append
append(Path(sys.argv[1]), {"kind": "change", "outcome": "APPROVED", "subject": {"writer": int(sys.argv[2])}})
"""


def test_concurrent_writers_keep_every_record(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(i)], cwd=ROOT)
             for i in range(WRITERS)]
    assert [p.wait(timeout=60) for p in procs] == [0] * WRITERS
    path = ledger_path(tmp_path)
    assert verify(path).count == WRITERS
    records = read_records(path)
    assert sorted(r["subject"]["writer"] for r in records) == list(range(WRITERS))
    assert json.loads((path.parent / HEAD_NAME).read_text())["count"] == WRITERS


def test_a_deeply_nested_line_is_refused_in_one_line(tmp_path: Path) -> None:
    path = fill(tmp_path, 2)
    path.write_bytes(path.read_bytes() + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(LedgerError, match="nested deeper than"):
        append(tmp_path, {"kind": "change"})
    assert len(read_records(path)) == 2  # readers skip it, as any unparsable line
    out = invoke("audit", "verify", str(tmp_path))
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith("error: ") and "record 2 is JSON nested deeper than" in out.stderr


def test_stage_commands_answer_a_deeply_nested_ledger_in_one_line(tmp_path: Path) -> None:
    import shutil

    repo = Path(shutil.copytree(ROOT / "examples" / "todo-phase-iv", tmp_path / "todo"))
    path = ledger_path(repo)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{" + b'"a":{' * 100_000 + b"}" * 100_001 + b"\n")
    status = invoke("stage", "status", "001", "-C", str(repo))
    assert status.returncode in (0, 1) and "Traceback" not in status.stderr and "internal error" not in status.stderr
    approve = invoke("stage", "approve", "001", "--to", "plan", "-C", str(repo), "--record")
    assert approve.returncode == 2 and len(approve.stderr.splitlines()) == 1 and "nested deeper" in approve.stderr


def test_an_unwritable_ledger_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "history" / "approvals" / "ledger.jsonl").mkdir(parents=True)  # not a file: open() fails
    with pytest.raises(LedgerError, match="cannot write the ledger"):
        append(tmp_path, {"kind": "change"})
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "history").write_text("a file where the ledger directory belongs")
    with pytest.raises(LedgerError, match="cannot write the ledger"):
        append(tmp_path / "ro", {"kind": "change"})


def test_record_into_an_unwritable_place_is_an_input_error(tmp_path: Path) -> None:
    import shutil

    repo = Path(shutil.copytree(ROOT / "examples" / "todo-phase-iv", tmp_path / "todo"))
    (repo / "history" / "approvals").write_text("a file where the ledger directory belongs")
    out = invoke("stage", "approve", "001", "--to", "plan", "-C", str(repo), "--record")
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith("error: cannot create the ledger directory")
