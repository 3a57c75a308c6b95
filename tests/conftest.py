"""Shared fixtures: where the public data sets are, and real Redis servers on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from sessionrec.testing.redis_server import RedisNotInstalledError, RedisServer, start_redis

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """`$SESSIONREC_DATA`, else the `shared/data` folder beside the repository."""
    env = os.environ.get("SESSIONREC_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder holding ml-100k/ and rsc15-100k/; tests using it skip when it is absent."""
    root = shared_data_root()
    if not (root / "ml-100k").is_dir() or not (root / "rsc15-100k").is_dir():
        pytest.skip(f"shared data not found at {root} (set SESSIONREC_DATA)")
    return root


def start_redis_or_skip(folder: Path, port: int | None = None) -> RedisServer:
    """`start_redis`, skipping the test where redis-server is not installed."""
    try:
        return start_redis(folder, port)
    except RedisNotInstalledError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One Redis for a test module; tests isolate themselves with a key prefix."""
    server = start_redis_or_skip(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the whole test session (skipped if missing)."""
    server = start_redis_or_skip(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def redis_starter(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start dedicated servers (for tests that kill them); all stopped afterwards."""
    started: list[RedisServer] = []

    def start(folder: Path | None = None, port: int | None = None) -> RedisServer:
        server = start_redis_or_skip(folder or tmp_path / f"redis{len(started)}", port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def redis_helpers() -> SimpleNamespace:
    """`start_redis(folder, port=None)` for a test that stops its own server."""
    return SimpleNamespace(start_redis=start_redis_or_skip)
