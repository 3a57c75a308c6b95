"""Every bad input in the issue: a specific 4xx with a JSON error, never a 500, no data lost."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sessionrec.service.limits import Limits
from sessionrec.testing.service import Service

pytestmark = pytest.mark.service


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error object of a response that must have `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] and error["message"]
    assert "Traceback" not in response.text
    return error


def post_events(service: Service, session: str, auth: dict[str, str], events: list[Any]) -> Any:
    return service.client.post(
        f"/v1/sessions/{session}/events", json={"events": events}, headers=auth
    )


def stored_ids(service: Service, session: str) -> list[str]:
    return [e.item_id for e in service.store.events(session)]


def test_unknown_session_is_404_on_every_session_route(service: Service) -> None:
    _, auth = service.new_session()
    for method, path, body in (
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/events", {"events": []}),
        ("POST", "/recommendations", {}),
        ("POST", "/feedback", {"item_id": "1", "kind": "like"}),
    ):
        response = service.client.request(
            method, f"/v1/sessions/no-such-session{path}", headers=auth, json=body
        )
        assert error_of(response, 404)["code"] == "session_not_found"


def test_missing_token_is_401_and_wrong_token_403_and_nothing_changes(service: Service) -> None:
    session, auth = service.new_session()
    post_events(service, session, auth, [{"item_id": "1", "type": "view"}])
    _, other_auth = service.new_session()
    url = f"/v1/sessions/{session}"
    assert error_of(service.client.get(url), 401)["code"] == "missing_token"
    malformed = service.client.get(url, headers={"Authorization": "Token abc"})
    assert error_of(malformed, 401)["code"] == "missing_token"
    assert error_of(service.client.get(url, headers=other_auth), 403)["code"] == "wrong_token"
    wrong = {"Authorization": "Bearer " + "x" * 43}
    assert error_of(service.client.delete(url, headers=wrong), 403)["code"] == "wrong_token"
    error_of(post_events(service, session, wrong, [{"item_id": "2", "type": "view"}]), 403)
    error_of(service.client.post(f"{url}/recommendations", json={}, headers=wrong), 403)
    assert stored_ids(service, session) == ["1"]


def test_unknown_items_are_rejected_per_event_and_the_rest_stored(service: Service) -> None:
    session, auth = service.new_session()
    events: list[Any] = [
        {"item_id": "1", "type": "view"},
        {"item_id": "no-such-item", "type": "view"},
        {"item_id": "2", "type": "teleport"},
        {"item_id": 3, "type": "view"},
        {"item_id": "3", "type": "click", "timestamp": "yesterday"},
        {"item_id": "4", "type": "click", "timestamp": -5},
        {"item_id": "5"},
        "not an object",
        {"item_id": "6", "type": "like", "extra": 1},
        {"item_id": "7", "type": "purchase", "timestamp": 12.5},
    ]
    response = post_events(service, session, auth, events)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    rejected = {r["index"]: r["error"] for r in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "unknown item 'no-such-item'" in rejected[1]
    assert "teleport" in rejected[2]
    assert "item_id" in rejected[3]
    assert "timestamp" in rejected[4] and "timestamp" in rejected[5]
    assert "type" in rejected[6]
    assert "object" in rejected[7]
    assert "extra" in rejected[8]
    assert stored_ids(service, session) == ["1", "7"]


def test_malformed_json_is_400(sqlite_service: Service) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    post_events(service, session, auth, [{"item_id": "1", "type": "view"}])
    for path in ("/events", "/recommendations", "/feedback"):
        response = service.client.post(
            f"/v1/sessions/{session}{path}",
            content=b'{"events": [{"item_id": "2",',
            headers={**auth, "Content-Type": "application/json"},
        )
        assert error_of(response, 400)["code"] == "malformed_json"
    assert stored_ids(service, session) == ["1"]


def test_wrong_shapes_are_422_naming_the_field(sqlite_service: Service) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}"
    cases: list[tuple[str, Any, str]] = [
        ("/events", {"events": "nope"}, "events"),
        ("/events", [1, 2], "body"),
        ("/events", {"evnts": []}, "evnts"),
        ("/recommendations", {"k": "ten"}, "k"),
        ("/recommendations", {"filters": {"categories": "Horror"}}, "categories"),
        ("/recommendations", {"colour": "red"}, "colour"),
        ("/recommendations", {"explore": 0.9}, "explore"),
        ("/feedback", {"item_id": "1", "kind": "love"}, "kind"),
        ("/feedback", {"kind": "like"}, "item_id"),
    ]
    for path, body, field in cases:
        error = error_of(service.client.post(url + path, json=body, headers=auth), 422)
        assert error["code"] == "validation_error"
        assert field in error["message"], (path, body, error)


def test_oversize_body_is_413_and_nothing_is_stored(make_service: Any) -> None:
    service: Service = make_service(limits=Limits(max_body_bytes=2_000))
    session, auth = service.new_session()
    events = [{"item_id": "1", "type": "view"}] * 200
    response = post_events(service, session, auth, events)
    assert error_of(response, 413)["code"] == "body_too_large"
    chunked = service.client.post(
        f"/v1/sessions/{session}/events",
        content=iter([b'{"events": [', b'{"item_id": "1", "type": "view"},' * 100, b"]}"]),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert error_of(chunked, 413)["code"] == "body_too_large"
    assert stored_ids(service, session) == []


def test_too_many_events_in_one_batch_is_413(make_service: Any) -> None:
    service: Service = make_service(limits=Limits(max_events_per_batch=5))
    session, auth = service.new_session()
    response = post_events(service, session, auth, [{"item_id": "1", "type": "view"}] * 6)
    error = error_of(response, 413)
    assert error["code"] == "batch_too_large" and "5" in error["message"]
    assert (
        post_events(service, session, auth, [{"item_id": "1", "type": "view"}] * 5).json()[
            "accepted"
        ]
        == 5
    )


@pytest.mark.parametrize("k", [0, -1, 101, 10_000])
def test_k_out_of_range_is_422(sqlite_service: Service, k: int) -> None:
    session, auth = sqlite_service.new_session()
    response = sqlite_service.client.post(
        f"/v1/sessions/{session}/recommendations", json={"k": k}, headers=auth
    )
    error = error_of(response, 422)
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["body", "k"]


def test_empty_and_overlong_request_text_are_422(sqlite_service: Service) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}/recommendations"
    for text in ("", "   "):
        error = error_of(service.client.post(url, json={"query": text}, headers=auth), 422)
        assert error["code"] == "empty_query"
    error = error_of(service.client.post(url, json={"query": "a" * 501}, headers=auth), 422)
    assert error["code"] == "query_too_long" and "500" in error["message"]
    assert service.client.post(url, json={"query": "a" * 500}, headers=auth).status_code == 200


@pytest.mark.parametrize(
    "text",
    ["?!...", "a" * 10_000, "ᚠᚢᚦᚨᚱᚲ ᚷᚹᚺ", "a comedy but not a comedy"],
    ids=["punctuation", "10000-chars", "unseen-script", "contradiction"],
)
def test_odd_requests_get_a_clear_answer_never_a_500(sqlite_service: Service, text: str) -> None:
    """Each odd request is either refused by name (a 4xx) or answered with a slate whose
    notes say what could not be honoured."""
    service = sqlite_service
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}/recommendations"
    response = service.client.post(url, json={"query": text}, headers=auth)
    if response.status_code >= 400:
        error = error_of(response, response.status_code)
        assert 400 <= response.status_code < 500
        assert error["code"] in {"query_too_long", "empty_query", "unreadable_query"}
        return
    body = response.json()
    assert response.status_code == 200 and isinstance(body["items"], list)
    if "not a comedy" in text:
        assert body["notes"], body  # the contradiction is named
        assert any("comedy" in note.casefold() for note in body["notes"])


def test_feedback_on_an_unknown_item_is_404_and_not_stored(sqlite_service: Service) -> None:
    service = sqlite_service
    session, auth = service.new_session()
    response = service.client.post(
        f"/v1/sessions/{session}/feedback", json={"item_id": "nope", "kind": "like"}, headers=auth
    )
    assert error_of(response, 404)["code"] == "item_not_found"
    assert stored_ids(service, session) == []
    assert service.store.item_outcomes(["nope"]) == {}


def test_admin_routes_need_the_right_key(sqlite_service: Service) -> None:
    service = sqlite_service
    item = {"title": "New Film"}
    for headers, code in (
        ({}, "missing_api_key"),
        ({"X-API-Key": "wrong-key-123"}, "wrong_api_key"),
    ):
        assert (
            error_of(service.client.put("/v1/items/new", json=item, headers=headers), 401)["code"]
            == code
        )
        assert (
            error_of(service.client.post("/v1/admin/reload", headers=headers), 401)["code"] == code
        )
    assert not service.engine.has_item("new")
    assert service.store.items() == []


def test_admin_routes_are_off_without_a_configured_key(make_service: Any) -> None:
    service: Service = make_service(api_key=None)
    response = service.client.put("/v1/items/x", json={"title": "X"}, headers=service.admin())
    assert error_of(response, 503)["code"] == "admin_disabled"
    assert (
        error_of(service.client.post("/v1/admin/reload", headers=service.admin()), 503)["code"]
        == "admin_disabled"
    )


def test_unknown_routes_and_methods_are_json_errors(sqlite_service: Service) -> None:
    client = sqlite_service.client
    assert error_of(client.get("/v1/nothing-here"), 404)["code"] == "not_found"
    assert error_of(client.put("/v1/sessions"), 405)["code"] == "method_not_allowed"
    assert error_of(client.get("/v1/items/no-such-item"), 404)["code"] == "item_not_found"
    assert error_of(client.get("/v1/items", params={"limit": 0}), 422)["code"] == (
        "validation_error"
    )


def test_a_bad_item_upsert_is_422_and_changes_nothing(sqlite_service: Service) -> None:
    service = sqlite_service
    for body in ({}, {"title": ""}, {"title": "X", "categories": "Horror"}, {"title": "X", "y": 1}):
        response = service.client.put("/v1/items/bad", json=body, headers=service.admin())
        assert error_of(response, 422)["code"] == "validation_error"
    too_long = service.client.put(
        "/v1/items/" + "x" * 300, json={"title": "X"}, headers=service.admin()
    )
    error_of(too_long, 422)
    assert service.store.items() == []


def test_a_store_that_goes_away_is_503_not_500(
    make_service: Any, tmp_path: Any, redis_helpers: Any
) -> None:
    server = redis_helpers.start_redis(tmp_path / "redis")
    try:
        service: Service = make_service(store_url=server.url)
        session, auth = service.new_session()
    finally:
        server.kill()
    url = f"/v1/sessions/{session}"
    for response in (
        service.client.post("/v1/sessions"),
        service.client.get(url, headers=auth),
        service.client.post(f"{url}/recommendations", json={}, headers=auth),
        service.client.post(f"{url}/events", json={"events": []}, headers=auth),
    ):
        assert error_of(response, 503)["code"] == "store_unavailable"
    ready = service.client.get("/readyz")
    assert error_of(ready, 503)["code"] == "store_unavailable"
