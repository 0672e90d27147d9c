"""The engine: the one composition of the deterministic tools, used by the graph, ``check`` and every MCP tool.

    change set → objects (manifests, Helm/Kustomize rendering) and Dockerfiles     :func:`collect`
    → Dockerfile checks, diff (destructive-change) checks, the check catalog,      :func:`judge`
      API-schema validation, the Phase III guard, the stage gates → findings

Suppression annotations are applied by each check as it reports (``tools.suppress``); Phase III findings can
never be suppressed. Loading the configuration is the caller's: every function here takes a :class:`Config`.
Pure and LangGraph-free, so the lint-style ``check`` command never imports the agents.

Start-up: what only a git change, a chart or the Phase III guard needs (``tools.git``, ``tools.rendering``,
``tools.contract``, ``tools.guard``, ``tools.lock``, ``tools.policy_changes``, ``tools.head_tree``) is imported by
the function that needs it, so ``check`` of plain manifests does not load it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pathspec
from pydantic import BaseModel, Field

from core.config import Config
from core.errors import InputError, OrchestratorError
from core.gcpause import gc_paused
from core.models import ChangeRequest, ChangeSet, FileChange, Finding, K8sObject, StageRequest
from tools.catalog import deselect, finding
from tools.checks import run_checks, run_diff_checks, run_dockerfile_checks
from tools.checks.metadata import removed_in
from tools.manifests import load_manifest_text, not_a_manifest_json
from tools.memo import LoadMemo, ObjectMemo
from tools.memo import enabled as memo_enabled
from tools.progress import report
from tools.render_scope import RenderResult, renders_any
from tools.schema import API_VERSION_ID, SCHEMA_ID, api_version_findings, validate_objects
from tools.workspace import UNREADABLE_ID, decode_text, outside, read_confined, resolve_inside, too_deep, walk

if TYPE_CHECKING:
    from tools.appsource import AppContract
    from tools.policy_source import TrustedPolicy
    from tools.workflow import TransitionResult

YAML_SUFFIXES = (".yaml", ".yml", ".json")
DRIFT_ID = "WS-WORKTREE-DIFFERS"
"""Manifest suffixes: JSON is read by the same YAML loader (JSON is YAML flow syntax), with the same marks."""
DOC_SUFFIXES = (".md", ".txt", ".rst", ".adoc")


class Collected(BaseModel):
    """What :func:`collect` read: the change set, the infra files in scope, their objects, the Dockerfiles' text
    and the problems met while reading (unreadable files, YAML errors, charts that fail to render)."""

    changes: ChangeSet
    scope: list[str]
    scope_note: str = ""
    objects: list[K8sObject] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    dockerfiles: dict[str, str] = Field(default_factory=dict)
    """Path → text of every Dockerfile in scope (checked by :func:`judge`)."""
    context: list[K8sObject] = Field(default_factory=list)
    """Objects of in-scope manifests the change does not touch (at the reviewed head): cross-object checks see
    them, nothing is reported about them."""
    full_changes: ChangeSet | None = None
    """The whole change when ``--path`` narrowed what is analysed and shown: the guard and the policy-change
    check always judge this one (None: ``changes`` is the whole change)."""


@dataclass
class Analysis:
    """What :func:`judge` concluded: every deterministic finding, sorted, and the stage gates' result."""

    collected: Collected
    findings: list[Finding]
    stage: TransitionResult | None = None
    """For a stage request: whether the feature may enter the stage (its findings are in ``findings``)."""
    contracts: list[AppContract] | None = None
    """The runtime contracts the Phase III checks read (at the reviewed head); None when they were not read."""


def is_yaml(path: str) -> bool:
    return path.lower().endswith(YAML_SUFFIXES)


def walk_files(root: Path, *, too_deep: list[Path] | None = None) -> list[str]:
    """Every regular file under ``root`` (posix, relative), pruning VCS/dependency directories; a directory too deep
    to walk raises :class:`~core.confine.WalkLimit`, or goes to ``too_deep`` (:func:`workspace_files` reports it)."""
    return [path.relative_to(root).as_posix() for path, is_dir_link in walk(root, too_deep=too_deep)
            if not is_dir_link]


def contract_roots(root: Path, config: Config) -> list[str]:
    from tools.contract import app_roots

    return app_roots(root, config.phase3)


def worktree_drift(root: Path, head: str, dirs: list[str]) -> list[str]:
    """The files under ``dirs`` (charts, values, app roots) whose work-tree state differs from the reviewed
    ``head``; empty outside a git checkout or when they agree."""
    from tools.git_tree import worktree_differs

    wanted = sorted({d.strip("/") or "." for d in dirs if d is not None})
    if not wanted:
        return []
    try:
        return worktree_differs(root, head, wanted)
    except OrchestratorError:
        return []


def drift_finding(head: str, changed: list[str]) -> Finding:
    """The info ``WS-WORKTREE-DIFFERS``: what was read at ``head`` differs from the work tree at ``changed``."""
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return finding(DRIFT_ID, f"charts and app sources were read at the reviewed head {head[:12]}; the work tree "
                   f"differs there at {shown}", file=changed[0])


def chart_inputs(rendered: RenderResult, config: Config) -> list[str]:
    """The directories and files helm reads for the rendered charts: the charts and their configured values."""
    return [*rendered.owned_dirs, *(v for chart in rendered.owned_dirs for v in config.helm.values.get(chart, []))]


def render_all(root: Path, files: list[str], config: Config) -> RenderResult:
    """:func:`tools.rendering.render_all`, loaded only when a chart or a Kustomization owns one of ``files``
    (otherwise it has nothing to render or report)."""
    if not renders_any(root, files, config):
        return RenderResult()
    from tools.rendering import render_all as render

    return render(root, files, config)


def at_values_lines(findings: list[Finding], objects: list[K8sObject]) -> list[Finding]:
    """:func:`tools.helmorigin.at_values_lines`: findings about a value a values file set, moved to its line
    (only Helm-rendered objects carry values lines)."""
    if not any(o.values_lines for o in objects):
        return findings
    from tools.helmorigin import at_values_lines as relocate

    return relocate(findings, objects)


def workspace_files(root: Path, config: Config) -> tuple[list[str], list[Finding]]:
    """Every regular file under ``root`` (posix, relative), in one walk, and a finding for each place in scope the
    walk could not see into: a symlinked directory leading out of the workspace (``WS-OUTSIDE-WORKSPACE``; never
    followed) and a directory nested too deep to be walked (``SCH-UNREADABLE``, asks)."""
    files, unseen, deep = [], [], []
    for path, is_dir_link in walk(root, too_deep=deep):
        rel = path.relative_to(root).as_posix()
        if not is_dir_link:
            files.append(rel)
        elif _may_hold_infra(rel, config):
            try:
                resolve_inside(root, rel)
            except InputError as exc:
                unseen.append(outside(rel, str(exc)))
    unseen += [too_deep(rel) for rel in (p.relative_to(root).as_posix() for p in deep) if _may_hold_infra(rel, config)]
    return files, unseen


def _may_hold_infra(directory: str, config: Config) -> bool:
    return bool(in_scope([f"{directory}/{name}" for name in ("x.yaml", "x.yml", "x.json", "Dockerfile")], config))


def infra_spec(config: Config) -> tuple[pathspec.PathSpec, pathspec.PathSpec]:
    include = pathspec.GitIgnoreSpec.from_lines(config.kubernetes.paths)
    exclude = pathspec.GitIgnoreSpec.from_lines(config.checks.exclude_paths)
    return include, exclude


def in_scope(paths: list[str], config: Config) -> list[str]:
    """The infrastructure files among ``paths`` (config ``kubernetes.paths`` minus ``checks.exclude_paths``)."""
    include, exclude = infra_spec(config)
    return [p for p in paths if include.match_file(p) and not exclude.match_file(p)]


def _relative(root: Path, p: str) -> str:
    """``p`` as a normalised workspace-relative posix path (``.`` for the root); escaping raises InputError."""
    full = resolve_inside(root, p)
    return full.relative_to(Path(os.path.realpath(root))).as_posix()


def _tree_changes(root: Path, rel: str) -> list[FileChange]:
    """Every file under directory ``rel``; symlinks (to files or directories) carry their target for the guard."""
    out: list[FileChange] = []
    for path, _ in walk(root / rel):
        link = path.is_symlink()
        out.append(FileChange(path=path.relative_to(root).as_posix(), status="modified", is_symlink=link,
                              symlink_target=os.readlink(path) if link else None))
    return out


def explicit_changes(root: Path, paths: list[str]) -> ChangeSet:
    """The change named by ``paths`` (files, or directories expanded, symlinks kept as symlinks)."""
    files: list[FileChange] = []
    for p in paths:
        full = resolve_inside(root, p)
        if not full.exists():
            raise InputError(f"path '{p}' does not exist in {root}")
        rel = full.relative_to(Path(os.path.realpath(root))).as_posix()
        files += _tree_changes(root, rel) if full.is_dir() else [FileChange(path=rel, status="modified")]
    return ChangeSet(mode="paths", files=files)



def change_set_for(req: ChangeRequest | StageRequest, root: Path) -> ChangeSet:
    """The whole change under review: a git range, the work tree, explicit paths, or (no git info) the
    directory. ``--path`` does not narrow it: see :func:`shown_changes`."""
    if isinstance(req, StageRequest):
        from tools.stage_scope import feature_changes  # stage requests only: `check` never loads the workflow

        return feature_changes(req, root)
    if req.worktree:
        from tools import git_worktree

        return git_worktree.change_set_from_worktree(root)
    if req.base or req.head:
        from tools import git

        return git.change_set_from_range(root, req.base or "HEAD", req.head)
    if req.paths:
        return explicit_changes(root, req.paths)
    return ChangeSet(mode="directory")


def shown_changes(req: ChangeRequest | StageRequest, root: Path, full: ChangeSet) -> ChangeSet:
    """The part of ``full`` that is analysed and shown: a git change narrowed to ``--path`` (normalised like
    every other path; a rename counts when either side is wanted), else ``full`` itself."""
    if isinstance(req, ChangeRequest) and req.paths and full.mode in ("git-range", "git-worktree"):
        from tools import git

        return git.narrow_change_set(full, [_relative(root, p) for p in req.paths])
    return full


_HEAD_IDS: dict[int, tuple[ChangeSet, str]] = {}


def head_id(root: Path, changes: ChangeSet) -> str:
    """The commit id of ``changes.head``, resolved once per change set (not once per file read)."""
    held = _HEAD_IDS.get(id(changes))
    if held is not None and held[0] is changes:
        return held[1]
    if len(_HEAD_IDS) > 8:
        _HEAD_IDS.clear()
    from tools import git

    sha = git.resolve_ref(root, changes.head or "HEAD")
    _HEAD_IDS[id(changes)] = (changes, sha)
    return sha


def _read_at_head(root: Path, changes: ChangeSet, rel: str) -> tuple[str | None, Finding | None]:
    if changes.mode == "git-range" and changes.head:  # the work tree may differ from the reviewed head
        from tools import git

        data = git.read_file_at(root, head_id(root, changes), rel)
        if data is None:
            return None, None
        return decode_text(data, rel)
    if not os.path.lexists(root / rel):
        return None, None
    text, problem = read_confined(root, rel)
    if problem is not None and problem.check_id == UNREADABLE_ID and not_a_manifest_json(rel):
        return None, None  # a package-lock.json over the size limit is no manifest
    return text, problem


def _build_context_reader(root: Path, changes: ChangeSet):  # noqa: ANN202 - a Reader
    """What the Dockerfile checks read of a build context (``.gitignore``, ``package.json``...): a workspace file
    at the reviewed head, None when it is absent, unreadable or outside the workspace."""

    def read(rel: str) -> str | None:
        try:
            return _read_at_head(root, changes, rel)[0]
        except (InputError, OSError, ValueError):
            return None

    return read


def _rendered_elsewhere(rel: str, owned_dirs: list[str]) -> bool:
    """Files of a Helm chart or a kustomization are analysed through the renderer's output, not one by one."""
    return any(d in (".", "") or rel.startswith(d + "/") for d in owned_dirs)


def is_dockerfile(path: str) -> bool:
    """``Dockerfile``, ``Dockerfile.<variant>`` or ``<name>.Dockerfile`` (any case; not ``Dockerfile.md``)."""
    name = PurePosixPath(path).name.lower()
    if name.endswith(DOC_SUFFIXES):
        return False
    return name == "dockerfile" or name.startswith("dockerfile.") or name.endswith(".dockerfile")


def _load_file(root: Path, changes: ChangeSet, rel: str, out: Collected) -> None:
    """Read one in-scope file into ``out``: a manifest's objects, a Dockerfile's text, or the reading problem."""
    text, problem = _read_at_head(root, changes, rel)
    out.findings += [problem] if problem else []
    if text is None:
        return
    if is_dockerfile(rel):
        out.dockerfiles[rel] = text
        return
    objects, loaded = LOADS.load(text, rel)
    out.objects += objects
    out.findings += loaded


LOADS = LoadMemo(load_manifest_text)
"""Plain manifests as parsed in an earlier run of this process, by path and exact text (:mod:`tools.memo`)."""
CHECKED = ObjectMemo()
"""Per-object check and schema findings of the latest run's objects (:mod:`tools.memo`)."""


_BASE_OBJECTS: dict[tuple, list[K8sObject]] = {}
"""The last :func:`base_objects` answer, by (root, base commit id, paths, config)."""


def base_objects(root: Path, changes: ChangeSet, config: Config) -> list[K8sObject]:
    """The objects of the changed manifests as they were at the change's base ref (git changes only)."""
    paths = [rel for f in changes.files if f.status != "added" and is_yaml(rel := f.old_path or f.path)]
    paths = in_scope(paths, config)
    from tools import git

    key = (str(root), git.resolve_ref(root, changes.base) if paths else "", tuple(paths), config.model_dump_json())
    if key in _BASE_OBJECTS:  # the diff checks and the suppression lift both need them: parse once
        return list(_BASE_OBJECTS[key])
    git.prefetch_files_at(root, key[1], paths) if paths else None
    objects: list[K8sObject] = []
    for rel in paths:
        data = git.read_file_at(root, key[1], rel)
        text = decode_text(data, rel)[0] if data is not None else None
        objects += LOADS.load(text, rel)[0] if text is not None else []
    _BASE_OBJECTS.clear()
    _BASE_OBJECTS[key] = objects
    return list(objects)


def destructive_findings(root: Path, changes: ChangeSet, head: list[K8sObject], config: Config) -> list[Finding]:
    """Diff checks (removed objects, immutable fields...) between the base and the head of a git change."""
    if changes.mode not in ("git-range", "git-worktree") or not changes.base:
        return []
    return run_diff_checks(base_objects(root, changes, config), [o for o in head if o.rendered_from is None], config)


@gc_paused  # a batch analysis, whoever calls it (core.gcpause)
def collect(req: ChangeRequest | StageRequest, root: Path, config: Config, *, nearby_context: bool = False) -> Collected:
    """The change set, the infra files in scope, their parsed (or rendered) Kubernetes objects, the Dockerfiles'
    text, and the problems met while reading them. No check runs here. Progress goes to :mod:`tools.progress`."""
    full = change_set_for(req, root)
    changes = shown_changes(req, root, full)
    unseen: list[Finding] = []
    if isinstance(req, StageRequest):
        from tools.stage_scope import stage_candidates

        candidates, note = stage_candidates(req, root, changes)
    elif changes.mode == "directory":
        candidates, unseen = workspace_files(root, config)
        note = f"the directory {root.name or root} as a whole (no change set; every infrastructure file in scope)"
    else:
        candidates = [f.path for f in changes.files if f.status != "deleted"]
        note = f"{len(changes.files)} changed path(s) ({changes.mode})"
    scope = in_scope(candidates, config)
    out = Collected(changes=changes, scope=scope, scope_note=note, full_changes=full if full is not changes else None)
    out.findings += unseen
    report("rendering", 0, len(scope))
    rendered = render_all(root, scope, config)
    head = changes.head if changes.mode == "git-range" and changes.head else None
    inputs = chart_inputs(rendered, config) if head else []
    drift = worktree_drift(root, head, inputs) if inputs else []
    if drift:  # helm reads files: render what merges, from a copy of the head, not the work tree
        from tools.head_tree import head_tree

        with head_tree(root, head, inputs) as snapshot:
            rendered = render_all(snapshot, scope, config)
        out.findings.append(drift_finding(head, drift))
    out.objects += rendered.objects
    out.findings += rendered.findings
    if changes.mode == "git-range" and changes.head:
        from tools import git

        git.prefetch_files_at(root, head_id(root, changes), [r for r in scope if is_yaml(r) or is_dockerfile(r)])
    for done, rel in enumerate(scope, 1):
        if (is_yaml(rel) and not _rendered_elsewhere(rel, rendered.owned_dirs)) or is_dockerfile(rel):
            _load_file(root, changes, rel, out)
        report("reading", done, len(scope))
    if changes.mode in ("git-range", "git-worktree", "paths") and out.objects:
        out.context = _context_objects(root, changes, set(scope), rendered.owned_dirs, config,
                                       near=_directories(scope) if nearby_context else None)
    return out


def _directories(scope: list[str]) -> set[str]:
    return {PurePosixPath(rel).parent.as_posix() for rel in scope}


def _context_objects(root: Path, changes: ChangeSet, scope: set[str], owned_dirs: list[str],
                     config: Config, near: set[str] | None = None) -> list[K8sObject]:
    """The objects of the workspace's other plain manifests, read like the change's (at the reviewed head); with
    ``near``, only those directly in these directories (``check`` of a few files: their siblings, never a walk of
    the whole workspace)."""
    if near is not None:
        listed = [PurePosixPath(d, p.name).as_posix() if d != "." else p.name
                  for d in sorted(near) if (root / d).is_dir() and not (root / d).is_symlink()
                  for p in sorted((root / d).iterdir()) if p.is_file() and not p.is_symlink()]
    elif changes.mode == "git-range" and changes.head:
        from tools import git

        listed = git.list_files_at(root, changes.head)
    else:  # what the walk could not see is not reported here: context objects are read, never judged
        listed = walk_files(root, too_deep=[])
    scratch = Collected(changes=changes, scope=[])
    wanted = [rel for rel in in_scope(listed, config)
              if rel not in scope and is_yaml(rel) and not _rendered_elsewhere(rel, owned_dirs)]
    if changes.mode == "git-range" and changes.head:
        from tools import git

        git.prefetch_files_at(root, head_id(root, changes), wanted)
    for rel in wanted:
        _load_file(root, changes, rel, scratch)
    return scratch.objects


def _selected(check_id: str, config: Config) -> bool:
    checks = config.checks
    return check_id not in checks.disabled and (not checks.enabled or check_id in checks.enabled)


def schema_findings(objects: list[K8sObject], config: Config, memo: ObjectMemo | None = None) -> list[Finding]:
    """Offline API-schema validation (``SCH-SCHEMA-VALID``) unless the check is disabled in config. An object
    whose apiVersion was removed is not validated: ``SCH-DEPRECATED-API`` reports it, once."""
    if not _selected(SCHEMA_ID, config):
        return []
    return validate_objects(objects, config.kubernetes.version, skip=lambda o: removed_in(o) is not None,
                            memo=memo)


def api_version_check(objects: list[K8sObject], config: Config) -> tuple[list[Finding], list[K8sObject]]:
    """``SCH-API-VERSION`` findings, and the objects the other checks read: all but those with an apiVersion
    their built-in kind never has (unless the check is deselected)."""
    if not _selected(API_VERSION_ID, config):
        return [], objects
    found, bad = api_version_findings(objects, config.kubernetes.version, lambda o: removed_in(o) is not None)
    return found, [o for o in objects if id(o) not in bad]


def check_findings(root: Path, collected: Collected, config: Config) -> list[Finding]:
    """Every check over what was collected: reading problems, Dockerfile checks, diff checks (git changes), the
    check catalog and API-schema validation."""
    findings = list(collected.findings)
    report("checking", 0, len(collected.objects))
    read = _build_context_reader(root, collected.changes)
    for rel, text in collected.dockerfiles.items():
        findings += run_dockerfile_checks(text, rel, config, read)
    findings += destructive_findings(root, collected.changes, collected.objects, config)
    api_findings, readable = api_version_check(collected.objects, config)
    memo = CHECKED if memo_enabled() else None
    checked = run_checks(readable, config, collected.context, memo=memo)
    schema = schema_findings(readable, config, memo)
    if memo is not None:
        memo.keep_only(readable)  # what the next run may reuse: this run's objects, nothing older
    return deselect([*findings, *api_findings, *at_values_lines(checked, collected.objects), *schema],
                    config.checks)


def guard_findings(changes: ChangeSet, config: Config, root: Path) -> list[Finding]:
    """The Phase III guard over a change set (a directory review has none to guard)."""
    from tools.guard import guard_change_set

    return guard_change_set(changes, config.phase3, os.path.realpath(root))


def workspace_evidence(root: Path, collected: Collected, config: Config, *,
                       lock: bool) -> tuple[list[Finding], list[AppContract] | None]:
    """The runtime contract's findings (and ``lock``: the work tree's ``phase3.lock``), with the contracts read
    (None: no workload to check them against, so not read). In a git-range review the app sources are read at
    the reviewed head: from a copy of it when the work tree differs there."""
    from tools.contract import check_contract, read_contracts
    from tools.head_tree import head_tree
    from tools.lock import lock_findings

    changes = collected.changes
    head = changes.head if changes.mode == "git-range" and changes.head else None
    roots = contract_roots(root, config) if head and collected.objects else []
    drift = worktree_drift(root, head, roots) if roots else []
    found = lock_findings(root, config.phase3) if lock else []
    if not drift:
        contracts = read_contracts(root, collected.objects, config.phase3)
    else:
        with head_tree(root, head, roots) as snapshot:
            contracts = read_contracts(snapshot, collected.objects, config.phase3)
        if not any(f.check_id == DRIFT_ID for f in collected.findings):
            found.append(drift_finding(head, drift))
    return found + check_contract(contracts or [], collected.objects), contracts


@gc_paused  # a batch analysis, whoever calls it (core.gcpause)
def judge(req: ChangeRequest | StageRequest, collected: Collected, config: Config, *,
          phase3: bool = True, policy: TrustedPolicy | None = None) -> Analysis:
    """The checks, then (``phase3``) the Phase III guard and, for a stage request, the stage gates.

    With the trusted ``policy`` (:mod:`tools.policy_source`) the guard also sees the whole change behind a
    ``--path``, ``phase3.lock`` is the base's, suppressions the change itself adds are lifted, and edits of policy
    files are findings of their own (:mod:`tools.policy_changes`)."""
    root = Path(req.workspace)
    findings = check_findings(root, collected, config)
    full = collected.full_changes or collected.changes
    stage, contracts = None, None
    if phase3 and isinstance(req, ChangeRequest):
        evidence, contracts = workspace_evidence(root, collected, config, lock=policy is None)
        findings += evidence
        findings += guard_findings(full, config, root)
    elif phase3 and full.mode != "directory":  # a stage request on its feature's branch: its commits
        findings += guard_findings(full, config, root)
    if phase3 and policy is not None:
        findings += trusted_policy_findings(req, root, collected, config, policy, findings)
        findings = _lift_added_suppressions(root, collected, full, config, findings)
    if isinstance(req, StageRequest):
        from tools.workflow import evaluate_transition

        result = evaluate_transition(root, req.feature, req.target, config.workflow)
        findings += result.findings
        stage = result.model_copy(update={"findings": []})
    return Analysis(collected=collected, findings=sorted(deselect(findings, config.checks), key=Finding.sort_key),
                    stage=stage, contracts=contracts)


def _head_rev(root: Path, full: ChangeSet) -> str | None:
    """The reviewed head commit of a git range; None when the head is the work tree (or there is no git)."""
    from tools import git

    return git.resolve_ref(root, full.head or "HEAD") if full.mode == "git-range" else None


def trusted_policy_findings(req: ChangeRequest | StageRequest, root: Path, collected: Collected, config: Config,
                            policy: TrustedPolicy, findings: list[Finding]) -> list[Finding]:
    """The base's ``phase3.lock`` against the reviewed head, and the change's edits of policy files."""
    from tools.lock import lock_findings_at
    from tools.policy_changes import policy_changes

    full = collected.full_changes or collected.changes
    head_rev = _head_rev(root, full)
    out = lock_findings_at(root, policy.lock_text, head_rev, config.phase3) if isinstance(req, ChangeRequest) else []
    if full.mode != "directory":
        out += policy_changes(full, root, policy, head_rev, findings)
    return out


def _lift_added_suppressions(root: Path, collected: Collected, full: ChangeSet, config: Config,
                             findings: list[Finding]) -> list[Finding]:
    """A suppression annotation the change itself adds is not honoured: the rules do not come from the change."""
    if full.mode not in ("git-range", "git-worktree") or not full.base:
        return findings
    from tools.policy_changes import unhonoured_suppressions

    return unhonoured_suppressions(findings, collected.objects, base_objects(root, full, config), set(full.paths()))


@gc_paused  # a batch analysis, whoever calls it (core.gcpause)
def analyse(req: ChangeRequest | StageRequest, config: Config, *, phase3: bool = True) -> Analysis:
    """The whole engine over one request: :func:`collect`, then :func:`judge`."""
    root = Path(req.workspace)
    return judge(req, collect(req, root, config), config, phase3=phase3)


@gc_paused  # a batch analysis, whoever calls it (core.gcpause)
def check_paths(root: Path, paths: list[str], config: Config) -> Analysis:
    """The engine alone over files or directories of ``root`` (every file in scope when ``paths`` is empty),
    lint-style: no Phase III guard (``check``, the MCP ``check_manifests`` tool). Cross-object checks see the
    other manifests of the named files' directories, not the whole workspace (``check --in-context`` reads it)."""
    req = ChangeRequest(workspace=str(root), paths=paths)
    return judge(req, collect(req, root, config, nearby_context=True), config, phase3=False)
