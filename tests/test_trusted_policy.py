"""The rules that judge a change come from the trusted side: the base revision, or the operator's file.

Where the policy comes from (tools.policy_source), and each attack of a change on its own policy, reproduced on
a copy of the example repository and judged through the reference wiring (tests/policy_pipeline.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gitrepo import Symlink, commit, git, isolate_git_env, make_repo, write_files
from policy_pipeline import review_trusted

from core.config import Config
from core.errors import ConfigError
from core.models import Outcome
from tools.policy_source import CONFIG_ENV, UNTRUSTED_SOURCE, head_policy, resolve_policy, trusted_base

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "todo-phase-iv"
CONFIG = "phase3:\n  protected: ['backend/src/**']\n"
PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: evil, namespace: todo}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox:1.36@sha256:0000000000000000000000000000000000000000000000000000000000000000
    securityContext: {privileged: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
                      capabilities: {drop: [ALL]}}
    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 32Mi}}
    livenessProbe: {httpGet: {path: /, port: 8080}}
    readinessProbe: {httpGet: {path: /, port: 8080}}
"""
ESCALATING = PRIVILEGED.replace("privileged: true, allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_env(monkeypatch)
    monkeypatch.delenv(CONFIG_ENV, raising=False)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, {".infra-orchestrator.yaml": CONFIG, "backend/src/app.py": "app = 1\n",
                                "k8s/README.md": "infra\n"})


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    """A git copy of the example repository, one commit (its Phase III lock included)."""
    dest = tmp_path / "example"
    shutil.copytree(EXAMPLE, dest)
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "Phase IV baseline")
    return dest


# -- where the policy comes from ---------------------------------------------------------------------------------

def test_a_range_is_judged_by_the_base_revision_not_the_head_nor_the_work_tree(repo: Path):
    base = git(repo, "rev-parse", "HEAD").strip()
    commit(repo, {".infra-orchestrator.yaml": "phase3:\n  protected: ['frontend/**']\n"}, "head edits the policy")
    write_files(repo, {".infra-orchestrator.yaml": "phase3:\n  protected: ['docs/**']\n"})
    policy = resolve_policy(repo, trusted_base(repo, base), env={})
    assert policy.config.phase3.protected == ["backend/src/**"]
    assert (policy.origin, policy.rev, policy.trusted) == ("base", base, True)
    assert policy.source == f"base revision {base[:12]} (.infra-orchestrator.yaml)"
    assert head_policy(repo, "HEAD").config.phase3.protected == ["frontend/**"]
    assert head_policy(repo, None).config.phase3.protected == ["docs/**"]


def test_a_work_tree_review_trusts_head(repo: Path):
    write_files(repo, {".infra-orchestrator.yaml": "phase3:\n  protected: ['docs/**']\n"})
    head = git(repo, "rev-parse", "HEAD").strip()
    assert trusted_base(repo, None) == head
    assert resolve_policy(repo, trusted_base(repo, None), env={}).config.phase3.protected == ["backend/src/**"]


def test_a_plain_directory_uses_its_file_and_says_it_is_untrusted(tmp_path: Path):
    (tmp_path / ".infra-orchestrator.yaml").write_text(CONFIG)
    (tmp_path / "phase3.lock").write_text("{}")
    assert trusted_base(tmp_path, None) is None
    policy = resolve_policy(tmp_path, None, env={})
    assert policy.source == UNTRUSTED_SOURCE == "work tree (untrusted: no base revision)"
    assert (policy.origin, policy.trusted, policy.lock_text) == ("worktree", False, "{}")
    assert policy.config.phase3.protected == ["backend/src/**"]


def test_a_repository_without_commits_has_no_base(tmp_path: Path):
    (tmp_path / "repo").mkdir()
    git(tmp_path / "repo", "init", "--quiet")
    assert trusted_base(tmp_path / "repo", None) is None


def test_an_operator_file_outside_the_repository_wins(repo: Path, tmp_path: Path):
    operator = tmp_path / "operator.yaml"
    operator.write_text("phase3:\n  protected: ['**']\npolicy:\n  fail_on: low\n")
    base = trusted_base(repo, None)
    policy = resolve_policy(repo, base, operator, env={})
    assert (policy.origin, policy.source) == ("operator", f"operator file {operator}")
    assert policy.config.policy.fail_on.value == "low"
    assert policy.base_config.phase3.protected == ["backend/src/**"]  # the repository's, to measure edits
    by_env = resolve_policy(repo, base, None, env={CONFIG_ENV: str(operator)})
    assert by_env.source == policy.source
    other = tmp_path / "other.yaml"
    other.write_text("policy:\n  fail_on: high\n")
    assert resolve_policy(repo, base, other, env={CONFIG_ENV: str(operator)}).config.policy.fail_on.value == "high"


def test_a_missing_operator_file_stops_the_review(repo: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match=f"config file not found \\(named by {CONFIG_ENV}\\)"):
        resolve_policy(repo, None, env={CONFIG_ENV: str(tmp_path / "nope.yaml")})
    with pytest.raises(ConfigError, match="named by --config"):
        resolve_policy(repo, None, tmp_path / "nope.yaml", env={})


def test_an_operator_file_inside_the_repository_is_read_at_the_base(repo: Path):
    commit(repo, {"ci/strict.yaml": "policy:\n  fail_on: low\n"}, "ci policy")
    base = trusted_base(repo, None)
    write_files(repo, {"ci/strict.yaml": "policy:\n  fail_on: critical\n"})
    policy = resolve_policy(repo, base, repo / "ci/strict.yaml", env={})
    assert policy.config.policy.fail_on.value == "low"
    assert policy.source == f"base revision {base[:12]} (ci/strict.yaml)"
    write_files(repo, {"ci/new.yaml": "policy: {}\n"})
    with pytest.raises(ConfigError, match="not in the base revision"):
        resolve_policy(repo, base, repo / "ci/new.yaml", env={})


@pytest.mark.parametrize(("content", "error"), [
    ("phase3: [", "not valid YAML"),
    ("phase3:\n  protectd: []\n", "phase3.protectd: unknown key"),
    ("- a\n", "top level must be a mapping"),
    ("a: " + "[" * 300 + "]" * 300 + "\n", "nested deeper than"),
    (Symlink("/etc/passwd"), "is a symlink"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_an_invalid_base_policy_stops_the_review(tmp_path: Path, content, error: str):
    repo = make_repo(tmp_path, {".infra-orchestrator.yaml": content, "x": "y\n"})
    with pytest.raises(ConfigError, match=error):
        resolve_policy(repo, trusted_base(repo, None), env={})
    head = head_policy(repo, "HEAD")  # the same file as the change's: reported, not raised
    assert head.config is None and error.split()[0] in head.error


def test_a_base_without_a_config_means_the_defaults(tmp_path: Path):
    repo = make_repo(tmp_path, {"k8s/a.yaml": "kind: Pod\n"})
    policy = resolve_policy(repo, trusted_base(repo, None), env={})
    assert policy.config == Config() and policy.lock_text is None


def test_a_workspace_below_the_top_level_reads_its_own_files(tmp_path: Path):
    repo = make_repo(tmp_path, {"app/.infra-orchestrator.yaml": CONFIG, "app/phase3.lock": "LOCK",
                                ".infra-orchestrator.yaml": "phase3:\n  protected: ['other/**']\n"})
    policy = resolve_policy(repo / "app", trusted_base(repo / "app", None), env={})
    assert policy.config.phase3.protected == ["backend/src/**"] and policy.lock_text == "LOCK"


def test_the_digest_follows_the_config_and_the_lock(repo: Path):
    first = resolve_policy(repo, trusted_base(repo, None), env={})
    assert first.digest == resolve_policy(repo, trusted_base(repo, None), env={}).digest
    commit(repo, {"phase3.lock": "{}"}, "lock")
    assert resolve_policy(repo, trusted_base(repo, None), env={}).digest != first.digest


# -- the attacks: a change that weakens its own policy -------------------------------------------------------------

def _edit(repo: Path, old: str, new: str, path: str = ".infra-orchestrator.yaml") -> None:
    text = (repo / path).read_text()
    assert old in text, old
    (repo / path).write_text(text.replace(old, new))


def _store(repo: Path) -> None:
    _edit(repo, "", "# tampered\n", "backend/src/store.py")


def _freeze(repo: Path) -> None:
    from core.config import load_config
    from tools.lock import freeze

    freeze(repo, load_config(repo).config.phase3)


def _drop_protected(repo: Path) -> None:
    _edit(repo, "    - backend/src/**\n", "")


ATTACKS = {
    "drop-protected-delete-lock": (lambda r: (_store(r), _drop_protected(r), (r / "phase3.lock").unlink()),
                                   {"PHASE3-PROTECTED-MODIFIED", "POLICY-WEAKENED-AND-USED"}),
    "drop-protected-refreeze-lock": (lambda r: (_store(r), _drop_protected(r), _freeze(r)),
                                     {"PHASE3-LOCK-MISMATCH", "POLICY-WEAKENED-AND-USED"}),
    "allowed-carve-out": (lambda r: (_store(r), _edit(r, "  needs_approval:", "  allowed: [backend/src/store.py]\n"
                                                      "  needs_approval:"), _freeze(r)),
                          {"PHASE3-PROTECTED-MODIFIED", "POLICY-WEAKENED-AND-USED"}),
    "checks-disabled": (lambda r: (write_files(r, {"k8s/evil.yaml": PRIVILEGED}),
                                   _edit(r, "helm:\n", "checks:\n  disabled: [SEC-PRIVILEGED]\nhelm:\n")),
                        {"SEC-PRIVILEGED", "POLICY-WEAKENED-AND-USED"}),
    "fail-on-critical": (lambda r: (write_files(r, {"k8s/evil.yaml": ESCALATING}),
                                    _edit(r, "fail_on: medium", "fail_on: critical")),
                         {"SEC-PRIV-ESCALATION", "POLICY-WEAKENED-AND-USED"}),
    "exclude-paths": (lambda r: (write_files(r, {"k8s/evil.yaml": PRIVILEGED}),
                                 _edit(r, "helm:\n", "checks:\n  exclude_paths: [k8s/evil.yaml]\nhelm:\n")),
                      {"SEC-PRIVILEGED", "POLICY-WEAKENED-AND-USED"}),
    "kubernetes-paths-narrowed": (lambda r: (write_files(r, {"k8s/evil.yaml": PRIVILEGED}),
                                             _edit(r, "    - k8s/**\n", "    - k8s/[!e]*\n")),
                                  {"SEC-PRIVILEGED", "POLICY-WEAKENED-AND-USED"}),
    "ignore-annotation-added": (lambda r: write_files(r, {"k8s/evil.yaml": PRIVILEGED.replace(
        "namespace: todo}", "namespace: todo, annotations: {infra-orchestrator.io/ignore: 'SEC-PRIVILEGED: ok'}}")}),
                                {"SEC-PRIVILEGED"}),
    "gitattributes-export-ignore": (lambda r: write_files(r, {".gitattributes": "backend/src/** export-ignore\n"}),
                                    {"PHASE3-PROTECTED-MODIFIED", "POLICY-CHANGE"}),
    "gitattributes-eol": (lambda r: write_files(r, {".gitattributes": "*.py text eol=crlf\n"}),
                          {"PHASE3-PROTECTED-MODIFIED"}),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_change_cannot_weaken_its_own_policy(example: Path, name: str):
    """Each of these was APPROVED when the policy came from the reviewed change."""
    attack, expected = ATTACKS[name]
    attack(example)
    commit(example, {}, name)
    decision, policy = review_trusted(example, base="HEAD~1", head="HEAD")
    live = {f.check_id for f in decision.findings if not f.suppressed}
    assert decision.outcome is Outcome.rejected, (name, live)
    assert expected <= live, (name, live)
    assert policy.origin == "base"


def test_the_path_filter_narrows_the_view_not_the_guard(example: Path):
    _store(example)
    _edit(example, "LOG_LEVEL: INFO", "LOG_LEVEL: DEBUG", "k8s/configmap.yaml")
    commit(example, {}, "both")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD", paths=["k8s"])
    assert decision.outcome is Outcome.rejected
    assert "backend/src/store.py" in decision.phase3_protection.detail


def test_the_weakening_finding_names_the_file_line_and_field(example: Path):
    ATTACKS["checks-disabled"][0](example)
    commit(example, {}, "disable")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    weak = next(f for f in decision.findings if f.check_id == "POLICY-WEAKENED-AND-USED")
    text = (example / ".infra-orchestrator.yaml").read_text().splitlines()
    assert weak.file == ".infra-orchestrator.yaml" and text[weak.line - 1].strip().startswith("disabled:")
    assert "checks.disabled adds SEC-PRIVILEGED" in weak.message and "SEC-PRIVILEGED" in weak.message
    assert weak.severity.value == "critical" and weak.remediation


# -- controls: what must still pass, and what must ask --------------------------------------------------------------

def test_an_infrastructure_change_is_still_approved(example: Path):
    _edit(example, "LOG_LEVEL: INFO", "LOG_LEVEL: DEBUG", "k8s/configmap.yaml")
    commit(example, {}, "infra")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.approved, [f.check_id for f in decision.findings]


@pytest.mark.parametrize(("edit", "note"), [
    (lambda r: _edit(r, "    - backend/alembic/**\n", "    - backend/alembic/**\n    - backend/Dockerfile.lock\n"),
     "also changes phase3.protected"),
    (lambda r: _edit(r, "helm:\n", "checks:\n  disabled: [SEC-PRIVILEGED]\nhelm:\n"),
     "weakens checks.disabled: adds SEC-PRIVILEGED"),
    (lambda r: _edit(r, "fail_on: medium", "fail_on: high"), "weakens policy.fail_on: raised from medium to high"),
    (lambda r: _edit(r, "version: 1\n", "version: 1\n# a comment\n"), "no field changes its value"),
    (lambda r: _edit(r, "    - backend/alembic/**\n", ""), "weakens phase3.protected: drops or negates 'backend/alembic/**'"),
    (lambda r: (_edit(r, "helm:\n", "checks:\n  exclude_paths: [k8s/hpa.yaml]\nhelm:\n"),
                _edit(r, "LOG_LEVEL: INFO", "LOG_LEVEL: DEBUG", "k8s/configmap.yaml")),
     "weakens checks.exclude_paths: adds 'k8s/hpa.yaml'"),
])
def test_a_policy_edit_the_change_does_not_rely_on_asks(example: Path, edit, note: str):
    edit(example)
    commit(example, {}, "policy edit")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    change = [f for f in decision.findings if f.check_id == "POLICY-CHANGE"]
    assert decision.outcome is Outcome.clarification, [f.check_id for f in decision.findings]
    assert len(change) == 1 and note in change[0].message and change[0].question


@pytest.mark.parametrize("path", ["CODEOWNERS", ".github/CODEOWNERS", ".claude/settings.json", "frontend/.gitattributes",
                                  "history/approvals/ledger.jsonl"])
def test_every_policy_file_edit_asks(example: Path, path: str):
    write_files(example, {path: "* @owners\n"})
    commit(example, {}, "policy file")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.clarification
    assert [f.file for f in decision.findings if f.check_id == "POLICY-CHANGE"] == [path]


def test_appending_to_the_ledger_is_not_a_policy_change(example: Path):
    commit(example, {"history/approvals/ledger.jsonl": '{"n": 1}\n'}, "first record")
    commit(example, {"history/approvals/ledger.jsonl": '{"n": 1}\n{"n": 2}\n'}, "second record")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.approved
    commit(example, {"history/approvals/ledger.jsonl": '{"n": 2}\n'}, "rewrite")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert "POLICY-CHANGE" in {f.check_id for f in decision.findings}


def test_refreezing_a_lock_that_still_matches_asks(example: Path):
    _edit(example, "    - backend/alembic/**\n", "    - backend/alembic/**\n    - backend/Dockerfile\n")
    _freeze(example)
    commit(example, {}, "protect the Dockerfile too")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.clarification
    assert {f.file for f in decision.findings if f.check_id == "POLICY-CHANGE"} == {".infra-orchestrator.yaml",
                                                                                   "phase3.lock"}


def test_a_suppression_already_in_the_base_is_honoured(example: Path):
    annotated = PRIVILEGED.replace("namespace: todo}",
                                   "namespace: todo, annotations: {infra-orchestrator.io/ignore: 'SEC-PRIVILEGED: ok'}}")
    commit(example, {"k8s/evil.yaml": annotated}, "accepted before")
    commit(example, {"k8s/evil.yaml": annotated.replace("cpu: 10m", "cpu: 20m")}, "edit it")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.approved, [f.check_id for f in decision.findings if not f.suppressed]


def test_a_head_config_that_does_not_load_asks(example: Path):
    write_files(example, {".infra-orchestrator.yaml": "phase3: [\n"})
    commit(example, {}, "broken")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    change = next(f for f in decision.findings if f.check_id == "POLICY-CHANGE")
    assert decision.outcome is Outcome.clarification and "does not load" in change.message


def test_a_work_tree_edit_of_the_policy_is_judged_by_head(example: Path):
    _store(example)
    _drop_protected(example)
    decision, policy = review_trusted(example, worktree=True)
    assert decision.outcome is Outcome.rejected
    assert {"PHASE3-PROTECTED-MODIFIED", "POLICY-WEAKENED-AND-USED"} <= {f.check_id for f in decision.findings}
    assert policy.source.startswith("base revision ")


@pytest.mark.parametrize("line", ["backend/src/** -diff\n", "*.py binary\n", "[attr]x eol=crlf\nbackend/** x\n",
                                  "*.py working-tree-encoding=UTF-16\n", "store.py filter=lfs\n"])
def test_gitattributes_that_change_protected_checkouts_touch_them(example: Path, line: str):
    write_files(example, {".gitattributes": line})
    commit(example, {}, "attributes")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.rejected, line
    assert any(f.check_id == "PHASE3-PROTECTED-MODIFIED" and f.file.startswith("backend/src/")
               for f in decision.findings)


def test_gitattributes_for_infrastructure_files_only_ask(example: Path):
    write_files(example, {".gitattributes": "k8s/*.yaml text eol=lf\n*.png binary\n"})
    commit(example, {}, "attributes")
    decision, _ = review_trusted(example, base="HEAD~1", head="HEAD")
    assert decision.outcome is Outcome.clarification
    assert {f.check_id for f in decision.findings if f.category.value == "phase3"} == {"POLICY-CHANGE"}
