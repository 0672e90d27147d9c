"""Build Spec-Kit Plus feature repositories from parts, in the formats real repositories contain.

``build(root)`` writes an app-only feature (``specs/003-task-tags``: tags on todo items, no infrastructure at
all) that passes every gate from constitution to done. Each keyword replaces one part, so a fixture names
exactly what differs from the good feature::

    build(tmp_path, constitution=constitution(PLUS_VERSION), tasks=table_tasks(open_ids={"T004"}))

The variants follow github/spec-kit's templates and commands and the spec-kit-plus ``sp.*`` commands, and
what hackathon repositories make of them (both version lines, table-style tasks, Constitution Check tables
and bullet lists, clarification sessions, analyze reports in PHRs and in ``ANALYSIS-REPORT.md``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FEATURE = "003-task-tags"
FEATURE_DIR = f"specs/{FEATURE}"

TEMPLATE_VERSION = "**Version**: 1.2.0 | **Ratified**: 2025-11-02 | **Last Amended**: 2025-12-01"
PLUS_VERSION = "**Constitution Version:** 1.4.0\n**Ratified:** 2025-11-02\n**Last Amended:** 2025-12-01"
PIPE_VERSION = "Version: 1.0.0 | Ratified: 2025-06-13 | Last Amended: 2025-07-16"
UNFILLED_VERSION = "**Version**: [CONSTITUTION_VERSION] | **Ratified**: [RATIFICATION_DATE]"


def constitution(version: str = TEMPLATE_VERSION) -> str:
    return f"""<!--
Sync Impact Report
- Version change: 1.1.0 → 1.2.0
- Modified principles: [PRINCIPLE_3_NAME] → III. Test-First
- Templates requiring updates: ✅ .specify/templates/plan-template.md
-->
# Todo App Constitution

## Core Principles

### I. Spec-Driven Development
Every change starts from a spec under `specs/`; no code without a task.

### II. Phase III Code Is Frozen
Phase IV infrastructure work MUST NOT modify the Phase III application without approval.

### III. Test-First (NON-NEGOTIABLE)
Tests are written before the code they cover.

## Governance
Amendments require a pull request and a version bump. TODO(REVIEW_CADENCE): agree a review cadence.

{version}
"""


CLARIFICATIONS = """## Clarifications

### Session 2025-12-02

- Q: How many tags may a task carry? → A: Up to 10
- Q: Are tags shared between users? → A: No, tags are per user

"""


def spec(*, clarifications: str = CLARIFICATIONS, requirements_extra: str = "", legacy: bool = False) -> str:
    success = "" if legacy else """## Success Criteria *(mandatory)*

### Measurable Outcomes

- **SC-001**: Users tag a task in under 5 seconds.
"""
    legacy_tail = """## Review & Acceptance Checklist
*GATE: Automated checks run during main() execution*

- [x] No implementation details
""" if legacy else ""
    return f"""# Feature Specification: Task Tags

**Feature Branch**: `{FEATURE}`
**Created**: 2025-12-01
**Status**: Draft
**Input**: User description: "Let users tag todo items and filter by tag"

{clarifications}## User Scenarios & Testing *(mandatory)*

### User Story 1 - Tag a task (Priority: P1)

A user adds tags to a task and sees them on the list.

**Acceptance Scenarios**:

1. **Given** a task, **When** the user adds the tag "home", **Then** the task shows "home".

### Edge Cases

- A tag longer than 30 characters is rejected with a message.

## Requirements *(mandatory)*

### Functional Requirements

- **FR-001**: Users MUST be able to add up to 10 tags to a task.
- **FR-002**: Users MUST be able to filter the task list by one tag.
{requirements_extra}
{success}{legacy_tail}"""


def requirements(*, open_items: tuple[str, ...] = (), markers_item_open: bool = False) -> str:
    items = ["No implementation details (languages, frameworks, APIs)", "All mandatory sections completed",
             "Requirements are testable and unambiguous", "Scope is clearly bounded"]
    lines = [f"- [{' ' if i in open_items else 'x'}] {i}" for i in items]
    lines.insert(2, f"- [{' ' if markers_item_open else 'x'}] No [NEEDS CLARIFICATION] markers remain")
    body = "\n".join(lines)
    return f"""# Specification Quality Checklist: Task Tags

**Purpose**: Validate specification completeness and quality before proceeding to planning
**Created**: 2025-12-01
**Feature**: [spec.md](../spec.md)

## Content Quality

{body}

## Notes

- Items marked incomplete require spec updates before `/sp.clarify` or `/sp.plan`
"""


CHECK_BULLETS = """- **Spec-Driven Development**: ✅ Spec exists at `specs/003-task-tags/spec.md`
- **Phase III Code Is Frozen**: ✅ Only new files under `backend/app/tags/` and `frontend/app/tags/`
- **Test-First**: ✅ Contract tests precede the endpoints (T003 before T004)
"""
CHECK_TABLE = """| Principle | Gate | Status |
|---|---|---|
| I. Spec-Driven Development | spec.md and checklist complete | ✅ PASS |
| II. Phase III Code Is Frozen | new modules only | ✅ PASS |
| III. Test-First | tests listed before code | ✅ PASS |

**Result**: PASS — no violations.
"""
CHECK_VIOLATED = """| Principle | Status | Notes |
|---|---|---|
| I. Spec-Driven Development | ✅ PASS | |
| II. Phase III Code Is Frozen | ❌ VIOLATED | the tag filter edits `backend/app/routes/tasks.py` |
| III. Test-First | ✅ PASS | |
"""
CHECK_FAIL_BULLET = "- I. Spec-Driven: PASS\n- II. Phase III Code Is Frozen: FAIL (edits backend/app/models.py)\n"
NO_COMPLEXITY = "No violations to justify."
TEMPLATE_COMPLEXITY = """> **Fill ONLY if Constitution Check has violations that must be justified**

| Violation | Why Needed | Simpler Alternative Rejected Because |
|-----------|------------|-------------------------------------|
| [e.g., 4th project] | [current need] | [why 3 projects insufficient] |
"""
JUSTIFIED = """| Violation | Why Needed | Simpler Alternative Rejected Because |
|-----------|------------|-------------------------------------|
| Edit of backend/app/routes/tasks.py | the list endpoint must accept ?tag= | a second endpoint duplicates paging |
"""


def plan(*, check: str = CHECK_BULLETS, complexity: str = NO_COMPLEXITY, tech_extra: str = "") -> str:
    return f"""# Implementation Plan: Task Tags

**Branch**: `{FEATURE}` | **Date**: 2025-12-03 | **Spec**: [spec.md](./spec.md)
**Input**: Feature specification from `/specs/{FEATURE}/spec.md`

## Summary

Add a tags table and tag endpoints to the backend, and a tag picker to the frontend.

## Technical Context

**Language/Version**: Python 3.12, TypeScript 5
**Primary Dependencies**: FastAPI, SQLModel, Next.js 15
**Storage**: Neon PostgreSQL
**Testing**: pytest, vitest{tech_extra}
**Project Type**: web

## Constitution Check

*GATE: Must pass before Phase 0 research. Re-check after Phase 1 design.*

{check}
## Project Structure

```text
backend/app/tags/        # new
frontend/app/tags/       # new
```

**Structure Decision**: Web application; new modules next to the existing ones.

## Complexity Tracking

{complexity}
"""


RESEARCH = """# Research: Task Tags

- Decision: a join table task_tags
- Rationale: many-to-many without JSON columns
- Alternatives considered: an array column (no index on Neon's plan)
"""

_TASKS = [("T001", "", "Create backend/app/tags/__init__.py"),
          ("T002", "[P] ", "Add the Tag model in backend/app/tags/models.py"),
          ("T003", "[P] [US1] ", "Contract test for POST /tags in backend/tests/test_tags.py"),
          ("T004", "[US1] ", "Implement POST /tags in backend/app/tags/routes.py"),
          ("T005", "[US1] ", "Add the tag picker in frontend/app/tags/picker.tsx")]
SUCCESS_METRICS = """
## Success Metrics

- [ ] Tagging takes under 5 seconds for 95% of users
- [ ] No increase in task list latency
"""


FENCED_EXAMPLE = """
```text
- [ ] T000 [P] [US1] Example task in src/example.py
```
"""


def checkbox_tasks(*, open_ids: frozenset[str] | set[str] = frozenset(), extra: str = "", box: str = "X",
                   example: str = "") -> str:
    lines = [f"- [{' ' if i in open_ids else box}] {i} {labels}{text}" for i, labels, text in _TASKS]
    return f"""# Tasks: Task Tags

**Input**: Design documents from `/specs/{FEATURE}/`

## Format: `[ID] [P?] [Story] Description`
{example}
## Phase 1: Setup (Shared Infrastructure)

{lines[0]}
{lines[1]}

## Phase 3: User Story 1 - Tag a task (Priority: P1) 🎯 MVP

{lines[2]}
{lines[3]}
{lines[4]}

**Checkpoint**: User Story 1 is independently testable
{extra}"""


def table_tasks(*, open_ids: frozenset[str] | set[str] = frozenset(), done: str = "✅ Done", todo: str = "⏳ Pending",
                status_column: bool = True) -> str:
    head = "| ID | Task | Story | Status |\n|----|------|-------|--------|" if status_column else \
        "| ID | Task | Story |\n|----|------|-------|"
    rows = [f"| {i} | {text} | {labels.strip() or '-'} |" + (f" {todo if i in open_ids else done} |"
                                                             if status_column else "") for i, labels, text in _TASKS]
    return f"""# Tasks: Task Tags

## Task List

{head}
""" + "\n".join(rows) + "\n" + SUCCESS_METRICS


def analysis_phr(*, critical: int = 0, ident: str = "0006", date: str = "2025-12-04", stage: str = "misc") -> str:
    rows = "| C1 | Constitution | CRITICAL | plan.md:L22 | T004 edits frozen backend/app/routes/tasks.py | " \
           "Move the filter into backend/app/tags/ |\n" if critical else ""
    return f"""---
id: {ident}
title: Cross-Artifact Analysis Report
stage: {stage}
date: {date}
surface: agent
model: claude-opus-4-5
feature: {FEATURE}
branch: {FEATURE}
user: dev
command: /sp.analyze
labels: ["analysis", "quality-gate"]
---

## Prompt

Run /sp.analyze. If CRITICAL issues exist: recommend resolving them before /sp.implement.

## Response snapshot

## Specification Analysis Report

| ID | Category | Severity | Location(s) | Summary | Recommendation |
|----|----------|----------|-------------|---------|----------------|
{rows}| U1 | Underspecification | LOW | spec.md:L30 | "fast" is vague | Quantify |

**Metrics:**

- Total Requirements: 2
- Total Tasks: 5
- Critical Issues Count: {critical}
"""


def analysis_file(*, critical: int = 0) -> str:
    fixed = "| ~~C1~~ | ~~Constitution~~ | ~~CRITICAL~~ | ~~plan.md~~ | ~~edits frozen code~~ | ✅ FIXED |\n"
    open_row = "| C2 | Coverage | CRITICAL | spec.md:L40 | FR-002 has no task | Add a task |\n" if critical else ""
    return f"""# Cross-Artifact Analysis Report: Task Tags

**Feature**: {FEATURE}
**Date**: 2025-12-05
**Command**: `/sp.analyze`

## Executive Summary

- **Critical Issues**: {critical} {'🔴' if critical else '🟢'}
- **High Issues**: 0 🟢

## Findings Table

| ID | Category | Severity | Location(s) | Summary | Status |
|----|----------|----------|-------------|---------|--------|
{fixed}{open_row}| L1 | Terminology | LOW | plan.md | "label" vs "tag" | open |
"""


def phr(stage: str, title: str, *, ident: str, command: str = "", front_matter: bool = True,
        feature: str = FEATURE) -> str:
    if not front_matter:
        return f"## Prompt\n\n{title}\n\n## Response snapshot\n\nDone.\n"
    return (f"---\nid: {ident}\ntitle: {title}\nstage: {stage}\ndate: 2025-12-0{int(ident[-1]) % 9 + 1}\n"
            f"surface: agent\nmodel: claude-sonnet-4-5\nfeature: {feature}\nbranch: {FEATURE}\nuser: dev\n"
            f"command: {command or '/sp.phr'}\nlabels: [\"{stage}\"]\n---\n\n## Prompt\n\n{title}\n\n"
            "## Response snapshot\n\nDone.\n")


def default_phrs() -> dict[str, str]:
    """One record per stage, named as hackathon repositories name them (not all carry the stage suffix)."""
    base = f"history/prompts/{FEATURE}"
    return {
        "history/prompts/constitution/0001-amend-constitution.constitution.prompt.md":
            phr("constitution", "Amend constitution", ident="0001", feature="none"),
        f"{base}/0002-specify-task-tags.spec.prompt.md": phr("spec", "Specify tags", ident="0002"),
        f"{base}/0003-clarify-tags.prompt.md": phr("clarify", "Clarify tags", ident="0003", command="/sp.clarify"),
        f"{base}/0004-plan-tags.prompt.md": phr("plan", "Plan tags", ident="0004", command="/sp.plan"),
        f"{base}/0005-tasks-tags.tasks.prompt.md": phr("tasks", "Tasks", ident="0005"),
        f"{base}/0007-implement-tags.green.prompt.md": phr("green", "Implement", ident="0007"),
    }


def build(root: Path, *, feature: str = FEATURE, **parts: str | dict[str, str] | None) -> Path:
    """Write the repository: the good app-only feature, with ``parts`` replaced (None removes a file).

    Parts: ``constitution``, ``spec``, ``requirements``, ``plan``, ``research``, ``tasks`` (feature files),
    ``checklists`` (name -> text, added under ``checklists/``), ``files`` (path -> text, anywhere),
    ``phrs`` (path -> text, replaces the default records), ``feature_json`` (its ``feature_directory``).
    """
    files: dict[str, str | None] = {
        ".specify/memory/constitution.md": constitution(),
        "backend/app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "frontend/app/page.tsx": "export default function Page() { return <main>Todo</main>; }\n",
    }
    names = {"spec": "spec.md", "requirements": "checklists/requirements.md", "plan": "plan.md",
             "research": "research.md", "tasks": "tasks.md"}
    defaults = {"spec": spec(), "requirements": requirements(), "plan": plan(), "research": RESEARCH,
                "tasks": checkbox_tasks()}
    for key, name in names.items():
        files[f"specs/{feature}/{name}"] = parts.get(key, defaults[key])  # type: ignore[assignment]
    for name, text in (parts.get("checklists") or {}).items():  # type: ignore[union-attr]
        files[f"specs/{feature}/checklists/{name}"] = text
    phrs = parts.get("phrs")
    files.update(default_phrs() if phrs is None else phrs)  # type: ignore[arg-type]
    files.update(parts.get("files") or {})  # type: ignore[arg-type]
    if parts.get("feature_json"):
        files[".specify/feature.json"] = json.dumps({"feature_directory": parts["feature_json"]}, indent=2)
    if parts.get("constitution") is not None or "constitution" in parts:
        files[".specify/memory/constitution.md"] = parts["constitution"]  # type: ignore[assignment]
    for rel, text in files.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# --- helpers for the bundled fixtures under tests/fixtures/features/ -----------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "features"
BUNDLED_FEATURE = "specs/001-todo-k8s"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drift: {old!r} not in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(root: Path, rel: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``: the oracle for expected locations."""
    return next(n for n, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def hits(findings: list, check_id: str) -> list[tuple[str | None, int | None]]:
    return [(f.file, f.line) for f in findings if f.check_id == check_id]
