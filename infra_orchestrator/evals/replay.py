"""Replay of recorded model traffic through the real anthropic SDK, matched on a semantic key; and recording it.

One :class:`ReplayServer` on 127.0.0.1 serves every scenario of a run: scenario ``X`` gets the base URL
``http://127.0.0.1:<port>/X`` and its requests are answered from ``evals/scenarios/X/recordings/<agent>/
<key>.json``. A request is matched on what it asks, not on its bytes (:func:`semantic_key`): the agent, the
tool it must answer with, the turn (assistant turns so far: 0, then 1 after a repair or a tool result) and a
hash of the data turn (the JSON between ``<data>`` markers, canonical, temporary workspace paths masked).
The system prompt, the check catalog in it and the tool schemas are not part of the key: an edit to them
leaves every recording matched, and the recording is reported *stale* (``prompt`` or ``schema`` differs)
instead of failing the scenario.

When the data turn itself changed, the request is answered by the recording of the same agent, tool and turn
and the same ordinal (the n-th distinct data turn of that agent in the scenario) and reported stale
(``data``). Only a request with no recording for its agent, tool and turn at all gets a 404; the runner turns
it into a scenario ERROR: replay never falls back silently.

In record mode (``upstream`` set) every request is forwarded to the real API with its own headers (or, for
synthetic recordings, handed to an in-process responder) and the answer (status, body, token usage) is
written as the recording with its key; headers are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from infra_orchestrator.evals.runner import WORKDIR_PREFIX, Replayed

RECORDINGS = "recordings"
ANTHROPIC_API = "https://api.anthropic.com"
SUPERVISOR_TOOLS = ("submit_plan", "submit_reconciliation")
_WORKSPACE = re.compile(r"[^\s\"'<>]*" + re.escape(WORKDIR_PREFIX) + r"[^/\\\s\"'<>]*")
_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


def _digest(value: Any, size: int = 16) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                           ensure_ascii=False)
    return hashlib.sha256(_WORKSPACE.sub("<workspace>", text).encode()).hexdigest()[:size]


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict)]


def data_turn(body: dict[str, Any]) -> Any:
    """The data of the first user turn: the JSON between ``<data>`` markers (its raw text when not JSON)."""
    first = next((m for m in body.get("messages", []) if m.get("role") == "user"), {})
    text = "".join(_texts(first.get("content")))
    start, end = text.find("<data>"), text.rfind("</data>")
    if 0 <= start < end:
        try:
            return json.loads(text[start + len("<data>"):end])
        except ValueError:
            return text[start:end]
    return text


def final_tool(body: dict[str, Any]) -> str:
    """The tool the answer must come through: the forced one, else the first ``submit_*`` tool offered."""
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool" and choice.get("name"):
        return str(choice["name"])
    names = [str(t.get("name", "")) for t in body.get("tools") or []]
    return next((n for n in names if n.startswith("submit_")), names[0] if names else "")


def agent_of(body: dict[str, Any]) -> str:
    """``supervisor`` for its planning and reconciling calls, else the specialist named in the data."""
    if final_tool(body) in SUPERVISOR_TOOLS:
        return "supervisor"
    data = data_turn(body)
    return str(data.get("agent") or "unknown") if isinstance(data, dict) else "unknown"


@dataclass(frozen=True)
class SemanticKey:
    """What a request asks, independent of prompt wording, catalog text and tool schemas."""

    agent: str
    tool: str
    turn: int
    data_hash: str

    @property
    def id(self) -> str:
        return _digest(f"{self.agent}\n{self.tool}\n{self.turn}\n{self.data_hash}", 32)

    @property
    def slot(self) -> tuple[str, str, int]:
        return self.agent, self.tool, self.turn


def semantic_key(body: dict[str, Any]) -> SemanticKey:
    turn = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
    return SemanticKey(agent_of(body), final_tool(body), turn, _digest(data_turn(body)))


def prompt_digest(body: dict[str, Any]) -> str:
    """The version of what the request was told: its system text (cache markers aside)."""
    system = body.get("system")
    return _digest("\n".join(_texts(system)) if system is not None else "")


def schema_digest(body: dict[str, Any]) -> str:
    return _digest([{"name": t.get("name"), "input_schema": t.get("input_schema")} for t in body.get("tools") or []])


class Recording(BaseModel):
    """One recorded answer with the key it answers."""

    agent: str
    tool: str = ""
    turn: int = 0
    ordinal: int = 0
    """The n-th distinct data turn of this agent, tool and turn in the scenario (0-based)."""
    key: str
    data_hash: str = ""
    prompt_digest: str = ""
    schema_digest: str = ""
    model: str = ""
    status: int = 200
    body: dict[str, Any]
    usage: dict[str, int] = Field(default_factory=dict, description="the answer's token usage (for reading)")


def recording_path(scenario_dir: Path, agent: str, key: str) -> Path:
    """Where the recording of ``agent``'s request ``key`` lives in a scenario directory."""
    return scenario_dir / RECORDINGS / agent / f"{key}.json"


def _error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "not_found_error", "message": message}}


@dataclass
class _Session:
    """One scenario's recordings and what replaying them has seen so far."""

    by_key: dict[str, Recording] = field(default_factory=dict)
    by_slot: dict[tuple[str, str, int, int], Recording] = field(default_factory=dict)
    seen: dict[tuple[str, str, int], list[str]] = field(default_factory=dict)
    stale: dict[str, str] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def ordinal(self, key: SemanticKey) -> int:
        hashes = self.seen.setdefault(key.slot, [])
        if key.data_hash not in hashes:
            hashes.append(key.data_hash)
        return hashes.index(key.data_hash)


def _load(directory: Path) -> _Session:
    session = _Session()
    for file in sorted((directory / RECORDINGS).glob("*/*.json")):
        rec = Recording.model_validate_json(file.read_text(encoding="utf-8"))
        session.by_key[rec.key] = rec
        session.by_slot.setdefault((rec.agent, rec.tool, rec.turn, rec.ordinal), rec)
    return session


Responder = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]
"""A synthetic upstream: (scenario id, request body) -> (status, Messages API response body)."""


class ReplayServer:
    """A local Messages API serving (or, with ``upstream``, recording) each scenario's model traffic.

    ``upstream`` is the API's base URL, or a :data:`Responder` that answers in process (scripted recordings)."""

    def __init__(self, scenarios: dict[str, Path], upstream: str | Responder | None = None):
        self.scenarios = scenarios
        self.upstream = upstream
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._client = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ReplayServer:
        if self.upstream:
            if isinstance(self.upstream, str):
                import httpx

                self._client = httpx.Client(base_url=self.upstream, timeout=120)
            for directory in self.scenarios.values():
                shutil.rmtree(directory / RECORDINGS, ignore_errors=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._client is not None:
            self._client.close()

    def base_url(self, scenario_id: str) -> str:
        """The SDK ``base_url`` for one scenario."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{scenario_id}"

    def _session(self, scenario_id: str) -> _Session:
        with self._lock:
            if scenario_id not in self._sessions:
                directory = self.scenarios[scenario_id]
                self._sessions[scenario_id] = _Session() if self.upstream else _load(directory)
            return self._sessions[scenario_id]

    def misses(self, scenario_id: str) -> list[str]:
        """``agent/tool#turn`` of every request of the scenario that had no recording."""
        with self._lock:
            return list(self._sessions.get(scenario_id, _Session()).misses)

    def stale(self, scenario_id: str) -> list[str]:
        """``agent/tool#turn.ordinal: reasons`` of every recording served although something changed."""
        with self._lock:
            session = self._sessions.get(scenario_id, _Session())
            return [f"{slot}: {why}" for slot, why in sorted(session.stale.items())]

    def answer(self, scenario_id: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Recording:
        """The recorded (or, recording, the upstream) answer to one request."""
        key = semantic_key(body)
        if scenario_id not in self.scenarios:
            return Recording(agent=key.agent, key=key.id, status=404, body=_error(f"unknown scenario {scenario_id}"))
        session = self._session(scenario_id)
        with self._lock:
            ordinal = session.ordinal(key)
        if self.upstream:
            return self._record(scenario_id, key, ordinal, path, body, headers)
        return self._replay(session, key, ordinal, body)

    def _replay(self, session: _Session, key: SemanticKey, ordinal: int, body: dict[str, Any]) -> Recording:
        slot = f"{key.agent}/{key.tool}#{key.turn}.{ordinal}"
        rec, why = session.by_key.get(key.id), []
        if rec is None:
            rec, why = session.by_slot.get((*key.slot, ordinal)), ["data"]
        if rec is None:
            with self._lock:
                session.misses.append(f"{key.agent}/{key.tool}#{key.turn}")
            return Recording(agent=key.agent, key=key.id, status=404,
                             body=_error(f"no recording for {slot}"))
        why += [name for name, now, then in (("prompt", prompt_digest(body), rec.prompt_digest),
                                             ("schema", schema_digest(body), rec.schema_digest),
                                             ("model", str(body.get("model", "")), rec.model)) if now != then]
        if why:
            with self._lock:
                session.stale[slot] = ", ".join(why)
        return rec

    def _record(self, scenario_id: str, key: SemanticKey, ordinal: int, path: str, body: dict[str, Any],
                headers: dict[str, str]) -> Recording:
        if callable(self.upstream):
            status, data = self.upstream(scenario_id, body)
        else:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
            reply = self._client.post(path, json=body, headers=sent)
            status, data = reply.status_code, reply.json()
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        rec = Recording(agent=key.agent, tool=key.tool, turn=key.turn, ordinal=ordinal, key=key.id,
                        data_hash=key.data_hash, prompt_digest=prompt_digest(body), schema_digest=schema_digest(body),
                        model=str(body.get("model", "")), status=status, body=data,
                        usage={k: int(v) for k, v in usage.items() if isinstance(v, int)})
        file = recording_path(self.scenarios[scenario_id], key.agent, key.id)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(rec.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return rec

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                scenario_id, _, rest = self.path.lstrip("/").partition("/")
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                rec = server.answer(scenario_id, "/" + rest.split("?")[0], body, dict(self.headers.items()))
                payload = json.dumps(rec.body).encode()
                self.send_response(rec.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


@contextmanager
def replay_key() -> Iterator[None]:
    """Replay needs no API key: a placeholder stands in (and a real one is never sent), restored after."""
    saved = os.environ.get("ANTHROPIC_API_KEY")
    os.environ["ANTHROPIC_API_KEY"] = "replay-no-key"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("ANTHROPIC_API_KEY", None)
        else:
            os.environ["ANTHROPIC_API_KEY"] = saved


def provider_factory(server: ReplayServer, *, backoff_s: float = 0.0):
    """Per scenario, the real Claude-backed provider pointed at ``server`` (no backoff when replaying)."""
    from agents.llm.anthropic import AnthropicProvider  # once, before the worker threads
    from agents.llm.credentials import operator_endpoint

    def make(loaded, config):
        url = server.base_url(loaded.scenario.id)
        settings = config.provider.model_copy(update={"name": "anthropic", "base_url": url})
        return AnthropicProvider(settings, backoff_s=backoff_s, endpoint=operator_endpoint("anthropic", url, "replay"))

    return make


def replayed(server: ReplayServer):
    """The runner's after-check: requests without a recording make the scenario an ERROR; stale recordings
    are reported with the result."""
    def check(loaded) -> Replayed:
        sid = loaded.scenario.id
        misses = server.misses(sid)
        error = f"no recording for {len(misses)} request(s): {', '.join(misses)}" if misses else None
        return Replayed(error=error, stale=server.stale(sid))

    return check
