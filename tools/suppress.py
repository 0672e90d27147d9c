"""Suppression annotations: ours and the peer tools' (read as aliases).

Ours: ``infra-orchestrator.io/ignore: "<check>[,<check>]: <reason>"`` on the object or its pod template, and
``infra-orchestrator.io/ignore.<container>`` for one container. The reason is required: an entry without one
suppresses nothing (the ``SUPPRESS-NO-REASON`` check reports it). Check names may be our ids or a peer's id.

Peers' annotations, matched through the check's peer ids:

* kube-linter: ``ignore-check.kube-linter.io/<check>: <reason>`` and ``kube-linter.io/ignore-all``;
* Polaris: ``polaris.fairwinds.com/<check>-exempt: "true"`` and ``polaris.fairwinds.com/exempt: "true"``;
* checkov: ``checkov.io/skip<N>: CKV_K8S_<n>[=<comment>]``, and the same under ``bridgecrew.io/skip<N>`` and
  ``cortex.io/skip<N>`` (checkov reads all three; ``CKV2_K8S_<n>`` ids too);
* kube-score: ``kube-score/ignore: <id>[,<id>]``.

Pure functions over the object body; malformed annotations read as absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from core.models import K8sObject

OUR_KEY = "infra-orchestrator.io/ignore"
_CHECKOV_KEY = re.compile(r"(?:checkov|bridgecrew|cortex)\.io/skip\d*$")
_POLARIS_PREFIX = "polaris.fairwinds.com/"
_KUBE_LINTER_PREFIX = "ignore-check.kube-linter.io/"


class Ignore(NamedTuple):
    """One parsed ``infra-orchestrator.io/ignore`` entry; ``reason`` is empty when it was not given."""

    key: str
    checks: tuple[str, ...]
    reason: str


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _annotations(metadata: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in _dict(_dict(metadata).get("annotations")).items() if v is not None}


def annotation_sets(obj: K8sObject) -> list[dict[str, str]]:
    """The annotations that may suppress findings on ``obj``: its own, then its pod template's (if any)."""
    body = obj.body
    spec = _dict(body.get("spec"))
    if obj.kind == "CronJob":
        spec = _dict(_dict(spec.get("jobTemplate")).get("spec"))
    template = spec.get("template")
    sets = [_annotations(body.get("metadata"))]
    if isinstance(template, dict):
        sets.append(_annotations(template.get("metadata")))
    return sets


def parse_ignore(key: str, value: str) -> Ignore:
    """Parse ``"<check>[,<check>]: <reason>"``; without ``:`` the whole value is the check list."""
    checks, _, reason = value.partition(":")
    ids = tuple(c.strip() for c in checks.split(",") if c.strip())
    return Ignore(key=key, checks=ids, reason=reason.strip())


def our_ignores(obj: K8sObject) -> Iterator[Ignore]:
    """Every ``infra-orchestrator.io/ignore[.<container>]`` entry on ``obj`` and its pod template."""
    for found in annotation_sets(obj):
        for key, value in found.items():
            if key == OUR_KEY or key.startswith(OUR_KEY + "."):
                yield parse_ignore(key, value)


def peer_ids(peers: dict[str, str], tool: str) -> list[str]:
    """The ids ``tool`` uses for a check whose ``peers`` map tools to comma-separated ids."""
    return [p.strip() for p in peers.get(tool, "").split(",") if p.strip()]


def _names(check_id: str, peers: dict[str, str]) -> set[str]:
    return {check_id} | {p for tool in peers for p in peer_ids(peers, tool)}


def _ours(names: set[str], annotations: dict[str, str], container: str | None) -> str | None:
    keys = [OUR_KEY] + ([f"{OUR_KEY}.{container}"] if container else [])
    for key in keys:
        ignore = parse_ignore(key, annotations.get(key, ""))
        if ignore.reason and names & set(ignore.checks):
            return f"{key}: {ignore.reason}"
    return None


def _kube_linter(peers: dict[str, str], annotations: dict[str, str]) -> str | None:
    """kube-linter's annotations, whose value is the reason: an empty value suppresses nothing. ``ignore-all``
    covers only the checks kube-linter itself has (it cannot have meant the others)."""
    ids = peer_ids(peers, "kube-linter")
    keys = (["kube-linter.io/ignore-all"] if ids else []) + [_KUBE_LINTER_PREFIX + p for p in ids]
    for key in keys:
        if annotations.get(key, "").strip():
            return f"{key}: {annotations[key].strip()}"
    return None


def _polaris(peers: dict[str, str], annotations: dict[str, str]) -> str | None:
    """Polaris exemptions (``"true"``, no reason field); the blanket one covers only checks Polaris has."""
    ids = peer_ids(peers, "polaris")
    keys = ([_POLARIS_PREFIX + "exempt"] if ids else []) + [f"{_POLARIS_PREFIX}{p}-exempt" for p in ids]
    for key in keys:
        if annotations.get(key, "").strip().lower() == "true":
            return f"{key}: true"
    return None


def _checkov(peers: dict[str, str], annotations: dict[str, str]) -> str | None:
    wanted = set(peer_ids(peers, "checkov"))
    for key, value in annotations.items():
        skipped, _, comment = value.partition("=")
        if _CHECKOV_KEY.match(key) and skipped.strip() in wanted:
            return f"{key}: {value.strip() if comment.strip() else skipped.strip()}"
    return None


def _kube_score(peers: dict[str, str], annotations: dict[str, str]) -> str | None:
    ignored = {p.strip() for p in annotations.get("kube-score/ignore", "").split(",")}
    if ignored & set(peer_ids(peers, "kube-score")):
        return f"kube-score/ignore: {annotations['kube-score/ignore']}"
    return None


def suppression_for(check_id: str, peers: dict[str, str], obj: K8sObject, container: str | None = None,
                    allow_peers: bool = True) -> str | None:
    """Why findings of ``check_id`` on ``obj`` (about ``container``, if given) are suppressed, or None.

    ``allow_peers=False`` (critical checks) honours only our own annotation, which names the check and a reason.
    """
    names = _names(check_id, peers)
    for found in annotation_sets(obj):
        if not found:
            continue
        reason = _ours(names, found, container) or (allow_peers and (
            _kube_linter(peers, found) or _polaris(peers, found) or _checkov(peers, found)
            or _kube_score(peers, found))) or None
        if reason:
            return reason
    return None
