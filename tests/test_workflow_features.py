"""Which feature a request means: names, numbers, prefixes, branches, ``SPECIFY_FEATURE(_DIRECTORY)`` and
``.specify/feature.json`` — resolved as Spec-Kit's own scripts resolve them, confined to the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from featurekit import hits, write
from workflowkit import (  # noqa: F401
    DEFAULT,
    FEATURE,
    LEGACY_FEATURE,
    LEGACY_MARKER_LINE,
    LEGACY_OPEN_ITEM_LINE,
    complete_repo,
    stage,
)

from core.errors import InputError
from tools.workflow import default_feature, feature_from_branch, resolve_feature

# --- feature resolution -------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return complete_repo(tmp_path)


@pytest.mark.parametrize("name", ["001", "1", "001-todo-k8s", "todo-k8s", "specs/001-todo-k8s/", " 001 "])
def test_resolve_feature_by_number_or_name(repo: Path, name: str) -> None:
    assert resolve_feature(repo, name) == repo / FEATURE


def test_resolve_feature_picks_among_several(repo: Path) -> None:
    (repo / "specs/002-chat-api").mkdir()
    (repo / "specs/templates").mkdir()  # not a feature directory
    assert resolve_feature(repo, "2") == repo / "specs/002-chat-api"
    assert resolve_feature(repo, "chat-api") == repo / "specs/002-chat-api"


def test_unknown_feature_lists_the_features_found(repo: Path) -> None:
    (repo / "specs/002-chat-api").mkdir()
    with pytest.raises(InputError) as err:
        resolve_feature(repo, "9")
    message = str(err.value)
    assert "'9'" in message and "001-todo-k8s, 002-chat-api" in message
    assert "\n" not in message


def test_unknown_feature_without_specs_dir(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no specs/NNN-name/ directories"):
        resolve_feature(tmp_path, "001")


def test_ambiguous_feature_number(repo: Path) -> None:
    (repo / "specs/001-other").mkdir()
    with pytest.raises(InputError, match="ambiguous: 001-other, 001-todo-k8s"):
        resolve_feature(repo, "1")


@pytest.mark.parametrize(
    ("branch", "expected"),
    [("001-todo-k8s", "001-todo-k8s"), ("refs/heads/002-chat-api", "002-chat-api"), ("origin/003-x", "003-x"),
     ("main", None), ("1-short", None), ("feature/login", None), ("", None), ("0012-search", "0012-search"),
     ("20251104-1530-tags", "20251104-1530-tags"), ("20260319-143022-tags", "20260319-143022-tags"),
     ("feat/004-name", "004-name"), ("20251104-tags", "20251104-tags")],
)
def test_feature_from_branch(branch: str, expected: str | None) -> None:
    assert feature_from_branch(branch) == expected


def test_default_feature_prefers_specify_feature(tmp_path: Path) -> None:
    assert default_feature(tmp_path, " 002-chat ") == "002-chat"
    with pytest.raises(InputError, match="not on a feature branch"):
        default_feature(tmp_path, None)  # not a git repository: no branch


# --- Spec-Kit's resolution order: SPECIFY_FEATURE_DIRECTORY, feature.json, then the branch ---------


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Features with a sequential, a four-digit and a timestamp prefix, and one kept outside ``specs/``."""
    for rel in ("specs/001-todo-k8s", "specs/0012-search", "specs/20251104-1530-tags", "docs/specs/007-helm",
                "specs/phase4-k8s-deployment"):
        write(tmp_path, f"{rel}/spec.md", "# Feature Specification\n")
    return tmp_path


@pytest.mark.parametrize(("name", "expected"), [
    ("12", "specs/0012-search"), ("0012-search", "specs/0012-search"), ("search", "specs/0012-search"),
    ("20251104-1530", "specs/20251104-1530-tags"), ("20251104-1530-other-branch", "specs/20251104-1530-tags"),
    ("001-fix-probes", "specs/001-todo-k8s"), ("docs/specs/007-helm", "docs/specs/007-helm"),
    ("phase4-k8s-deployment", "specs/phase4-k8s-deployment"), ("specs/phase4-k8s-deployment/", "specs/phase4-k8s-deployment"),
])
def test_resolve_by_prefix_like_spec_kit(many: Path, name: str, expected: str) -> None:
    assert resolve_feature(many, name) == many / expected


def test_feature_json_names_the_feature(many: Path) -> None:
    write(many, ".specify/feature.json", '{\n  "feature_directory": "specs/0012-search"\n}\n')
    assert default_feature(many) == "specs/0012-search"
    assert resolve_feature(many, default_feature(many)) == many / "specs/0012-search"
    assert default_feature(many, "001-todo-k8s") == "specs/0012-search"  # as common.sh: feature.json first
    assert default_feature(many, None, "docs/specs/007-helm") == "docs/specs/007-helm"  # the variable wins
    assert default_feature(many, None, str(many / "specs/001-todo-k8s")) == "specs/001-todo-k8s"


def test_feature_json_without_a_directory_falls_back_to_the_branch(many: Path) -> None:
    write(many, ".specify/feature.json", '{"branch_name": "0012-search"}')
    assert default_feature(many, "0012-search") == "0012-search"


@pytest.mark.parametrize(("content", "error"), [
    ('{"feature_directory": ', "cannot be read"),
    ('{"feature_directory": "specs/404-gone"}', "does not exist"),
    ('{"feature_directory": "../outside"}', "outside the workspace"),
    ('{"feature_directory": "/etc"}', "outside the workspace"),
])
def test_unusable_feature_json_is_an_error_not_a_guess(many: Path, content: str, error: str) -> None:
    write(many, ".specify/feature.json", content)
    with pytest.raises(InputError, match=error):
        default_feature(many, "001")


def test_feature_directory_may_not_escape_through_a_symlink(many: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (many / "specs/042-linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="outside the workspace"):
        default_feature(many, None, "specs/042-linked")
    with pytest.raises(InputError, match="outside the workspace"):
        resolve_feature(many, "specs/042-linked")


def test_symlinked_artifact_outside_the_workspace_is_unreadable(repo: Path,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    secret = tmp_path_factory.mktemp("elsewhere") / "spec.md"
    secret.write_text((repo / FEATURE / "spec.md").read_text(encoding="utf-8"), encoding="utf-8")
    (repo / FEATURE / "spec.md").unlink()
    (repo / FEATURE / "spec.md").symlink_to(secret)
    findings = stage(repo, "specify")
    assert hits(findings, "WF-FILE-UNREADABLE") == [(f"{FEATURE}/spec.md", None)]
    assert "outside the workspace" in findings[0].message
