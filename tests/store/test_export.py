"""The store's sessions as a training log (`store.export`): what `sessionrec retrain` reads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionrec.data.schema import EVENT_TYPE, ITEM_ID, SESSION_ID, TIMESTAMP
from sessionrec.store import SessionStore, StoredEvent, open_store
from sessionrec.store.export import export_sessions


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    with open_store(f"sqlite:///{tmp_path / 'sessions.db'}") as opened:
        yield opened


def session(store: SessionStore, *events: tuple[str, str, float]) -> str:
    sid = store.create_session("h")
    store.append_events(sid, [StoredEvent(*e) for e in events])
    time.sleep(0.002)  # distinct creation and activity times
    return sid


def test_sessions_come_in_creation_order_each_in_append_order(store: SessionStore) -> None:
    first = session(store, ("a", "view", 10.0), ("b", "click", 11.0), ("c", "cart", 12.0))
    second = session(store, ("x", "view", 5.0), ("y", "purchase", 6.0))
    store.append_events(first, [StoredEvent("d", "like", 13.0)])  # later activity: same place
    exported = export_sessions(store, "sqlite:///s.db")
    frame = exported.interactions.frame
    assert list(frame[SESSION_ID]) == [first] * 4 + [second] * 2
    assert list(frame[ITEM_ID]) == ["a", "b", "c", "d", "x", "y"]
    assert list(frame[EVENT_TYPE]) == ["view", "click", "cart", "like", "view", "purchase"]
    assert list(frame[TIMESTAMP]) == [10.0, 11.0, 12.0, 13.0, 5.0, 6.0]
    assert exported.interactions.has_sessions and exported.interactions.source == "sqlite:///s.db"
    assert set(exported.last_active) == {first, second}
    assert exported.last_active[first] == store.last_active(first)
    assert exported.last_active[first] > exported.last_active[second]


def test_deleted_sessions_dislikes_skips_and_short_sessions_add_nothing(
    store: SessionStore,
) -> None:
    kept = session(
        store,
        ("a", "view", 1.0),
        ("bad", "dislike", 2.0),
        ("b", "click", 3.0),
        ("meh", "skip", 4.0),
        ("c", "like", 5.0),
    )
    gone = session(store, ("secret", "view", 1.0), ("secret-2", "view", 2.0))
    session(store, ("only", "view", 1.0))  # one event: no next item to learn
    session(store, ("a", "view", 1.0), ("x", "dislike", 2.0))  # one left after the dislike
    session(store)  # no events at all
    store.append_events(session(store), [StoredEvent("a", "teleport", 1.0)] * 3)  # no such type
    assert store.delete_session(gone)

    exported = export_sessions(store)
    frame = exported.interactions.frame
    assert list(frame[ITEM_ID]) == ["a", "b", "c"]
    assert set(frame[SESSION_ID]) == {kept}
    assert not frame[ITEM_ID].isin(["secret", "secret-2", "only", "bad", "meh"]).any()
    assert exported.summary() == {
        "sessions_read": 5,
        "events_read": 11,
        "sessions": 1,
        "events": 3,
        "short_sessions": 4,
        "left_out_events": 6,
    }


def test_timestamps_out_of_order_keep_the_order_of_appending(store: SessionStore) -> None:
    """Client clocks can be anything: a timestamp earlier than one before it is raised to
    it, so sorting by time (as training does) keeps the order events were appended in."""
    sid = session(store, ("a", "view", 50.0), ("b", "view", 10.0), ("c", "view", 60.0))
    frame = export_sessions(store).interactions.frame
    assert list(frame[TIMESTAMP]) == [50.0, 50.0, 60.0]
    ordered = frame.sort_values(TIMESTAMP, kind="stable")
    assert list(ordered[ITEM_ID]) == ["a", "b", "c"] and set(frame[SESSION_ID]) == {sid}


def test_an_empty_store_exports_an_empty_log(store: SessionStore) -> None:
    exported = export_sessions(store)
    assert len(exported.interactions) == 0 and exported.n_sessions == 0
    assert list(exported.interactions.frame.columns)[:3] == [SESSION_ID, "user_id", ITEM_ID]
