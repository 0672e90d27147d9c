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

A conversation may take several turns: a specialist calls read-only tools (``ToolUse(input, name="read_file")``)
and the product sends the results back; ``call.turn`` counts the assistant turns so far and ``call.results`` holds
the texts of the tool results just received, so a scripted expert can decide from what it read.

Reply kinds: :class:`ToolUse` (a tool call: the final tool by default, or ``name``; ``stop_reason`` and raw JSON
text are configurable), :class:`Text` (an answer written as text), :class:`Error` (status, ``retry-after``),
:class:`Delay` (sleep, then another reply). Prompt caching is simulated:
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
    """The final tool (``submit_plan`` / ``submit_reconciliation`` for the supervisor, ``submit_verdict`` for a
    specialist), forced or not."""
    agent: str
    """``supervisor`` or the specialist's name (from the ``agent`` field of the data)."""
    data: dict[str, Any]
    """The JSON between ``<data>`` and ``</data>`` of the first user turn."""
    repair: bool
    """True for the repair turn after invalid output."""
    attempt: int
    """1-based count of requests with the same (agent, final tool, repair, turn) so far, retries included."""
    text: str = ""
    """Every text the request carries (system, messages, tools), for leak checks."""
    forced: bool = True
    """True when the request forces the final tool (else the model may call any tool)."""
    tools: tuple[str, ...] = ()
    """Every tool offered, in order."""
    turn: int = 0
    """Assistant turns in the conversation so far (0 on the first call)."""
    results: tuple[str, ...] = ()
    """The texts of the tool results of the last user turn."""


@dataclass
class ToolUse:
    """Answer by calling a tool (the final one unless ``name``) with ``input`` (or ``raw`` JSON text, OpenAI)."""

    input: Any = None
    stop_reason: str = "tool_use"
    raw: str | None = None
    output_tokens: int = 50
    name: str | None = None


@dataclass
class Text:
    """Answer with text instead of a tool call (e.g. the JSON a model wrote as text, or in a code fence)."""

    text: str
    stop_reason: str = "end_turn"
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


Reply = ToolUse | Text | Error | Delay
Responder = Callable[[Call], Reply]


def approve(summary: str = "No concerns.", **extra: Any) -> ToolUse:
    """A specialist verdict APPROVED with no findings (``extra`` adds fields)."""
    return ToolUse({"outcome": "APPROVED", "summary": summary, "reasoning": summary, **extra})


def plan(specialists: list[str] | None = None, skip: dict[str, str] | None = None) -> ToolUse:
    """A supervisor plan engaging ``specialists`` (all of them by default), each with a question."""
    chosen = SPECIALISTS if specialists is None else specialists
    return ToolUse({"engage": [{"agent": s, "question": "review"} for s in chosen],
                    "skip": [{"agent": a, "reason": r} for a, r in (skip or {}).items()], "rationale": "fake plan"})


def reconciled(coordination: str = "The verdicts agree.", outcome: str = "APPROVED",
               follow_ups: dict[str, str] | None = None) -> ToolUse:
    """A supervisor reconciliation (no follow-up question by default)."""
    return ToolUse({"follow_ups": [{"agent": a, "question": q} for a, q in (follow_ups or {}).items()],
                    "coordination": coordination, "outcome": outcome})


def call_tool(tool: str, /, **arguments: Any) -> ToolUse:
    """Call one of the specialist's read-only tools (``read_file``, ``get_object``, …)."""
    return ToolUse(arguments, name=tool)


def cite(file: str, quote: str, line: int | None = None, field: str | None = None) -> dict[str, Any]:
    """Evidence for a finding, a confirmation or a trade-off."""
    return {k: v for k, v in (("file", file), ("line", line), ("field", field), ("quote", quote)) if v is not None}


def default_responder(call: Call) -> Reply:
    """Every specialist consulted, every verdict APPROVED without findings, no follow-up."""
    if call.tool == "submit_plan":
        return plan()
    if call.tool == "submit_reconciliation":
        return reconciled()
    return approve()


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
            tools = tuple((t.get("function") or {}).get("name", "") for t in body.get("tools") or [])
            choice = body.get("tool_choice")
            forced = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
            first = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
            turn = sum(m.get("role") == "assistant" for m in msgs)
            tail = []
            for m in reversed(msgs):
                if m.get("role") != "tool":
                    break
                tail.insert(0, m.get("content") or "")
            errors = [t for t in tail if t.startswith("Invalid input")]
        else:
            tools = tuple(t.get("name", "") for t in body.get("tools") or [])
            choice = body.get("tool_choice") or {}
            forced = choice.get("name") if choice.get("type") == "tool" else None
            content = msgs[0]["content"] if msgs else ""
            first = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
            turn = sum(m.get("role") == "assistant" for m in msgs)
            last = msgs[-1].get("content") if len(msgs) > 1 else []
            blocks = [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(
                last, list) else []
            tail = [b.get("content") if isinstance(b.get("content"), str) else _text_of(b.get("content"))
                    for b in blocks]
            errors = [t for b, t in zip(blocks, tail, strict=True) if b.get("is_error") and t.startswith("Invalid")]
        final = forced or next((t for t in tools if t.startswith("submit_")), tools[0] if tools else "")
        data = decode_data(first)
        agent = "supervisor" if final in ("submit_plan", "submit_reconciliation") else str(data.get("agent", ""))
        repair = bool(errors)
        with self._lock:
            key = (agent, final, repair, turn)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            call = Call("openai" if openai else "anthropic", path, headers, body, final, agent, data, repair,
                        self._attempts[key], text=_text_of(body), forced=forced is not None, tools=tools,
                        turn=turn, results=tuple(tail))
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

    def _anthropic_body(self, call: Call, reply: ToolUse | Text) -> dict[str, Any]:
        if isinstance(reply, Text):
            block = {"type": "text", "text": reply.text}
        else:
            block = {"type": "tool_use", "id": f"toolu_{next(self._ids)}", "name": reply.name or call.tool,
                     "input": reply.input}
        return {"id": f"msg_{next(self._ids)}", "type": "message", "role": "assistant", "model": call.body.get("model"),
                "content": [block], "stop_reason": reply.stop_reason, "stop_sequence": None,
                "usage": self._anthropic_usage(call.body, reply.output_tokens)}

    def _openai_body(self, call: Call, reply: ToolUse | Text) -> dict[str, Any]:
        finish = {"tool_use": "tool_calls", "end_turn": "stop", "max_tokens": "length",
                  "refusal": "content_filter"}.get(reply.stop_reason, reply.stop_reason)
        if isinstance(reply, Text):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        else:
            args = reply.raw if reply.raw is not None else json.dumps(reply.input)
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{next(self._ids)}", "type": "function",
                 "function": {"name": reply.name or call.tool, "arguments": args}}]}
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
                try:
                    reply = fake.responder(call)
                except Exception as exc:  # noqa: BLE001 - a broken script is a 500 the test then sees
                    reply = Error(500, message=f"responder failed: {type(exc).__name__}: {exc}")
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


__all__ = ["Call", "Delay", "Error", "FakeModelServer", "Responder", "Text", "ToolUse", "approve", "call_tool",
           "cite", "decode_data", "default_responder", "plan", "reconciled", "tokens"]
