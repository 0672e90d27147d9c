"""Versioned prompt files (markdown with front-matter), read as package data."""

from __future__ import annotations

__distribution__ = "infra-orchestrator"  # start-up check: infra_orchestrator/shadow.py

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    body: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()[:16]


def _parse(text: str, fallback_name: str) -> Prompt:
    meta: dict[str, str] = {}
    body = text
    if text.startswith("---\n"):
        head, _, body = text[4:].partition("\n---\n")
        for line in head.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip()] = value.strip()
    return Prompt(name=meta.get("name", fallback_name), version=meta.get("version", "0"), body=body.strip() + "\n")


@cache
def load_prompt(name: str) -> Prompt:
    """Load ``prompts/<name>.md``; raises FileNotFoundError for an unknown prompt."""
    text = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    return _parse(text, name)


def prompt_versions(names: list[str]) -> dict[str, str]:
    """``{name: "version@digest"}`` for the decision metadata."""
    return {n: f"{load_prompt(n).version}@{load_prompt(n).digest}" for n in names}
