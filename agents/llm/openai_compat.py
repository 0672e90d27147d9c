"""Local or self-hosted models over an OpenAI-compatible chat completions API (Ollama, vLLM, LiteLLM proxy).

Same contract as the Claude provider: the same tool-use conversation (``tool_choice`` ``required`` while the
read-only tools may be called, the final function forced after), input redacted and delimited, grounding and
the floor applied in ``agents``, and :class:`ToolCallingProvider` the only retry owner (plain ``httpx``, no
client-side retries). Many such servers answer with the JSON as text, or in a code fence, instead of a function
call: that is read as the final answer. An error status keeps the server's reason in its message.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agents.llm.credentials import DEFAULT, Endpoint, resolve_endpoint
from agents.llm.llm import ToolCallingProvider
from agents.llm.wire import Reply, Request, ToolCall, Usage
from core.config import ProviderConfig

DEFAULT_BASE_URL = DEFAULT["openai"]
"""Ollama's OpenAI-compatible endpoint; override with ``OPENAI_BASE_URL`` (or an approved ``provider.base_url``)."""
_STOP = {"tool_calls": "tool_use", "function_call": "tool_use", "stop": "end_turn", "length": "max_tokens",
         "content_filter": "refusal"}


class ServerError(httpx.HTTPStatusError):
    """An error status with the server's own reason (``error.message`` of the body, else its first 300 chars)."""

    def __init__(self, response: httpx.Response):
        try:
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            reason = (error.get("message") if isinstance(error, dict) else error) or body.get("message") or body
        except ValueError:
            reason = response.text
        super().__init__(f"HTTP {response.status_code} from {response.request.url.path}: {str(reason)[:300]}",
                         request=response.request, response=response)


def chat_messages(request: Request) -> list[dict[str, Any]]:
    """System, data turn, then each tool-use exchange (the assistant's calls and one ``tool`` message per result)."""
    turns: list[dict[str, Any]] = [{"role": "system", "content": "\n\n".join(request.prompt.system)},
                                   {"role": "user", "content": request.prompt.data}]
    for ex in request.history:
        turns.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {
                "name": c.name, "arguments": c.input if isinstance(c.input, str) else json.dumps(c.input)}}
            for c in ex.calls]})
        turns += [{"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in ex.results]
    return turns


def functions(request: Request) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.schema}}
            for t in request.offered]


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

    def _send(self, request: Request, timeout: float) -> Reply:
        choice_of = ({"type": "function", "function": {"name": request.final.name}} if request.force else "required")
        body: dict[str, Any] = {"model": self.config.model, "max_tokens": self.config.max_tokens,
                                "messages": chat_messages(request), "tools": functions(request),
                                "tool_choice": choice_of}
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        resp = self.client.post(f"{self.base_url}/chat/completions", timeout=timeout, json=body)
        if resp.is_error:
            raise ServerError(resp)
        data = resp.json()
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        calls = tuple(ToolCall(c.get("id") or f"call_{i}", (c.get("function") or {}).get("name", ""),
                               (c.get("function") or {}).get("arguments", ""))
                      for i, c in enumerate(message.get("tool_calls") or []))
        stop = _STOP.get(choice.get("finish_reason"), str(choice.get("finish_reason")))
        return Reply(calls=calls, stop_reason=stop, usage=_usage(data.get("usage")), text=message.get("content") or "")

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code == 429 or exc.response.status_code >= 500
        return isinstance(exc, httpx.TransportError)  # timeouts and connection errors
