"""Report a problem that a values file causes on the values line that causes it.

When a chart renders ``env[].value`` or an image from ``.Values``, a finding about the rendered field (a
secret literal, ``tag: latest``) belongs on the values line that set it: that is the line to change.
:func:`annotate_origins` records, for each rendered container, which values line set each literal env
value and the image; :func:`at_values_lines` moves the matching findings there (file and line), and the
message keeps the template that rendered it. A value is matched to a values leaf by its text and by the
template's references, so a value the template does not take from ``.Values`` stays on the template.
"""

from __future__ import annotations

import re
from collections import defaultdict

from core.models import Finding, K8sObject
from tools.checks.podspec import as_dict, as_list, containers
from tools.helmvalues import Scope, origins

RELOCATED = {"SEC-SECRET-ENV-LITERAL": "env", "SEC-SECRET-PLACEHOLDER": "env", "SEC-IMAGE-TAG": "image"}
_CONTAINER = re.compile(r"container '([^']*)'")
_ENV = re.compile(r"sets env (\S+) to")


def _covers(ref: str, leaf: str) -> bool:
    return leaf == ref or leaf.startswith((ref + ".", ref + "["))


def _pick(candidates: list[tuple[str, str, int, str]], template_refs: set[str], used: set[str]) -> str | None:
    for refs in (template_refs, used):
        hits = [c for c in candidates if any(_covers(r, c[0]) for r in refs)]
        if hits:
            _, file, line, shown = hits[-1]
            return f"{file}:{line}:{shown}"
    return None


def _scope_of(scopes: list[Scope], template: str) -> Scope | None:
    owning = [s for s in scopes if s.chart.dir and template.startswith(s.chart.dir.rstrip("/") + "/templates/")]
    return max(owning, key=lambda s: len(s.chart.dir), default=None)


def annotate_origins(objects: list[K8sObject], scopes: list[Scope]) -> None:
    """Fill ``values_lines`` of rendered objects: which values line set each literal env value and image."""
    for obj in objects:
        scope = _scope_of(scopes, obj.rendered_from or "")
        if scope is None:
            continue
        by_text: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
        for path, (file, line, text, shown) in origins(scope).items():
            by_text[text].append((path, file, line, shown))
        template_refs = {r.path for r in scope.scan.refs if r.file == obj.rendered_from}
        used = {r.path for r in scope.scan.refs}
        lines: dict[str, str] = {}
        for c in containers(obj):
            for env in as_list(c.spec.get("env")):
                name, value = as_dict(env).get("name"), as_dict(env).get("value")
                if isinstance(value, str) and value and isinstance(name, str):
                    origin = _pick(by_text.get(value, []), template_refs, used)
                    if origin:
                        lines[f"env:{c.name}:{name}"] = origin
            image = c.spec.get("image")
            if isinstance(image, str) and image:
                last = image.rsplit("/", 1)[-1]
                tag = last.rsplit(":", 1)[1] if ":" in last else ""
                origin = _pick(by_text.get(image, []) + by_text.get(tag, []), template_refs, used)
                if origin:
                    lines[f"image:{c.name}"] = origin
        if lines:  # a dict of its own: a loaded object starts with a shared, empty one
            obj.values_lines = {**obj.values_lines, **lines}


def at_values_lines(findings: list[Finding], objects: list[K8sObject]) -> list[Finding]:
    """``findings`` with those about a value set in a values file moved to that values file and line."""
    index = {(o.file, o.kind, o.name, o.namespace): o for o in objects if o.values_lines}
    if not index:
        return findings
    out = []
    for finding in findings:
        obj = index.get((finding.file, finding.resource.kind, finding.resource.name, finding.resource.namespace))
        field = RELOCATED.get(finding.check_id)
        container = _CONTAINER.search(finding.message)
        env = _ENV.search(finding.message)
        key = f"image:{container.group(1)}" if field == "image" and container else \
            f"env:{container.group(1)}:{env.group(1)}" if field == "env" and container and env else None
        origin = obj.values_lines.get(key) if obj is not None and key else None
        if origin:
            file, line, path = origin.split(":", 2)
            finding = finding.model_copy(update={
                "file": file, "line": int(line),
                "message": f"{finding.message} (set by {path} at {file}:{line}; rendered by {obj.rendered_from})"})
        out.append(finding)
    return out
