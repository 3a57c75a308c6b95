"""The OpenAPI schema tells the truth (the service's error body, its credentials, its
limits, what it refuses), and /docs works without internet. The fuzzing against the schema
is in test_openapi_fuzz.py; here are the facts a client reads from it, checked one by one."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from sessionrec.engine import Engine
from sessionrec.service.app import create_app
from sessionrec.service.deps import SESSION_ID_PATTERN
from sessionrec.service.limits import Limits
from sessionrec.service.schemas import NON_BLANK
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import open_store
from sessionrec.testing.service import Service, running_server

pytestmark = pytest.mark.service

CHROMIUM = os.environ.get("SESSIONREC_CHROMIUM", "/usr/bin/chromium")
ERROR_REF = "#/components/schemas/ErrorOut"
SESSION_ROUTES = {
    "get_session",
    "delete_session",
    "post_events",
    "post_feedback",
    "retract_feedback",
    "recommend",
}
ADMIN_ROUTES = {"put_item", "reload"}


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for methods in spec["paths"].values():
        for operation in methods.values():
            yield operation["operationId"], operation


def test_every_error_answer_is_the_services_error_body(sqlite_service: Service) -> None:
    spec = sqlite_service.client.get("/openapi.json").json()
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (name, status)
        assert "500" in operation["responses"], name
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's {"detail"}
    error = spec["components"]["schemas"]["ErrorInfo"]
    assert set(error["properties"]) == {"code", "message", "details"}


def test_the_statuses_each_route_declares_are_the_ones_it_gives(sqlite_service: Service) -> None:
    spec = sqlite_service.client.get("/openapi.json").json()
    declared = {name: set(op["responses"]) for name, op in operations(spec)}
    assert declared["create_session"] == {"201", "429", "500", "503"}
    assert declared["put_item"] >= {"200", "201", "400", "401", "413", "422", "503"}
    assert declared["post_events"] >= {"200", "400", "401", "403", "404", "413", "422", "503"}
    assert declared["reload"] >= {"200", "401", "409", "503"}
    assert declared["get_session"] == {"200", "401", "403", "404", "429", "500", "503"}
    assert "422" not in declared["get_session"]  # any id is looked up: unknown is a 404
    retract = spec["paths"]["/v1/sessions/{session_id}/feedback/{item_id}"]["delete"]
    assert "X-Retracted-Events" in retract["responses"]["204"]["headers"]
    events = spec["paths"]["/v1/sessions/{session_id}/events"]["post"]["responses"]
    assert "batch_too_large" in events["413"]["description"]
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]


def test_the_credentials_are_security_schemes_on_the_routes_that_need_them(
    sqlite_service: Service,
) -> None:
    spec = sqlite_service.client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert (schemes["SessionToken"]["type"], schemes["SessionToken"]["scheme"]) == (
        "http",
        "bearer",
    )
    admin = schemes["AdminKey"]
    assert (admin["type"], admin["in"], admin["name"]) == ("apiKey", "header", "X-API-Key")
    needs: dict[str, list[dict[str, list[str]]]] = {
        n: [{"SessionToken": []}] for n in SESSION_ROUTES
    }
    needs.update({name: [{"AdminKey": []}] for name in ADMIN_ROUTES})
    for name, operation in operations(spec):
        assert operation.get("security") == needs.get(name), name
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert not headers, name  # the credentials are not plain parameters any more


def test_the_schema_says_the_limits_the_service_was_started_with(make_service: Any) -> None:
    service: Service = make_service(
        limits=Limits(max_events_per_batch=5, max_k=20, max_query_chars=100)
    )
    models = service.client.get("/openapi.json").json()["components"]["schemas"]
    assert models["EventsIn"]["properties"]["events"]["maxItems"] == 5
    recommend = models["RecommendIn"]["properties"]
    assert recommend["k"]["maximum"] == 20
    query = next(b for b in recommend["query"]["anyOf"] if b.get("type") == "string")
    assert query["maxLength"] == 100
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}/recommendations"
    assert service.client.post(url, json={"k": 20, "query": "a" * 100}, headers=auth).is_success
    too_many = service.client.post(url, json={"k": 21}, headers=auth)
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "k_out_of_range"


def test_the_declared_session_id_pattern_is_what_the_store_issues(
    sqlite_service: Service,
) -> None:
    for _ in range(20):
        session, _auth = sqlite_service.new_session()
        assert re.fullmatch(SESSION_ID_PATTERN, session)


def test_operation_ids_are_the_route_functions(sqlite_service: Service) -> None:
    spec = sqlite_service.client.get("/openapi.json").json()
    assert {name for name, _ in operations(spec)} == {
        "healthz",
        "readyz",
        "metrics",
        "create_session",
        "list_items",
        "get_item",
        "put_item",
        "reload",
        *SESSION_ROUTES,
    }


def test_what_the_issue_found_refused_is_now_refused_by_the_schema_too(
    sqlite_service: Service,
) -> None:
    """Blank categories, an empty excluded id, a 257-character id: refused with the field
    named, and the schema says each is invalid (so a client never sends them)."""
    service = sqlite_service
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}/recommendations"
    for filters, field in (
        ({"categories": ["  "]}, "categories"),
        ({"exclude_items": [""]}, "exclude_items"),
        ({"exclude_items": ["x" * 257]}, "exclude_items"),
        ({"attributes": {"": "x"}}, "attributes"),
    ):
        response = service.client.post(url, json={"filters": filters}, headers=auth)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error" and field in error["message"]
    models = service.client.get("/openapi.json").json()["components"]["schemas"]
    filters_schema = models["FiltersIn"]["properties"]
    assert filters_schema["categories"]["items"]["pattern"]
    assert filters_schema["exclude_items"]["items"]["maxLength"] == 256
    assert filters_schema["attributes"]["propertyNames"] == {"minLength": 1}
    query = models["RecommendIn"]["properties"]["query"]["anyOf"][0]
    assert query["minLength"] == 1 and query["pattern"]  # `empty_query` is never a surprise


def test_the_non_blank_pattern_is_what_strip_keeps_in_every_engine() -> None:
    """The schema's "not only spaces" must mean what the service's `str.strip()` means, in
    Python's `re` (a client, the fuzzer) and in pydantic's regex engine (the service), for
    every character: spelt-out classes, not `\\s`, which differs between them."""
    python = re.compile(NON_BLANK)
    rust = TypeAdapter(Annotated[str, StringConstraints(pattern=NON_BLANK)])
    differ = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates are no text
        char = chr(code)
        kept = bool(char.strip())
        try:
            rust.validate_python(char)
            rust_kept = True
        except ValidationError:
            rust_kept = False
        if (python.search(char) is not None) != kept or rust_kept != kept:
            differ.append(hex(code))
    assert differ == []


def test_bodies_are_typed_as_strictly_as_the_schema_says(sqlite_service: Service) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}/recommendations"
    for body in ({"k": "10"}, {"explore": False}, {"k": True}, {"k": 2.5}, {"explain": 1}):
        response = service.client.post(url, json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
    for body in ({"k": 3, "explore": 0}, {"k": 3.0}):  # JSON Schema's integers, 3.0 too
        response = service.client.post(url, json=body, headers=auth)
        assert response.is_success, (body, response.text)
    assert len(response.json()["items"]) == 3


def test_a_timestamp_too_large_for_a_float_is_rejected_not_a_500(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    huge = '{"events": [{"item_id": "1", "type": "view", "timestamp": 1' + "0" * 400 + "}]}"
    response = service.client.post(
        f"/v1/sessions/{session}/events",
        content=huge,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 0
    assert "timestamp" in response.json()["rejected"][0]["error"]


def asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


def test_docs_loads_swagger_ui_from_the_service_itself(sqlite_service: Service) -> None:
    client = sqlite_service.client
    page = client.get("/docs")
    assert page.status_code == 200
    assert "://" not in page.text  # no CDN, no external favicon
    urls = asset_urls(page.text)
    assert len(urls) == 3
    kinds = set()
    for url in urls:
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kinds.add(asset.headers["content-type"].split(";")[0])
        assert len(asset.content) > 500
    assert kinds == {"text/javascript", "text/css", "image/png"}
    assert "url: '/openapi.json'" in page.text
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered


@pytest.mark.browser
def test_docs_renders_every_route_in_a_browser_cut_off_from_the_internet(
    tiny_artifact: Path, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; `make system-deps` installs it")
    settings = ServiceSettings(artifact=tiny_artifact, store_url=f"sqlite:///{tmp_path / 's.db'}")
    store = open_store(settings.store_url)
    app = create_app(settings, Engine.from_artifact(tiny_artifact), store)
    refused: list[str] = []
    with running_server(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()

            def only_this_server(route: Any) -> None:
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    refused.append(route.request.url)
                    route.abort()

            page.route("**/*", only_this_server)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            shown = page.locator(".opblock").count()
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=True)
        finally:
            browser.close()
    store.close()
    assert shown == 14  # every operation of the schema
    assert refused == []  # and nothing was asked of another host
