"""Every reason a slate gives is checked against the measure it names: 'close to X' against
X's nearest items by text cosine, an interest against the session mixture's own model and
the categories its members share, a request match against the item's facets."""

from __future__ import annotations

import numpy as np

from sessionrec.data.schema import EventType
from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.explain import CLOSE_AT_LEAST, CLOSE_SHARE
from sessionrec.engine.feedback import ResolvedSession, read_session
from sessionrec.engine.interests import interest_memberships

MIXED = [
    *(SessionEvent(f"a{i}", EventType.LIKE) for i in range(1, 5)),
    *(SessionEvent(f"t{i}", EventType.VIEW) for i in range(1, 5)),
]


def closest(engine: Engine, item_id: str) -> set[str]:
    """The ids within `item_id`'s CLOSE_SHARE (at least CLOSE_AT_LEAST) nearest, by brute
    force over the whole (small) catalogue; ties at the boundary count as outside."""
    snapshot = engine._snapshot
    similarity = snapshot.arrays.similarity
    row = snapshot.arrays.vocab.index(item_id)
    cosines = similarity @ similarity[row]
    cosines[row] = -np.inf
    within = max(CLOSE_AT_LEAST, round(CLOSE_SHARE * (len(cosines) - 1)))
    boundary = np.sort(cosines)[::-1][within]
    return set(np.asarray(engine.vocabulary_ids)[cosines > boundary].tolist())


def test_close_to_is_said_only_of_the_anchors_nearest_items(engine: Engine) -> None:
    slate = engine.recommend(Query(events=MIXED, k=12))
    claims = 0
    for item in slate.items:
        for reason in item.reasons:
            if reason.kind in ("liked", "similar_to"):
                claims += 1
                (anchor,) = reason.item_ids
                assert item.item_id in closest(engine, anchor), (item, reason)
    assert claims >= 3


def test_an_interest_is_named_only_for_its_members_and_by_what_they_share(
    engine: Engine,
) -> None:
    slate = engine.recommend(Query(events=MIXED, k=12))
    assert len(slate.interests) == 2
    snapshot = engine._snapshot
    rows = snapshot.arrays.vocab.lookup([i.item_id for i in slate.items])
    session = engine._interests(snapshot, _resolved(engine, MIXED))
    belongs = interest_memberships(snapshot, session, rows)
    named = 0
    for item, member_of in zip(slate.items, belongs, strict=True):
        for reason in item.reasons:
            if reason.kind != "interest":
                continue
            named += 1
            assert member_of is not None
            interest = slate.interests[member_of]
            assert reason.text == f"for your interest in {interest.label}"
            # The label is a category every member of the interest has, and so has the item.
            for member in interest.item_ids:
                info = engine.item(member)
                assert info is not None and interest.label in info.categories
            info = engine.item(item.item_id)
            assert info is not None and interest.label in info.categories
    assert named >= 2


def test_an_item_far_from_every_interest_belongs_to_none(engine: Engine) -> None:
    snapshot = engine._snapshot
    interests = engine._interests(snapshot, _resolved(engine, MIXED))
    rows = snapshot.arrays.vocab.lookup(["a7", "t7", "c7"])
    assert interest_memberships(snapshot, interests, rows)[2] is None  # a comedy


def test_a_slate_item_is_tagged_with_the_interest_its_reason_names(engine: Engine) -> None:
    """`interest_label` is what the web page's "for Animation" tag shows: in a session of
    several interests, exactly the interest its "for your interest in …" reason names (the
    mixture's own assignment, where the item has the label's category), with or without
    explanations; not the share of the slate the item happens to fill."""
    named = 0
    for text in (None, "a comedy", "an animation film"):
        slate = engine.recommend(Query(events=MIXED, text=text, k=12))
        assert len(slate.interests) == 2
        bare = engine.recommend(Query(events=MIXED, text=text, k=12, explain=False))
        assert [i.item_id for i in bare.items] == [i.item_id for i in slate.items]
        for item, same in zip(slate.items, bare.items, strict=True):
            said = [r.text for r in item.reasons if r.kind == "interest"]
            expected = said[0].removeprefix("for your interest in ") if said else None
            assert item.interest_label == same.interest_label == expected, item
            named += expected is not None
    assert named >= 8


def test_in_a_session_of_one_interest_its_category_is_the_tag(engine: Engine) -> None:
    events = [SessionEvent(f"a{i}", EventType.LIKE) for i in range(1, 4)]
    slate = engine.recommend(Query(events=events, k=12))
    assert [i.label for i in slate.interests] == ["Animation"]
    tags = []
    for item in slate.items:
        info = engine.item(item.item_id)
        assert info is not None
        expected = "Animation" if "Animation" in info.categories else None
        assert item.interest_label == expected, item
        tags.append(expected)
    assert "Animation" in tags and None in tags


def test_a_request_reason_names_only_facets_the_item_has(engine: Engine) -> None:
    slate = engine.recommend(Query(events=MIXED, text="an animation film, not a thriller", k=10))
    assert slate.understood is not None
    assert slate.understood["include"] == ["Animation"]
    assert slate.understood["exclude"] == ["Thriller"]
    for item in slate.items:
        info = engine.item(item.item_id)
        assert info is not None
        request = [r.text for r in item.reasons if r.kind == "request"]
        if "Animation" in info.categories:
            assert request == ["Animation, not Thriller, as you asked"]
        else:
            assert not request or "Animation" not in request[0]
        assert "Thriller" not in info.categories


def _resolved(engine: Engine, events: list[SessionEvent]) -> ResolvedSession:
    return read_session(events, engine._snapshot.arrays.vocab)
