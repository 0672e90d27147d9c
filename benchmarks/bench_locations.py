"""Measure how many Kubernetes findings point at the offending field (run by hand, not part of the tests).

    uv run python benchmarks/bench_locations.py dump OUT.json DIR [DIR...]    # findings of `check DIR`
    uv run python benchmarks/bench_locations.py score NEW.json [OLD.json]     # fraction at the field

``dump`` runs the engine (``analysis.collect`` + ``engine_findings``, default and strict profiles) over each
directory as a workspace and writes every finding about a Kubernetes object. Run it with another checkout on
``PYTHONPATH`` to dump that version's findings (an older one has no ``field``).

``score`` judges NEW's findings with an oracle that does not use the loader's marks: it rebuilds each object's
data from the file, checks that the finding's ``field`` exists there (or, for a missing field, that the finding
points at its deepest existing parent), and that the reported line and column hold that key in the source text
(``image:``, the item after ``- ``, or for a rendered Helm object the template line that produced it: the key,
or the ``{{ }}`` action that expands into it). A finding that passes points at its field. OLD's findings (same
check, file, object and message) are scored against the same true positions: before/after.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_FROM = re.compile(r" \(from \.Values\..*\)$")


def dump(out: Path, dirs: list[str]) -> None:
    from core.config import Config
    from core.models import ChangeRequest
    from tools import analysis

    records = []
    for d in dirs:
        root = Path(d).resolve()
        for profile in ("default", "strict"):
            config = Config()
            config.checks.profile = profile
            collected = analysis.collect(ChangeRequest(workspace=str(root), paths=[]), root, config)
            rendered = {(o.file, o.kind, o.name) for o in collected.objects if o.rendered_from}
            for f in analysis.engine_findings(collected, config):
                if not (f.resource.kind and f.file):
                    continue
                records.append({"root": str(root), "profile": profile, "check": f.check_id, "file": f.file,
                                "resource": f.resource.label(), "kind": f.resource.kind,
                                "name": f.resource.name or "", "message": _FROM.sub("", f.message),
                                "line": f.line, "column": getattr(f, "column", None),
                                "field": getattr(f, "field", None),
                                "helm": (f.file, f.resource.kind, f.resource.name or "") in rendered})
    out.write_text(json.dumps(records, indent=1))
    print(f"{len(records)} findings -> {out}")


def _body(record: dict, cache: dict) -> dict | None:
    """The object's data, rebuilt from the source (rendered again for Helm) without the loader's marks."""
    key = (record["root"], record["file"], record["helm"])
    if key not in cache:
        from core.config import Config
        from tools.manifests import load_manifest_text
        from tools.rendering import render_all

        root = Path(record["root"])
        if record["helm"]:
            objects = render_all(root, [record["file"]], Config()).objects
        else:
            objects = load_manifest_text((root / record["file"]).read_text(encoding="utf-8"), record["file"])[0]
        cache[key] = [o for o in objects if o.file == record["file"]]
    return next((o.body for o in cache[key] if o.kind == record["kind"] and o.name == record["name"]), None)


def _existing(body: object, parts: list) -> list:
    """The longest prefix of ``parts`` that exists in ``body``."""
    found = []
    for part in parts:
        if isinstance(part, int) and isinstance(body, list) and part < len(body):
            body = body[part]
        elif isinstance(part, str) and isinstance(body, dict) and part in body:
            body = body[part]
        else:
            break
        found.append(part)
    return found


def _holds(text_line: str, column: int | None, part: object, helm: bool) -> bool:
    """Whether the source line holds the key ``part`` (or an item, for an index) at ``column``."""
    if column is None:
        return False
    at = text_line[column - 1:]
    if helm and at.startswith("{{"):
        return True  # the action that expands into the field (toYaml / include)
    if isinstance(part, int):  # a block item after "- ", or a flow item after "[" or ","
        return text_line[:column - 1].rstrip().endswith(("-", "[", ",")) or at.startswith("{{")
    return bool(re.match(rf"""["']?{re.escape(str(part))}["']?\s*:""", at)) or (helm and "{{" in at.split(":")[0])


def true_position(record: dict, cache: dict, texts: dict) -> tuple[int, int] | None:
    """The finding's (line, column) when it points at its field (or the field's closest existing parent)."""
    from tools import fieldpath

    if not record.get("field") or not record.get("line"):
        return None
    body = _body(record, cache)
    if body is None:
        return None
    parts = fieldpath.segments(record["field"])
    existing = _existing(body, parts)
    if not existing:
        return None
    path = Path(record["root"]) / record["file"]
    lines = texts.setdefault(str(path), path.read_text(encoding="utf-8").split("\n"))
    line = lines[record["line"] - 1] if record["line"] <= len(lines) else ""
    return (record["line"], record["column"]) if _holds(line, record["column"], existing[-1], record["helm"]) \
        else None


def score(new_file: Path, old_file: Path | None) -> None:
    new = json.loads(new_file.read_text())
    old = json.loads(old_file.read_text()) if old_file else []
    olds: dict[tuple, list[dict]] = {}
    for r in old:
        olds.setdefault((r["root"], r["profile"], r["check"], r["file"], r["resource"], r["message"]), []).append(r)
    cache: dict = {}
    texts: dict = {}
    for group in sorted({(r["root"], r["profile"]) for r in new}):
        rows = [r for r in new if (r["root"], r["profile"]) == group]
        at_field = before = matched = drift = 0
        for r in rows:
            truth = true_position(r, cache, texts)
            at_field += truth is not None
            twins = olds.get((r["root"], r["profile"], r["check"], r["file"], r["resource"], r["message"]))
            if twins:
                matched += 1
                o = twins.pop(0)
                before += truth is not None and o["line"] == truth[0]
                if truth is not None and r["helm"]:
                    drift = max(drift, abs(o["line"] - truth[0]))
        helm = [r for r in rows if r["helm"]]
        expanded = 0
        for r in helm:
            path = Path(r["root"]) / r["file"]
            lines = texts.setdefault(str(path), path.read_text(encoding="utf-8").split("\n"))
            expanded += bool(r["column"]) and lines[r["line"] - 1][r["column"] - 1:].startswith("{{")
        print(f"{Path(group[0]).name} [{group[1]}]: {len(rows)} findings ({len(helm)} on Helm-rendered objects); "
              f"at the field: after {at_field}/{len(rows)} ({at_field / max(len(rows), 1):.0%})"
              + (f", before {before}/{matched} ({before / max(matched, 1):.0%}) of the {matched} matched"
                 if old_file else "")
              + (f"; Helm: {len(helm) - expanded} on the template key, {expanded} on the action expanding into it"
                 if helm else "")
              + (f"; Helm lines were off by up to {drift}" if helm and old_file else ""))
        misses: dict[str, list[dict]] = {}
        for r in rows:
            if true_position(r, cache, texts) is None:
                misses.setdefault(r["check"], []).append(r)
        for check, missed in sorted(misses.items()):
            r = missed[0]
            print(f"    {len(missed)} not at the field: {check}, e.g. {r['file']}:{r['line']}:{r['column']} "
                  f"field={r['field']}")


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]), sys.argv[3:])
    else:
        score(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
