"""Which configuration edits weaken the policy, field by field, and whether a change relies on them.

:data:`WEAKER` is the table (documented in docs/decision-policy.md): for each field, the direction that
judges changes more leniently. :func:`weakenings` compares the base's configuration with the head's and returns
one :class:`Weakening` per lenient edit; :func:`relied_on` says whether the change's other edits are judged
differently because of it: a path the base protects (or asks about) that the head no longer does, a changed
infrastructure file the head takes out of scope, or a finding (computed under the base policy) that the head's
policy would disable, hide below its threshold or no longer require. Fields not in the table (``helm.*``,
``provider.*``, ``kubernetes.version``, ``checkpointer``) change how a review runs, not how lenient it is: their
edits are policy changes, never weakenings. Pure: no git, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pathspec

from core.config import Config
from core.models import Finding, Severity
from tools.layout import Boundaries

ZONE_RANK = {"outside": 0, "allowed": 0, "needs_approval": 1, "protected": 2}


@dataclass(frozen=True)
class Weakening:
    """One lenient edit: the dotted field, what changed, and the entries involved."""

    field: str
    detail: str
    items: tuple[str, ...] = ()


def _removed(base: Iterable[str], head: Iterable[str]) -> list[str]:
    head_set = set(head)
    return [x for x in base if x not in head_set]


def _added(base: Iterable[str], head: Iterable[str]) -> list[str]:
    return _removed(head, base)


def _globs_narrowed(field: str, base: list[str], head: list[str]) -> Weakening | None:
    """A glob list that selects less: an entry dropped, or a ``!`` negation added."""
    gone = [g for g in _removed(base, head) if not g.startswith("!")] + [g for g in _added(base, head)
                                                                         if g.startswith("!")]
    return Weakening(field, f"drops or negates {', '.join(map(repr, gone))}", tuple(gone)) if gone else None


def _globs_widened(field: str, base: list[str], head: list[str]) -> Weakening | None:
    """A carve-out list that excuses more: an entry added (a ``!`` entry dropped)."""
    new = [g for g in _added(base, head) if not g.startswith("!")] + [g for g in _removed(base, head)
                                                                    if g.startswith("!")]
    return Weakening(field, f"adds {', '.join(map(repr, new))}", tuple(new)) if new else None


def _ids_added(field: str, base: list[str], head: list[str]) -> Weakening | None:
    new = _added(base, head)
    return Weakening(field, f"adds {', '.join(new)}", tuple(new)) if new else None


def _ids_removed(field: str, base: list[str], head: list[str]) -> Weakening | None:
    gone = _removed(base, head)
    return Weakening(field, f"drops {', '.join(gone)}", tuple(gone)) if gone else None


def _enabled(base: Config, head: Config) -> Weakening | None:
    b, h = base.checks.enabled, head.checks.enabled
    if not h:
        return None  # empty: the profile's checks run, the widest choice
    if not b:
        return Weakening("checks.enabled", f"restricts the checks to {', '.join(h)}", tuple(h))
    return _ids_removed("checks.enabled", b, h)


def _profile_checks(profile: str) -> set[str]:
    from tools.checks import in_profile, registry

    return {spec.id for spec in registry() if in_profile(spec, profile)}


def _catalog_ids() -> set[str]:
    from tools.checks import registry

    return {spec.id for spec in registry()}


def _profile(base: Config, head: Config) -> Weakening | None:
    b, h = base.checks.profile, head.checks.profile
    if b == h:
        return None
    lost = sorted(_profile_checks(b) - _profile_checks(h))
    return Weakening("checks.profile", f"{b} -> {h} runs fewer checks", tuple(lost)) if lost else None


def _fail_on(base: Config, head: Config) -> Weakening | None:
    b, h = base.policy.fail_on, head.policy.fail_on
    return Weakening("policy.fail_on", f"raised from {b.value} to {h.value}", (b.value, h.value)) \
        if h.rank > b.rank else None


def _on_agent_failure(base: Config, head: Config) -> Weakening | None:
    b, h = base.policy.on_agent_failure, head.policy.on_agent_failure
    return Weakening("policy.on_agent_failure", f"{b} -> {h}: a failed agent no longer holds an approval back") \
        if (b, h) == ("clarify", "deterministic") else None


def _require_phr(base: Config, head: Config) -> Weakening | None:
    return Weakening("workflow.require_phr", "true -> false") \
        if base.workflow.require_phr and not head.workflow.require_phr else None


def _list(get: Callable[[Config], list[str]], field: str, compare) -> Callable[[Config, Config], Weakening | None]:
    return lambda base, head: compare(field, get(base), get(head))


WEAKER: list[tuple[str, str, Callable[[Config, Config], Weakening | None]]] = [
    ("phase3.protected", "a glob dropped, or a `!` negation added",
     _list(lambda c: c.phase3.protected, "phase3.protected", _globs_narrowed)),
    ("phase3.needs_approval", "a glob dropped, or a `!` negation added",
     _list(lambda c: c.phase3.needs_approval, "phase3.needs_approval", _globs_narrowed)),
    ("phase3.allowed", "a carve-out added",
     _list(lambda c: c.phase3.allowed, "phase3.allowed", _globs_widened)),
    ("phase3.app_roots", "a root dropped (the runtime contract reads less)",
     _list(lambda c: c.phase3.app_roots, "phase3.app_roots", _ids_removed)),
    ("policy.fail_on", "raised (info < low < medium < high < critical)", _fail_on),
    ("policy.on_agent_failure", "clarify -> deterministic", _on_agent_failure),
    ("kubernetes.paths", "a glob dropped, or a `!` negation added",
     _list(lambda c: c.kubernetes.paths, "kubernetes.paths", _globs_narrowed)),
    ("checks.enabled", "restricted (empty means every check of the profile)", _enabled),
    ("checks.disabled", "an id added", _list(lambda c: c.checks.disabled, "checks.disabled", _ids_added)),
    ("checks.unsuppressible", "an id dropped",
     _list(lambda c: c.checks.unsuppressible, "checks.unsuppressible", _ids_removed)),
    ("checks.exclude_paths", "a glob added",
     _list(lambda c: c.checks.exclude_paths, "checks.exclude_paths", _globs_widened)),
    ("checks.profile", "a profile that runs fewer checks", _profile),
    ("workflow.optional_stages", "a stage added",
     _list(lambda c: c.workflow.optional_stages, "workflow.optional_stages", _ids_added)),
    ("workflow.require_phr", "true -> false", _require_phr),
]
"""(field, which direction is weaker, comparison) for every field whose edit can judge a change more leniently."""


def weakenings(base: Config, head: Config) -> list[Weakening]:
    """Every lenient edit from ``base`` to ``head``, in table order."""
    return [w for _, _, compare in WEAKER if (w := compare(base, head)) is not None]


def changed_fields(base: Config, head: Config) -> list[str]:
    """Dotted names of every leaf field whose value differs between ``base`` and ``head``."""
    def flat(data, prefix=""):
        if isinstance(data, dict):
            for key, value in data.items():
                yield from flat(value, f"{prefix}{key}.")
        else:
            yield prefix.rstrip("."), data

    b, h = dict(flat(base.model_dump(mode="json"))), dict(flat(head.model_dump(mode="json")))
    return sorted(k for k in b.keys() | h.keys() if b.get(k) != h.get(k))


def _counts(f: Finding, fail_on: Severity) -> bool:
    """A live finding that decides something under the base policy: it blocks, it asks, or it is Phase III."""
    return not f.suppressed and (f.severity.at_least(fail_on) or f.question is not None)


def _scope(config: Config) -> Callable[[str], bool]:
    include = pathspec.GitIgnoreSpec.from_lines(config.kubernetes.paths)
    exclude = pathspec.GitIgnoreSpec.from_lines(config.checks.exclude_paths)
    return lambda p: include.match_file(p) and not exclude.match_file(p)


def relied_on(w: Weakening, base: Config, head: Config, paths: list[str], live_paths: list[str],
              findings: list[Finding]) -> str | None:
    """How the change relies on ``w`` (one sentence), or None when nothing it does is judged differently.

    ``paths`` are every path the change touches (both sides of renames); ``live_paths`` those that still exist
    at the head; ``findings`` are the deterministic findings of the change under the base policy."""
    fail_on = base.policy.fail_on
    if w.field.startswith("phase3.") and w.field != "phase3.app_roots":
        b, h = Boundaries.from_config(base.phase3), Boundaries.from_config(head.phase3)
        hit = [p for p in paths if ZONE_RANK[b.classify(p)] > ZONE_RANK[h.classify(p)]]
        return f"it touches {', '.join(hit[:5])}, which the base policy guards and the edited one does not" \
            if hit else None
    if w.field in ("kubernetes.paths", "checks.exclude_paths"):
        in_base, in_head = _scope(base), _scope(head)
        hit = [p for p in live_paths if in_base(p) and not in_head(p)]
        return f"it changes {', '.join(hit[:5])}, which the edited policy no longer analyses" if hit else None
    if w.field in ("checks.disabled", "checks.enabled", "checks.profile"):
        if w.field == "checks.enabled":
            dropped = _catalog_ids() - set(head.checks.enabled)
        else:
            dropped = set(w.items)
        hit = sorted({f.check_id for f in findings if _counts(f, fail_on) and f.check_id in dropped})
        return f"its findings {', '.join(hit[:5])} would no longer be reported" if hit else None
    if w.field == "policy.fail_on":
        hit = sorted({f.check_id for f in findings if not f.suppressed and f.question is None
                      and f.severity.at_least(fail_on) and not f.severity.at_least(head.policy.fail_on)})
        return f"its findings {', '.join(hit[:5])} would no longer reject it" if hit else None
    if w.field == "workflow.optional_stages":
        hit = sorted({s for f in findings if f.check_id == "WF-STAGE-SKIPPED" for s in w.items
                      if f"'{s}'" in f.message})
        return f"it skips the stage(s) {', '.join(hit)}, which the base policy requires" if hit else None
    if w.field == "workflow.require_phr":
        hit = any(f.check_id == "WF-PHR-MISSING" and not f.suppressed for f in findings)
        return "its stage lacks the prompt history record the base policy requires" if hit else None
    return None  # app_roots, unsuppressible, on_agent_failure: not decidable here; the policy change still asks
