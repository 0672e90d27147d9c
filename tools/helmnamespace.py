"""``HELM-HARDCODED-NAMESPACE``: a chart template whose object ``metadata.namespace`` is a literal.

``helm install -n <ns>`` then leaves that object in the fixed namespace while the rest of the release goes to
``<ns>``: references between them (Services, Secrets, ServiceAccounts) break, and two installs collide. Read from
the template text (what a rendered object cannot tell apart from ``{{ .Release.Namespace }}``): a ``namespace:``
key directly under a ``metadata:`` key whose value holds no template action. Pure: the caller reads the files.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.models import Finding
from tools.catalog import finding
from tools.helmchart import chart_tree

HARDCODED_NAMESPACE_ID = "HELM-HARDCODED-NAMESPACE"
_KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z0-9_.-]+):\s*(?P<value>.*?)\s*$")
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl")


def _literal(value: str) -> str | None:
    """The namespace a ``namespace:`` value states literally, or None (templated, empty, a block or a comment)."""
    value = value.split(" #", 1)[0].strip().strip("'\"")
    if not value or "{{" in value or value.startswith(("#", "|", ">", "{", "[")):
        return None
    return value


def hardcoded_namespaces(text: str) -> list[tuple[int, int, str]]:
    """``(line, column, namespace)`` of every literal ``metadata.namespace`` in a template's text."""
    out: list[tuple[int, int, str]] = []
    parents: list[tuple[int, str]] = []  # (indent of the key, key) of the open mappings
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith(("#", "{{")):
            continue
        match = _KEY.match(raw)
        if not match:
            continue
        indent = len(match["indent"]) + (len(match["dash"]) if match["dash"] else 0)
        parents = [p for p in parents if p[0] < indent]
        if match["key"] == "namespace" and parents and parents[-1][1] == "metadata":
            name = _literal(match["value"])
            if name:
                out.append((number, indent + 1, name))
        parents.append((indent, match["key"]))
    return out


def hardcoded_namespace_findings(root: Path, chart_dir: str) -> list[Finding]:
    """The finding for each literal ``metadata.namespace`` in the templates of ``chart_dir`` and its subcharts
    (vendored ones aside)."""
    findings: list[Finding] = []
    for node in chart_tree(root, chart_dir).walk():
        if not node.dir or node.vendor:
            continue
        templates = root / node.dir / "templates"
        if not templates.is_dir():
            continue
        for path in sorted(p for p in templates.rglob("*") if p.is_file() and p.suffix in _TEMPLATE_SUFFIXES):
            rel = path.relative_to(root).as_posix()
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for line, column, name in hardcoded_namespaces(text):
                findings.append(finding(
                    HARDCODED_NAMESPACE_ID, f"the template sets metadata.namespace to the literal '{name}': "
                    "`helm install -n <namespace>` does not move this object", file=rel, line=line, column=column,
                    field="metadata.namespace"))
    return findings
