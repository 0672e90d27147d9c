"""Claude-backed supervisor and specialists over the anthropic SDK (imported only when this provider is built).

The SDK makes exactly one attempt per call (``max_retries=0``): :class:`ToolCallingProvider` owns retries,
timeouts and the decision budget. The static system prompt, the check catalog and the data turn carry ``cache_control`` (3 of the 4 breakpoints).
"""

from __future__ import annotations

from typing import Any

from agents.llm.credentials import Endpoint, resolve_endpoint
from agents.llm.llm import Prompt, Repair, Reply, Tool, ToolCallingProvider, Usage
from core.config import ProviderConfig

_CACHE = {"type": "ephemeral"}


def system_blocks(prompt: Prompt) -> list[dict[str, Any]]:
    """Each static system part as a text block with a cache breakpoint."""
    return [{"type": "text", "text": text, "cache_control": _CACHE} for text in prompt.system]


def messages(prompt: Prompt, tool: Tool, repair: Repair | None) -> list[dict[str, Any]]:
    """The data turn (a cache breakpoint too: a re-review or a repair of the same change reads it from the cache),
    plus (for a repair) the rejected tool call and its validation error."""
    data = {"type": "text", "text": prompt.data, "cache_control": _CACHE}
    turns: list[dict[str, Any]] = [{"role": "user", "content": [data]}]
    if repair is not None:
        bad = repair.bad_input if isinstance(repair.bad_input, dict) else {"raw": str(repair.bad_input)}
        turns += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": repair.call_id, "name": tool.name,
                                               "input": bad}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": repair.call_id, "is_error": True,
                                          "content": f"Invalid input: {repair.error}. Call {tool.name} again "
                                                     "with input that matches its schema."}]},
        ]
    return turns


def _usage(u: Any) -> Usage:
    return Usage(input_tokens=u.input_tokens or 0, output_tokens=u.output_tokens or 0,
                 cache_write_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
                 cache_read_tokens=getattr(u, "cache_read_input_tokens", 0) or 0, calls=1)


class AnthropicProvider(ToolCallingProvider):
    """Supervisor and specialists on Claude: forced tool calls, one retry owner, cached static context."""

    name = "anthropic"

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

    def _send(self, prompt: Prompt, tool: Tool, repair: Repair | None, timeout: float) -> Reply:
        msg = self.client.messages.create(
            model=self.config.model,
            max_tokens=self.config.max_tokens,
            system=system_blocks(prompt),
            messages=messages(prompt, tool, repair),
            tools=[{"name": tool.name, "description": tool.description, "input_schema": tool.schema}],
            tool_choice={"type": "tool", "name": tool.name, "disable_parallel_tool_use": True},
            timeout=timeout,
        )
        use = next((b for b in msg.content if b.type == "tool_use" and b.name == tool.name), None)
        stop = msg.stop_reason if use is None or msg.stop_reason in ("max_tokens", "refusal") else "tool_use"
        return Reply(tool_input=use.input if use else None, stop_reason=str(stop), usage=_usage(msg.usage),
                     call_id=use.id if use else "none")

    def _retryable(self, exc: BaseException) -> bool:
        e = self._errors
        if isinstance(exc, e.APIConnectionError):  # includes APITimeoutError
            return True
        return isinstance(exc, e.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)
