"""What the web page needs from the API: slate items that carry the catalogue's facts, and
feedback that can be taken back (`DELETE /v1/sessions/{sid}/feedback/{item_id}`), against
both session stores."""

from __future__ import annotations

from typing import Any

import pytest

from sessionrec.engine.query import Reason, Slate, SlateItem
from sessionrec.service.routes.recommend import slate_json
from sessionrec.testing import films
from sessionrec.testing.service import Service

pytestmark = pytest.mark.service


def recommend(service: Service, session: str, auth: dict[str, str], **body: Any) -> Any:
    response = service.client.post(
        f"/v1/sessions/{session}/recommendations", json={"k": 10, **body}, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()


def feedback(service: Service, session: str, auth: dict[str, str], item: str, kind: str) -> None:
    response = service.client.post(
        f"/v1/sessions/{session}/feedback", json={"item_id": item, "kind": kind}, headers=auth
    )
    assert response.status_code == 200, response.text


def events(service: Service, session: str, auth: dict[str, str]) -> list[tuple[str, str]]:
    body = service.client.get(f"/v1/sessions/{session}", headers=auth).json()
    return [(e["item_id"], e["type"]) for e in body["events"]]


def test_slate_items_carry_categories_attributes_and_explanation(service: Service) -> None:
    session, auth = service.new_session()
    feedback(service, session, auth, films.ids_of("Horror")[0], "like")
    body = recommend(service, session, auth)
    genres = films.genre_of()
    years = {i: str(1990 + int(i) % 30) for i in genres}
    assert len(body["items"]) == 10
    for item in body["items"]:
        assert item["categories"] == [genres[item["item_id"]]]
        assert item["attributes"] == {"year": years[item["item_id"]]}
        assert item["explanation"] is None or (
            isinstance(item["explanation"], str) and item["explanation"]
        )
        assert isinstance(item["score"], float)  # the API keeps scores; the page hides them


def test_slate_json_passes_the_explanation_through(sqlite_service: Service) -> None:
    reason = Reason("request", "matches your request", ())
    items = (
        SlateItem("12", 1.5, "Blood Manor", (reason,), None, "A haunted house, as you asked."),
        SlateItem("unknown-item", 0.5, None, (), None, ""),
    )
    body = slate_json(Slate(items, (), ()), sqlite_service.engine)
    first, second = body["items"]
    assert first["explanation"] == "A haunted house, as you asked."
    assert first["categories"] == ["Horror"] and first["attributes"] == {"year": "2002"}
    # An empty explanation is none; an item the catalogue does not know has no facts.
    assert second["explanation"] is None
    assert second["categories"] == [] and second["attributes"] == {}


def test_openapi_documents_the_new_fields_and_the_undo_route(sqlite_service: Service) -> None:
    spec = sqlite_service.client.get("/openapi.json").json()
    fields = spec["components"]["schemas"]["SlateItemOut"]["properties"]
    assert {"categories", "attributes", "explanation", "interest_label"} <= set(fields)
    route = spec["paths"]["/v1/sessions/{session_id}/feedback/{item_id}"]
    assert "204" in route["delete"]["responses"]


def test_undo_like_removes_it_and_the_slate_forgets_it(service: Service) -> None:
    session, auth = service.new_session()
    liked = films.ids_of("Horror")[1]  # Blood Manor
    service.client.post(
        f"/v1/sessions/{session}/events",
        json={"events": [{"item_id": "3", "type": "view"}]},
        headers=auth,
    )
    feedback(service, session, auth, liked, "like")
    after_like = recommend(service, session, auth)
    like_reasons = [
        r for item in after_like["items"] for r in item["reasons"] if liked in r["item_ids"]
    ]
    assert like_reasons, after_like["items"]

    response = service.client.delete(f"/v1/sessions/{session}/feedback/{liked}", headers=auth)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["X-Retracted-Events"] == "1"
    assert events(service, session, auth) == [("3", "view")]  # the rest of the log stays

    undone = recommend(service, session, auth)
    assert not [r for item in undone["items"] for r in item["reasons"] if liked in r["item_ids"]]
    assert [i["item_id"] for i in undone["items"]] != [i["item_id"] for i in after_like["items"]]

    again = service.client.delete(f"/v1/sessions/{session}/feedback/{liked}", headers=auth)
    assert again.status_code == 204  # idempotent: nothing left to take back
    assert again.headers["X-Retracted-Events"] == "0"


def test_undo_removes_a_dislike_and_the_item_may_come_back(service: Service) -> None:
    session, auth = service.new_session()
    horror = films.ids_of("Horror")
    feedback(service, session, auth, horror[0], "like")
    shown = [i["item_id"] for i in recommend(service, session, auth)["items"]]
    disliked = shown[0]
    feedback(service, session, auth, disliked, "dislike")
    assert disliked not in [i["item_id"] for i in recommend(service, session, auth)["items"]]

    response = service.client.delete(f"/v1/sessions/{session}/feedback/{disliked}", headers=auth)
    assert response.status_code == 204
    assert events(service, session, auth) == [(horror[0], "like")]
    # No longer disliked, nor seen: it may be suggested again (exclude_seen off to be sure
    # that only the dislike kept it out).
    back = recommend(service, session, auth, exclude_seen=False)
    assert disliked in [i["item_id"] for i in back["items"]]


def test_undo_needs_the_sessions_token_and_answers_json_errors(sqlite_service: Service) -> None:
    client = sqlite_service.client
    session, auth = sqlite_service.new_session()
    feedback(sqlite_service, session, auth, "12", "like")

    missing = client.delete("/v1/sessions/no-such-session/feedback/12", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"

    anonymous = client.delete(f"/v1/sessions/{session}/feedback/12")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "missing_token"

    _, other_auth = sqlite_service.new_session()
    wrong = client.delete(f"/v1/sessions/{session}/feedback/12", headers=other_auth)
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "wrong_token"

    too_long = client.delete(f"/v1/sessions/{session}/feedback/{'x' * 257}", headers=auth)
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "validation_error"

    blank = client.delete(f"/v1/sessions/{session}/feedback/%20%20", headers=auth)
    assert blank.status_code == 422
    assert blank.json()["error"]["code"] == "invalid_item_id"

    assert events(sqlite_service, session, auth) == [("12", "like")]  # nothing was removed
