"""`open_store`: which URL opens which back end, and which ones are refused and how."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from sessionrec.errors import ConfigError
from sessionrec.store import StoreUnavailable, open_store
from sessionrec.store.factory import sqlite_path
from sessionrec.store.redis import RedisStore
from sessionrec.store.sqlite import SQLiteStore


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sqlite_memory() -> None:
    store = open_store("sqlite:///:memory:")
    assert isinstance(store, SQLiteStore)
    assert store.path == ":memory:"
    store.close()


def test_sqlite_file_is_created(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(store, SQLiteStore)
    assert store.path == str(tmp_path / "x.db")
    assert (tmp_path / "x.db").exists()
    store.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////srv/data/s.db", "/srv/data/s.db"),
        ("sqlite://///srv/data/s.db", "/srv/data/s.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_url_spellings(url: str, path: str) -> None:
    assert sqlite_path(url) == path


def test_three_slashes_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLAlchemy's convention: sqlite:///relative/path.db, sqlite:////absolute/path.db.
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("sqlite:///srv/data/s.db") == str(tmp_path / "srv" / "data" / "s.db")
    store = open_store("sqlite:///state/sessions.db")
    assert store.path == str(tmp_path / "state" / "sessions.db")  # absolute, for every worker
    assert (tmp_path / "state" / "sessions.db").is_file()
    store.close()


def test_scheme_is_case_insensitive() -> None:
    store = open_store("SQLite:///:memory:")
    assert isinstance(store, SQLiteStore)
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite://relative/s.db", "three slashes before a path, not a host"),
        ("sqlite:///srv/data/", "names a folder"),
        ("postgres://localhost/db", "unknown store URL scheme 'postgres'; valid: redis"),
        ("memory", "is not a URL"),
        ("", "is not a URL"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_store(url)


def test_sqlite_path_that_is_a_folder_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreUnavailable, match=r"dir\.db"):
        open_store(f"sqlite:///{tmp_path / 'dir.db'}")


def test_unreachable_redis_fails_fast_and_names_the_url() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}") as caught:
        open_store(f"redis://:topsecret@127.0.0.1:{port}/0")
    assert time.monotonic() - started < 3.0
    assert "topsecret" not in str(caught.value)


def test_malformed_redis_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="store URL"):
        open_store("redis://127.0.0.1:notaport/0")


@pytest.mark.service
def test_redis_url_options(redis_server: object) -> None:
    url = redis_server.url  # type: ignore[attr-defined]
    store = open_store(f"{url}?prefix=myapp:&ttl=60")
    assert isinstance(store, RedisStore)
    assert store.prefix == "myapp:"
    assert store.ping() is True
    store.close()
