"""Who writes a ledger record, at which commit, with which key; and checking a record's SSH signature.

Signatures use the mechanism git uses for SSH commit signing: ``ssh-keygen -Y sign -n infra-orchestrator-ledger``
over the record's canonical bytes, checked with ``ssh-keygen -Y verify`` against an allowed-signers file (the
format of git's ``gpg.ssh.allowedSignersFile``: ``principal key``). The principal is the record's ``actor``, so
a record claiming ``alice@example.com`` only verifies with a key the allowed-signers file lists for her.

Where each value comes from (the operator's environment first, then git's configuration of the repository):

* the actor: ``$INFRA_ORCH_ACTOR``, git ``user.email``, ``$USER`` / ``$LOGNAME``;
* the signing key: ``$INFRA_ORCH_LEDGER_KEY`` (a path to an SSH private key, or to a public key whose private
  half an ssh-agent holds), else git ``user.signingkey`` when ``gpg.format=ssh`` (a path, or ``key::...``);
* the allowed signers: ``--allowed-signers``, ``$INFRA_ORCH_ALLOWED_SIGNERS``, git ``gpg.ssh.allowedSignersFile``.

Every subprocess has a timeout, no shell and no terminal (a key that needs a passphrase fails instead of
prompting). Failures raise :class:`~core.errors.InputError` with one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import InputError

NAMESPACE = "infra-orchestrator-ledger"
ENV_ACTOR = "INFRA_ORCH_ACTOR"
ENV_KEY = "INFRA_ORCH_LEDGER_KEY"
ENV_SIGNERS = "INFRA_ORCH_ALLOWED_SIGNERS"
TIMEOUT_S = 30
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")


class SigningError(InputError):
    """A record could not be signed, or a signature could not be checked (ssh-keygen missing, bad key...)."""


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen") or ("/usr/bin/ssh-keygen" if os.access("/usr/bin/ssh-keygen", os.X_OK) else None)
    if not found:
        raise SigningError("ssh-keygen is not installed (needed to sign or verify ledger records)")
    return found


def git(root: Path, *args: str) -> str | None:
    """``git <args>`` in ``root``: stripped stdout, or None when git fails, is missing or times out."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    try:
        proc = subprocess.run(["git", *args], cwd=root, env={**env, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"},
                              capture_output=True, timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.decode("utf-8", "replace").strip()
    return out if proc.returncode == 0 and out else None


def actor(root: Path) -> tuple[str, str]:
    """``(actor, where it came from)``: the operator's ``$INFRA_ORCH_ACTOR``, git ``user.email``, or the login."""
    if os.environ.get(ENV_ACTOR, "").strip():
        return os.environ[ENV_ACTOR].strip(), ENV_ACTOR
    email = git(root, "config", "--get", "user.email")
    if email:
        return email, "git user.email"
    for var in ("USER", "LOGNAME"):
        if os.environ.get(var, "").strip():
            return os.environ[var].strip(), f"${var}"
    return "unknown", "none"


def head_commit(root: Path) -> str | None:
    """The commit checked out in ``root`` (``HEAD``), or None outside git or before the first commit."""
    return git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")


@dataclass(frozen=True)
class Key:
    """A signing key: a file (private key, or public key held by an agent) or a literal public key."""

    path: Path | None
    literal: str | None
    source: str


def signing_key(root: Path) -> Key | None:
    """The key records are signed with, or None (records are then written unsigned)."""
    env = os.environ.get(ENV_KEY, "").strip()
    if env:
        return Key(Path(env).expanduser(), None, ENV_KEY)
    if (git(root, "config", "--get", "gpg.format") or "").lower() != "ssh":
        return None
    configured = git(root, "config", "--get", "user.signingkey")
    if not configured:
        return None
    if configured.startswith("key::"):
        return Key(None, configured.removeprefix("key::"), "git user.signingkey")
    if configured.startswith(("ssh-", "ecdsa-", "sk-")):
        return Key(None, configured, "git user.signingkey")
    return Key(Path(configured).expanduser(), None, "git user.signingkey")


def allowed_signers(root: Path, explicit: Path | None = None) -> Path | None:
    """The allowed-signers file: ``explicit``, ``$INFRA_ORCH_ALLOWED_SIGNERS``, git ``gpg.ssh.allowedSignersFile``."""
    named = str(explicit) if explicit else os.environ.get(ENV_SIGNERS, "").strip()
    named = named or git(root, "config", "--get", "gpg.ssh.allowedSignersFile") or ""
    if not named:
        return None
    path = Path(named).expanduser()
    if not path.is_file():
        raise SigningError(f"allowed-signers file {path} does not exist or is not a regular file")
    return path


def _run(args: list[str], data: bytes, what: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run([_ssh_keygen(), *args], input=data, capture_output=True, timeout=TIMEOUT_S,
                              check=False, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise SigningError(f"ssh-keygen timed out after {TIMEOUT_S}s while {what}") from None
    except OSError as exc:
        raise SigningError(f"ssh-keygen could not run while {what}: {exc}") from None


def _first_line(raw: bytes) -> str:
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("Signing data", "Enter passphrase"))] or lines
    return lines[-1][:300] if lines else "no message"


def sign(data: bytes, key: Key) -> str:
    """The armored SSH signature of ``data`` (namespace :data:`NAMESPACE`); SigningError when it cannot be made."""
    with tempfile.TemporaryDirectory(prefix="ledger-sign-") as tmp:
        path = key.path
        if path is None:
            path = Path(tmp) / "key.pub"
            path.write_text((key.literal or "").strip() + "\n")
        elif not path.is_file():
            raise SigningError(f"signing key {path} (from {key.source}) does not exist or is not a regular file")
        proc = _run(["-Y", "sign", "-f", str(path), "-n", NAMESPACE], data, "signing a ledger record")
    signature = proc.stdout.decode("ascii", "replace")
    if proc.returncode != 0 or "BEGIN SSH SIGNATURE" not in signature:
        raise SigningError(f"cannot sign the ledger record with {path} (from {key.source}): "
                           f"{_first_line(proc.stderr)}")
    return signature


def _verify_time(timestamp: object) -> list[str]:
    """``-Overify-time=`` for the record's own (signed) timestamp, as git passes the commit time: a key
    rotated out with ``valid-before`` still verifies what it signed while it was valid."""
    try:
        when = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return []
    if when.tzinfo is None:
        return []
    return [f"-Overify-time={when.astimezone(UTC).strftime('%Y%m%d%H%M%S')}Z"]


def verify(data: bytes, signature: str, principal: str, signers: Path, timestamp: object = None) -> str:
    """Why ``signature`` is not ``principal``'s good signature of ``data`` under ``signers`` ("" when it is),
    checking the allowed-signers validity window at ``timestamp`` (ISO 8601; default: now)."""
    if not principal or any(c in principal for c in "\n\r\0"):
        return "names no usable signer"
    with tempfile.TemporaryDirectory(prefix="ledger-verify-") as tmp:
        sig = Path(tmp) / "record.sig"
        sig.write_text(signature)
        proc = _run(["-Y", "verify", "-f", str(signers), "-I", principal, "-n", NAMESPACE, "-s", str(sig),
                     *_verify_time(timestamp)], data, "verifying a ledger record")
    if proc.returncode == 0:
        return ""
    detail = _first_line(proc.stderr) if proc.stderr.strip() else "signed by a key not listed for it"
    return f"has a signature that does not verify as '{principal}' against {signers} ({detail})"
