"""Approvals recorded in the ledger, and drift: an approval whose judged artifacts changed since is stale."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from core.models import Category, Finding, Severity
from tools import ledger
from tools.workflow.gate import Context
from tools.workflow.stages import STAGE, TARGETS, check_stage, earlier


class StaleApproval(BaseModel):
    """An approval to enter ``stage`` whose judged artifacts changed after it was recorded."""

    stage: str
    record: int
    """The ledger index of the approval."""
    timestamp: str
    changed: list[str]
    """Artifacts (relative paths) edited or removed since."""


def judged_artifacts(root: Path, feature_dir: Path, target: str) -> list[Path]:
    """The existing artifacts an approval to enter ``target`` judges: those of every earlier stage."""
    check_stage(target, TARGETS)
    ctx = Context(root, feature_dir)
    paths = dict.fromkeys(p for stage in earlier(target) for p in STAGE[stage].artifacts(ctx))
    return [p for p in paths if p.is_file()]


def _inside(rel: str) -> bool:
    return not Path(rel).is_absolute() and ".." not in Path(rel).parts


def latest_approvals(root: Path, feature: str) -> dict[str, dict]:
    """Target -> the ledger's latest APPROVED stage record for ``feature`` (an ``NNN-name``)."""
    out: dict[str, dict] = {}
    for record in ledger.read_records(ledger.ledger_path(root)):
        subject = record.get("subject")
        if (isinstance(subject, dict) and record.get("kind") == "stage" and record.get("outcome") == "APPROVED"
                and subject.get("feature") == feature and isinstance(record.get("artifacts", {}), dict)):
            out[str(subject.get("target"))] = record
    return out


def stale_approvals(root: Path, feature_dir: Path) -> dict[str, StaleApproval]:
    """Target -> its latest approval, when an artifact it judged was edited or removed since.

    Ticking boxes never counts (``sha256_unticked``), nor editing what the approved stage rewrites by design
    (the approval to enter clarify ignores later edits of the spec: /sp.clarify makes them)."""
    out = {}
    ctx = Context(root, feature_dir)
    for target, record in latest_approvals(root, feature_dir.name).items():
        rewrites = STAGE[target].rewrites if target in STAGE else None
        exempt = {ctx.rel(p) for p in STAGE[rewrites].artifacts(ctx)} if rewrites else set()
        recorded = {p: d for p, d in record.get("artifacts", {}).items()
                    if isinstance(d, dict) and _inside(p) and p not in exempt}
        current = ledger.file_digests(root, (root / p for p in recorded))
        key = "sha256_unticked"
        changed = sorted(p for p, d in recorded.items() if current.get(p, {}).get(key) != d.get(key))
        if changed:
            out[target] = StaleApproval(stage=target, record=record.get("index", -1),
                                        timestamp=str(record.get("timestamp", "")), changed=changed)
    return out


def stale_finding(feature_dir: Path, stale: StaleApproval, target: str) -> Finding:
    return Finding(
        check_id="WF-STALE-APPROVAL", severity=Severity.high, category=Category.workflow, file=stale.changed[0],
        message=(f"the approval of '{stale.stage}' (ledger record {stale.record}, {stale.timestamp}) is stale: "
                 f"{', '.join(stale.changed)} changed since; it must be re-approved before entering '{target}'"),
        remediation=f"Re-approve '{stale.stage}': stage approve {feature_dir.name} --to {stale.stage}")
