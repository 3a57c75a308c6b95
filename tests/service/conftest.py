"""Fixtures for the service tests: a tiny trained artifact, apps over SQLite and Redis.

The artifact is a session transformer trained for a few epochs on the kit's synthetic
film catalogue (`sessionrec.testing.films`, text vectors from the bundled MiniLM), built
once per test session. Each test gets a freshly loaded engine (upserts mutate it) and an
empty store. Redis servers come from the fixtures in tests/conftest.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sessionrec.artifact import save_artifact
from sessionrec.engine import Engine
from sessionrec.models.transformer import SessionTransformer
from sessionrec.service.app import create_app
from sessionrec.service.limits import Limits
from sessionrec.service.ratelimit import RateLimits
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import SessionStore, open_store
from sessionrec.testing import QUICK_TRANSFORMER_FILMS, films
from sessionrec.testing.service import API_KEY, Service


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transformer artifact over the 40-item synthetic catalogue."""
    folder = tmp_path_factory.mktemp("artifact")
    train = films.sessions()
    model = SessionTransformer(QUICK_TRANSFORMER_FILMS).fit(train, films.catalogue(), None)
    return save_artifact(model, folder, train, catalogue=films.catalogue())


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each back end (Redis isolated by a key prefix)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    base: str = request.getfixturevalue("redis_url_base")
    return f"{base}?prefix=t{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


ServiceFactory = Callable[..., Service]


@pytest.fixture
def make_service(tiny_artifact: Path, sqlite_url: str) -> Iterator[ServiceFactory]:
    """Build apps on demand (custom limits, rate limits, store URL, API key); all closed
    afterwards."""
    opened: list[tuple[TestClient, SessionStore]] = []

    def build(
        store_url: str | None = None,
        api_key: str | None = API_KEY,
        limits: Limits | None = None,
        artifact: Path | None = None,
        rate_limits: RateLimits | None = None,
    ) -> Service:
        folder = artifact or tiny_artifact
        settings = ServiceSettings(
            artifact=folder,
            store_url=store_url or sqlite_url,
            api_key=api_key,
            limits=limits or Limits(),
            rate_limits=rate_limits or RateLimits(),
        )
        engine = Engine.from_artifact(folder)
        store = open_store(settings.store_url)
        client = TestClient(create_app(settings, engine, store), raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, store))
        return Service(client, engine, store, settings, folder)

    yield build
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()


@pytest.fixture
def service(make_service: ServiceFactory, store_url: str) -> Service:
    """The app over each store back end (tests using it run twice)."""
    return make_service(store_url=store_url)


@pytest.fixture
def sqlite_service(make_service: ServiceFactory) -> Service:
    """The app over SQLite only (for tests whose subject is not the store)."""
    return make_service()
