"""The confined reader: regular files only, never blocking, never outside the workspace, bounded."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from core import confine
from core.errors import InputError


def test_a_regular_file_inside_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1\n")
    assert confine.read_inside(tmp_path, "a.yaml") == b"x: 1\n"


@pytest.mark.parametrize("target", ["/etc/hostname", "/proc/self/root/etc/passwd", "../outside.yaml"])
def test_a_link_or_path_leading_out_is_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "outside.yaml").write_text("secret\n")
    os.symlink(target, tmp_path / "w" / "l.yaml")
    with pytest.raises(confine.OutsideWorkspace, match="outside the workspace"):
        confine.read_inside(tmp_path / "w", "l.yaml")


def test_proc_self_cwd_resolves_to_where_it_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "s.py").write_text("secret\n")
    os.symlink("/proc/self/cwd/s.py", tmp_path / "w" / "l.yaml")
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(confine.OutsideWorkspace):
        confine.read_inside(tmp_path / "w", "l.yaml")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.yaml")  # no writer: a plain open() would block forever
    with pytest.raises(confine.NotRegularFile, match="a FIFO"):
        confine.read_inside(tmp_path, "p.yaml")
    with pytest.raises(confine.NotRegularFile):
        confine.open_regular(tmp_path / "p.yaml")


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "character device"), ("/dev/null", "character device")])
def test_devices_are_refused(path: str, kind: str) -> None:
    with pytest.raises(confine.NotRegularFile, match=kind):
        confine.read_regular(path)


def test_directories_and_sockets_are_refused(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    with pytest.raises(confine.NotRegularFile, match="a directory"):
        confine.read_inside(tmp_path, "d.yaml")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.yaml"))
    sock.close()
    with pytest.raises(OSError):  # a socket cannot even be opened (ENXIO): never read
        confine.read_inside(tmp_path, "s.yaml")


def test_the_final_component_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("x: 1\n")
    os.symlink("real.yaml", tmp_path / "link.yaml")
    with pytest.raises(OSError):  # O_NOFOLLOW: a link swapped in after resolution is not followed
        confine.read_regular(tmp_path / "link.yaml")
    assert confine.read_inside(tmp_path, "link.yaml") == b"x: 1\n"  # resolved first, then opened


def test_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_bytes(b"x" * 101)
    with pytest.raises(confine.TooLarge, match="over the 100-byte limit"):
        confine.read_inside(tmp_path, "big.yaml", max_bytes=100)
    assert confine.read_inside(tmp_path, "big.yaml", max_bytes=101) == b"x" * 101


def test_read_text_file_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="not valid UTF-8"):
        confine.read_text_file(tmp_path / "bad.yaml")
    with pytest.raises(InputError, match="cannot read"):
        confine.read_text_file(tmp_path / "missing.yaml")


def test_walk_stops_at_the_depth_limit(tmp_path: Path) -> None:
    from tools.workspace import walk

    deep = tmp_path.joinpath(*["d"] * 5)
    deep.mkdir(parents=True)
    (deep / "f.yaml").write_text("x: 1\n")
    (tmp_path / "d" / "g.yaml").write_text("x: 1\n")
    with pytest.raises(confine.WalkLimit, match="nested more than 3 directories"):  # never skipped silently
        list(walk(tmp_path, max_depth=3))
    skipped: list[Path] = []
    assert [p.name for p, _ in walk(tmp_path, max_depth=3, too_deep=skipped)] == ["g.yaml"]
    assert skipped == [tmp_path.joinpath(*["d"] * 4)]
    assert sorted(p.name for p, _ in walk(tmp_path)) == ["f.yaml", "g.yaml"]


def test_a_walk_out_of_time_stops_and_says_so(tmp_path: Path) -> None:
    from tools.workspace import walk

    (tmp_path / "a.yaml").write_text("x: 1\n")
    with pytest.raises(confine.WalkLimit, match="took longer than"):
        list(walk(tmp_path, seconds=-1))
    assert [p.name for p, _ in walk(tmp_path)] == ["a.yaml"]
