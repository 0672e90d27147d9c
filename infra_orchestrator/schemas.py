"""Export the JSON schemas of the decision and the config to docs/ (``python -m infra_orchestrator.schemas``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.config import config_json_schema
from core.models import Decision

DOCS = Path(__file__).resolve().parent.parent / "docs"


def decision_json_schema() -> dict:
    schema = Decision.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "infra-orchestrator decision"
    return schema


SCHEMAS = {"decision.schema.json": decision_json_schema, "config.schema.json": config_json_schema}


def rendered() -> dict[str, str]:
    return {name: json.dumps(fn(), indent=2, sort_keys=True) + "\n" for name, fn in SCHEMAS.items()}


def main() -> int:
    for name, text in rendered().items():
        (DOCS / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/{name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
