"""Exact replay of recorded model traffic through the real anthropic SDK, and recording it.

One :class:`ReplayServer` on 127.0.0.1 serves every scenario of a run: scenario ``X`` gets the base URL
``http://127.0.0.1:<port>/X`` and its requests are answered from ``evals/scenarios/X/recordings/<agent>/
<digest>.json``. The digest covers the request path and its canonical JSON body only (never headers, so
API keys, user agents, retry counters and idempotency keys cannot change it), with the scenario's temporary
workspace path masked. A request with no recording gets a 404 and is reported by :meth:`ReplayServer.misses`,
which the runner turns into a scenario ERROR: replay never falls back silently.

In record mode (``upstream`` set) every request is forwarded to the real API with its own headers and the
answer (status, body, token usage) is written as the recording; headers are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.llm.opinion import PLAN_TOOL
from infra_orchestrator.evals.runner import WORKDIR_PREFIX

RECORDINGS = "recordings"
ANTHROPIC_API = "https://api.anthropic.com"
_WORKSPACE = re.compile(r"[^\s\"'<>]*" + re.escape(WORKDIR_PREFIX) + r"[^/\\\s\"'<>]*")
_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


class Recording(BaseModel):
    """One recorded answer, keyed by agent and request digest."""

    agent: str
    digest: str
    status: int = 200
    body: dict[str, Any]
    usage: dict[str, int] = Field(default_factory=dict, description="the answer's token usage (for reading)")


def _data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON between ``<data>`` markers of the first user turn ({} when absent)."""
    for message in body.get("messages", [])[:1]:
        content = message.get("content")
        texts = [content] if isinstance(content, str) else [b.get("text", "") for b in content or []]
        for text in texts:
            start, end = text.find("<data>"), text.rfind("</data>")
            if 0 <= start < end:
                try:
                    return json.loads(text[start + len("<data>"):end])
                except ValueError:
                    return {}
    return {}


def agent_of(body: dict[str, Any]) -> str:
    """``supervisor`` for the planning call, else the specialist named in the data ("unknown" if none)."""
    if (body.get("tool_choice") or {}).get("name") == PLAN_TOOL:
        return "supervisor"
    return str(_data_of(body).get("agent") or "unknown")


def request_digest(path: str, body: dict[str, Any]) -> str:
    """sha256 of the API path and the canonical body, with temporary workspace paths masked."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    canonical = _WORKSPACE.sub("<workspace>", canonical)
    return hashlib.sha256(f"POST {path}\n{canonical}".encode()).hexdigest()[:32]


def recording_path(scenario_dir: Path, agent: str, digest: str) -> Path:
    """Where the recording of ``agent``'s request ``digest`` lives in a scenario directory."""
    return scenario_dir / RECORDINGS / agent / f"{digest}.json"


def _error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "not_found_error", "message": message}}


class ReplayServer:
    """A local Messages API serving (or, with ``upstream``, recording) each scenario's model traffic."""

    def __init__(self, scenarios: dict[str, Path], upstream: str | None = None):
        self.scenarios = scenarios
        self.upstream = upstream
        self._misses: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._client = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ReplayServer:
        if self.upstream:
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

    def misses(self, scenario_id: str) -> list[str]:
        """The ``agent/digest`` of every request of the scenario that had no recording."""
        with self._lock:
            return list(self._misses.get(scenario_id, []))

    def answer(self, scenario_id: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Recording:
        """The recorded (or, recording, the upstream) answer to one request."""
        directory = self.scenarios.get(scenario_id)
        agent, digest = agent_of(body), request_digest(path, body)
        if directory is None:
            return Recording(agent=agent, digest=digest, status=404, body=_error(f"unknown scenario {scenario_id}"))
        file = recording_path(directory, agent, digest)
        if self.upstream:
            return self._record(file, agent, digest, path, body, headers)
        if not file.exists():
            with self._lock:
                self._misses.setdefault(scenario_id, []).append(f"{agent}/{digest}")
            return Recording(agent=agent, digest=digest, status=404,
                             body=_error(f"no recording for {agent}/{digest} in {scenario_id}"))
        return Recording.model_validate_json(file.read_text(encoding="utf-8"))

    def _record(self, file: Path, agent: str, digest: str, path: str, body: dict[str, Any],
                headers: dict[str, str]) -> Recording:
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        reply = self._client.post(path, json=body, headers=sent)
        data = reply.json()
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        rec = Recording(agent=agent, digest=digest, status=reply.status_code, body=data,
                        usage={k: int(v) for k, v in usage.items() if isinstance(v, int)})
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


def missing_recordings(server: ReplayServer):
    """The runner's after-check: requests without a recording make the scenario an ERROR."""
    def check(loaded) -> str | None:
        misses = server.misses(loaded.scenario.id)
        return f"no recording for {len(misses)} request(s): {', '.join(misses)}" if misses else None

    return check
