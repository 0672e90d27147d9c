from __future__ import annotations

import pytest

from core.globs import PHASE3_KEYS, normalize_glob, phase3_globs


@pytest.mark.parametrize(("glob", "expected"), [("./backend/**", "backend/**"), ("././a/b", "a/b"),
                                                 ("!./x", "!./x"), ("/abs/**", "/abs/**"), ("**/*.py", "**/*.py")])
def test_normalize_glob(glob: str, expected: str) -> None:
    assert normalize_glob(glob) == expected


@pytest.mark.parametrize(("block", "message"), [
    ([], "phase3 must be a mapping"),
    ({"protectd": ["a/**"]}, "phase3.protectd: unknown key"),
    ({"protected": "a/**"}, "phase3.protected: globs must be lists of strings"),
    ({"allowed": [1]}, "phase3.allowed: globs must be lists of strings"),
    ({"needs_approval": ["../x"]}, "phase3.needs_approval: glob '../x' leaves the workspace"),
    ({"app_roots": [" a"]}, "phase3.app_roots: glob ' a' is empty or has surrounding whitespace"),
])
def test_phase3_globs_refuses_what_the_config_model_refuses(block, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        phase3_globs(block)


def test_phase3_globs_fills_every_key() -> None:
    assert phase3_globs(None) == {k: [] for k in PHASE3_KEYS}
    assert phase3_globs({"protected": ["./b/**"], "allowed": None})["protected"] == ["b/**"]
