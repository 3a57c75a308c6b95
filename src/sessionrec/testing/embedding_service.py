"""A fake OpenAI-compatible embeddings service on 127.0.0.1, for testing HTTP encoders.

It answers `POST /v1/embeddings` with deterministic vectors that are deliberately not unit
length (`raw_vector`), in reverse order (a client must sort by "index"), and can be told to
fail, to want an API key or to send a given body, so a client's real HTTP path, retries and
error messages run without any outside network::

    with FakeEmbeddingService() as service:
        encoder = OpenAIEmbeddingEncoder("test-model", service.base_url, env={})
        service.behaviour.failures.append((503, {}, b"warming up"))
        encoder.encode(["x"])  # retried once
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

DIMENSION = 6
"""Length of the service's vectors."""


def raw_vector(text: str) -> list[float]:
    """The service's vector for a text: deterministic and deliberately not unit length."""
    codes = [ord(c) for c in text] or [0]
    return [float(len(text) + 1), float(sum(codes) % 97), 3.0, -2.0, float(codes[0]), 0.5]


@dataclass
class Behaviour:
    """What the service does; tests change it and read what it saw."""

    failures: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    """Answers (status, headers, body) sent, in order, before any good one."""
    body_override: bytes | None = None
    """A body sent with status 200 instead of the embeddings."""
    required_key: str | None = None
    """The bearer token a request must carry (401 otherwise)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request seen: its path, Authorization header and JSON body."""


class _Server(ThreadingHTTPServer):
    behaviour: Behaviour


class _Handler(BaseHTTPRequestHandler):
    """Serves /v1/embeddings as the server's current `Behaviour` says."""

    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        behaviour = self.server.behaviour
        behaviour.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if self.path != "/v1/embeddings":
            return self._send(404, {"error": {"message": "no such route"}})
        if behaviour.failures:
            status, headers, payload = behaviour.failures.pop(0)
            return self._send_raw(status, payload, headers)
        if behaviour.required_key and self.headers.get("Authorization") != (
            f"Bearer {behaviour.required_key}"
        ):
            return self._send(401, {"error": {"message": "Incorrect API key provided"}})
        if behaviour.body_override is not None:
            return self._send_raw(200, behaviour.body_override, {})
        data = [
            {"object": "embedding", "index": i, "embedding": raw_vector(t)}
            for i, t in enumerate(body["input"])
        ]
        # Answer out of order: the client must sort by "index".
        return self._send(200, {"object": "list", "data": data[::-1], "model": body["model"]})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(payload).encode(), {})

    def _send_raw(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


class FakeEmbeddingService:
    """The service on a free 127.0.0.1 port in a daemon thread, until `close`."""

    def __init__(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.behaviour = Behaviour()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """Where the service listens, e.g. "http://127.0.0.1:54321" (no /v1)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def behaviour(self) -> Behaviour:
        """What the service does now, and what it has seen."""
        return self._httpd.behaviour

    def reset(self) -> Behaviour:
        """Forget failures, overrides and seen requests; the fresh behaviour."""
        self._httpd.behaviour = Behaviour()
        return self._httpd.behaviour

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
