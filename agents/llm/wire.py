"""The protocol-neutral shapes of a conversation with a model: tools, calls, results, one request, one reply,
token usage and the decision's time budget. Each wire protocol (:mod:`.anthropic`, :mod:`.openai_compat`)
renders a :class:`Request` and normalises the answer into a :class:`Reply`."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from tools.redact import redact

FAILED_STOPS = frozenset({"max_tokens", "model_context_window_exceeded", "refusal", "pause_turn"})
"""Stop reasons of a reply that is cut short or refused: never a verdict, whatever it holds."""
_FENCE = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


class ProviderError(RuntimeError):
    """A call that produced no usable answer (after retries and the one repair turn)."""


class BudgetExceeded(ProviderError):
    """The decision's time budget is spent."""


@dataclass
class Usage:
    """Tokens of one or more calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__))

    @property
    def sent(self) -> int:
        """Every input token, cached or not."""
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    def cost_usd(self, prices: dict[str, float]) -> float:
        """Cost at ``prices`` (USD per million tokens: input, output, cache_write, cache_read)."""
        return (self.input_tokens * prices.get("input", 0) + self.output_tokens * prices.get("output", 0)
                + self.cache_write_tokens * prices.get("cache_write", 0)
                + self.cache_read_tokens * prices.get("cache_read", 0)) / 1e6

    def as_dict(self, prices: dict[str, float]) -> dict[str, int]:
        """The verdict's ``usage``: token counts, calls and ``cost_micro_usd``."""
        return {**self.__dict__, "cost_micro_usd": round(self.cost_usd(prices) * 1e6)}


def compact_schema(node: Any) -> Any:
    """A pydantic JSON schema without what a model does not need (titles, ``null`` defaults, ``anyOf [X, null]``
    for optional fields): the tools are part of every call's prefix. Validation stays with the pydantic model."""
    if isinstance(node, list):
        return [compact_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: compact_schema(v) for k, v in node.items() if k != "title" and not (k == "default" and v is None)}
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        (kept,) = [o for o in options if o != {"type": "null"}]
        out.pop("anyOf")
        out = {**kept, **out}
    return out


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    model: type[BaseModel]

    @property
    def schema(self) -> dict[str, Any]:
        return compact_schema(self.model.model_json_schema())


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: Any
    """A dict, or raw JSON text (the OpenAI protocol, or JSON the model wrote as text)."""


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Exchange:
    """One assistant turn that called tools, and the results sent back."""

    calls: tuple[ToolCall, ...]
    results: tuple[ToolResult, ...]


@dataclass(frozen=True)
class Prompt:
    """What every call of one agent sends first: static system parts (cached) and the data turn."""

    system: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class Request:
    """One call: the prompt, the final tool, the read-only tools offered, the turns so far, and whether the final
    tool is forced (else the model must call some tool)."""

    prompt: Prompt
    final: Tool
    tools: tuple[Tool, ...] = ()
    history: tuple[Exchange, ...] = ()
    force: bool = True

    @property
    def offered(self) -> tuple[Tool, ...]:
        """Every tool, in a fixed order (tools are part of the cached prefix)."""
        return (*self.tools, self.final)


@dataclass(frozen=True)
class Reply:
    """One model answer, normalised: the tool calls, any text, and why it stopped."""

    calls: tuple[ToolCall, ...]
    stop_reason: str
    usage: Usage
    text: str = ""


class Budget:
    """Wall-clock budget of one decision, shared by the supervisor and every specialist call."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def call_timeout(self, per_call: float) -> float:
        """The timeout of the next call; raises :class:`BudgetExceeded` when nothing is left."""
        left = self.remaining()
        if left <= 0.01:
            raise BudgetExceeded("decision budget spent")
        return min(per_call, left)


def _escape(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def encode_data(payload: Any) -> str:
    """Redacted JSON between ``<data>`` markers; ``<`` and ``>`` are escaped so content cannot close the block."""
    text = json.dumps(redact(payload), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return "<data>\n" + _escape(text) + "\n</data>"


def encode_result(text: str) -> str:
    """A tool result (already redacted by the toolbox) as data, delimited and escaped like the data turn."""
    return "<data>\n" + _escape(text) + "\n</data>"


def json_from_text(text: str) -> str | None:
    """A JSON object a model wrote as text (bare, or in a code fence); None when there is none."""
    fenced = _FENCE.search(text or "")
    candidate = fenced.group(1) if fenced else (text or "").strip()
    if not candidate.startswith("{"):
        start, end = candidate.find("{"), candidate.rfind("}")
        candidate = candidate[start:end + 1] if 0 <= start < end else ""
    try:
        return candidate if isinstance(json.loads(candidate), dict) else None
    except ValueError:
        return None


def parse_retry_after(headers: Any) -> float | None:
    """``retry-after-ms`` or ``retry-after`` (seconds) as seconds; None when absent or not a number."""
    for key, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(key)
        if value is not None:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                return None
    return None
