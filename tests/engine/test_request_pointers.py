"""Requests that point at items: titles mentioned act as likes (or, refused, as dislikes) of
the session, "the last one" as a like of the session's last item; their words do not steer."""

from __future__ import annotations

from sessionrec.data.schema import EventType
from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.engine.engine import session_events, steering_text
from sessionrec.engine.interpret import UnderstoodRequest


def genres(engine: Engine, query: Query) -> list[str]:
    return [item.item_id[0] for item in engine.recommend(query).items]


def test_a_liked_title_steers_like_a_like_and_is_not_offered_back(engine: Engine) -> None:
    comedies = [SessionEvent(f"c{i}", EventType.VIEW) for i in range(1, 4)]
    text = 'Hi! I loved "Thriller film 2" last night, got anything like it?'
    slate = engine.recommend(Query(events=comedies, text=text, k=6))
    assert slate.understood is not None and slate.understood["mentions"] == ["t2"]
    ids = [item.item_id for item in slate.items]
    assert "t2" not in ids
    assert sum(i.startswith("t") for i in ids) >= 3
    plain = genres(engine, Query(events=comedies, k=6))
    assert plain.count("t") < sum(i.startswith("t") for i in ids)
    assert any(
        r.kind == "liked" and r.item_ids == ("t2",) for item in slate.items for r in item.reasons
    )


def test_a_refused_title_acts_as_a_dislike(engine: Engine) -> None:
    session = [SessionEvent(f"a{i}", EventType.VIEW) for i in range(1, 4)]
    slate = engine.recommend(Query(events=session, text='nothing like "Animation film 5"', k=30))
    assert slate.understood is not None and slate.understood["avoid_mentions"] == ["a5"]
    assert "a5" not in [item.item_id for item in slate.items]


def test_the_last_one_is_the_sessions_last_item_not_turned_down(engine: Engine) -> None:
    events = [
        SessionEvent("a1", EventType.VIEW),
        SessionEvent("t3", EventType.VIEW),
        SessionEvent("c2", EventType.DISLIKE),
    ]
    understood = UnderstoodRequest(reference="last")
    extended = session_events(events, understood)
    assert extended[-1] == SessionEvent("t3", EventType.LIKE)
    assert session_events(events, None) is events
    assert steering_text("more like the last one", understood) is None
    top = genres(engine, Query(events=events, text="more like the last one", k=3))
    assert top.count("t") >= 2
