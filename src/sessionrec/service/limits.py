"""Size limits on what a client may send, and the ASGI guard that enforces the body size.

The guard sits in front of FastAPI so that an oversize body is refused before anything
reads it into memory: a declared `Content-Length` above the limit is answered at once, and
a chunked body is counted as it streams in and cut off as soon as it passes the limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionrec.engine.query import MAX_K, MAX_QUERY_CHARS
from sessionrec.errors import ConfigError
from sessionrec.service.errors import error_body


@dataclass(frozen=True)
class Limits:
    """What one request may carry; every bound is checked with a specific 4xx answer."""

    max_body_bytes: int = 1024 * 1024
    max_events_per_batch: int = 1000
    max_k: int = MAX_K
    max_query_chars: int = MAX_QUERY_CHARS
    max_search_results: int = 100
    max_item_text_chars: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_events_per_batch", "max_k", "max_query_chars"):
            if getattr(self, name) < 1:
                raise ConfigError(f"service limit {name} must be positive")
        if self.max_k > MAX_K or self.max_query_chars > MAX_QUERY_CHARS:
            raise ConfigError(
                f"the engine accepts k up to {MAX_K} and requests up to {MAX_QUERY_CHARS} chars"
            )


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read, once it passes the limit.

    An `HTTPException`, so FastAPI's body reader passes it on unchanged and the service's
    handler answers 413 with the JSON error.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


def _too_large_response(limit: int) -> tuple[Message, Message]:
    body = json.dumps(
        error_body("body_too_large", f"request body exceeds the limit of {limit} bytes")
    ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimitMiddleware:
    """Refuse request bodies above `max_bytes` with 413 and a JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        await self._stream_counted(scope, receive, send)

    async def _refuse(self, send: Send) -> None:
        start, body = _too_large_response(self.max_bytes)
        await send(start)
        await send(body)

    async def _stream_counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body without Content-Length: count it as it arrives, answer 413 past the limit."""
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)
