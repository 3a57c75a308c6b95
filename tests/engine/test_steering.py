"""Language steering: a typed request moves the slate toward items whose text matches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.steering import REQUEST_BLEND, RequestEncoder, blend_queries
from sessionrec.errors import ConfigError
from sessionrec.testing import BagOfWordsEncoder
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
    # "animation" is a category of this catalogue: a constraint, not only a preference.
    assert asked.understood is not None and asked.understood["include"] == ["Animation"]
    assert share(asked_ids, "a") == 1.0
    for item in asked.items:
        request = [r for r in item.reasons if r.kind == "request"]
        assert request and request[0].text == "Animation, as you asked"


def test_words_no_facet_grounds_steer_by_their_meaning(engine: Engine) -> None:
    session = views("t1", "t2", "t3")
    asked = engine.recommend(Query(events=session, text="cartoons about toys", k=8))
    assert asked.understood is not None
    if not asked.understood["include"]:  # "cartoons" may ground in Animation; if not:
        assert asked.understood["soft"]
    assert share([i.item_id for i in asked.items], "a") >= 0.75


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
    with pytest.raises(ConfigError, match="trained on 32-dimensional"):  # cached, still checked
        requests.encode_one("something else", 32)


def test_a_span_the_interpreter_embedded_needs_no_second_call() -> None:
    texts: list[list[str]] = []

    class Counting(BagOfWordsEncoder):
        def _encode_query_batch(self, batch: list[str]) -> np.ndarray:
            texts.append(batch)
            return super()._encode_query_batch(batch)

    requests = RequestEncoder(Counting)
    spans = requests.encode_many(["lighter", "cartoon  animation"])
    size = spans.shape[1]
    lighter = requests.encode_one("lighter", size)
    np.testing.assert_array_equal(lighter, spans[0])
    np.testing.assert_array_equal(requests.encode_one("cartoon animation", size), spans[1])
    assert texts == [["cartoon  animation", "lighter"]]  # one call, sorted by length
    assert not lighter.flags.writeable


def test_new_words_and_what_steers_take_one_encoder_call(transformer_folder: Path) -> None:
    batches: list[list[str]] = []

    class Counting(BagOfWordsEncoder):
        def _encode_query_batch(self, batch: list[str]) -> np.ndarray:
            batches.append(batch)
            return super()._encode_query_batch(batch)

    engine = Engine.from_artifact(transformer_folder, encoder=Counting())
    engine.prepare()  # the catalogue's category names: a call of their own
    batches.clear()
    slate = engine.recommend(Query(events=views("a0"), text="something cozy for rainy evenings"))
    assert slate.understood is not None and slate.understood["soft"] == "cozy for rainy evenings"
    # the spans the interpreter tries and the remainder the slate steers by, together
    assert len(batches) == 1 and "cozy for rainy evenings" in batches[0]
    assert {"cozy", "rainy"} <= set(batches[0])
    batches.clear()
    engine.recommend(Query(events=views("a0"), text="cozy for rainy evenings, please"))
    assert batches == []  # its spans and its remainder are all remembered


def test_a_request_nothing_meets_gets_an_empty_slate_that_says_why(engine: Engine) -> None:
    slate = engine.recommend(Query(events=views("t1"), text="an animation thriller", k=5))
    assert slate.understood is not None
    assert sorted(str(c) for c in slate.understood["include"]) == ["Animation", "Thriller"]  # type: ignore[attr-defined]
    # No film is both: any of them, said so.
    assert slate.notes == ("nothing is Animation and Thriller: showing any of them",)
    refused = engine.recommend(
        Query(events=views("t1"), text="animation, but not animation films", k=5)
    )
    assert refused.understood is not None and refused.understood["conflicts"]


def test_a_refused_category_never_appears(engine: Engine) -> None:
    slate = engine.recommend(Query(events=views("t1", "t2", "t3"), text="no thrillers", k=8))
    assert slate.understood is not None and slate.understood["exclude"] == ["Thriller"]
    assert slate.items and not any(i.item_id.startswith("t") for i in slate.items)
    assert all(any(r.text == "not Thriller, as you asked" for r in i.reasons) for i in slate.items)
