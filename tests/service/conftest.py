"""Fixtures for the service tests: a tiny trained artifact, apps over SQLite and Redis.

The artifact is a session transformer trained for a few epochs on the synthetic catalogue
in `catalogue.py` (text vectors from the bundled MiniLM), built once per test session. Each
test gets a freshly loaded engine (upserts mutate it) and an empty store.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import service_films as synthetic
from fastapi.testclient import TestClient
from service_harness import API_KEY, Service

from sessionrec.artifact import save_artifact
from sessionrec.engine.recommender import Recommender
from sessionrec.models.transformer import SessionTransformer, TransformerConfig
from sessionrec.service.app import create_app
from sessionrec.service.limits import Limits
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import SessionStore, open_store

TINY = TransformerConfig(
    epochs=12,
    patience=12,
    embedding_size=32,
    n_layers=1,
    n_heads=2,
    dropout=0.1,
    learning_rate=5e-3,
    threads=1,
    progress=False,
)


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transformer artifact over the 40-item synthetic catalogue."""
    folder = tmp_path_factory.mktemp("artifact")
    train = synthetic.sessions()
    model = SessionTransformer(TINY).fit(train, synthetic.catalogue(), None)
    return save_artifact(model, folder, train, catalogue=synthetic.catalogue())


def _load_redis_helpers() -> ModuleType:
    """The store tests' Redis launcher (tests/store/conftest.py), reused, not copied."""
    path = Path(__file__).resolve().parents[1] / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_store_redis_fixtures", path)
    assert spec is not None and spec.loader is not None
    if spec.name in sys.modules:
        return sys.modules[spec.name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def redis_helpers() -> ModuleType:
    """`start_redis(folder)` and friends from the store tests."""
    return _load_redis_helpers()


@pytest.fixture(scope="session")
def redis_url_base(
    tmp_path_factory: pytest.TempPathFactory, redis_helpers: ModuleType
) -> Iterator[str]:
    """One redis-server on a free port for the whole test session (skipped if missing)."""
    server = redis_helpers.start_redis(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


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
    """Build apps on demand (custom limits, store URL, API key); all closed afterwards."""
    opened: list[tuple[TestClient, SessionStore]] = []

    def build(
        store_url: str | None = None,
        api_key: str | None = API_KEY,
        limits: Limits | None = None,
        artifact: Path | None = None,
    ) -> Service:
        folder = artifact or tiny_artifact
        settings = ServiceSettings(
            artifact=folder,
            store_url=store_url or sqlite_url,
            api_key=api_key,
            limits=limits or Limits(),
        )
        engine = Recommender.from_artifact(folder)
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
