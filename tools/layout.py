"""Where Phase III lives: compiled boundary globs, path normalisation, and layout detection.

Deliberately light (``pathspec`` and the standard library only, no pydantic): the Claude Code hook
imports it on every tool call and must answer in milliseconds.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

import pathspec

from core.errors import InputError

Zone = Literal["protected", "needs_approval", "allowed", "outside"]
CONFIG_FILENAME = ".infra-orchestrator.yaml"  # core.config.CONFIG_FILENAME (not imported here: pydantic)
LOCK_FILENAME = "phase3.lock"  # tools.lock.LOCK_FILENAME
LEDGER_DIR = "history/approvals"  # tools.ledger.LEDGER_DIR
POLICY_FILES = {  # gitignore glob (workspace-relative) → what it is
    CONFIG_FILENAME: "the guard's configuration",
    f"/{LOCK_FILENAME}": "the Phase III lock",
    f"/{LEDGER_DIR}/": "the approval ledger",
    "/.claude/settings.json": "the Claude Code settings that register this hook",
    "/.claude/settings.local.json": "the Claude Code settings that register this hook",
    "/.mcp.json": "the MCP servers Claude Code starts, the gatekeeper's among them",
    ".gitattributes": "git attributes, which change how git reports protected files",
    "/.git": "the git repository (its configuration, hooks and excludes)",
}
"""The policy files: the rules that judge a change and the settings that run the guard. Writing, moving or
deleting one is a policy change, which only a human approves."""
HOME_POLICY_FILES = (".claude/settings.json", ".claude/settings.local.json")
"""Policy files under the user's home directory: Claude Code's user settings can register or drop hooks."""
APP_DIRS = ("backend", "frontend", "api", "web", "server", "client")
"""Directory names that hold one tier of an in-place Phase III application."""
BUILD_CONFIG = ("next.config.*", "package.json", "package-lock.json", "requirements*.txt", "pyproject.toml",
                "alembic/**", "migrations/**")
"""Build configuration and schema migrations of an app tier: they change only with approval."""


def normalize_path(path: str) -> str:
    """Return ``path`` as a normalized posix path relative to the workspace root.

    Strips ``./``, collapses ``..`` and duplicate slashes; the root itself is ``"."``. Raises
    :class:`InputError` for absolute paths and paths that escape the root (``../x``).
    """
    norm = posixpath.normpath(PurePath(path).as_posix())
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../"):
        raise InputError(f"path '{path}' is outside the workspace")
    return norm


def _spec(globs: list[str]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(globs)


def literal_prefix(glob: str) -> str:
    """The leading directories of ``glob`` that contain no wildcard; "" when the glob starts with one, is a
    negation, or is unanchored (no inner slash: gitignore matches it at any depth, like ``src/``)."""
    body = glob.rstrip("/")
    if glob.startswith("!") or "/" not in body:
        return ""
    parts = []
    for part in body.strip("/").split("/"):
        if any(c in part for c in "*?[\\"):
            break
        parts.append(part)
    return "/".join(parts)


def specificity(glob: str) -> int:
    """How specific a glob is: its literal (non-wildcard) characters, anchored globs one more."""
    body = glob.rstrip("/")
    literal = sum(1 for c in body.replace("**", "") if c not in "*?[]!")
    return literal + (1 if "/" in body.strip("/") or glob.startswith("/") else 0)


@dataclass(frozen=True)
class Boundaries:
    """Compiled Phase III globs of one workspace."""

    protected: pathspec.GitIgnoreSpec
    needs_approval: pathspec.GitIgnoreSpec
    allowed: pathspec.GitIgnoreSpec
    defined: bool
    protected_globs: tuple[str, ...] = ()
    needs_approval_globs: tuple[str, ...] = ()
    allowed_globs: tuple[str, ...] = ()

    @classmethod
    def from_globs(cls, protected: list[str], needs_approval: list[str], allowed: list[str]) -> Boundaries:
        """Compile the three glob lists (gitignore semantics)."""
        return cls(protected=_spec(protected), needs_approval=_spec(needs_approval), allowed=_spec(allowed),
                   defined=bool(protected), protected_globs=tuple(protected),
                   needs_approval_globs=tuple(needs_approval), allowed_globs=tuple(allowed))

    @classmethod
    def from_config(cls, phase3) -> Boundaries:
        """Compile the globs of a ``Phase3Config`` (or anything with the same three list attributes)."""
        return cls.from_globs(phase3.protected, phase3.needs_approval, phase3.allowed)

    def classify(self, path: str, is_dir: bool = False) -> Zone:
        """Classify a workspace-relative path; ``is_dir`` lets directory globs (``app/``) match it.

        The most specific matching glob wins (:func:`specificity`: the more literal characters, the more
        specific), so ``needs_approval: [frontend/next.config.*]`` asks inside ``protected: [frontend/**]``
        and ``allowed: [backend/Dockerfile]`` carves one file out of ``protected: [backend/**]`` and
        ``needs_approval: [**/Dockerfile]``. Equally specific globs resolve to the safer zone: protected, then
        needs_approval, then allowed. A path matching no glob is ``"outside"`` Phase III.
        """
        norm = normalize_path(path)
        candidate = f"{norm}/" if is_dir else norm
        best: tuple[int, int, Zone] | None = None
        for safety, zone in enumerate(("protected", "needs_approval", "allowed")):
            rank = self._match_rank(zone, candidate)
            if rank is not None and (best is None or (rank, -safety) > best[:2]):
                best = (rank, -safety, zone)
        return "outside" if best is None else best[2]

    def _match_rank(self, zone: str, candidate: str) -> int | None:
        """The specificity of the most specific glob of ``zone`` matching ``candidate``; None when the zone's
        globs (negations included, gitignore semantics) do not match it."""
        spec, globs = {"protected": (self.protected, self.protected_globs),
                       "needs_approval": (self.needs_approval, self.needs_approval_globs),
                       "allowed": (self.allowed, self.allowed_globs)}[zone]
        if not spec.match_file(candidate):
            return None
        ranks = [specificity(g) for g in globs if not g.startswith("!") and _spec([g]).match_file(candidate)]
        return max(ranks, default=0)

    def matching_glob(self, path: str, zone: Zone) -> str | None:
        """The last glob of ``zone`` that matches ``path`` (gitignore: the last match decides)."""
        globs = {"protected": self.protected_globs, "needs_approval": self.needs_approval_globs}.get(zone, ())
        norm = normalize_path(path)
        hits = [g for g in globs if _spec([g]).match_file(norm) or _spec([g]).match_file(f"{norm}/")]
        return hits[-1] if hits else None

    def reaches_protected(self, dest: str) -> str | None:
        """The protected glob that ``dest`` (a link's destination) is, lies under, or encloses; None otherwise."""
        for is_dir in (False, True):
            if self.classify(dest, is_dir=is_dir) == "protected":
                return self.matching_glob(dest, "protected") or next(iter(self.protected_globs), None)
        return self.encloses_protected(dest)

    def encloses_protected(self, directory: str) -> str | None:
        """A protected glob whose fixed leading directories lie inside ``directory`` (so removing or moving
        the directory would take protected files with it); None when there is none. Best effort: globs
        without fixed leading directories (``**/x``, unanchored ``src/``) are not considered."""
        norm = normalize_path(directory)
        for glob in self.protected_globs:
            prefix = literal_prefix(glob)
            if prefix and (norm == "." or prefix == norm or prefix.startswith(norm + "/")):
                return glob
        return None


_POLICY_SPECS = [(glob, pathspec.GitIgnoreSpec.from_lines([glob])) for glob in POLICY_FILES]


def policy_file(path: str, is_dir: bool = False) -> str | None:
    """The :data:`POLICY_FILES` glob that ``path`` (workspace-relative) is, or lies under; None otherwise."""
    norm = normalize_path(path)
    return next((g for g, spec in _POLICY_SPECS if spec.match_file(f"{norm}/" if is_dir else norm)
                 or spec.match_file(norm)), None)


def encloses_policy(directory: str) -> str | None:
    """A policy glob that removing or moving ``directory`` would take with it (the root holds them all)."""
    norm = normalize_path(directory)
    for glob in POLICY_FILES:
        fixed = glob.strip("/")
        if norm == "." or (glob.startswith("/") and (fixed == norm or fixed.startswith(norm + "/"))):
            return glob
    return None


def link_destination(link: str, target: str, root: str | None = None) -> str | None:
    """Where a symlink at workspace-relative ``link`` pointing to ``target`` lands, relative to the workspace;
    None when it leaves the workspace. An absolute target counts when it lands inside ``root`` (the
    workspace's real path, when known)."""
    if not target:
        return None
    if posixpath.isabs(target):
        if root is None:
            return None
        joined = posixpath.relpath(posixpath.normpath(target), root)
    else:
        joined = posixpath.join(posixpath.dirname(link), target)
    try:
        return normalize_path(joined)
    except InputError:
        return None


LayoutKind = Literal["split-src", "whole-tiers", "phase-folder", "apps-folder"]


@dataclass
class Detection:
    """What ``guard init`` found: a proposal (when exactly one layout fits) and the reasons, always."""

    kind: LayoutKind | None = None
    reasons: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    needs_approval: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    app_roots: list[str] = field(default_factory=list)
    problem: str | None = None
    """Why nothing is proposed: no layout found, or several fit (ambiguous)."""

    def phase3(self) -> dict[str, list[str]]:
        """The proposed ``phase3`` block, keys in config order."""
        return {"protected": self.protected, "needs_approval": self.needs_approval, "allowed": self.allowed,
                "app_roots": self.app_roots}


def _dirs(root: Path, pattern: str) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_dir() and not p.is_symlink())


def _build_config(root: Path, tier: str) -> tuple[list[str], list[str]]:
    """needs_approval globs for the build configuration present in ``tier``, with a reason each."""
    globs, reasons = [], []
    for pattern in BUILD_CONFIG:
        found = sorted(p.relative_to(root).as_posix() for p in root.glob(f"{tier}/{pattern.removesuffix('/**')}"))
        if found:
            globs.append(f"{tier}/{pattern}")
            reasons.append(f"{', '.join(found)} exists: Phase III build configuration or schema → needs approval")
    return globs, reasons


def _tier_candidates(root: Path) -> dict[LayoutKind, Detection]:
    """Candidates for the in-place layouts: tiers with ``src/`` (split) and tiers without (whole)."""
    tiers = [d for d in APP_DIRS if (root / d).is_dir()]
    split = [d for d in tiers if (root / d / "src").is_dir()]
    whole = [d for d in tiers if d not in split]
    out: dict[LayoutKind, Detection] = {}
    if split:
        det = Detection(kind="split-src", protected=[f"{d}/src/**" for d in split],
                        app_roots=[f"{d}/src" for d in split])
        det.reasons = [f"{d}/src/ exists: application source of the '{d}' tier → protected" for d in split]
        for d in split:
            globs, reasons = _build_config(root, d)
            det.needs_approval += globs
            det.reasons += reasons
        out["split-src"] = det
    if whole:
        det = Detection(kind="whole-tiers", protected=[f"{d}/**" for d in whole], app_roots=list(whole),
                        allowed=[f"{d}/Dockerfile" for d in whole] + [f"{d}/.dockerignore" for d in whole])
        det.reasons = [f"{d}/ exists without src/: the whole '{d}' tier is application code → protected "
                       f"(its Dockerfile and .dockerignore are carved out as Phase IV)" for d in whole]
        out["whole-tiers"] = det
    return out


def _folder_candidate(root: Path, kind: LayoutKind, pattern: str, what: str) -> Detection | None:
    found = _dirs(root, pattern)
    if not found:
        return None
    det = Detection(kind=kind, protected=[f"{d}/**" for d in found], app_roots=found)
    det.reasons = [f"{d}/ exists: {what} → protected as a whole" for d in found]
    if len(found) > 1:
        det.problem = f"several Phase III folders ({', '.join(found)}): which one is frozen?"
    return det


def detect_layout(root: Path) -> Detection:
    """Detect how ``root`` lays out its Phase III application and propose boundaries.

    Exactly one of the layouts must fit; otherwise ``problem`` says why nothing is proposed (no guess).
    """
    candidates = list(_tier_candidates(root).values())
    for kind, pattern, what in (("phase-folder", "phase-3*", "a folder for Phase III"),
                                ("phase-folder", "phase3*", "a folder for Phase III"),
                                ("apps-folder", "apps/phase3*", "the Phase III app under apps/"),
                                ("apps-folder", "apps/phase-3*", "the Phase III app under apps/")):
        det = _folder_candidate(root, kind, pattern, what)
        if det:
            candidates.append(det)
    if not candidates:
        return Detection(problem="no known Phase III layout found (looked for backend/src, frontend/src, "
                         "backend/, frontend/, phase-3-*/, apps/phase3-*/)")
    if len(candidates) > 1:
        reasons = [r for c in candidates for r in c.reasons]
        kinds = ", ".join(c.kind or "?" for c in candidates)
        return Detection(reasons=reasons, problem=f"ambiguous: several layouts fit ({kinds}); declare the "
                         "boundaries by hand")
    return candidates[0]
