"""Compiled schema validators cached across processes (tools/schema_cache.py): used only when intact and ours."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import schema
from tools.manifests import load_manifest_text
from tools.schema_cache import KEEP_PER_KIND, MAGIC, CodeCache, user_cache_dir

ROOT = Path(__file__).resolve().parent.parent
VERSION, FILE = "1.31", "service-v1.json"
PREFIX = f"{VERSION}-service-v1"
GOOD = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n"
BAD = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: eighty}]\n  colour: blue\n"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("INFRA_ORCH_CACHE_DIR", str(directory))
    schema.compiled_validator.cache_clear()
    yield directory / "schemas"
    schema.compiled_validator.cache_clear()


@pytest.fixture
def generated(monkeypatch) -> list[str]:
    """The schemas the generator had to compile (a cache hit compiles nothing)."""
    calls: list[str] = []
    real = schema._generate

    def counting(definition):
        calls.append(definition.get("$id", "?"))
        return real(definition)

    monkeypatch.setattr(schema, "_generate", counting)
    return calls


def messages(text: str) -> list[str]:
    objects, _ = load_manifest_text(text, "k8s/svc.yaml")
    return sorted(f.message for f in schema.validate_objects(objects, VERSION))


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{PREFIX}-*.bin"))


def fresh_process() -> None:
    schema.compiled_validator.cache_clear()


def test_a_second_process_loads_the_validator_instead_of_compiling(cache_dir, generated):
    first = (messages(GOOD), messages(BAD))
    assert len(generated) == 1 and len(entries(cache_dir)) == 1
    fresh_process()
    assert (messages(GOOD), messages(BAD)) == first
    assert len(generated) == 1, "the cached validator was compiled again"
    assert first[0] == [] and any("wrong type" in m for m in first[1]) and any("colour" in m for m in first[1])


def test_the_cache_works_across_real_processes(tmp_path):
    env = {**os.environ, "INFRA_ORCH_CACHE_DIR": str(tmp_path)}
    probe = ("import sys; from tools import schema; hits = []; real = schema._generate\n"
             "schema._generate = lambda s: hits.append(1) or real(s)\n"
             f"assert schema.compiled_validator({VERSION!r}, {FILE!r}) is not None\nprint(len(hits))")
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    assert runs == ["1", "0"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_corrupt_entry_is_ignored_and_rewritten(cache_dir, generated, damage):
    expected = messages(BAD)
    [entry] = entries(cache_dir)
    data = entry.read_bytes()
    entry.write_bytes({"truncate": data[: len(data) // 2], "flip": data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:],
                       "garbage": os.urandom(4096), "empty": b""}[damage])
    fresh_process()
    assert messages(BAD) == expected
    assert len(generated) == 2
    fresh_process()
    assert messages(BAD) == expected and len(generated) == 2, "the rewritten entry was not used"


def _forge(entry: Path, key: str, source: str) -> None:
    payload = marshal.dumps((key, "validate", compile(source, "<forged>", "exec")))
    import hashlib

    entry.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)


def test_an_intact_entry_for_another_key_is_not_used(cache_dir, generated):
    messages(GOOD)
    [entry] = entries(cache_dir)
    _forge(entry, "some other key", "def validate(data, **kw):\n    return data\n")
    fresh_process()
    assert messages(BAD) != []  # the forged accept-all validator would have found nothing
    assert len(generated) == 2


@pytest.mark.parametrize("source", ["raise RuntimeError('boom')\n", "x = 1\n"])
def test_an_entry_that_fails_or_defines_no_validator_is_replaced(cache_dir, generated, source):
    messages(GOOD)
    [entry] = entries(cache_dir)
    key = schema.cache_key(VERSION, FILE)
    _forge(entry, key, source)
    fresh_process()
    assert any("wrong type" in m for m in messages(BAD))
    assert len(generated) == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
@pytest.mark.parametrize("where", ["file", "directory"])
def test_an_entry_others_may_write_is_never_read(cache_dir, generated, where):
    messages(GOOD)
    [entry] = entries(cache_dir)
    key = schema.cache_key(VERSION, FILE)
    _forge(entry, key, "def validate(data, **kw):\n    return data\n")  # accept-all, under the right key
    target = entry if where == "file" else cache_dir
    target.chmod(target.stat().st_mode | 0o022)
    fresh_process()
    assert messages(BAD) != [], "a group/world-writable cache entry was trusted"
    assert len(generated) == 2


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_a_symlinked_entry_is_never_read(cache_dir, generated, tmp_path):
    messages(GOOD)
    [entry] = entries(cache_dir)
    elsewhere = tmp_path / "elsewhere.bin"
    _forge(elsewhere, schema.cache_key(VERSION, FILE), "def validate(data, **kw):\n    return data\n")
    entry.unlink()
    entry.symlink_to(elsewhere)
    fresh_process()
    assert messages(BAD) != []
    assert len(generated) == 2


def test_a_changed_schema_file_changes_the_key_and_the_oldest_entries_are_dropped(cache_dir, generated,
                                                                                  monkeypatch):
    real_stamp = schema._stamp
    seen = []
    for edit in range(KEEP_PER_KIND + 2):  # an upgrade after another: each changes the key
        monkeypatch.setattr(schema, "_stamp", lambda path, e=edit: real_stamp(path) + (f":{e}" if path.name == FILE
                                                                                        else ""))
        fresh_process()
        messages(GOOD)
        [new] = sorted(set(entries(cache_dir)) - set(seen))
        seen.append(new)
        os.utime(new, ns=(edit * 10**9, edit * 10**9))  # written in that order, whatever the clock's resolution
    assert len(generated) == KEEP_PER_KIND + 2
    assert entries(cache_dir) == sorted(seen[-KEEP_PER_KIND:]), "the newest entries stay, the older ones go"


def test_two_installs_of_different_versions_keep_each_others_entry(cache_dir, generated, monkeypatch):
    """Two installs on one machine (their schema files differ, so do the keys) each compile once, then load."""
    real_stamp = schema._stamp
    for install in ("a", "b", "a", "b", "a"):
        monkeypatch.setattr(schema, "_stamp", lambda path, i=install: f"{real_stamp(path)}:{i}")
        fresh_process()
        assert messages(BAD) != []
    assert len(generated) == 2 and len(entries(cache_dir)) == 2


def test_an_unusable_or_disabled_cache_still_validates(tmp_path, monkeypatch, generated):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    for setting in (str(blocker), ""):
        monkeypatch.setenv("INFRA_ORCH_CACHE_DIR", setting)
        fresh_process()
        assert any("wrong type" in m for m in messages(BAD))
    assert len(generated) == 2 and blocker.read_text() == "x"
    assert user_cache_dir() is None
    schema.compiled_validator.cache_clear()


def test_the_cache_directory_is_private(cache_dir):
    messages(GOOD)
    if hasattr(os, "getuid"):
        assert cache_dir.stat().st_mode & 0o077 == 0
        assert all(p.stat().st_mode & 0o077 == 0 for p in cache_dir.iterdir())


def test_store_refuses_nothing_silently_when_disabled():
    assert CodeCache(None).store("p", "k", "validate", compile("", "<x>", "exec")) is False
    assert CodeCache(None).load("p", "k") is None


@pytest.mark.parametrize(("api_version", "kind"), [("v1", "../../../etc/passwd"), ("v1/../..", "Service"),
                                                   ("v1", "Service.json"), ("v1", ""), ("", "Service")])
def test_a_kind_or_version_is_never_a_path(api_version, kind):
    assert schema.schema_file(api_version, kind) is None
