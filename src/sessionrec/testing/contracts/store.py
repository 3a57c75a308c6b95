"""The contract of a session store (`sessionrec.store.SessionStore`)."""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from sessionrec.errors import ConfigError
from sessionrec.store import SessionNotFound, SessionStore, StoredEvent

UNICODE_IDS = ["Amélie (2001)", "東京物語", "🎬 popcorn", 'quote " and \\ backslash', "a:b*c?"]


def ev(item: str, kind: str = "click", ts: float = 1.0) -> StoredEvent:
    """A stored event, clicks at time 1 unless told otherwise."""
    return StoredEvent(item, kind, ts)


class SessionStoreContract(ABC):
    """Sessions, events, impressions, outcomes, admin items, persistence and concurrency
    tests every store passes; subclass and say how to open one.

    Every test starts from an empty store. `make_store` may read `self.tmp_path` (the
    test's temporary folder, set before it is called); stores it opens are closed after
    the test. Where a store needs a server, start it in a fixture of the subclass (an
    autouse fixture runs before `make_store` is called).
    """

    reopenable: ClassVar[bool] = True
    """Whether a second `make_store()` in one test opens the same store as the first
    (False for a store private to its handle, like SQLite in memory: the persistence
    tests are skipped)."""
    tmp_path: Path

    @abstractmethod
    def make_store(self) -> SessionStore:
        """Open a handle on this test's store: empty at the first call of a test; later
        calls in the same test open the same store again (see `reopenable`)."""

    @pytest.fixture(autouse=True)
    def _stores_of_the_test(self, tmp_path: Path) -> Iterator[None]:
        self.tmp_path = tmp_path
        self._opened: list[SessionStore] = []
        yield
        for store in self._opened:
            store.close()

    def open_store(self) -> SessionStore:
        """`make_store()`, closed after the test."""
        store = self.make_store()
        self._opened.append(store)
        return store

    @pytest.fixture
    def store(self) -> SessionStore:
        """The test's store, open."""
        return self.open_store()

    # -- sessions and tokens -------------------------------------------------------------------

    def test_create_session_gives_distinct_unguessable_ids(self, store: SessionStore) -> None:
        ids = {store.create_session(f"hash{i}") for i in range(20)}
        assert len(ids) == 20
        for sid in ids:
            assert len(sid) >= 32
            assert all(c.isalnum() or c in "-_" for c in sid)

    def test_token_hash_round_trips_and_unknown_is_none(self, store: SessionStore) -> None:
        a = store.create_session("hash-a")
        b = store.create_session("hash-b")
        assert store.token_hash(a) == "hash-a"
        assert store.token_hash(b) == "hash-b"
        assert store.token_hash("no-such-session") is None
        for odd in ("", "../etc/passwd", "a*", "a:b", "x" * 10_000, "sessionrec:items"):
            assert store.token_hash(odd) is None

    def test_new_session_is_empty(self, store: SessionStore) -> None:
        sid = store.create_session("h")
        assert store.events(sid) == []
        assert store.impressions(sid) == {}

    # -- events --------------------------------------------------------------------------------

    def test_append_keeps_order_across_batches(self, store: SessionStore) -> None:
        sid = store.create_session("h")
        first = [ev("1", "view", 10.0), ev("2", "click", 11.5), ev("3", "cart", 12.25)]
        second = [ev("2", "purchase", 13.0), ev("9", "dislike", 14.0)]
        assert store.append_events(sid, first) == 3
        assert store.append_events(sid, []) == 0
        assert store.append_events(sid, second) == 2
        assert store.events(sid) == first + second

    def test_events_are_per_session(self, store: SessionStore) -> None:
        a = store.create_session("h")
        b = store.create_session("h")
        store.append_events(a, [ev("1")])
        store.append_events(b, [ev("2"), ev("3")])
        store.append_events(a, [ev("4")])
        assert [e.item_id for e in store.events(a)] == ["1", "4"]
        assert [e.item_id for e in store.events(b)] == ["2", "3"]

    def test_timestamps_and_types_are_kept_exactly(self, store: SessionStore) -> None:
        sid = store.create_session("h")
        events = [ev("1", "like", 1_700_000_000.123456), ev("1", "skip", 0.0), ev("2", "view", 5)]
        store.append_events(sid, events)
        back = store.events(sid)
        assert [(e.item_id, e.type) for e in back] == [("1", "like"), ("1", "skip"), ("2", "view")]
        assert [e.timestamp for e in back] == [1_700_000_000.123456, 0.0, 5.0]
        assert all(isinstance(e.timestamp, float) for e in back)

    def test_unknown_session_raises_and_writes_nothing(self, store: SessionStore) -> None:
        with pytest.raises(SessionNotFound, match="nope"):
            store.append_events("nope", [ev("1")])
        with pytest.raises(SessionNotFound):
            store.append_events("nope", [])
        with pytest.raises(SessionNotFound):
            store.events("nope")
        with pytest.raises(SessionNotFound):
            store.record_impressions("nope", ["1"])
        with pytest.raises(SessionNotFound):
            store.events("../../x")
        with pytest.raises(SessionNotFound) as caught:
            store.events("y" * 100_000)
        assert len(str(caught.value)) < 120
        assert store.impressions("nope") == {}
        assert store.delete_session("nope") is False
        assert store.token_hash("nope") is None

    @pytest.mark.parametrize(
        ("bad", "message"),
        [
            (StoredEvent("", "click", 1.0), "item_id"),
            (StoredEvent("x" * 257, "click", 1.0), "item_id is longer than 256"),
            (StoredEvent("1", "", 1.0), "type"),
            (StoredEvent("1", "click", math.nan), "timestamp"),
            (StoredEvent("1", "click", math.inf), "timestamp"),
        ],
    )
    def test_invalid_event_rejects_the_whole_batch(
        self, store: SessionStore, bad: StoredEvent, message: str
    ) -> None:
        sid = store.create_session("h")
        with pytest.raises(ConfigError, match=f"event 1: {message}"):
            store.append_events(sid, [ev("ok"), bad])
        assert store.events(sid) == []

    # -- retracted feedback --------------------------------------------------------------------

    def test_retract_feedback_removes_only_that_items_likes_and_dislikes(
        self, store: SessionStore
    ) -> None:
        sid = store.create_session("h")
        other = store.create_session("h")
        events = [
            ev("1", "view", 1.0),
            ev("1", "like", 2.0),
            ev("2", "click", 3.0),
            ev("1", "dislike", 4.0),
            ev("2", "like", 5.0),
            ev("1", "click", 6.0),
            ev("1", "like", 7.0),
        ]
        store.append_events(sid, events)
        store.append_events(other, [ev("1", "like", 1.0)])
        store.record_impressions(sid, ["1"])
        store.record_outcome("1", True)

        assert store.retract_feedback(sid, "1") == 3

        assert store.events(sid) == [events[0], events[2], events[4], events[5]]
        assert store.retract_feedback(sid, "1") == 0  # nothing left to take back
        assert store.retract_feedback(sid, "never-rated") == 0
        # Other sessions, impressions and global outcomes are untouched.
        assert store.events(other) == [ev("1", "like", 1.0)]
        assert store.impressions(sid) == {"1": 1}
        assert store.item_outcomes(["1"]) == {"1": (1, 0)}
        # The log goes on after a retraction, in order.
        store.append_events(sid, [ev("1", "like", 8.0)])
        assert store.events(sid)[-2:] == [events[5], ev("1", "like", 8.0)]

    def test_retract_feedback_of_identical_events_removes_every_copy(
        self, store: SessionStore
    ) -> None:
        sid = store.create_session("h")
        store.append_events(sid, [ev("東京物語", "like", 1.0)] * 3 + [ev("x", "view", 2.0)])
        assert store.retract_feedback(sid, "東京物語") == 3
        assert store.events(sid) == [ev("x", "view", 2.0)]

    def test_retract_feedback_of_unknown_session_or_bad_item_raises(
        self, store: SessionStore
    ) -> None:
        for odd in ("nope", "../../x", "y" * 100_000):
            with pytest.raises(SessionNotFound):
                store.retract_feedback(odd, "1")
        sid = store.create_session("h")
        store.append_events(sid, [ev("1", "like")])
        for bad in ("", "z" * 257):
            with pytest.raises(ConfigError, match="item_id"):
                store.retract_feedback(sid, bad)
        assert store.delete_session(sid) is True
        with pytest.raises(SessionNotFound):
            store.retract_feedback(sid, "1")

    def test_retract_feedback_persists_across_reopen(self) -> None:
        if not self.reopenable:
            pytest.skip("an in-memory database ends with its connection")
        first = self.open_store()
        sid = first.create_session("h")
        first.append_events(sid, [ev("1", "like", 1.0), ev("2", "view", 2.0)])
        assert first.retract_feedback(sid, "1") == 1
        first.close()
        second = self.open_store()
        assert second.events(sid) == [ev("2", "view", 2.0)]

    def test_retract_racing_appends_loses_no_other_event(self, store: SessionStore) -> None:
        """Appends of other events while feedback is retracted over and over: every appended
        event survives, in order, and no like is left behind once the last retract ran."""
        sid = store.create_session("h")
        n_threads, n_batches = 3, 40
        errors: list[BaseException] = []
        start = threading.Barrier(n_threads + 1)

        def append(t: int) -> None:
            try:
                start.wait()
                for b in range(n_batches):
                    store.append_events(sid, [ev(f"{t}-{b}", "click"), ev("hot", "like")])
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=append, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        start.wait()
        removed = 0
        while any(th.is_alive() for th in threads):
            removed += store.retract_feedback(sid, "hot")
        for th in threads:
            th.join()
        removed += store.retract_feedback(sid, "hot")
        assert errors == []
        assert removed == n_threads * n_batches
        ids = [e.item_id for e in store.events(sid)]
        for t in range(n_threads):  # all there, each thread's in its order
            mine = [f"{t}-{b}" for b in range(n_batches)]
            assert [i for i in ids if i.startswith(f"{t}-")] == mine
        assert len(ids) == n_threads * n_batches

    # -- deletion ------------------------------------------------------------------------------

    def test_delete_removes_everything_of_the_session(self, store: SessionStore) -> None:
        sid = store.create_session("h")
        other = store.create_session("h2")
        store.append_events(sid, [ev("1"), ev("2")])
        store.record_impressions(sid, ["1", "3"])
        store.append_events(other, [ev("7")])
        store.record_impressions(other, ["7"])
        store.record_outcome("1", True)
        store.upsert_item({"item_id": "new", "title": "New"})

        assert store.delete_session(sid) is True

        assert store.token_hash(sid) is None
        with pytest.raises(SessionNotFound):
            store.events(sid)
        assert store.impressions(sid) == {}
        with pytest.raises(SessionNotFound):
            store.append_events(sid, [ev("1")])
        with pytest.raises(SessionNotFound):
            store.record_impressions(sid, ["1"])
        assert store.delete_session(sid) is False
        # Other sessions and global statistics are untouched.
        assert store.events(other) == [ev("7")]
        assert store.impressions(other) == {"7": 1}
        assert store.item_outcomes(["1"]) == {"1": (1, 0)}
        assert [i["item_id"] for i in store.items()] == ["new"]

    def test_delete_racing_appends_leaves_no_session(self, store: SessionStore) -> None:
        """Appends racing a delete: once one fails, none succeeds again (no resurrection)."""
        sid = store.create_session("h")
        logs: list[list[str]] = [[] for _ in range(4)]
        start = threading.Barrier(5)

        def append(log: list[str]) -> None:
            start.wait()
            for _ in range(5000):
                try:
                    store.append_events(sid, [ev("1")])
                    log.append("ok")
                except SessionNotFound:
                    log.append("gone")
                    if log.count("gone") == 3:
                        return

        threads = [threading.Thread(target=append, args=(log,)) for log in logs]
        for t in threads:
            t.start()
        start.wait()
        assert store.delete_session(sid) is True
        for t in threads:
            t.join()
        for log in logs:
            assert log[-3:] == ["gone"] * 3
            assert "ok" not in log[log.index("gone") :]
        assert store.token_hash(sid) is None
        with pytest.raises(SessionNotFound):
            store.events(sid)

    # -- listing, last activity and retention -------------------------------------------------

    def test_session_ids_lists_live_sessions_oldest_created_first(
        self, store: SessionStore
    ) -> None:
        assert store.session_ids() == []
        made = []
        for _ in range(4):
            made.append(store.create_session("h"))
            time.sleep(0.002)  # distinct creation times
        store.append_events(made[0], [ev("1")])  # activity does not reorder the list
        assert store.delete_session(made[2]) is True
        assert store.session_ids() == [made[0], made[1], made[3]]

    def test_last_active_is_the_stores_clock_moved_by_writes_only(
        self, store: SessionStore
    ) -> None:
        before = time.time()
        sid = store.create_session("h")
        created = store.last_active(sid)
        assert created is not None and before <= created <= time.time()
        writes: list[Callable[[], object]] = [
            # A client's timestamp (here the epoch) is never the activity time.
            lambda: store.append_events(sid, [ev("1", "like", 0.0)]),
            lambda: store.record_impressions(sid, ["1"]),
            lambda: store.retract_feedback(sid, "1"),
        ]
        previous = created
        for write in writes:
            time.sleep(0.005)
            start = time.time()
            write()
            now = store.last_active(sid)
            assert now is not None and now >= start > previous
            previous = now
        store.events(sid)
        store.impressions(sid)
        store.token_hash(sid)
        store.session_ids()
        assert store.last_active(sid) == previous  # reads never move it
        assert store.last_active("nope") is None
        assert store.last_active("y" * 10_000) is None
        store.delete_session(sid)
        assert store.last_active(sid) is None

    def test_delete_inactive_removes_old_sessions_whole_and_nothing_else(
        self, store: SessionStore
    ) -> None:
        old = [store.create_session("h") for _ in range(3)]
        for sid in old:
            store.append_events(sid, [ev("1"), ev("2")])
            store.record_impressions(sid, ["1"])
        revived = store.create_session("h")
        store.record_outcome("1", True)
        store.upsert_item({"item_id": "new", "title": "New"})
        time.sleep(0.01)
        cutoff = time.time()
        time.sleep(0.01)
        store.append_events(revived, [ev("3", "view", 1.0)])  # created before, active after
        fresh = store.create_session("h")

        assert store.delete_inactive(cutoff) == 3

        for sid in old:
            assert store.token_hash(sid) is None
            assert store.last_active(sid) is None
            assert store.impressions(sid) == {}
            with pytest.raises(SessionNotFound):
                store.events(sid)
            with pytest.raises(SessionNotFound):
                store.append_events(sid, [ev("1")])
        assert store.session_ids() == [revived, fresh]
        assert store.events(revived) == [ev("3", "view", 1.0)]
        assert store.item_outcomes(["1"]) == {"1": (1, 0)}
        assert [i["item_id"] for i in store.items()] == ["new"]
        assert store.delete_inactive(cutoff) == 0  # nothing left to sweep
        assert store.delete_inactive(0.0) == 0

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "yesterday", True])
    def test_delete_inactive_refuses_a_cutoff_that_is_not_a_time(
        self, store: SessionStore, bad: object
    ) -> None:
        sid = store.create_session("h")
        with pytest.raises(ConfigError, match="unix seconds"):
            store.delete_inactive(bad)  # type: ignore[arg-type]
        assert store.session_ids() == [sid]

    def test_many_sessions_are_swept_in_batches(self, store: SessionStore) -> None:
        n = 1001  # more than one batch of every back end
        for _ in range(n):
            store.create_session("h")
        keep = store.create_session("h")
        assert store.delete_inactive(store.last_active(keep) or 0.0) == n
        assert store.session_ids() == [keep]

    def test_sweeps_from_several_stores_at_once_count_each_session_once(self) -> None:
        if not self.reopenable:
            pytest.skip("each in-memory database is private to its store")
        handles = [self.open_store() for _ in range(3)]
        for i in range(60):
            sid = handles[i % 3].create_session("h")
            handles[i % 3].append_events(sid, [ev("1")])
        time.sleep(0.01)
        cutoff = time.time()
        counts: list[int] = []
        start = threading.Barrier(len(handles))

        def sweep(store: SessionStore) -> None:
            start.wait()
            counts.append(store.delete_inactive(cutoff))

        threads = [threading.Thread(target=sweep, args=(h,)) for h in handles]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sum(counts) == 60
        assert handles[0].session_ids() == []

    def test_a_write_racing_a_sweep_either_keeps_the_session_or_finds_none(
        self, store: SessionStore
    ) -> None:
        """Each write lands after the cut-off: a session that took one must survive the
        sweep with it, and a swept session must have taken none."""
        sessions = [store.create_session("h") for _ in range(40)]
        time.sleep(0.01)
        cutoff = time.time()
        landed: dict[str, int] = dict.fromkeys(sessions, 0)
        start = threading.Barrier(2)

        def append() -> None:
            start.wait()
            for sid in sessions:
                try:
                    store.append_events(sid, [ev("1")])
                    landed[sid] += 1
                except SessionNotFound:
                    pass

        writer = threading.Thread(target=append)
        writer.start()
        start.wait()
        swept = store.delete_inactive(cutoff)
        writer.join()
        alive = set(store.session_ids())
        assert swept == len(sessions) - len(alive)
        for sid in sessions:
            if sid in alive:  # kept: only because a write had landed
                assert landed[sid] == 1
                assert [e.item_id for e in store.events(sid)] == ["1"]
            else:
                assert landed[sid] == 0

    # -- impressions ---------------------------------------------------------------------------

    def test_impressions_count_each_showing(self, store: SessionStore) -> None:
        a = store.create_session("h")
        b = store.create_session("h")
        store.record_impressions(a, ["1", "2", "1"])
        store.record_impressions(a, ["2", "3"])
        store.record_impressions(a, [])
        store.record_impressions(b, ["1"])
        assert store.impressions(a) == {"1": 2, "2": 2, "3": 1}
        assert store.impressions(b) == {"1": 1}

    # -- global outcomes -----------------------------------------------------------------------

    def test_outcomes_are_counted_per_item(self, store: SessionStore) -> None:
        for positive in (True, True, False):
            store.record_outcome("a", positive)
        store.record_outcome("b", False)
        assert store.item_outcomes(["a", "b", "never", "a"]) == {"a": (2, 1), "b": (0, 1)}
        assert store.item_outcomes([]) == {}
        assert store.item_outcomes(["never"]) == {}

    @pytest.mark.parametrize("bad", ["", "z" * 257])
    def test_outcome_for_invalid_item_id_is_rejected(self, store: SessionStore, bad: str) -> None:
        with pytest.raises(ConfigError, match="item_id"):
            store.record_outcome(bad, True)
        assert store.item_outcomes([bad]) == {}

    def test_outcomes_for_many_items_at_once(self, store: SessionStore) -> None:
        ids = [str(i) for i in range(1200)]
        for item in ids[::40]:
            store.record_outcome(item, True)
        got = store.item_outcomes(ids)
        assert got == {item: (1, 0) for item in ids[::40]}

    # -- admin items ---------------------------------------------------------------------------

    def test_items_upsert_replace_keep_first_order(self, store: SessionStore) -> None:
        store.upsert_item({"item_id": "a", "title": "A", "categories": ["x"]})
        store.upsert_item({"item_id": "b", "title": "B", "attributes": {"year": "1999"}})
        store.upsert_item({"item_id": "a", "title": "A2", "text": "new text"})
        assert store.items() == [
            {"item_id": "a", "title": "A2", "text": "new text"},
            {"item_id": "b", "title": "B", "attributes": {"year": "1999"}},
        ]

    @pytest.mark.parametrize(
        ("item", "message"),
        [
            ({"title": "no id"}, "item_id"),
            ({"item_id": "", "title": "empty"}, "item_id"),
            ({"item_id": 5, "title": "int id"}, "item_id"),
            ({"item_id": "y" * 257}, "longer than 256"),
            ({"item_id": "s", "tags": {1, 2}}, "JSON"),
            ({"item_id": "n", "score": math.nan}, "JSON"),
        ],
    )
    def test_invalid_item_is_rejected(
        self, store: SessionStore, item: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ConfigError, match=message):
            store.upsert_item(item)
        assert store.items() == []

    # -- persistence ---------------------------------------------------------------------------

    def test_everything_persists_across_reopen(self) -> None:
        if not self.reopenable:
            pytest.skip("an in-memory database ends with its connection")
        first = self.open_store()
        sid = first.create_session("h")
        first.append_events(sid, [ev("1", "view", 3.0), ev("2", "like", 4.0)])
        first.record_impressions(sid, ["5", "5"])
        first.record_outcome("2", True)
        first.upsert_item({"item_id": "n1", "title": "One"})
        first.upsert_item({"item_id": "n2", "title": "Two"})
        first.upsert_item({"item_id": "n1", "title": "One again"})
        first.close()

        second = self.open_store()
        assert second.token_hash(sid) == "h"
        assert second.events(sid) == [ev("1", "view", 3.0), ev("2", "like", 4.0)]
        assert second.impressions(sid) == {"5": 2}
        assert second.item_outcomes(["2"]) == {"2": (1, 0)}
        assert second.items() == [
            {"item_id": "n1", "title": "One again"},
            {"item_id": "n2", "title": "Two"},
        ]
        second.append_events(sid, [ev("3")])
        assert [e.item_id for e in second.events(sid)] == ["1", "2", "3"]

    def test_two_open_stores_see_each_others_writes(self) -> None:
        if not self.reopenable:
            pytest.skip("each in-memory database is private to its store")
        a, b = self.open_store(), self.open_store()
        sid = a.create_session("h")
        b.append_events(sid, [ev("1")])
        a.append_events(sid, [ev("2")])
        assert [e.item_id for e in b.events(sid)] == ["1", "2"]
        assert b.delete_session(sid) is True
        assert a.token_hash(sid) is None

    # -- concurrency ---------------------------------------------------------------------------

    def test_concurrent_appends_lose_nothing_and_keep_batches_whole(
        self, store: SessionStore
    ) -> None:
        sid = store.create_session("h")
        n_threads, n_batches, batch = 6, 20, 4
        errors: list[BaseException] = []
        start = threading.Barrier(n_threads)

        def worker(t: int) -> None:
            try:
                start.wait()
                for b in range(n_batches):
                    events = [ev(f"{t}-{b}-{j}", "click", float(j)) for j in range(batch)]
                    assert store.append_events(sid, events) == batch
                    store.record_impressions(sid, [f"t{t}"])
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []

        ids = [e.item_id for e in store.events(sid)]
        assert len(ids) == n_threads * n_batches * batch
        assert len(set(ids)) == len(ids)
        # Every batch is contiguous and in order, and each thread's batches keep their order.
        seen_batches: dict[str, list[int]] = {}
        for pos in range(0, len(ids), batch):
            chunk = ids[pos : pos + batch]
            t, b, _ = chunk[0].split("-")
            assert chunk == [f"{t}-{b}-{j}" for j in range(batch)]
            seen_batches.setdefault(t, []).append(int(b))
        assert all(order == list(range(n_batches)) for order in seen_batches.values())
        assert store.impressions(sid) == {f"t{t}": n_batches for t in range(n_threads)}

    def test_concurrent_outcomes_are_all_counted(self, store: SessionStore) -> None:
        def worker() -> None:
            for i in range(25):
                store.record_outcome("hot", i % 5 != 0)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert store.item_outcomes(["hot"]) == {"hot": (80, 20)}

    # -- unicode -------------------------------------------------------------------------------

    def test_unicode_ids_round_trip(self, store: SessionStore) -> None:
        sid = store.create_session("h")
        store.append_events(sid, [ev(i, "view", float(n)) for n, i in enumerate(UNICODE_IDS)])
        store.record_impressions(sid, UNICODE_IDS)
        for i in UNICODE_IDS:
            store.record_outcome(i, True)
            store.upsert_item({"item_id": i, "title": f"Titel „{i}“"})
        assert [e.item_id for e in store.events(sid)] == UNICODE_IDS
        assert store.impressions(sid) == dict.fromkeys(UNICODE_IDS, 1)
        assert store.item_outcomes(UNICODE_IDS) == dict.fromkeys(UNICODE_IDS, (1, 0))
        assert [it["item_id"] for it in store.items()] == UNICODE_IDS
        assert store.items()[1]["title"] == "Titel „東京物語“"

    # -- health --------------------------------------------------------------------------------

    def test_ping_answers(self, store: SessionStore) -> None:
        assert store.ping() is True
