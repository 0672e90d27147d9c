"""Deterministic Kubernetes checks. Importing the package registers every check module.

Add a check by writing a pure function in any module of this package and decorating it with :func:`check`;
its metadata lives only in that decorator. Every module of the package is imported here, so a new module
registers its checks without further wiring.
"""

import importlib
import pkgutil

from tools.checks.core import (
    CHECK_ERROR_ID,
    PROFILES,
    SCOPES,
    CheckSpec,
    Hit,
    check,
    in_profile,
    registry,
    run_checks,
    run_diff_checks,
    run_dockerfile_checks,
    selected,
    validate_selection,
)

_NOT_CHECKS = {"catalog", "docs"}
"""Modules of the package that register no checks (they import it: the whole catalog, the docs generator)."""

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _NOT_CHECKS:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CHECK_ERROR_ID", "PROFILES", "SCOPES", "CheckSpec", "Hit", "check", "in_profile", "registry",
           "run_checks", "run_diff_checks", "run_dockerfile_checks", "selected", "validate_selection"]
