"""A local fake of the Anthropic Messages API (and of OpenAI-compatible chat completions) for tests and benchmarks.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (random port). Point the real SDK at ``server.base_url``
(``base_url=`` or ``ANTHROPIC_BASE_URL``); an OpenAI-compatible client at ``server.openai_base_url``.

Replies are chosen by a *responder* from the request content, so concurrent callers (LangGraph Send branches)
are answered deterministically::

    def responder(call: Call) -> Reply:
        if call.agent == "security":
            return ToolUse({"outcome": "REJECTED", "summary": "..."})
        return default_responder(call)

    with FakeModelServer(responder, latency=0.05) as fake:
        ...
        fake.calls          # every request received, in arrival order (body, headers, agent, data, ...)

Reply kinds: :class:`ToolUse` (a forced tool call; ``stop_reason`` and raw JSON text are configurable),
:class:`Error` (status, ``retry-after``), :class:`Delay` (sleep, then another reply). Prompt caching is simulated:
the prefix up to each ``cache_control`` breakpoint is hashed; a prefix seen before is reported as
``cache_read_input_tokens``, a new one as ``cache_creation_input_tokens``. Tokens are estimated as characters / 4.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents.roster import SPECIALISTS as _TABLE

SPECIALISTS = list(_TABLE)
"""Every specialist of the product's table, in its order (the default plan consults them all)."""


@dataclass
class Call:
    """One request as the responder sees it."""

    protocol: str
    """``anthropic`` or ``openai``."""
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    tool: str
    """The forced tool (``submit_plan`` for the supervisor, ``submit_verdict`` for a specialist)."""
    agent: str
    """``supervisor`` or the specialist's name (from the ``agent`` field of the data)."""
    data: dict[str, Any]
    """The JSON between ``<data>`` and ``</data>`` of the first user turn."""
    repair: bool
    """True for the repair turn after invalid output."""
    attempt: int
    """1-based count of requests with the same (agent, repair) so far, retries included."""
    text: str = ""
    """Every text the request carries (system, messages, tools), for leak checks."""


@dataclass
class ToolUse:
    """Answer by calling the forced tool with ``input`` (or ``raw`` JSON text for the OpenAI protocol)."""

    input: Any = None
    stop_reason: str = "tool_use"
    raw: str | None = None
    output_tokens: int = 50


@dataclass
class Error:
    """An HTTP error status, optionally with ``retry-after`` seconds."""

    status: int
    retry_after: float | None = None
    message: str = "fake error"


@dataclass
class Delay:
    """Sleep ``seconds`` (the client may time out meanwhile), then send ``then``."""

    seconds: float
    then: Any = None


Reply = ToolUse | Error | Delay
Responder = Callable[[Call], Reply]


def approve(summary: str = "No concerns.", **extra: Any) -> ToolUse:
    """A specialist verdict APPROVED with no findings (``extra`` adds fields)."""
    return ToolUse({"outcome": "APPROVED", "summary": summary, "reasoning": summary, **extra})


def plan(specialists: list[str] | None = None) -> ToolUse:
    """A supervisor plan consulting ``specialists`` (all of them by default)."""
    chosen = SPECIALISTS if specialists is None else specialists
    return ToolUse({"specialists": chosen, "focus": {s: "review" for s in chosen}, "rationale": "fake plan"})


def default_responder(call: Call) -> Reply:
    """Every specialist consulted, every verdict APPROVED without findings."""
    return plan() if call.tool == "submit_plan" else approve()


def decode_data(text: str) -> dict[str, Any]:
    """The JSON object between ``<data>`` markers of ``text`` ({} when absent)."""
    start, end = text.find("<data>"), text.rfind("</data>")
    if start < 0 or end < 0:
        return {}
    try:
        return json.loads(text[start + len("<data>"):end])
    except ValueError:
        return {}


def tokens(text: str) -> int:
    """The fake's token estimate: characters / 4."""
    return len(text) // 4


def _has_breakpoint(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("cache_control") for b in content)


def _text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class FakeModelServer:
    """The fake server; use as a context manager. ``calls`` holds every request received."""

    def __init__(self, responder: Responder = default_responder, *, latency: float = 0.0):
        self.responder = responder
        self.latency = latency
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, bool], int] = {}
        self._cache: set[str] = set()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def __enter__(self) -> FakeModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset_cache(self) -> None:
        """Forget every cached prefix (a cold cache)."""
        with self._lock:
            self._cache.clear()

    # -- request parsing ---------------------------------------------------------------------------------
    def _call(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Call:
        openai = path.endswith("/chat/completions")
        msgs = body.get("messages") or []
        if openai:
            tool = ((body.get("tools") or [{}])[0].get("function") or {}).get("name", "")
            first = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
            repair = any(m.get("role") == "tool" for m in msgs)
        else:
            tool = (body.get("tools") or [{}])[0].get("name", "")
            content = msgs[0]["content"] if msgs else ""
            first = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
            repair = len(msgs) > 1
        data = decode_data(first)
        agent = "supervisor" if tool == "submit_plan" else str(data.get("agent", ""))
        with self._lock:
            key = (agent, repair)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            call = Call("openai" if openai else "anthropic", path, headers, body, tool, agent, data, repair,
                        self._attempts[key], text=_text_of(body))
            self.calls.append(call)
        return call

    # -- prompt caching and usage ------------------------------------------------------------------------
    def _anthropic_usage(self, body: dict[str, Any], output_tokens: int) -> dict[str, int]:
        segments: list[tuple[str, bool]] = [(_text_of(t), bool(t.get("cache_control"))) for t in body.get("tools", [])]
        system = body.get("system") or []
        system = [{"type": "text", "text": system}] if isinstance(system, str) else system
        segments += [(b.get("text", ""), bool(b.get("cache_control"))) for b in system]
        segments += [(_text_of(m), _has_breakpoint(m)) for m in body.get("messages", [])]
        total = tokens("".join(s for s, _ in segments))
        prefixes = [tokens("".join(s for s, _ in segments[: i + 1])) for i, (_, bp) in enumerate(segments) if bp]
        digests = [hashlib.sha256(json.dumps([body.get("model"), segments[: i + 1]]).encode()).hexdigest()
                   for i, (_, bp) in enumerate(segments) if bp]
        with self._lock:
            read = max((n for n, d in zip(prefixes, digests, strict=True) if d in self._cache), default=0)
            write = (max(prefixes) - read) if prefixes else 0
            self._cache.update(digests)
        return {"input_tokens": total - read - write, "output_tokens": output_tokens,
                "cache_creation_input_tokens": write, "cache_read_input_tokens": read}

    def _anthropic_body(self, call: Call, reply: ToolUse) -> dict[str, Any]:
        block = {"type": "tool_use", "id": f"toolu_{next(self._ids)}", "name": call.tool, "input": reply.input}
        return {"id": f"msg_{next(self._ids)}", "type": "message", "role": "assistant", "model": call.body.get("model"),
                "content": [block], "stop_reason": reply.stop_reason, "stop_sequence": None,
                "usage": self._anthropic_usage(call.body, reply.output_tokens)}

    def _openai_body(self, call: Call, reply: ToolUse) -> dict[str, Any]:
        args = reply.raw if reply.raw is not None else json.dumps(reply.input)
        finish = {"tool_use": "tool_calls", "max_tokens": "length", "refusal": "content_filter"}.get(
            reply.stop_reason, reply.stop_reason)
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{next(self._ids)}", "type": "function", "function": {"name": call.tool, "arguments": args}}]}
        return {"id": f"chatcmpl-{next(self._ids)}", "object": "chat.completion", "model": call.body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": tokens(call.text), "completion_tokens": reply.output_tokens}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout) meanwhile
                    pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if self.path.endswith("/count_tokens"):
                    self._send(200, {"input_tokens": tokens(_text_of(body))})
                    return
                call = fake._call(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                time.sleep(fake.latency)
                reply = fake.responder(call)
                while isinstance(reply, Delay):
                    time.sleep(reply.seconds)
                    reply = reply.then if reply.then is not None else default_responder(call)
                if isinstance(reply, Error):
                    headers = {"retry-after": str(reply.retry_after)} if reply.retry_after is not None else {}
                    self._send(reply.status, {"type": "error", "error": {"type": "api_error",
                                                                         "message": reply.message}}, headers)
                    return
                render = fake._openai_body if call.protocol == "openai" else fake._anthropic_body
                self._send(200, render(call, reply))

        return Handler


__all__ = ["Call", "Delay", "Error", "FakeModelServer", "Responder", "ToolUse", "approve", "decode_data",
           "default_responder", "plan", "tokens"]
