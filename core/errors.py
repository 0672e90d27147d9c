"""Errors that front-ends turn into one-line messages and stable exit codes."""

from __future__ import annotations

EXIT_APPROVED = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_CLARIFICATION = 3
EXIT_INTERNAL = 4


class OrchestratorError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    exit_code = EXIT_USAGE


class ConfigError(OrchestratorError):
    """The configuration file is missing, malformed or has unknown keys / wrong types."""


class InputError(OrchestratorError):
    """Bad input: a missing path, a path outside the workspace, an unknown stage, git unavailable..."""


class GitError(InputError):
    """git is missing, the directory is not a repository, or a ref does not resolve."""
