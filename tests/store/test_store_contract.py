"""The `SessionStore` contract (`sessionrec.testing.contracts.SessionStoreContract`), run
unchanged against every back end.

Back ends: SQLite on a file, SQLite in memory (skipped where a test reopens the store) and
Redis (a real server started by the `redis_server` fixture; each test uses its own prefix).
"""

from __future__ import annotations

import uuid

import pytest

from sessionrec.store import SessionStore, open_store
from sessionrec.testing.contracts import SessionStoreContract
from sessionrec.testing.redis_server import RedisServer


class TestSQLiteFile(SessionStoreContract):
    def make_store(self) -> SessionStore:
        return open_store(f"sqlite:///{self.tmp_path / 'store.db'}")


class TestSQLiteMemory(SessionStoreContract):
    reopenable = False  # each in-memory database is private to its connection

    def make_store(self) -> SessionStore:
        return open_store("sqlite:///:memory:")


@pytest.mark.service
class TestRedis(SessionStoreContract):
    url: str

    @pytest.fixture(autouse=True)
    def _own_prefix(self, redis_server: RedisServer) -> None:
        self.url = f"{redis_server.url}?prefix=t{uuid.uuid4().hex}:"

    def make_store(self) -> SessionStore:
        return open_store(self.url)
