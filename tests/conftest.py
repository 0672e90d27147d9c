from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real model: the offline provider unless a test opts in."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    for name in ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "INFRA_ORCH_PROVIDER",
                 "INFRA_ORCH_ALLOWED_BASE_URLS", "INFRA_ORCH_CONFIG"):  # the operator's settings stay out of tests
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INFRA_ORCH_NO_PROGRESS", "1")
