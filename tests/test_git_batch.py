"""Batched git reads: one ``cat-file --batch`` answers what one process per file did, byte for byte."""

from __future__ import annotations

from pathlib import Path

from gitrepo import Symlink, commit, git, make_repo

from tools import git as tgit


def test_prefetch_gives_the_same_bytes_as_one_read_per_file(tmp_path: Path) -> None:
    files = {"k8s/a.yaml": "a: 1\n", "k8s/with space.yaml": "b: 2\n", "k8s/empty.yaml": "",
             "k8s/bin.yaml": b"\x00\x01\n\n\x02", "k8s/link.yaml": Symlink("a.yaml"), "k8s/sub/c.yaml": "c: 3\n"}
    repo = make_repo(tmp_path, files)
    head = git(repo, "rev-parse", "HEAD").strip()
    wanted = [*files, "k8s/missing.yaml", "k8s/sub", "k8s/a.yaml/x"]
    singles = {p: tgit.read_file_at(repo, head, p) for p in wanted}
    tgit._BLOBS.clear()
    tgit.prefetch_files_at(repo, head, wanted)
    assert {p: tgit._BLOBS[(str(repo), head, p)] for p in wanted} == singles
    assert singles["k8s/bin.yaml"] == b"\x00\x01\n\n\x02" and singles["k8s/missing.yaml"] is None
    assert singles["k8s/sub"] is None and singles["k8s/link.yaml"] == b"a.yaml"


def test_prefetch_from_a_subdirectory_reads_relative_paths(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"app/k8s/a.yaml": "a: 1\n", "k8s/a.yaml": "top: 1\n"})
    head = git(repo, "rev-parse", "HEAD").strip()
    tgit._BLOBS.clear()
    tgit.prefetch_files_at(repo / "app", head, ["k8s/a.yaml"])
    assert tgit.read_file_at(repo / "app", head, "k8s/a.yaml") == b"a: 1\n"


def test_cache_is_keyed_by_commit_so_a_new_commit_is_read_afresh(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"k8s/a.yaml": "a: 1\n"})
    first = git(repo, "rev-parse", "HEAD").strip()
    tgit.prefetch_files_at(repo, "HEAD", ["k8s/a.yaml"])
    commit(repo, {"k8s/a.yaml": "a: 2\n"}, "change")
    assert tgit.read_file_at(repo, "HEAD", "k8s/a.yaml") == b"a: 2\n"
    assert tgit.read_file_at(repo, first, "k8s/a.yaml") == b"a: 1\n"


def test_git_processes_do_not_grow_with_the_files_of_a_range(tmp_path: Path, monkeypatch) -> None:
    """A range changing N manifests costs a fixed number of git processes, not one or more per file."""
    from core.config import Config
    from core.models import ChangeRequest
    from tools import engine

    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: v{rev}\n"
    counts = {}
    for n in (5, 60):
        (tmp_path / str(n)).mkdir()
        repo = make_repo(tmp_path / str(n), {f"k8s/c{i}.yaml": cm.format(i=i, rev=0) for i in range(n)})
        commit(repo, {f"k8s/c{i}.yaml": cm.format(i=i, rev=1) for i in range(n)}, "change all")
        calls: list[str] = []
        real = tgit._run

        def counting(*a, calls=calls, real=real, **k):
            calls.append(a[1][0])
            return real(*a, **k)

        monkeypatch.setattr(tgit, "_run", counting)
        tgit._BLOBS.clear()
        req = ChangeRequest(workspace=str(repo), base="HEAD~1", head="HEAD")
        analysis = engine.analyse(req, Config())
        monkeypatch.setattr(tgit, "_run", real)
        assert len([o for o in analysis.collected.objects if o.kind == "ConfigMap"]) == n
        counts[n] = len(calls)
    assert counts[60] == counts[5], counts
