"""Security: admin and write routes closed without credentials, a long enough admin key, no
file path from a request, and rate limits per client address and per session (429 with
Retry-After, recovering after the wait)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from typer.testing import CliRunner

from sessionrec.cli import app as cli_app
from sessionrec.engine import Engine
from sessionrec.errors import ConfigError
from sessionrec.service.app import create_app
from sessionrec.service.ratelimit import (
    ENV_RATE_EXEMPT,
    ENV_RATE_PER_ADDRESS,
    ENV_RATE_PER_SESSION,
    Rate,
    RateLimits,
    TokenBuckets,
)
from sessionrec.service.settings import ENV_API_KEY, MIN_API_KEY_CHARS, ServiceSettings
from sessionrec.store import open_store
from sessionrec.testing.service import API_KEY, Service, running_server

pytestmark = pytest.mark.service

SESSION_ID = "{session_id}"
ITEM_ID = "{item_id}"

WRITE_ROUTES: dict[tuple[str, str], str] = {
    ("DELETE", "/v1/sessions/{session_id}"): "session",
    ("POST", "/v1/sessions/{session_id}/events"): "session",
    ("POST", "/v1/sessions/{session_id}/recommendations"): "session",
    ("POST", "/v1/sessions/{session_id}/feedback"): "session",
    ("DELETE", "/v1/sessions/{session_id}/feedback/{item_id}"): "session",
    ("PUT", "/v1/items/{item_id}"): "admin",
    ("POST", "/v1/admin/reload"): "admin",
}
"""Every route that changes state, and the credential it needs. Creating a session is the
one open write: what it hands out is the credential for everything else."""
OPEN_WRITES = {("POST", "/v1/sessions")}

FILE_LIKE_NAMES = re.compile(r"path|file|dir|folder|artifact|url", re.IGNORECASE)


class AnyResponse(Protocol):
    """What the checks read of a response: httpx's and the test client's (httpx2) alike."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def error_of(response: AnyResponse, status: int) -> dict[str, Any]:
    """The project's JSON error object of a response that must have `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] and error["message"]
    return error


def write_routes(service: Service) -> set[tuple[str, str]]:
    """The (method, path template) of every route that changes state, from the OpenAPI."""
    paths = service.client.get("/openapi.json").json()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in {"post", "put", "patch", "delete"}
    }


def body_for(method: str, path: str, item_id: str) -> dict[str, Any] | None:
    """A body the route accepts, so that only the missing credential can refuse it."""
    if path.endswith("/events"):
        return {"events": [{"item_id": item_id, "type": "view"}]}
    if path.endswith("/feedback"):
        return {"item_id": item_id, "kind": "like"}
    if path.endswith("/recommendations"):
        return {"k": 3}
    if method == "PUT":
        return {"title": "A film nobody may add"}
    return None


def test_every_write_route_is_listed_here(sqlite_service: Service) -> None:
    """A new write route fails this until its credential is named and checked below."""
    assert write_routes(sqlite_service) == set(WRITE_ROUTES) | OPEN_WRITES


@pytest.mark.parametrize(("method", "path"), sorted(WRITE_ROUTES))
def test_write_and_admin_routes_refuse_without_the_right_credential(
    sqlite_service: Service, method: str, path: str
) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    _, other_auth = service.new_session()
    item_id = service.engine.popular(limit=1)[0].item_id
    url = path.replace(SESSION_ID, session).replace(ITEM_ID, item_id)
    body = body_for(method, path, item_id)
    if WRITE_ROUTES[(method, path)] == "session":
        attempts = [({}, 401, "missing_token"), (other_auth, 403, "wrong_token")]
        attempts += [({"X-API-Key": API_KEY}, 401, "missing_token")]  # admin is no session
    else:
        attempts = [({}, 401, "missing_api_key"), ({"X-API-Key": "x" * 20}, 401, "wrong_api_key")]
        attempts += [(auth, 401, "missing_api_key")]  # a session token is no admin key
    for headers, status, code in attempts:
        response = service.client.request(method, url, json=body, headers=headers)
        assert error_of(response, status)["code"] == code, (headers, response.text)
    assert service.store.events(session) == [] and service.store.items() == []
    assert service.store.impressions(session) == {}


def test_admin_routes_are_closed_when_no_key_is_configured(make_service: Any) -> None:
    service: Service = make_service(api_key=None)
    for method, path in (("PUT", "/v1/items/x"), ("POST", "/v1/admin/reload")):
        response = service.client.request(
            method, path, json={"title": "t"}, headers={"X-API-Key": API_KEY}
        )
        assert error_of(response, 503)["code"] == "admin_disabled"
    assert service.engine.item("x") is None


def test_an_admin_key_shorter_than_16_characters_is_refused() -> None:
    with pytest.raises(ConfigError, match=rf"{ENV_API_KEY}.*at least {MIN_API_KEY_CHARS}.*15"):
        ServiceSettings(api_key="k" * 15)
    with pytest.raises(ConfigError, match="whitespace"):
        ServiceSettings(api_key=" " + "k" * 20)
    assert ServiceSettings(api_key="k" * 16).api_key == "k" * 16
    with pytest.raises(ConfigError, match=ENV_API_KEY):
        ServiceSettings.from_env({ENV_API_KEY: "change-me"})


def test_serve_with_a_short_key_is_one_line_and_exit_2(tiny_artifact: Path) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["serve", "--artifact", str(tiny_artifact), "--store", "sqlite:///:memory:"],
        env={ENV_API_KEY: "short-key"},
    )
    assert result.exit_code == 2
    assert ENV_API_KEY in result.stderr and str(MIN_API_KEY_CHARS) in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) <= 2


def escapes(outside: Path, depth: int) -> list[str]:
    """Ways to spell a path `depth` folders up to `outside` (and its absolute path)."""
    return [
        "%2e%2e/" * depth + outside.name,
        "..%2f" * depth + outside.name,
        "%2e%2e%2f" * depth + outside.name,
        "..%5c" * depth + outside.name,
        "%2f" + str(outside).lstrip("/"),
    ]


def nearest_file_outside(folder: Path) -> tuple[Path, int]:
    """A real file in the closest folder above `folder` that has one, and how far up."""
    for depth, parent in enumerate(folder.parents, start=1):
        files = [p for p in sorted(parent.iterdir()) if p.is_file()]
        if files:
            return files[0], depth
    raise AssertionError(f"no file above {folder}")


def static_mounts(service: Service) -> list[tuple[str, Path]]:
    """Every folder the app serves files from, with the path it is mounted at."""
    app = service.client.app
    return [
        (route.path, Path(str(route.app.directory)))
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles)
    ]


def test_static_files_never_leave_their_folder(sqlite_service: Service) -> None:
    """For each served folder: a file inside is served, a real file beside the folder is
    not, however the way out is spelled (encoded dots, slashes, backslashes, absolute)."""
    mounts = static_mounts(sqlite_service)
    assert "/static" in dict(mounts)
    for prefix, folder in mounts:
        inside = next(p for p in sorted(folder.iterdir()) if p.is_file())
        assert sqlite_service.client.get(f"{prefix}/{inside.name}").status_code == 200
        outside, depth = nearest_file_outside(folder)
        for tail in escapes(outside, depth):
            response = sqlite_service.client.get(f"{prefix}/{tail}")
            assert response.status_code == 404, (prefix, tail, response.status_code)
            assert response.content != outside.read_bytes()


def test_no_request_parameter_names_a_file(sqlite_service: Service) -> None:
    """What reaches the file system (the artifact, the store, the page) comes from the
    server's settings; no route takes a path, a folder or a URL from the client."""
    schema = sqlite_service.client.get("/openapi.json").json()
    names = []
    for operations in schema["paths"].values():
        for operation in operations.values():
            names += [p["name"] for p in operation.get("parameters", [])]
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media["schema"].get("$ref", "")
                model = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
                names += list(model.get("properties", {}))
    assert names and not [n for n in names if FILE_LIKE_NAMES.search(n)], names


def test_reload_ignores_a_path_in_the_request(sqlite_service: Service, tmp_path: Path) -> None:
    service = sqlite_service
    response = service.client.post(
        "/v1/admin/reload",
        params={"artifact": str(tmp_path)},
        json={"artifact": str(tmp_path), "path": "/etc"},
        headers=service.admin(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["artifact"] == str(service.artifact)


# -- rate limits --------------------------------------------------------------------------


def test_a_session_over_its_rate_gets_429_and_others_do_not(make_service: Any) -> None:
    limits = RateLimits(per_address=None, per_session=Rate(per_second=2.0, burst=2))
    service: Service = make_service(rate_limits=limits)
    session, auth = service.new_session()
    other, other_auth = service.new_session()
    url = f"/v1/sessions/{session}"
    assert [service.client.get(url, headers=auth).status_code for _ in range(2)] == [200, 200]
    refused = service.client.get(url, headers=auth)
    error = error_of(refused, 429)
    assert error["code"] == "rate_limited" and error["details"]["limit"] == "session"
    assert refused.headers["Retry-After"] == "1" and error["details"]["retry_after"] == 1
    assert service.client.get(f"/v1/sessions/{other}", headers=other_auth).status_code == 200
    # Knowing the session id without its token drains no budget of the owner's.
    _, stranger = service.new_session()
    assert service.client.get(url, headers=stranger).status_code == 403
    time.sleep(0.6)  # one request's worth at 2 per second, and some slack
    assert service.client.get(url, headers=auth).status_code == 200


def test_an_address_over_its_rate_gets_429_and_others_do_not(make_service: Any) -> None:
    limits = RateLimits(per_address=Rate(per_second=2.0, burst=3), per_session=None)
    service: Service = make_service(rate_limits=limits)
    app = service.client.app
    first = TestClient(app, client=("client-a", 40000))
    second = TestClient(app, client=("client-b", 40000))
    assert [first.get("/v1/items?limit=1").status_code for _ in range(3)] == [200] * 3
    refused = first.post("/v1/sessions")
    error = error_of(refused, 429)
    assert error["details"]["limit"] == "address" and int(refused.headers["Retry-After"]) >= 1
    assert second.get("/v1/items?limit=1").status_code == 200
    assert first.get("/healthz").status_code == 200  # probes are never limited
    assert first.get("/readyz").status_code == 200
    time.sleep(0.6)
    assert first.get("/v1/items?limit=1").status_code == 200


def test_exempt_addresses_and_disabled_limits_are_never_refused(make_service: Any) -> None:
    tight = Rate(per_second=1.0, burst=1)
    service: Service = make_service(rate_limits=RateLimits(per_address=tight, per_session=tight))
    local = TestClient(service.client.app, client=("127.0.0.1", 40000))
    assert {local.get("/v1/items?limit=1").status_code for _ in range(5)} == {200}
    unlimited: Service = make_service(rate_limits=RateLimits.off())
    session, auth = unlimited.new_session()
    codes = {unlimited.client.get(f"/v1/sessions/{session}", headers=auth).status_code}
    codes |= {unlimited.client.get(f"/v1/sessions/{session}", headers=auth).status_code}
    assert codes == {200}


def test_rate_limits_over_real_http(tiny_artifact: Path, tmp_path: Path) -> None:
    """Through uvicorn, from this machine's address once it is no longer exempt; the 429s
    are counted in /metrics."""
    limits = RateLimits(per_address=Rate(per_second=1.0, burst=2), exempt_addresses=())
    settings = ServiceSettings(
        artifact=tiny_artifact, store_url=f"sqlite:///{tmp_path / 's.db'}", rate_limits=limits
    )
    store = open_store(settings.store_url)
    app = create_app(settings, Engine.from_artifact(tiny_artifact), store)
    try:
        with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            answers = [client.get("/v1/items?limit=1") for _ in range(3)]
            metrics = client.get("/metrics").text
    finally:
        store.close()
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.headers["Retry-After"].isdigit()
    assert refused.json()["error"]["code"] == "rate_limited"
    assert re.search(r'sessionrec_rate_limited_total\{limit="address"\} [1-9]', metrics)


def test_token_buckets_refill_at_their_rate_and_stay_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(Rate(per_second=2.0, burst=2), max_tracked=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 0.25
    assert buckets.take("a") == pytest.approx(0.25)  # a refused request spends nothing
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    for key in ("b", "c", "d"):
        buckets.take(key)
    assert len(buckets) == 2


def test_rate_limits_round_trip_through_the_environment() -> None:
    limits = RateLimits(
        per_address=Rate(12.5, 30), per_session=None, exempt_addresses=("client-x",)
    )
    settings = ServiceSettings(rate_limits=limits)
    assert ServiceSettings.from_env(settings.to_env()).rate_limits == limits
    assert ServiceSettings.from_env({}).rate_limits == RateLimits()
    assert RateLimits.from_env({ENV_RATE_EXEMPT: ""}).exempt_addresses == ()
    for variable in (ENV_RATE_PER_ADDRESS, ENV_RATE_PER_SESSION):
        for bad in ("fast", "10", "0,5", "5,0", "nan,3"):
            with pytest.raises(ConfigError, match=variable):
                RateLimits.from_env({variable: bad})
