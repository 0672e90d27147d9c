"""Who approved what: actor, commit and message in each record, SSH signatures, and the head kept outside.

Every attack below is one an attacker able to write the committed ledger (a pull request, a compromised
runner) can do without the signing key or the clone's ``.git``; each must be detected, never reported as an
intact ledger. Keys are throw-away ed25519 keys made with ``ssh-keygen``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from clirun import invoke
from gitrepo import git, isolate_git_env, make_repo

from tools.ledger import HEAD_NAME, LedgerError, append, canonical, ledger_path, read_records, record_hash, verify
from tools.ledger_head import ENV_HEAD, head_path, read_head
from tools.ledger_sign import ENV_ACTOR, ENV_KEY, ENV_SIGNERS, SigningError, signing_key

ALICE = "alice@example.com"
ENTRY = {"kind": "stage", "outcome": "APPROVED", "subject": {"feature": "001-x", "target": "plan"}}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    for var in (ENV_ACTOR, ENV_KEY, ENV_SIGNERS, ENV_HEAD):
        monkeypatch.delenv(var, raising=False)


def keygen(directory: Path, name: str) -> Path:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True,
                   timeout=60, capture_output=True)
    return key


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Alice's key (allowed), Mallory's key (not allowed) and the allowed-signers file."""
    directory = tmp_path / "keys"
    directory.mkdir()
    alice, mallory = keygen(directory, "alice"), keygen(directory, "mallory")
    signers = directory / "allowed_signers"
    signers.write_text(f"{ALICE} {(directory / 'alice.pub').read_text()}")
    return {"alice": alice, "mallory": mallory, "signers": signers}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path, {"README.md": "x\n"})
    git(root, "config", "user.email", ALICE)
    return root


def fill(root: Path, n: int) -> Path:
    for i in range(n):
        append(root, {**ENTRY, "subject": {"feature": "001-x", "target": f"t{i}"}})
    return ledger_path(root)


def rewrite(path: Path, edit, *, resign: Path | None = None) -> None:
    """What a careful attacker does: edit records, recompute every hash and ``prev``, rewrite ``ledger.head``."""
    from tools.ledger import signed_bytes
    from tools.ledger_sign import Key, sign

    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    records = edit(records)
    prev = "0" * 64
    for index, record in enumerate(records):
        record["index"], record["prev"] = index, prev
        if resign is not None:
            record["signature"]["sig"] = sign(signed_bytes(record), Key(resign, None, "test"))
        record["hash"] = prev = record_hash(record)
    path.write_bytes(b"".join(canonical(r) + b"\n" for r in records))
    (path.parent / HEAD_NAME).write_bytes(canonical({"count": len(records), "hash": prev}) + b"\n")


def flip(records: list[dict]) -> list[dict]:
    records[0]["outcome"] = "REJECTED"
    return records


# -- what a record says --------------------------------------------------------------------------------------

def test_record_names_actor_commit_and_message(repo: Path) -> None:
    [record] = read_records(fill(repo, 1))
    assert (record["actor"], record["actor_source"]) == (ALICE, "git user.email")
    assert record["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert "signature" not in record


def test_operator_actor_beats_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_ACTOR, "release-bot@ci")
    [record] = read_records(fill(repo, 1))
    assert (record["actor"], record["actor_source"]) == ("release-bot@ci", ENV_ACTOR)


def test_outside_git_the_login_is_the_actor_and_there_is_no_commit(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "carol")
    [record] = read_records(fill(tmp_path, 1))
    assert (record["actor"], record["actor_source"], record["commit"]) == ("carol", "$USER", None)


def test_entry_message_summarises_the_decision() -> None:
    from core.models import Decision
    from tools.ledger import entry_for

    decision = Decision.model_validate({
        "outcome": "REJECTED", "kind": "change", "title": "ship the api", "spec_kit_compliance": {"status": "PASS"},
        "phase3_protection": {"status": "PASS"}, "k8s_best_practices": {"status": "FAIL"},
        "agent_coordination": {"status": "PASS"}})
    entry = entry_for(decision, {"mode": "paths"}, {}, "d")
    assert entry["message"] == "[CHANGE VALIDATION: REJECTED] ship the api (no findings)"


# -- signatures -----------------------------------------------------------------------------------------------

def test_signed_records_verify_against_allowed_signers(repo: Path, keys: dict[str, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    path = fill(repo, 3)
    sig = read_records(path)[0]["signature"]
    assert sig["principal"] == ALICE and sig["namespace"] == "infra-orchestrator-ledger"
    assert "BEGIN SSH SIGNATURE" in sig["sig"]
    result = verify(path, keys["signers"])
    assert result.ok and result.signed == 3 and result.principals == (ALICE,) and result.anchored
    out = invoke("audit", "verify", str(repo), "--allowed-signers", str(keys["signers"]), "--require-signatures")
    assert out.returncode == 0 and f"all signed by {ALICE}" in out.stdout and "UNSIGNED" not in out.stdout


def test_git_ssh_signing_config_is_honoured(repo: Path, keys: dict[str, Path]) -> None:
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(keys["alice"]) + ".pub")
    git(repo, "config", "gpg.ssh.allowedSignersFile", str(keys["signers"]))
    assert signing_key(repo).source == "git user.signingkey"
    fill(repo, 2)
    out = invoke("audit", "verify", str(repo))
    assert out.returncode == 0 and "all signed" in out.stdout, out.stdout + out.stderr


def test_signed_ledger_without_allowed_signers_cannot_be_judged(repo: Path, keys: dict[str, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    fill(repo, 1)
    out = invoke("audit", "verify", str(repo))
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "allowed-signers" in out.stderr


def test_unusable_signing_key_fails_closed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, str(tmp_path / "missing"))
    with pytest.raises(SigningError, match="does not exist"):
        fill(repo, 1)
    locked = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(locked)], check=True,
                   timeout=60)
    monkeypatch.setenv(ENV_KEY, str(locked))
    with pytest.raises(SigningError, match="cannot sign"):
        fill(repo, 1)
    assert not ledger_path(repo).exists() or read_records(ledger_path(repo)) == []


def test_a_signed_ledger_is_not_extended_unsigned(repo: Path, keys: dict[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    fill(repo, 1)
    monkeypatch.delenv(ENV_KEY)
    with pytest.raises(LedgerError, match="signed from record 0"):
        fill(repo, 1)


def test_unsigned_records_before_signing_began_are_reported(repo: Path, keys: dict[str, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fill(repo, 2)
    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    path = fill(repo, 1)
    result = verify(path, keys["signers"])
    assert result.ok and result.signed == 1
    assert "the first 2 record(s), written before signing began, are UNSIGNED" in result.summary(path, keys["signers"])
    assert read_head(head_path(path)[0]).signed_from == 2


# -- the head outside the ledger ------------------------------------------------------------------------------

def test_head_lives_in_the_git_dir(repo: Path) -> None:
    path = fill(repo, 2)
    where, _ = head_path(path)
    assert where == repo / ".git" / "infra-orchestrator" / "ledger-head"
    assert read_head(where).count == 2
    assert "head kept outside the ledger" in verify(path).summary(path)


def test_operator_named_head(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HEAD, str(tmp_path / "ci-cache" / "head.json"))
    path = fill(repo, 1)
    assert read_head(tmp_path / "ci-cache" / "head.json").count == 1
    assert not (repo / ".git" / "infra-orchestrator").exists()
    assert verify(path).anchored


def test_records_pulled_from_another_clone_extend_the_head(repo: Path) -> None:
    path = fill(repo, 2)
    where, _ = head_path(path)
    saved = where.read_bytes()
    fill(repo, 2)  # as if appended in another clone and pulled: this clone's head is older
    where.write_bytes(saved)
    result = verify(path)
    assert result.ok and "2 newer record(s)" in result.head


# -- attacks: each one must be detected (exit 1 naming a record, or exit 2), never "chain intact" -------------

def _unsigned(repo: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    return fill(repo, 4)


def _signed(repo: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    path = fill(repo, 4)
    monkeypatch.delenv(ENV_KEY)
    return path


def _forget_outside_head(repo: Path) -> None:
    """A fresh clone (CI): no head kept outside the ledger; only signatures can prove anything."""
    head_path(ledger_path(repo))[0].unlink()


def recompute_after_edit(repo, keys, path):
    rewrite(path, flip)


def truncate_and_rewrite_head(repo, keys, path):
    rewrite(path, lambda rs: rs[:2])


def empty_and_delete_head(repo, keys, path):
    path.write_bytes(b"")
    (path.parent / HEAD_NAME).unlink()


def delete_ledger_and_head(repo, keys, path):
    path.unlink()
    (path.parent / HEAD_NAME).unlink()


def empty_in_a_fresh_clone(repo, keys, path):
    empty_and_delete_head(repo, keys, path)
    _forget_outside_head(repo)


def deep_line(repo, keys, path):
    path.write_bytes(path.read_bytes() + b"[" * 100_000 + b"]" * 100_000 + b"\n")


def deep_outside_head(repo, keys, path):
    head_path(path)[0].write_bytes(b"[" * 100_000 + b"]" * 100_000)


def forged_signed_edit(repo, keys, path):  # signed with another key, in a fresh clone
    rewrite(path, flip, resign=keys["mallory"])
    _forget_outside_head(repo)


def edit_keeping_signature(repo, keys, path):
    rewrite(path, flip)
    _forget_outside_head(repo)


def claim_another_actor(repo, keys, path):
    def edit(records):
        records[1]["actor"] = records[1]["signature"]["principal"] = "bob@example.com"
        return records
    rewrite(path, edit, resign=keys["alice"])
    _forget_outside_head(repo)


def strip_last_signature(repo, keys, path):
    def edit(records):
        del records[-1]["signature"]
        return records
    rewrite(path, edit)
    _forget_outside_head(repo)


def strip_every_signature(repo, keys, path):  # detected by the outside head's signed_from
    def edit(records):
        for record in records:
            del record["signature"]
        return records
    rewrite(path, edit)
    head = head_path(path)[0]
    data = json.loads(head.read_text())
    data["hash"] = read_records(path)[-1]["hash"]
    head.write_text(json.dumps(data))


def strip_every_signature_in_ci(repo, keys, path):  # a fresh clone: --require-signatures catches it
    strip_every_signature(repo, keys, path)
    _forget_outside_head(repo)


def append_forged_unsigned(repo, keys, path):
    def edit(records):
        forged = {k: v for k, v in records[-1].items() if k != "signature"}
        return [*records, {**forged, "outcome": "APPROVED", "subject": {"feature": "001-x", "target": "implement"}}]
    rewrite(path, edit)
    _forget_outside_head(repo)


def replay_a_signed_record(repo, keys, path):
    rewrite(path, lambda rs: [*rs, dict(rs[0])])
    _forget_outside_head(repo)


def foreign_signature(repo, keys, path):  # a record signed in the right namespace for another ledger
    def edit(records):
        records[2]["signature"]["sig"] = records[0]["signature"]["sig"]
        return records
    rewrite(path, edit)
    _forget_outside_head(repo)


ATTACKS = [
    # (attack, ledger, attack function, extra audit verify arguments, expected exit code)
    ("edit, recompute chain and ledger.head", _unsigned, recompute_after_edit, (), 1),
    ("truncate, rewrite ledger.head", _unsigned, truncate_and_rewrite_head, (), 1),
    ("empty the ledger, delete ledger.head", _unsigned, empty_and_delete_head, (), 1),
    ("delete the ledger and ledger.head", _unsigned, delete_ledger_and_head, (), 1),
    ("empty the ledger in a fresh clone", _unsigned, empty_in_a_fresh_clone, (), 1),
    ("a line nested 10^5 deep", _unsigned, deep_line, (), 2),
    ("an outside head nested 10^5 deep", _unsigned, deep_outside_head, (), 2),
    ("signed: edit, re-sign with another key", _signed, forged_signed_edit, (), 1),
    ("signed: edit, keep the signature", _signed, edit_keeping_signature, (), 1),
    ("signed: claim another actor", _signed, claim_another_actor, (), 1),
    ("signed: strip the last signature", _signed, strip_last_signature, (), 1),
    ("signed: strip every signature, fix the outside head's hash", _signed, strip_every_signature, (), 1),
    ("signed: strip every signature in a fresh clone", _signed, strip_every_signature_in_ci,
     ("--require-signatures",), 1),
    ("signed: append a forged unsigned record", _signed, append_forged_unsigned, (), 1),
    ("signed: replay a signed record", _signed, replay_a_signed_record, (), 1),
    ("signed: move a signature to another record", _signed, foreign_signature, (), 1),
]


@pytest.mark.parametrize(("name", "make", "attack", "args", "code"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_detected(name, make, attack, args, code, repo: Path, keys: dict[str, Path],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = make(repo, keys, monkeypatch)
    assert invoke("audit", "verify", str(repo), "--allowed-signers", str(keys["signers"])).returncode == 0
    attack(repo, keys, path)
    out = invoke("audit", "verify", str(repo), "--allowed-signers", str(keys["signers"]), *args)
    assert out.returncode == code, out.stdout + out.stderr
    assert "chain intact" not in out.stdout and "Traceback" not in out.stderr
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    if code == 2:
        assert out.stderr.startswith("error: ")


def test_a_tampered_ledger_is_never_extended(repo: Path) -> None:
    path = fill(repo, 3)
    rewrite(path, flip)
    with pytest.raises(LedgerError, match="rewritten and the chain recomputed"):
        fill(repo, 1)
    assert len(read_records(path)) == 3  # the forgery was not blessed by a new record and a new head


WRITER = """
import sys
from pathlib import Path
from tools.ledger import append
append(Path(sys.argv[1]), {"kind": "change", "outcome": "APPROVED", "subject": {"writer": int(sys.argv[2])}})
"""


def test_concurrent_signed_writers_keep_every_record_and_the_head(repo: Path, keys: dict[str, Path],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from clirun import ROOT

    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(repo), str(i)], cwd=ROOT) for i in range(8)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    path = ledger_path(repo)
    result = verify(path, keys["signers"], require_signatures=True)
    assert result.ok and result.count == result.signed == 8
    assert read_head(head_path(path)[0]).count == 8


def test_key_validity_is_judged_at_the_record_time(repo: Path, keys: dict[str, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, str(keys["alice"]))
    path = fill(repo, 2)

    def in_2020(records):
        for record in records:
            record["timestamp"] = "2020-06-01T12:00:00+00:00"
        return records
    rewrite(path, in_2020, resign=keys["alice"])  # as if recorded in 2020
    _forget_outside_head(repo)
    public = (keys["alice"].parent / "alice.pub").read_text()
    rotated = keys["signers"].parent / "rotated"
    rotated.write_text(f'{ALICE} valid-before="20210101" {public}')  # alice's key was rotated out in 2021
    assert verify(path, rotated).ok  # what she signed in 2020 still verifies, as git does for old commits
    early = keys["signers"].parent / "early"
    early.write_text(f'{ALICE} valid-after="20200701" {public}')
    result = verify(path, early)
    assert result.bad_index == 0 and "does not verify" in result.reason
