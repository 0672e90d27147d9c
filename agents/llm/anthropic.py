"""Claude-backed supervisor and specialists over the anthropic SDK (imported only when this provider is built).

The SDK makes exactly one attempt per call (``max_retries=0``): :class:`ToolCallingProvider` owns retries,
timeouts and the decision budget.

Prompt caching: the static prefix — the tools, then the system blocks (the agent's prompt and rules, the check
catalog) — ends with ONE breakpoint, on the last system block, so every call of an agent reads it from the cache.
The data turn carries none: a new change is paid once at the input price instead of being written to the cache on
every call. Inside a tool-use conversation the last two tool-result turns carry a breakpoint each, so a turn reads
what the turn before wrote (at most 3 of the 4 breakpoints).
"""

from __future__ import annotations

from typing import Any

from agents.llm.credentials import Endpoint, resolve_endpoint
from agents.llm.llm import ToolCallingProvider
from agents.llm.wire import Reply, Request, ToolCall, Usage
from core.config import ProviderConfig

_CACHE = {"type": "ephemeral"}
LOOP_BREAKPOINTS = 2
"""Tool-result turns carrying a breakpoint (the latest ones)."""


def system_blocks(request: Request) -> list[dict[str, Any]]:
    """The static system parts as text blocks; the last one carries the cache breakpoint of the static prefix."""
    parts = request.prompt.system
    return [{"type": "text", "text": text, **({"cache_control": _CACHE} if i == len(parts) - 1 else {})}
            for i, text in enumerate(parts)]


def tool_params(request: Request) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "input_schema": t.schema} for t in request.offered]


def messages(request: Request) -> list[dict[str, Any]]:
    """The data turn (no breakpoint), then each tool-use exchange (the latest results with a breakpoint each)."""
    turns: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": request.prompt.data}]}]
    cached_from = len(request.history) - LOOP_BREAKPOINTS
    for i, ex in enumerate(request.history):
        turns.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": c.id, "name": c.name,
             "input": c.input if isinstance(c.input, dict) else {"raw": str(c.input)}} for c in ex.calls]})
        results = [{"type": "tool_result", "tool_use_id": r.call_id, "content": r.content,
                    **({"is_error": True} if r.is_error else {})} for r in ex.results]
        if i >= cached_from and results:
            results[-1]["cache_control"] = _CACHE
        turns.append({"role": "user", "content": results})
    return turns


def tool_choice(request: Request) -> dict[str, Any]:
    """The final tool when forced; else any tool (a read-only one, or the final answer)."""
    if request.force:
        return {"type": "tool", "name": request.final.name, "disable_parallel_tool_use": True}
    return {"type": "any", "disable_parallel_tool_use": True}


def _usage(u: Any) -> Usage:
    return Usage(input_tokens=u.input_tokens or 0, output_tokens=u.output_tokens or 0,
                 cache_write_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
                 cache_read_tokens=getattr(u, "cache_read_input_tokens", 0) or 0, calls=1)


class AnthropicProvider(ToolCallingProvider):
    """Supervisor and specialists on Claude: tool-use conversations, one retry owner, a cached static prefix."""

    name = "anthropic"
    samples = False  # the Messages API version the SDK sends (2026-10-21) rejects temperature, top_p and top_k

    def __init__(self, config: ProviderConfig, *, backoff_s: float = 0.5, endpoint: Endpoint | None = None):
        """``endpoint``: where to send, with which key; by default resolved from the environment, treating
        ``config`` as the repository's (:func:`agents.llm.credentials.resolve_endpoint`)."""
        import anthropic

        super().__init__(config, backoff_s=backoff_s)
        self._errors = anthropic
        self.endpoint = endpoint or resolve_endpoint(config, "anthropic")
        self.client = anthropic.Anthropic(
            api_key=self.endpoint.api_key,
            base_url=self.endpoint.base_url,
            max_retries=0,
            timeout=config.timeout_s,
        )

    def _send(self, request: Request, timeout: float) -> Reply:
        msg = self.client.messages.create(
            model=self.config.model,
            max_tokens=self.config.max_tokens,
            system=system_blocks(request),
            messages=messages(request),
            tools=tool_params(request),
            tool_choice=tool_choice(request),
            timeout=timeout,
        )
        calls = tuple(ToolCall(b.id, b.name, b.input) for b in msg.content if b.type == "tool_use")
        text = "".join(b.text for b in msg.content if b.type == "text")
        return Reply(calls=calls, stop_reason=str(msg.stop_reason), usage=_usage(msg.usage), text=text)

    def _retryable(self, exc: BaseException) -> bool:
        e = self._errors
        if isinstance(exc, e.APIConnectionError):  # includes APITimeoutError
            return True
        return isinstance(exc, e.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)
