"""Local or self-hosted models over an OpenAI-compatible chat completions API (Ollama, vLLM, LiteLLM proxy).

Same contract as the Claude provider: the function is forced with ``tool_choice``, input is redacted and
delimited, grounding and the floor apply in ``agents``, and :class:`ToolCallingProvider` is the only retry owner
(plain ``httpx``, no client-side retries).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agents.llm.credentials import DEFAULT, Endpoint, resolve_endpoint
from agents.llm.llm import Prompt, Repair, Reply, Tool, ToolCallingProvider, Usage
from core.config import ProviderConfig

DEFAULT_BASE_URL = DEFAULT["openai"]
"""Ollama's OpenAI-compatible endpoint; override with ``OPENAI_BASE_URL`` (or an approved ``provider.base_url``)."""
_STOP = {"tool_calls": "tool_use", "stop": "tool_use", "length": "max_tokens", "content_filter": "refusal"}


def chat_messages(prompt: Prompt, tool: Tool, repair: Repair | None) -> list[dict[str, Any]]:
    """System, data turn, and (for a repair) the rejected call with its validation error."""
    turns: list[dict[str, Any]] = [{"role": "system", "content": "\n\n".join(prompt.system)},
                                   {"role": "user", "content": prompt.data}]
    if repair is not None:
        raw = repair.bad_input if isinstance(repair.bad_input, str) else json.dumps(repair.bad_input)
        turns += [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": repair.call_id, "type": "function", "function": {"name": tool.name, "arguments": raw}}]},
            {"role": "tool", "tool_call_id": repair.call_id,
             "content": f"Invalid input: {repair.error}. Call {tool.name} again with arguments matching its schema."},
        ]
    return turns


def _usage(u: dict[str, Any] | None) -> Usage:
    u = u or {}
    cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Usage(input_tokens=(u.get("prompt_tokens") or 0) - cached, output_tokens=u.get("completion_tokens") or 0,
                 cache_read_tokens=cached, calls=1)


class OpenAICompatProvider(ToolCallingProvider):
    """Supervisor and specialists on any OpenAI-compatible chat completions endpoint."""

    name = "openai"

    def __init__(self, config: ProviderConfig, *, backoff_s: float = 0.5, endpoint: Endpoint | None = None):
        """``endpoint``: where to send, with which key; by default resolved from the environment, treating
        ``config`` as the repository's (:func:`agents.llm.credentials.resolve_endpoint`)."""
        super().__init__(config, backoff_s=backoff_s)
        self.endpoint = endpoint or resolve_endpoint(config, "openai")
        self.base_url = self.endpoint.base_url.rstrip("/")
        key = self.endpoint.api_key
        self.client = httpx.Client(headers={"Authorization": f"Bearer {key}"} if key else {})

    def _send(self, prompt: Prompt, tool: Tool, repair: Repair | None, timeout: float) -> Reply:
        resp = self.client.post(f"{self.base_url}/chat/completions", timeout=timeout, json={
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "messages": chat_messages(prompt, tool, repair),
            "tools": [{"type": "function", "function": {"name": tool.name, "description": tool.description,
                                                        "parameters": tool.schema}}],
            "tool_choice": {"type": "function", "function": {"name": tool.name}},
        })
        resp.raise_for_status()
        data = resp.json()
        choice = (data.get("choices") or [{}])[0]
        calls = [c for c in (choice.get("message") or {}).get("tool_calls") or []
                 if (c.get("function") or {}).get("name") == tool.name]
        stop = _STOP.get(choice.get("finish_reason"), str(choice.get("finish_reason")))
        if not calls and stop == "tool_use":
            stop = "no_tool_call"
        return Reply(tool_input=calls[0]["function"].get("arguments", "") if calls else None, stop_reason=stop,
                     usage=_usage(data.get("usage")), call_id=calls[0].get("id", "call_0") if calls else "none")

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code == 429 or exc.response.status_code >= 500
        return isinstance(exc, httpx.TransportError)  # timeouts and connection errors
