"""Testing the HTTP service: the app under test with what built it, a real server in a
thread, and the admin key the kit's apps are built with.

Imports FastAPI's test client, which needs httpx (a dev dependency of sessionrec), so the
module is not imported by `sessionrec.testing` itself.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionrec.engine import Engine
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import SessionStore

API_KEY = "test-admin-key-0123456789"
"""The admin API key of apps built for tests (long enough for the settings' check)."""

SERVER_START_TIMEOUT_S = 20.0


@dataclass
class Service:
    """An app under test with what built it."""

    client: TestClient
    engine: Engine
    store: SessionStore
    settings: ServiceSettings
    artifact: Path

    def new_session(self) -> tuple[str, dict[str, str]]:
        """A session id and the headers that authorise it."""
        response = self.client.post("/v1/sessions")
        assert response.status_code == 201, response.text
        body = response.json()
        return body["session_id"], {"Authorization": f"Bearer {body['token']}"}

    def admin(self) -> dict[str, str]:
        """The headers of an admin request."""
        return {"X-API-Key": API_KEY}


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
