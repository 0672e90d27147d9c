"""A specialist's read-only tools: what its model may look at beyond its input, inside one workspace.

Every read is confined to the workspace (``tools.workspace.resolve_inside`` / ``read_text``: no ``..``, no symlink
out) and every text returned is redacted (``tools.redact``) before it reaches a model. Tools never write, never
run the app and never raise: a refused or failed call answers with an ``error:`` line the model can read.

=================  ==============================================================================
``read_file``      lines of a workspace file, numbered
``get_object``     a rendered Kubernetes object of the review, by kind and name
``show_diff``      the diff of one path in the change (git range or work tree)
``render_chart``   a Helm chart of the workspace rendered with given values
``explain_check``  the catalog entry of a finding id
``search_repo``    lines of the workspace holding a literal text
=================  ==============================================================================
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.llm.base import ToolScope
from core.errors import OrchestratorError
from core.models import K8sObject
from core.yamlsafe import depth_exceeds
from tools.redact import redact, redact_text
from tools.workspace import PRUNE_DIRS, read_text, resolve_inside, walk

MAX_RESULT_CHARS = 12_000
"""A tool result is cut here (about 3k tokens) with a note saying how to ask for less."""
MAX_LINES = 200
MAX_HITS = 40
MAX_SEARCHED_FILES = 2_000
MAX_SEARCHED_BYTES = 512 * 1024


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadFile(_Args):
    path: str = Field(description="workspace-relative path")
    start_line: int = Field(1, ge=1)
    end_line: int | None = Field(None, ge=1, description=f"inclusive; at most {MAX_LINES} lines per call")


class GetObject(_Args):
    kind: str
    name: str
    namespace: str | None = None


class ShowDiff(_Args):
    path: str = Field(description="a path of the change")


class RenderChart(_Args):
    chart: str = Field(description="the chart directory, workspace-relative (holds Chart.yaml)")
    values: dict[str, Any] = Field(default_factory=dict, description="values merged over the chart's values files")


class ExplainCheck(_Args):
    check_id: str


class SearchRepo(_Args):
    text: str = Field(min_length=2, description="literal text (case-insensitive), not a regular expression")
    path_prefix: str = Field("", description="only files under this directory")


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[BaseModel]

    @property
    def schema(self) -> dict[str, Any]:
        return self.args.model_json_schema()


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("read_file", "Read numbered lines of a workspace file (redacted). Quote evidence from here.", ReadFile),
    ToolSpec("get_object", "Get one Kubernetes object of the review (rendered, redacted) with its file and line.",
             GetObject),
    ToolSpec("show_diff", "Show the diff of one changed path between the base and the head of the change.",
             ShowDiff),
    ToolSpec("render_chart", "Render a Helm chart of the workspace with the given values; lists the objects.",
             RenderChart),
    ToolSpec("explain_check", "Explain a finding id from the check catalog: what it means and its fix.",
             ExplainCheck),
    ToolSpec("search_repo", "Find lines holding a literal text in the workspace's files (redacted).", SearchRepo),
)
NAMES = frozenset(s.name for s in SPECS)


MIN_SECRET_CHARS = 4
"""Shorter values the structural redaction removed are not masked in text (they would mangle every line)."""


def _pairs(orig: Any, red: Any, out: dict[str, str]) -> None:
    """Collect ``value -> placeholder`` for every scalar (or key) :func:`tools.redact.redact` replaced."""
    if isinstance(orig, dict) and isinstance(red, dict):
        for (k1, v1), (k2, v2) in zip(orig.items(), red.items(), strict=False):
            if isinstance(k1, str) and k1 != k2:
                out[k1] = str(k2)
            _pairs(v1, v2, out)
    elif isinstance(orig, list) and isinstance(red, list):
        for a, b in zip(orig, red, strict=False):
            _pairs(a, b, out)
    elif orig is not None and orig != red and isinstance(red, str):
        out[str(orig)] = red


def secret_masks(*manifests: str) -> list[tuple[str, str]]:
    """``(fragment, placeholder)`` for every value the structural redaction replaces in these manifest texts,
    longest first (a multi-line value masks line by line)."""
    secrets: dict[str, str] = {}
    for text in manifests:
        if depth_exceeds(text):
            continue
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError:
            continue
        for doc in docs:
            _pairs(doc, redact(doc), secrets)
    masks = {frag.strip(): ph for value, ph in secrets.items() for frag in value.splitlines()
             if len(frag.strip()) >= MIN_SECRET_CHARS}
    return sorted(masks.items(), key=lambda p: -len(p[0]))


def masked(lines: list[str], masks: list[tuple[str, str]]) -> list[str]:
    """Each line with the masked values replaced, then redacted like free text."""
    out = []
    for line in lines:
        for frag, ph in masks:
            line = line.replace(frag, ph)
        out.append(redact_text(line))
    return out


def is_manifest(rel: str) -> bool:
    return rel.lower().endswith((".yaml", ".yml", ".json"))


def shown_lines(rel: str, text: str) -> list[str]:
    """The lines of a workspace file as a model may see them. A manifest is redacted like the objects it holds
    (each value the structural redaction replaces is masked wherever the text shows it: Secret data, secret env
    values, ConfigMap entries), then every line like free text."""
    return masked(text.splitlines(), secret_masks(text) if is_manifest(rel) else [])


def _cut(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + "\n… (cut: ask for a line range, a narrower path or a single object)"


def _pruned(rel: str) -> bool:
    return any(part in PRUNE_DIRS for part in Path(rel).parts)


class Toolbox:
    """The read-only tools of one specialist over :class:`ToolScope` (objects are collected once, on first use)."""

    def __init__(self, scope: ToolScope):
        self.scope = scope
        self.root = Path(scope.workspace)
        self.calls: list[str] = []
        self._objects: list[K8sObject] | None = None
        self._lock = threading.Lock()

    # -- dispatch ----------------------------------------------------------------------------------------
    def run(self, name: str, args: Any) -> tuple[str, bool]:
        """``(text, is_error)`` of one tool call; never raises."""
        spec = next((s for s in SPECS if s.name == name), None)
        if spec is None:
            return f"error: no tool named {name!r}", True
        try:
            parsed = spec.args.model_validate(args if isinstance(args, dict) else json.loads(args or "{}"))
        except (ValidationError, ValueError) as exc:
            return f"error: invalid arguments for {name}: {str(exc).splitlines()[0]}", True
        self.calls.append(name)
        try:
            return _cut(getattr(self, f"_{name}")(parsed)), False
        except (OrchestratorError, OSError, ValueError) as exc:
            return f"error: {exc}", True

    # -- the tools ---------------------------------------------------------------------------------------
    def _read(self, rel: str) -> str:
        rel = rel.strip().removeprefix("./")
        if _pruned(rel):
            raise ValueError(f"{rel} is not readable (version control, dependencies or state)")
        text, problem = read_text(self.root, rel)  # confined: raises InputError outside the workspace
        if text is None:
            raise ValueError(problem.message if problem else f"cannot read {rel}")
        return text

    def _read_file(self, a: ReadFile) -> str:
        path = resolve_inside(self.root, a.path.strip().removeprefix("./"))
        if not path.is_file():
            return f"error: {a.path} is not a file of the workspace"
        rel = a.path.strip().removeprefix("./")
        lines = shown_lines(rel, self._read(rel))
        end = min(a.end_line or len(lines), a.start_line + MAX_LINES - 1, len(lines))
        body = "\n".join(f"{n}| {lines[n - 1]}" for n in range(a.start_line, end + 1))
        more = f"\n… lines {end + 1}-{len(lines)} not shown" if end < len(lines) else ""
        return f"{a.path} (lines {a.start_line}-{end} of {len(lines)})\n{body}{more}"

    def objects(self) -> list[K8sObject]:
        """Every object of the review, collected (read, rendered) once for this toolbox."""
        with self._lock:
            if self._objects is None:
                from tools import engine

                self._objects = engine.collect(self.scope.request, self.root, self.scope.config).objects
            return self._objects

    def find_object(self, kind: str, name: str, namespace: str | None = None) -> K8sObject | None:
        return next((o for o in self.objects() if o.kind.lower() == kind.lower() and o.name == name
                     and (namespace is None or o.namespace == namespace)), None)

    def _get_object(self, a: GetObject) -> str:
        o = self.find_object(a.kind, a.name, a.namespace)
        if o is None:
            return f"error: no {a.kind} {a.name} among the {len(self.objects())} object(s) of the review"
        origin = f" (rendered from {o.rendered_from})" if o.rendered_from else ""
        body = yaml.safe_dump(redact(o.body), sort_keys=False, allow_unicode=True)
        return f"{o.kind} {o.namespace or '-'}/{o.name} at {o.file}:{o.line}{origin}\n{body}"

    def _show_diff(self, a: ShowDiff) -> str:
        from tools.git import run_git

        rel = a.path.strip().removeprefix("./")
        resolve_inside(self.root, rel)
        changes = self.scope.changes
        change = next((f for f in changes.files if rel in (f.path, f.old_path)), None)
        if change is None:
            return f"error: {rel} is not a path of the change"
        if changes.mode not in ("git-range", "git-worktree") or not changes.base:
            return f"{rel}: {change.status} ({changes.mode} review: no base to diff against; use read_file)"
        revs = [changes.base] + ([changes.head] if changes.mode == "git-range" and changes.head else [])
        diff = run_git(self.root, "--literal-pathspecs", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
                       "-M", *revs, "--", rel, *([change.old_path] if change.old_path else []))
        if not diff.strip() and change.status == "added":  # untracked in the work tree
            diff = "\n".join(f"+{line}" for line in self._read(rel).splitlines())
        sides = [self._read(rel)] if (self.root / rel).is_file() else []
        if is_manifest(rel):
            from tools.git import read_file_at

            base = read_file_at(self.root, changes.base, change.old_path or rel)
            sides += [base.decode("utf-8", errors="replace")] if base else []
        masks = secret_masks(*sides) if is_manifest(rel) else []
        return f"{rel}: {change.status}\n" + "\n".join(masked(diff.splitlines(), masks))

    def _render_chart(self, a: RenderChart) -> str:
        from tools.rendering import helm_backend, render_chart

        chart = a.chart.strip().removeprefix("./").rstrip("/") or "."
        if not resolve_inside(self.root, chart).joinpath("Chart.yaml").is_file():
            return f"error: {chart} holds no Chart.yaml"
        helm = self.scope.config.helm
        scratch = Path(os.path.realpath(self.root)) / ".infra-orchestrator" / "tmp"  # inside: values reads are confined
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="values-", dir=scratch) as tmp:
            extra = Path(tmp) / "values.yaml"
            extra.write_text(yaml.safe_dump(a.values), encoding="utf-8")
            rel = extra.relative_to(Path(os.path.realpath(self.root))).as_posix()
            values = {**helm.values, chart: [*helm.values.get(chart, []), rel]}
            config = self.scope.config.model_copy(update={"helm": helm.model_copy(update={"values": values})})
            result = render_chart(self.root, chart, config, helm_backend())
        lines = [f"{chart} rendered with {json.dumps(redact(a.values), sort_keys=True)}: "
                 f"{len(result.objects)} object(s)"]
        lines += [f"problem: {f.message}" for f in result.findings]
        for o in result.objects:
            lines.append(f"--- {o.kind} {o.namespace or '-'}/{o.name} ({o.file})")
            lines.append(yaml.safe_dump(redact(o.body), sort_keys=False, allow_unicode=True).rstrip())
        return "\n".join(lines)

    def _explain_check(self, a: ExplainCheck) -> str:
        from tools.checks.catalog import describe, entry

        found = entry(a.check_id.strip())
        return describe(found) if found else f"error: {a.check_id} is not in the catalog"

    def _search_repo(self, a: SearchRepo) -> str:
        needle = a.text.lower()
        prefix = a.path_prefix.strip().removeprefix("./").rstrip("/")
        start = resolve_inside(self.root, prefix) if prefix else Path(os.path.realpath(self.root))
        real_root = Path(os.path.realpath(self.root))
        hits, files = [], 0
        for path, is_link_dir in walk(start, too_deep=[]):  # a bounded search: what lies deeper is not searched
            if is_link_dir or path.is_symlink() or files >= MAX_SEARCHED_FILES or len(hits) >= MAX_HITS:
                continue
            rel = path.relative_to(real_root).as_posix() if path.is_relative_to(real_root) else None
            if rel is None or _pruned(rel) or path.stat().st_size > MAX_SEARCHED_BYTES:
                continue
            files += 1
            text, _ = read_text(self.root, rel, MAX_SEARCHED_BYTES)
            if not text or needle not in text.lower():
                continue
            for n, line in enumerate(shown_lines(rel, text), 1):
                if needle in line.lower():  # matched on what the model may see, never inside a secret
                    hits.append(f"{rel}:{n}: {line.strip()[:200]}")
                    if len(hits) >= MAX_HITS:
                        break
        head = f"{len(hits)} line(s) holding {a.text!r} in {files} file(s)"
        return "\n".join([head + (" (first hits only)" if len(hits) >= MAX_HITS else ""), *hits])
