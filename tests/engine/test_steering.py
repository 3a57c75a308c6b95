"""Language steering: a typed request moves the slate toward items whose text matches."""

from __future__ import annotations

import numpy as np
import pytest

from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.steering import REQUEST_BLEND, RequestEncoder, blend_queries
from sessionrec.errors import ConfigError
from sessionrec.text.base import TextEncoder


def views(*items: str) -> list[SessionEvent]:
    return [SessionEvent(i, "view") for i in items]  # type: ignore[arg-type]


def share(slate_ids: list[str], prefix: str) -> float:
    return sum(i.startswith(prefix) for i in slate_ids) / len(slate_ids)


def test_a_request_moves_a_thriller_session_to_animation(engine: Engine) -> None:
    session = views("t1", "t2", "t3")
    plain = [i.item_id for i in engine.recommend(Query(events=session, k=8)).items]
    asked = engine.recommend(Query(events=session, text="cartoon animation for kids", k=8))
    asked_ids = [i.item_id for i in asked.items]
    assert share(plain, "a") == 0.0
    assert share(asked_ids, "a") >= 0.75
    for item in asked.items:
        if item.item_id.startswith("a"):
            request = [r for r in item.reasons if r.kind == "request"]
            assert request and "cartoon animation for kids" in request[0].text


def test_a_request_works_on_an_empty_session(engine: Engine) -> None:
    slate = engine.recommend(Query(text="funny comedy wedding", k=5))
    assert [i.item_id[0] for i in slate.items] == ["c"] * 5
    assert slate.interests == ()


def test_an_empty_session_without_request_gets_popular_items(engine: Engine) -> None:
    slate = engine.recommend(Query(k=4))
    popular = [info.item_id for info in engine.popular(4)]
    assert [i.item_id for i in slate.items] == popular
    assert all(r.kind == "popular" for i in slate.items for r in i.reasons)


def test_blending_keeps_the_session_scale_and_direction_share() -> None:
    session = np.array([[3.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    request = np.array([0.0, 10.0], dtype=np.float32)
    blended = blend_queries(session, request)
    np.testing.assert_allclose(blended[0], [3 * (1 - REQUEST_BLEND), 3 * REQUEST_BLEND])
    np.testing.assert_allclose(blended[1], [0.0, REQUEST_BLEND])  # empty session: request


def test_request_vectors_are_cached_and_checked(encoder: TextEncoder) -> None:
    calls: list[int] = []

    def factory() -> TextEncoder:
        calls.append(1)
        return encoder

    requests = RequestEncoder(factory)
    first = requests.encode_one("cartoon  animation", 64)
    again = requests.encode_one("cartoon animation", 64)  # same words, same entry
    assert first is again and len(calls) == 1
    np.testing.assert_allclose(np.linalg.norm(first), 1.0, rtol=1e-5)
    with pytest.raises(ConfigError, match="trained on 32-dimensional"):
        requests.encode_one("something else", 32)
