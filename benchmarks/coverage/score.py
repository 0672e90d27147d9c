"""Per-concern recall / precision of ``check`` against the peers' own labelled fixtures.

Run by hand (not part of the tests)::

    uv run python benchmarks/coverage/score.py            # every peer, strict profile
    uv run python benchmarks/coverage/score.py --verbose  # also list each miss and false alarm

For every fixture in ``tests/fixtures/peers/<peer>/`` the engine (``tools.engine.check_paths``, in process) runs
over that file alone; ``labels.yaml`` names, per concern (one of our check ids), the objects it must fire on and
the objects it must not fire on (``A|B``: a concern either id covers). A labelled object with a finding of that id is a true positive (fire) or a false
positive (quiet); one without is a false negative (fire) or a true negative (quiet). Recall = TP / (TP + FN),
precision = TP / (TP + FP), summed over the concerns of one peer.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.config import Config  # noqa: E402
from tools.engine import check_paths  # noqa: E402

PEERS_DIR = ROOT / "tests" / "fixtures" / "peers"


def fired(fixture: Path, profile: str) -> set[tuple[str, str]]:
    """``(check_id, "Kind/name")`` of every unsuppressed finding on ``fixture`` (checked alone, in a copy)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "k8s" / fixture.name
        target.parent.mkdir()
        shutil.copy(fixture, target)
        config = Config.model_validate({"checks": {"profile": profile}})
        analysis = check_paths(Path(tmp), [], config)
    return {(f.check_id, f"{f.resource.kind}/{f.resource.name}") for f in analysis.findings if not f.suppressed}


def score_peer(peer_dir: Path, profile: str, verbose: bool) -> Counter:
    labels = yaml.safe_load((peer_dir / "labels.yaml").read_text(encoding="utf-8")) or {}
    counts: Counter = Counter()
    for name, concerns in sorted(labels.items()):
        got = fired(peer_dir / name, profile)
        for concern, want in concerns.items():
            ids = concern.split("|")  # a concern several of our ids cover: any of them counts
            for obj in want.get("fire", []):
                hit = any((i, obj) in got for i in ids)
                counts["tp" if hit else "fn"] += 1
                if verbose and not hit:
                    print(f"  miss        {peer_dir.name}/{name}: {concern} on {obj}")
            for obj in want.get("quiet", []):
                hit = any((i, obj) in got for i in ids)
                counts["fp" if hit else "tn"] += 1
                if verbose and hit:
                    print(f"  false alarm {peer_dir.name}/{name}: {concern} on {obj}")
    return counts


def ratio(num: int, den: int) -> str:
    return f"{num / den:.2f}" if den else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="strict", help="check profile (default: strict, every check)")
    parser.add_argument("--verbose", action="store_true", help="list each miss and false alarm")
    args = parser.parse_args(argv)
    print("| peer fixtures | labels | recall | precision |")
    print("|---|---:|---:|---:|")
    rows = []
    for peer_dir in sorted(p for p in PEERS_DIR.iterdir() if (p / "labels.yaml").is_file()):
        c = score_peer(peer_dir, args.profile, args.verbose)
        rows.append(f"| {peer_dir.name} | {sum(c.values())} | {ratio(c['tp'], c['tp'] + c['fn'])} | "
                    f"{ratio(c['tp'], c['tp'] + c['fp'])} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
