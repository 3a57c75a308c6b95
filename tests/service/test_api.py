"""The HTTP contract's happy paths, against both session stores."""

from __future__ import annotations

import pytest

from sessionrec.testing import films
from sessionrec.testing.service import Service

pytestmark = pytest.mark.service


def test_create_session_returns_an_id_and_a_token_once(service: Service) -> None:
    first = service.client.post("/v1/sessions")
    second = service.client.post("/v1/sessions")
    assert first.status_code == 201
    body = first.json()
    assert set(body) == {"session_id", "token"}
    assert len(body["token"]) >= 40
    assert body["session_id"] != second.json()["session_id"]
    assert body["token"] != second.json()["token"]


def test_events_are_stored_in_order_and_read_back(service: Service) -> None:
    session, auth = service.new_session()
    posted = [
        {"item_id": "1", "type": "view", "timestamp": 100.0},
        {"item_id": "2", "type": "click", "timestamp": 101.5},
        {"item_id": "3", "type": "add_to_cart"},
    ]
    response = service.client.post(
        f"/v1/sessions/{session}/events", json={"events": posted}, headers=auth
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "rejected": []}
    got = service.client.get(f"/v1/sessions/{session}", headers=auth).json()
    assert got["session_id"] == session
    assert got["n_events"] == 3
    assert [(e["item_id"], e["type"]) for e in got["events"]] == [
        ("1", "view"),
        ("2", "click"),
        ("3", "cart"),
    ]
    assert got["events"][0]["timestamp"] == 100.0
    assert got["events"][2]["timestamp"] > 1_600_000_000  # defaulted to now


def test_recommendations_have_scores_titles_reasons_and_interests(service: Service) -> None:
    session, auth = service.new_session()
    horror = films.ids_of("Horror")[:3]
    service.client.post(
        f"/v1/sessions/{session}/events",
        json={"events": [{"item_id": i, "type": "click"} for i in horror]},
        headers=auth,
    )
    response = service.client.post(
        f"/v1/sessions/{session}/recommendations", json={"k": 5}, headers=auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["items"]) == 5
    for item in body["items"]:
        assert set(item) >= {"item_id", "score", "title", "reasons"}
        assert item["item_id"] not in horror  # exclude_seen defaults to true
        assert isinstance(item["score"], float)
        assert item["title"]
        for reason in item["reasons"]:
            assert set(reason) >= {"kind", "text", "item_ids"} and reason["text"]
    assert any(item["reasons"] for item in body["items"])
    assert body["interests"]
    for interest in body["interests"]:
        assert 0 < interest["weight"] <= 1 and interest["item_ids"]
    assert sum(i["weight"] for i in body["interests"]) == pytest.approx(1.0, abs=1e-3)
    genres = films.genre_of()
    assert sum(genres[i["item_id"]] == "Horror" for i in body["items"]) >= 3


def test_exclude_seen_false_may_return_session_items(service: Service) -> None:
    session, auth = service.new_session()
    service.client.post(
        f"/v1/sessions/{session}/events",
        json={"events": [{"item_id": "1", "type": "view"}]},
        headers=auth,
    )
    slate = service.client.post(
        f"/v1/sessions/{session}/recommendations",
        json={"k": 40, "exclude_seen": False, "explain": False},
        headers=auth,
    ).json()
    ids = [i["item_id"] for i in slate["items"]]
    assert "1" in ids
    assert all(i["reasons"] == [] for i in slate["items"])


def test_a_typed_request_steers_the_slate(service: Service) -> None:
    session, auth = service.new_session()
    service.client.post(
        f"/v1/sessions/{session}/events",
        json={"events": [{"item_id": i, "type": "click"} for i in films.ids_of("Horror")[:2]]},
        headers=auth,
    )
    url = f"/v1/sessions/{session}/recommendations"
    steered = service.client.post(
        url, json={"k": 5, "query": "an animated cartoon film for children"}, headers=auth
    ).json()
    genres = films.genre_of()
    assert sum(genres[i["item_id"]] == "Animation" for i in steered["items"]) >= 4
    assert any(r["kind"] == "request" for i in steered["items"] for r in i["reasons"])


def test_filters_keep_only_matching_items(service: Service) -> None:
    session, auth = service.new_session()
    slate = service.client.post(
        f"/v1/sessions/{session}/recommendations",
        json={"k": 10, "filters": {"categories": ["documentary"], "exclude_items": ["31"]}},
        headers=auth,
    ).json()
    ids = [i["item_id"] for i in slate["items"]]
    assert ids and "31" not in ids
    assert {films.genre_of()[i] for i in ids} == {"Documentary"}


def test_feedback_is_stored_as_an_event_and_a_dislike_never_comes_back(service: Service) -> None:
    session, auth = service.new_session()
    url = f"/v1/sessions/{session}/recommendations"
    first = service.client.post(url, json={"k": 5, "exclude_seen": False}, headers=auth).json()
    top = first["items"][0]["item_id"]
    response = service.client.post(
        f"/v1/sessions/{session}/feedback", json={"item_id": top, "kind": "dislike"}, headers=auth
    )
    assert response.status_code == 200
    assert response.json() == {"item_id": top, "kind": "dislike", "recorded": True}
    events = service.client.get(f"/v1/sessions/{session}", headers=auth).json()["events"]
    assert [(e["item_id"], e["type"]) for e in events] == [(top, "dislike")]
    assert service.store.item_outcomes([top]) == {top: (0, 1)}
    for _ in range(2):
        again = service.client.post(url, json={"k": 40, "exclude_seen": False}, headers=auth)
        assert top not in [i["item_id"] for i in again.json()["items"]]


def test_positive_feedback_counts_as_a_positive_outcome(service: Service) -> None:
    session, auth = service.new_session()
    for kind in ("like", "click", "purchase", "skip"):
        response = service.client.post(
            f"/v1/sessions/{session}/feedback", json={"item_id": "5", "kind": kind}, headers=auth
        )
        assert response.status_code == 200
    assert service.store.item_outcomes(["5"]) == {"5": (3, 1)}


def test_slates_are_recorded_as_impressions(service: Service) -> None:
    session, auth = service.new_session()
    slate = service.client.post(
        f"/v1/sessions/{session}/recommendations", json={"k": 3}, headers=auth
    ).json()
    shown = [i["item_id"] for i in slate["items"]]
    assert service.store.impressions(session) == dict.fromkeys(shown, 1)


def test_delete_removes_the_session_and_then_404(service: Service) -> None:
    session, auth = service.new_session()
    service.client.post(
        f"/v1/sessions/{session}/events",
        json={"events": [{"item_id": "1", "type": "view"}]},
        headers=auth,
    )
    service.client.post(f"/v1/sessions/{session}/recommendations", json={}, headers=auth)
    response = service.client.delete(f"/v1/sessions/{session}", headers=auth)
    assert response.status_code == 204 and response.content == b""
    assert service.store.token_hash(session) is None
    assert service.store.impressions(session) == {}
    for method, path, body in (
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/recommendations", {}),
        ("POST", "/events", {"events": []}),
    ):
        after = service.client.request(
            method, f"/v1/sessions/{session}{path}", headers=auth, json=body
        )
        assert after.status_code == 404, (method, path, after.text)
        assert after.json()["error"]["code"] == "session_not_found"


def test_catalogue_browse_search_and_item(service: Service) -> None:
    popular = service.client.get("/v1/items", params={"limit": 5}).json()["items"]
    assert len(popular) == 5
    found = service.client.get("/v1/items", params={"query": "Blood Manor"}).json()["items"]
    assert found[0]["item_id"] == "12" and found[0]["title"] == "Blood Manor"
    item = service.client.get("/v1/items/12").json()
    assert item["categories"] == ["Horror"]
    assert item["attributes"] == {"year": "2002"}


def test_health_and_readiness(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["engine"]["n_items"] == 40


def test_openapi_lists_the_contract(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/events",
        "/v1/sessions/{session_id}/recommendations",
        "/v1/sessions/{session_id}/feedback",
        "/v1/items/{item_id}",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths
    assert service.client.get("/docs").status_code == 200


def test_exploration_fills_its_share_of_the_slate_from_item_feedback(service: Service) -> None:
    session, auth = service.new_session()
    for item in ("21", "22"):
        service.client.post(
            f"/v1/sessions/{session}/feedback", json={"item_id": item, "kind": "like"}, headers=auth
        )
    slate = service.client.post(
        f"/v1/sessions/{session}/recommendations", json={"k": 10, "explore": 0.3}, headers=auth
    ).json()
    assert len(slate["items"]) == 10
    explored = [i for i in slate["items"] if any(r["kind"] == "explore" for r in i["reasons"])]
    assert len(explored) == 3
