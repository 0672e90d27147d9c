"""Where the rules that judge a change come from: the trusted side, never the change under review.

:func:`resolve_policy` picks the policy (the configuration and ``phase3.lock``) in this order:

1. **An operator file**: ``--config PATH``, else the ``INFRA_ORCH_CONFIG`` environment variable (for CI and
   the MCP server). Outside the repository it is read as is. Inside it, it is repository content like any
   other, so it is read at the base revision (below).
2. **The base revision**: for a git review, the blobs of ``.infra-orchestrator.yaml`` and ``phase3.lock`` at
   the base commit (``git cat-file``, no filters), never the work tree or the head. A work-tree review's base is
   ``HEAD``. A base without a config file means the defaults.
3. **The work tree**, only when there is no base revision (a plain directory, a repository without commits);
   the source then says ``work tree (untrusted: no base revision)``.

``phase3.lock`` always comes from the base revision when there is one, whichever config is used.
:attr:`TrustedPolicy.source` names what was used, for the decision. Pure: git and files only, no model.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from core.config import CONFIG_FILENAME, Config, load_config
from core.errors import ConfigError, InputError
from core.yamlsafe import load as yaml_load
from tools import git
from tools.git_tree import read_entry_at

CONFIG_ENV = "INFRA_ORCH_CONFIG"
"""Environment variable naming an operator config file (used when no ``--config`` is given)."""
LOCK_FILENAME = "phase3.lock"
MAX_POLICY_BYTES = 1024 * 1024
UNTRUSTED_SOURCE = "work tree (untrusted: no base revision)"

Origin = Literal["operator", "base", "worktree"]


@dataclass(frozen=True)
class TrustedPolicy:
    """The policy a change is judged by, and where it came from."""

    config: Config
    """The configuration to judge with."""
    source: str
    """For the decision: ``base revision 1a2b3c4d5e6f (.infra-orchestrator.yaml)``, ``operator file /etc/x.yaml``,
    or ``work tree (untrusted: no base revision)``."""
    origin: Origin
    rev: str | None
    """The base commit id the lock (and, for origin ``base``, the config) came from; None without one."""
    lock_text: str | None
    """``phase3.lock`` at the base revision (work tree without one); None when there is none."""
    base_config: Config | None
    """The repository's own config at the base revision (defaults when it has none), whatever ``config`` is;
    None without a base revision. Policy edits are measured against it."""

    @property
    def trusted(self) -> bool:
        return self.origin != "worktree"

    @property
    def digest(self) -> str:
        """sha256 over the configuration and the lock: the same policy gives the same digest."""
        body = json.dumps(self.config.model_dump(mode="json"), sort_keys=True) + "\0" + (self.lock_text or "")
        return hashlib.sha256(body.encode()).hexdigest()

    def reference(self) -> dict:
        """A JSON-able form for graph state and checkpoints (:meth:`restore` reads it back)."""
        return {"source": self.source, "origin": self.origin, "rev": self.rev, "lock_text": self.lock_text,
                "base_config": self.base_config.model_dump(mode="json") if self.base_config else None,
                "digest": self.digest}

    @classmethod
    def restore(cls, config: Config, ref: dict) -> TrustedPolicy:
        base = ref.get("base_config")
        return cls(config, ref["source"], ref["origin"], ref.get("rev"), ref.get("lock_text"),
                   Config.model_validate(base) if base is not None else None)


def _format_error(origin: str, err: ValidationError) -> str:
    lines = [f"{origin}: invalid configuration"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        lines.append(f"  {key}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}")
    return "\n".join(lines)


def parse_config_text(text: str, origin: str) -> Config:
    """Validate configuration text read from somewhere other than a file (a blob); errors name ``origin``."""
    try:
        data = yaml_load(text, origin) if text.strip() else {}
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_error(origin, err)) from None


def read_policy_blob(root: Path, rev: str, path: str) -> str | None:
    """The text of the policy file ``path`` at ``rev``; None when absent. A symlink, a non-UTF-8 or an oversized
    blob is a :class:`ConfigError` (a policy is a regular text file)."""
    found = read_entry_at(root, rev, path)
    if found is None:
        return None
    mode, data = found
    origin = f"{rev[:12]}:{path}"
    if mode == git.SYMLINK_MODE:
        raise ConfigError(f"{origin}: is a symlink; a policy file must be a regular file")
    if len(data) > MAX_POLICY_BYTES:
        raise ConfigError(f"{origin}: larger than {MAX_POLICY_BYTES // 1024} KiB; not a policy file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{origin}: not UTF-8 text") from None


def config_at(root: Path, rev: str) -> Config:
    """The repository's configuration at ``rev`` (defaults when the file is absent there)."""
    text = read_policy_blob(root, rev, CONFIG_FILENAME)
    return Config() if text is None else parse_config_text(text, f"{rev[:12]}:{CONFIG_FILENAME}")


def _worktree_lock(root: Path) -> str | None:
    path = root / LOCK_FILENAME
    if not path.is_file() or path.is_symlink():
        return None
    if path.stat().st_size > MAX_POLICY_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_POLICY_BYTES // 1024} KiB; not a lock file")
    return path.read_text(encoding="utf-8", errors="replace")


def _inside(path: Path, top: Path) -> bool:
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(top))
    return real == top or top in real.parents


def _repo_top(root: Path) -> Path | None:
    return git.repo_toplevel(root) if git.is_git_repo(root) else None


def _operator_file(root: Path, operator_config: Path | None, env: Mapping[str, str]) -> Path | None:
    chosen = operator_config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if chosen is None:
        return None
    chosen = chosen.expanduser()
    if not chosen.is_absolute():
        chosen = Path.cwd() / chosen
    if not chosen.is_file():
        where = "--config" if operator_config else CONFIG_ENV
        raise ConfigError(f"{chosen}: config file not found (named by {where})")
    return chosen


def trusted_base(root: Path, base: str | None) -> str | None:
    """The base revision a review of ``root`` trusts: ``base`` when given, else ``HEAD`` in a repository that has
    one (work-tree, path and directory reviews), else None (no git, or no commit yet)."""
    if base:
        return git.resolve_ref(root, base)
    if not git.is_git_repo(root):
        return None
    head = git.run_git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip()
    return head or None


def resolve_policy(root: Path, base_rev: str | None, operator_config: Path | None = None,
                   env: Mapping[str, str] | None = None) -> TrustedPolicy:
    """The policy that judges a change of ``root`` whose trusted base is ``base_rev`` (see the module text).

    ``base_rev`` is a commit (use :func:`trusted_base`), or None when there is no base revision.
    A missing or invalid policy file is a :class:`ConfigError`: the review stops rather than guess.
    """
    env = os.environ if env is None else env
    rev = git.resolve_ref(root, base_rev) if base_rev else None
    lock_text = (read_policy_blob(root, rev, LOCK_FILENAME) if rev else _worktree_lock(root))
    base_config = config_at(root, rev) if rev else None
    operator = _operator_file(root, operator_config, env)
    if operator is not None:
        top = _repo_top(root)
        if top is None or not _inside(operator, top):
            config = load_config(root, operator).config
            return TrustedPolicy(config, f"operator file {operator}", "operator", rev, lock_text, base_config)
        rel = Path(os.path.realpath(operator)).relative_to(Path(os.path.realpath(top))).as_posix()
        if rev is None:
            config = load_config(root, operator).config
            return TrustedPolicy(config, f"{UNTRUSTED_SOURCE}, {rel}", "worktree", None, lock_text, None)
        text = read_policy_blob(top, rev, rel)
        if text is None:
            raise ConfigError(f"{rel}: not in the base revision {rev[:12]}; an in-repository --config is read "
                              "there (commit it first, or name a file outside the repository)")
        config = parse_config_text(text, f"{rev[:12]}:{rel}")
        return TrustedPolicy(config, f"base revision {rev[:12]} ({rel})", "base", rev, lock_text, base_config)
    if rev is None:
        loaded = load_config(root)
        return TrustedPolicy(loaded.config, UNTRUSTED_SOURCE, "worktree", None, lock_text, None)
    return TrustedPolicy(base_config, f"base revision {rev[:12]} ({CONFIG_FILENAME})", "base", rev, lock_text,
                         base_config)


@dataclass(frozen=True)
class HeadPolicy:
    """The policy files as the change leaves them (what it *would* be judged by if the change were trusted)."""

    config: Config | None
    """None when the head's config does not load (``error`` says why)."""
    lock_text: str | None
    error: str | None = None
    config_text: str | None = None
    """The config file's text at the head (None when absent), to locate fields by line."""


def _worktree_config_text(root: Path) -> str | None:
    path = root / CONFIG_FILENAME
    if not path.is_file() or path.stat().st_size > MAX_POLICY_BYTES:
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def head_policy(root: Path, head_rev: str | None) -> HeadPolicy:
    """The config and lock at ``head_rev``, or in the work tree when it is None (work-tree and path reviews).

    A head config that does not load is reported in :attr:`HeadPolicy.error`, not raised: it is the change's."""
    rev = git.resolve_ref(root, head_rev) if head_rev else None
    try:
        text = read_policy_blob(root, rev, CONFIG_FILENAME) if rev else _worktree_config_text(root)
        lock = read_policy_blob(root, rev, LOCK_FILENAME) if rev else _worktree_lock(root)
    except ConfigError as exc:
        return HeadPolicy(None, None, "; ".join(line.strip() for line in str(exc).splitlines()))
    try:
        if rev:
            config = Config() if text is None else parse_config_text(text, f"{rev[:12]}:{CONFIG_FILENAME}")
        else:
            config = load_config(root).config
    except ConfigError as exc:
        return HeadPolicy(None, lock, "; ".join(line.strip() for line in str(exc).splitlines()), text)
    return HeadPolicy(config, lock, None, text)


def request_base(req) -> str | None:
    """The trusted base revision of a request: ``--base`` for a git range; for a stage request on a feature
    branch, the commit it forked from; otherwise ``HEAD`` in a repository (None without git or commits)."""
    root = Path(req.workspace)
    if getattr(req, "base", None):
        return trusted_base(root, req.base)
    if hasattr(req, "feature"):
        from tools.workflow import feature_base

        forked = feature_base(root)
        if forked:
            return trusted_base(root, forked)
    return trusted_base(root, None)


def policy_for_request(req, operator_config: Path | None = None,
                       env: Mapping[str, str] | None = None) -> TrustedPolicy:
    """:func:`resolve_policy` for a ``ChangeRequest`` or ``StageRequest``."""
    return resolve_policy(Path(req.workspace), request_base(req), operator_config, env)
