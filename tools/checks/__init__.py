"""Deterministic Kubernetes checks. Importing the package registers every check module.

Add a check by writing a pure function in a module here (or a new module imported below) and decorating it
with :func:`check`; its metadata lives only in that decorator.
"""

from tools.checks import crossobject, secrets, workload  # noqa: F401  (imported to register their checks)
from tools.checks.core import CHECK_ERROR_ID, CheckSpec, check, registry, run_checks

__all__ = ["CHECK_ERROR_ID", "CheckSpec", "check", "registry", "run_checks"]
