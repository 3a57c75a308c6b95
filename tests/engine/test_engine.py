"""The engine end to end over saved artifacts: filters, seen items, reasons, new items."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from sessionrec.artifact import (
    CATALOGUE_FILE,
    load_artifact_catalogue,
    read_catalogue,
    read_manifest,
    save_artifact,
    write_catalogue,
)
from sessionrec.data.schema import EventType, make_catalogue
from sessionrec.engine import Engine, Filters, Query, SessionEvent
from sessionrec.errors import ConfigError, DataError
from sessionrec.index import ExactIndex
from sessionrec.models.hybrid import Hybrid
from sessionrec.models.pop import Pop
from sessionrec.models.transformer import SessionTransformer
from sessionrec.testing import QUICK_TRANSFORMER_SMOKE, ring_sessions
from sessionrec.testing.genres import genre_item_ids
from sessionrec.text.base import TextEncoder


def views(*items: str) -> list[SessionEvent]:
    return [SessionEvent(i, EventType.VIEW) for i in items]


def ids(engine: Engine, query: Query) -> list[str]:
    return [item.item_id for item in engine.recommend(query).items]


def test_slate_shape_titles_and_scores(engine: Engine) -> None:
    slate = engine.recommend(Query(events=views("a1", "a2"), k=5))
    assert len(slate.items) == 5
    assert all(item.title and item.title.startswith("Animation film") for item in slate.items)
    scores = [item.score for item in slate.items]
    assert scores == sorted(scores, reverse=True)
    assert slate.unknown_items == ()


def test_unknown_items_are_reported_and_ignored(engine: Engine) -> None:
    slate = engine.recommend(Query(events=views("nope", "a1", "nope", "other"), k=3))
    assert slate.unknown_items == ("nope", "other")
    assert slate.interests[0].item_ids == ("a1",)
    assert len(slate.items) == 3


def test_exclude_seen(engine: Engine) -> None:
    session = views("c1", "c2", "c3")
    assert not {"c1", "c2", "c3"} & set(ids(engine, Query(events=session, k=20)))
    again = ids(engine, Query(events=session, k=36, exclude_seen=False))
    assert {"c1", "c2", "c3"} <= set(again)


def test_filters(engine: Engine) -> None:
    session = views("a1", "a2")
    comedy = ids(engine, Query(events=session, k=20, filters=Filters(categories=("comedy",))))
    assert len(comedy) == 12 and all(i.startswith("c") for i in comedy)
    two = Filters(categories=("Comedy", "THRILLER"), attributes={"decade": "1990s"})
    picked = ids(engine, Query(events=session, k=30, filters=two))
    assert len(picked) == 12
    assert all(i[0] in "ct" and int(i[1:]) % 2 == 1 for i in picked)
    excluded = Filters(exclude_items=("a0", "a3", "unknown-id"))
    assert not {"a0", "a3"} & set(ids(engine, Query(events=session, k=30, filters=excluded)))
    none = Filters(categories=("Western",))
    assert ids(engine, Query(events=session, filters=none)) == []


def test_k_bounds_the_slate(engine: Engine) -> None:
    assert len(ids(engine, Query(events=views("a1"), k=1))) == 1
    assert len(ids(engine, Query(events=views("a1"), k=100))) == 35  # all but the seen one


def test_reasons_name_session_items(engine: Engine) -> None:
    session = [*views("t1", "t2"), SessionEvent("t3", EventType.LIKE)]
    slate = engine.recommend(Query(events=session, k=5))
    named = 0
    for item in slate.items:
        anchors = [r for r in item.reasons if r.kind in ("similar_to", "liked")]
        named += bool(anchors)
        if not anchors:
            assert [r.kind for r in item.reasons] == ["session"], item
        for reason in anchors:
            assert set(reason.item_ids) <= {"t1", "t2", "t3"}
            title = engine.item(reason.item_ids[0])
            assert title is not None and title.title is not None
            assert title.title in reason.text
    assert named >= 2
    liked = [r for item in slate.items for r in item.reasons if r.kind == "liked"]
    assert liked and all("you liked" in r.text for r in liked)
    silent = engine.recommend(Query(events=session, k=5, explain=False))
    assert all(item.reasons == () for item in silent.items)
    assert [i.item_id for i in silent.items] == [i.item_id for i in slate.items]


def test_an_added_item_is_recommendable_at_once(engine: Engine) -> None:
    assert not engine.has_item("new-cartoon")
    n = engine.n_items
    engine.upsert_item(
        "new-cartoon",
        "Animation film 99",
        text="cartoon animation kids family colourful",
        categories=["Animation"],
        attributes={"decade": "2020s"},
    )
    assert engine.has_item("new-cartoon") and engine.n_items == n + 1
    info = engine.item("new-cartoon")
    assert info is not None and info.categories == ("Animation",)
    slate = ids(engine, Query(events=views("a1", "a2", "a3"), k=10))
    assert "new-cartoon" in slate
    thriller = ids(engine, Query(events=views("t1", "t2", "t3"), k=5))
    assert "new-cartoon" not in thriller
    assert ids(engine, Query(filters=Filters(attributes={"decade": "2020s"}))) == ["new-cartoon"]
    # It can be part of a session too, and disliked like any other item.
    after = engine.recommend(Query(events=views("new-cartoon"), k=5))
    assert after.unknown_items == ()
    # Updating an existing item's text moves it.
    engine.upsert_item("new-cartoon", "Now a thriller", text="crime thriller dark murder night")
    assert engine.n_items == n + 1
    assert "new-cartoon" in ids(engine, Query(events=views("t1", "t2", "t3"), k=10))
    # The animation films the session has not seen fill the first places; a thriller has
    # no place among them (the slot after them goes to the best other item, whichever).
    unseen_cartoons = len(genre_item_ids("a")) - 3
    after_cartoons = ids(engine, Query(events=views("a1", "a2", "a3"), k=unseen_cartoons))
    assert "new-cartoon" not in after_cartoons


def test_upsert_validation(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="item id must be a non-empty string"):
        engine.upsert_item("", "Title")
    with pytest.raises(ConfigError, match="item id must be a non-empty string"):
        engine.upsert_item("   ", "Title")
    with pytest.raises(ConfigError, match="item id is longer than 256 characters"):
        engine.upsert_item("x" * 257, "Title")
    with pytest.raises(ConfigError, match="item title must not be empty"):
        engine.upsert_item("x", "  ")
    with pytest.raises(ConfigError, match="categories"):
        engine.upsert_item("x", "Title", categories=[""])
    with pytest.raises(ConfigError, match="categories"):
        engine.upsert_item("x", "Title", categories="Comedy")
    with pytest.raises(ConfigError, match="attributes must map names to strings"):
        engine.upsert_item("x", "Title", attributes={"year": 1995})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="item text has 10001 characters"):
        engine.upsert_item("x", "Title", text="x" * 10_001)
    assert not engine.has_item("x")


def test_search_and_popular(engine: Engine) -> None:
    found = [i.item_id for i in engine.search("thriller film 1", limit=5)]
    assert set(found[:3]) == {"t1", "t10", "t11"}  # title matches first
    assert len(found) == 5
    by_text = [i.item_id for i in engine.search("wedding laugh", limit=3)]
    assert all(i.startswith("c") for i in by_text)
    assert len(engine.popular(7)) == 7
    with pytest.raises(ConfigError, match="search text must not be empty"):
        engine.search(" ")
    with pytest.raises(ConfigError, match="limit must be an integer"):
        engine.popular(0)
    assert engine.item("missing") is None


def test_a_hybrid_artifact_serves_too(hybrid_folder: Path, encoder: TextEncoder) -> None:
    engine = Engine.from_artifact(hybrid_folder, encoder=encoder)
    assert engine.artifact == hybrid_folder
    slate = engine.recommend(Query(events=views("t1", "t2", "t3"), k=5))
    assert [i.item_id[0] for i in slate.items] == ["t"] * 5
    steered = engine.recommend(Query(events=views("t1"), text="funny comedy wedding", k=5))
    assert sum(i.item_id.startswith("c") for i in steered.items) >= 4
    engine.upsert_item("new-comedy", "Comedy film 99", text="comedy laugh funny romance wedding")
    assert "new-comedy" in ids(engine, Query(events=views("c1", "c2", "c3"), k=10))


def test_the_artifact_carries_its_catalogue(transformer_folder: Path) -> None:
    catalogue = load_artifact_catalogue(transformer_folder)
    assert catalogue is not None and len(catalogue) == 36
    record = catalogue.item("a1")
    assert record["title"] == "Animation film 1"
    assert list(record["categories"]) == ["Animation"]
    assert record["attributes"] == {"decade": "1990s"}
    assert CATALOGUE_FILE in read_manifest(transformer_folder)["files"]


def test_a_tampered_catalogue_is_refused(
    transformer_folder: Path, tmp_path: Path, encoder: TextEncoder
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(transformer_folder, copy)
    with (copy / CATALOGUE_FILE).open("a") as out:
        out.write('{"item_id": "evil"}\n')
    with pytest.raises(DataError, match=r"catalogue\.jsonl does not match"):
        Engine.from_artifact(copy, encoder=encoder)


def test_a_model_without_an_embedding_space_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="needs a model with an embedding space; 'pop' lacks"):
        Engine(Pop().fit(ring_sessions(20, ring=5, length=3)))


def test_a_model_without_text_refuses_requests_and_new_items() -> None:
    model = SessionTransformer(QUICK_TRANSFORMER_SMOKE).fit(ring_sessions(20, ring=5, length=3))
    engine = Engine(model)
    slate = engine.recommend(Query(events=views("i1", "i2"), k=3))
    assert len(slate.items) == 3 and slate.items[0].title is None
    with pytest.raises(ConfigError, match="cannot read requests"):
        engine.recommend(Query(events=views("i1"), text="anything"))
    with pytest.raises(ConfigError, match="cannot score new items"):
        engine.upsert_item("i9", "Nine")
    with pytest.raises(ConfigError, match="not an artifact"):
        _ = engine.artifact


def test_event_types_unseen_in_training_read_as_the_commonest(engine: Engine) -> None:
    # The fixture was trained on views only: a rating must score exactly like a view.
    rating = engine.scores(Query(events=[SessionEvent("a1", EventType.RATING)]))
    view = engine.scores(Query(events=views("a1")))
    np.testing.assert_allclose(rating, view)
    # A click reads as a view too, and also pulls its look-alikes up (never anything down).
    click = engine.scores(Query(events=[SessionEvent("a1", EventType.CLICK)]))
    finite = np.isfinite(view)
    assert (click[finite] >= view[finite] - 1e-9).all()
    assert (click[finite] > view[finite] + 1e-6).any()


def test_lookalikes_are_the_items_with_close_text(engine: Engine) -> None:
    close = engine.lookalikes("a1", 0.8)
    assert set(close) == {f"a{i}" for i in range(12)} - {"a1"}
    assert engine.lookalikes("a1", 0.999) == []
    with pytest.raises(ConfigError, match="unknown item 'zz'"):
        engine.lookalikes("zz", 0.5)


def test_max_interests_one_keeps_the_slate_whole(
    transformer_folder: Path, encoder: TextEncoder
) -> None:
    engine = Engine.from_artifact(transformer_folder, encoder=encoder, max_interests=1)
    items = ["a1", "a2", "a3", "a4", "a5", "a6", "t1", "t2", "t3"]
    slate = engine.recommend(Query(events=views(*items), k=9))
    assert len(slate.interests) == 1 and slate.interests[0].weight == 1.0
    with pytest.raises(ConfigError, match="max_interests"):
        Engine.from_artifact(transformer_folder, encoder=encoder, max_interests=4)


def test_an_artifact_without_catalogue_still_serves(tmp_path: Path) -> None:
    train = ring_sessions(20, ring=5, length=3)
    folder = save_artifact(
        SessionTransformer(QUICK_TRANSFORMER_SMOKE).fit(train), tmp_path / "bare", train
    )
    assert load_artifact_catalogue(folder) is None
    assert not (folder / CATALOGUE_FILE).exists()
    engine = Engine.from_artifact(folder)
    slate = engine.recommend(Query(events=views("i1"), k=2))
    assert [item.title for item in slate.items] == [None, None]


def test_a_malformed_catalogue_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / CATALOGUE_FILE
    path.write_text('{"item_id": "1", "title": "One"}\n{"title": "no id"}\n')
    with pytest.raises(DataError, match="line 2: bad catalogue row"):
        read_catalogue(path)


def test_catalogue_cells_round_trip_as_plain_json(tmp_path: Path) -> None:
    catalogue = make_catalogue(
        ["1", "2"],
        ["One", "Two"],
        ["", "text"],
        [["A", "B"], []],
        [{"year": np.int64(1995), "score": float("nan")}, {}],
    )
    write_catalogue(catalogue, tmp_path / CATALOGUE_FILE)
    back = read_catalogue(tmp_path / CATALOGUE_FILE)
    assert back.item("1")["attributes"] == {"year": 1995, "score": None}
    assert list(back.item("1")["categories"]) == ["A", "B"]
    assert back.item("2")["text"] == "text"


def test_a_large_catalogue_is_ranked_through_a_pool(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above EXACT_SIZE only the model's best POOL_SIZE items get the text terms; the
    slate is still the exact one (the disliked comedies' push brings in animation films
    from outside the first pool)."""
    from sessionrec.engine import ranking

    queries = [
        Query(events=views("a1", "a2", "t1", "t2", "t3", "a3"), k=8),
        Query(events=[*views("c1", "c2"), SessionEvent("c3", EventType.DISLIKE)], k=5),
        Query(events=views("t1"), text="funny comedy wedding", k=5, impressions={"c4": 2}),
    ]
    exact = [ids(engine, q) for q in queries]
    monkeypatch.setattr(ranking, "EXACT_SIZE", 10)
    monkeypatch.setattr(ranking, "POOL_SIZE", 12)
    pooled = [ids(engine, q) for q in queries]
    assert pooled[0] == exact[0]
    assert pooled[1] == exact[1] and "c3" not in pooled[1]
    assert sum(i.startswith("c") for i in pooled[2]) >= 4
    # A pool smaller than the slate, or one a dislike has pushed down, grows until no item
    # left outside could have made the slate.
    monkeypatch.setattr(ranking, "POOL_SIZE", 3)
    assert ids(engine, queries[1]) == exact[1]


@pytest.mark.parametrize("artifact", ["transformer_folder", "hybrid_folder"])
def test_the_engine_scores_items_exactly_as_the_model_does(
    artifact: str, request: pytest.FixtureRequest, encoder: TextEncoder
) -> None:
    """Through `EmbeddingModel` the engine's base scores are the model's own `score`:
    repeat offsets, a hybrid's kNN blend, text-head scores for an item added after
    training and sessions longer than the model reads included. Without feedback or a
    request, `Engine.scores` are those scores standardised over the scale sample: here
    every item the engine started with (fewer than `SCALE_SAMPLE`; the sample stays fixed
    as items are added)."""
    from sessionrec.artifact import load_artifact
    from sessionrec.engine.ranking import standardise
    from sessionrec.models.base import SessionBatch

    model = load_artifact(request.getfixturevalue(artifact))
    engine = Engine(model, encoder=encoder)
    scale_sample = np.arange(engine.n_items)
    engine.upsert_item("a-new", "New cartoon", text="cartoon animation kids family colourful")
    transformer = model.transformer if isinstance(model, Hybrid) else model
    assert isinstance(transformer, SessionTransformer) and transformer.repeat_bias() is not None
    assert transformer.borrows_untrained_vectors  # the text head scores the new item
    every_item = np.arange(engine.n_items)
    for items in (["a1", "a2", "a1"], ["t1", "a2", "t1", "c3"], [f"c{i % 12}" for i in range(30)]):
        got = engine.scores(Query(events=views(*items), exclude_seen=False))
        sequence = model.vocab.lookup(items)
        types = np.full(len(items), EventType.VIEW.code)
        base = model.score(SessionBatch([sequence], [types]))
        assert base.shape == (1, engine.n_items)
        expected = standardise(base.T, scale_sample).standard_rows(every_item)[:, 0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


class CountingIndex(ExactIndex):
    """An exact index that records the k of every search: any `ItemIndex` slots in."""

    searches: ClassVar[list[tuple[int, int]]] = []

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        CountingIndex.searches.append((len(self), k))
        return super().search(query, k, mask)


def test_item_vectors_are_searched_through_the_index_the_engine_is_given(
    transformer_folder: Path, encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sessionrec.engine import ranking

    engine = Engine.from_artifact(transformer_folder, encoder=encoder, index=CountingIndex)
    CountingIndex.searches.clear()
    assert engine.search("wedding laugh", limit=3)[0].item_id.startswith("c")
    assert CountingIndex.searches == [(36, 3)]  # no title matches: all three by text
    assert "a2" in engine.lookalikes("a1", 0.8)
    assert len(CountingIndex.searches) == 2
    engine.upsert_item("a-new", "New cartoon", text="cartoon animation kids family colourful")
    close = engine.lookalikes("a-new", 0.5)  # the grown index has the new row
    assert close and all(i.startswith("a") for i in close[:5])
    assert CountingIndex.searches[-1][0] == 37
    monkeypatch.setattr(ranking, "EXACT_SIZE", 10)
    monkeypatch.setattr(ranking, "POOL_SIZE", 12)
    CountingIndex.searches.clear()
    engine.recommend(Query(events=views("t1"), text="funny comedy wedding", k=5))
    assert (37, 12) in CountingIndex.searches  # the items matching the request alone


def test_requests_run_safely_while_items_are_added(engine: Engine) -> None:
    import threading

    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for i in range(15):
                slate = engine.recommend(Query(events=views("a1", f"t{i % 12}"), k=10))
                assert len(slate.items) == 10
        except BaseException as exc:  # collected for the main thread to report
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(8):
        engine.upsert_item(f"added-{i}", f"Added film {i}", text="comedy laugh funny")
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(engine.has_item(f"added-{i}") for i in range(8))


def test_training_records_event_types_and_the_catalogue(tmp_path: Path) -> None:
    from sessionrec.data.loaders import DataOptions
    from sessionrec.workflows.train import train_to_artifact

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.inter").write_text(
        "session_id:token\titem_id:token\ttimestamp:float\n"
        + "".join(f"s{s}\t{(s + k) % 4 + 1}\t{3 * s + k}\n" for s in range(12) for k in range(3))
    )
    (folder / "tiny.item").write_text(
        "item_id:token\tmovie_title:token_seq\tclass:token_seq\n"
        "1\tOne\tComedy\n2\tTwo\tDrama\n3\tThree\tComedy\n4\tFour\tDrama\n"
    )
    _, artifact = train_to_artifact(
        DataOptions(data=folder), "sr", tmp_path / "out", progress=False
    )
    manifest = read_manifest(artifact)
    assert sum(manifest["event_types"].values()) == 36
    catalogue = load_artifact_catalogue(artifact)
    assert catalogue is not None and catalogue.titles()["3"] == "Three"
