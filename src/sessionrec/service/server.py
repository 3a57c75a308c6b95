"""Running the service under uvicorn: one process, or several workers over one store.

Everything that can be wrong with the set-up (artifact, store, port) is checked before
uvicorn starts, so `sessionrec serve` fails with one clear line instead of a worker crash
loop. With several workers each process loads its own engine; they share the store, and a
background sync keeps their items and model version in step (see `EngineHolder`). Sessions
need no sync: every request reads them from the store. One `serve` process cannot tell
whether other processes share its store (several behind a reverse proxy, see `deploy/`),
so every served process syncs, not only `--workers N`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import uvicorn

from sessionrec.artifact import read_manifest
from sessionrec.errors import ConfigError
from sessionrec.service.app import create_app
from sessionrec.service.metrics import MULTIPROC_ENV
from sessionrec.service.settings import ServiceSettings
from sessionrec.service.threads import limit_threads
from sessionrec.store import StoreUnavailable, open_store

SHARED_STORE_SYNC_SECONDS = 2.0
"""How soon an item upserted on one worker or process (or a new artifact) reaches the
others; a positive `SESSIONREC_SYNC_SECONDS` sets another period. The poll is one stat of the
manifest and one read of the admin items per period, cheap beside the traffic it serves."""


def with_sync(settings: ServiceSettings) -> ServiceSettings:
    """`settings` with the background sync on, unless it is set already or the store is
    in memory (nobody else can see that one)."""
    if settings.sync_seconds > 0 or settings.store_url.startswith("sqlite:///:memory:"):
        return settings
    return replace(settings, sync_seconds=SHARED_STORE_SYNC_SECONDS)


def check_port(host: str, port: int) -> None:
    """Fail early, with the reason, when the address cannot be listened on."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def check_setup(settings: ServiceSettings) -> None:
    """The artifact is complete and the store answers (raises a `SessionrecError` if not)."""
    if settings.artifact is None:
        raise ConfigError("no artifact folder given: use --artifact DIR")
    read_manifest(settings.artifact)
    store = open_store(settings.store_url)
    try:
        if not store.ping():
            raise StoreUnavailable(f"the session store at {settings.store_url} does not answer")
    finally:
        store.close()


def _fast_options() -> dict[str, Any]:
    options: dict[str, Any] = {"access_log": False, "timeout_keep_alive": 30}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options


def serve(
    settings: ServiceSettings,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "warning",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Check the set-up, then serve until interrupted; `announce` gets the page's address."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    check_setup(settings)
    check_port(host, port)
    settings = with_sync(settings)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}"
    if workers == 1:
        limit_threads(settings.threads)
        app = create_app(settings)
        if announce is not None:
            announce(address)
        uvicorn.run(app, host=host, port=port, log_level=log_level, **_fast_options())
        return
    _serve_workers(settings, host, port, workers, log_level, address, announce)


def _serve_workers(
    settings: ServiceSettings,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    address: str,
    announce: Callable[[str], None] | None,
) -> None:
    if settings.store_url.startswith("sqlite:///:memory:"):
        raise ConfigError("several workers cannot share an in-memory store; use a file or Redis")
    metrics_dir = tempfile.mkdtemp(prefix="sessionrec-metrics-")
    os.environ.update(settings.to_env())
    os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        if announce is not None:
            announce(address)
        uvicorn.run(
            "sessionrec.service.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            **_fast_options(),
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
