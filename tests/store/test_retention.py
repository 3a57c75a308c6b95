"""Session retention (`store.retention`): sweeps by the store's clock, once or on a schedule."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionrec.errors import ConfigError
from sessionrec.store import SessionStore, StoredEvent, open_store
from sessionrec.store.retention import (
    DAY_SECONDS,
    RetentionSweeper,
    check_retention_days,
    sweep_inactive,
)
from sessionrec.testing.redis_server import RedisServer


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.service)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sessions.db'}"
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        url = f"{server.url}?prefix=t{uuid.uuid4().hex}:"
    with open_store(url) as opened:
        yield opened


def test_a_sweep_deletes_what_was_inactive_for_longer_than_the_days(store: SessionStore) -> None:
    """The clock is faked through `now`: 'ten days later' deletes what was last written to
    more than seven days before then."""
    old = store.create_session("h")
    store.append_events(old, [StoredEvent("1", "view", 1.0)])
    later = store.create_session("h")
    store.append_events(later, [StoredEvent("2", "view", 1.0)])
    old_write, later_write = store.last_active(old), store.last_active(later)
    assert old_write is not None and later_write is not None and old_write < later_write
    assert sweep_inactive(store, 7, now=time.time() + 6.9 * DAY_SECONDS) == 0
    # Seven days after a moment between the two writes: only `old` is past its retention.
    between = (old_write + later_write) / 2
    assert sweep_inactive(store, 7, now=between + 7 * DAY_SECONDS) == 1
    assert store.session_ids() == [later]
    assert sweep_inactive(store, 0.5, now=time.time() + DAY_SECONDS) == 1
    assert store.session_ids() == []


def test_a_sweep_logs_how_many_it_deleted(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        store.create_session("h")
    with caplog.at_level("INFO", logger="sessionrec"):
        sweep_inactive(store, 1, now=time.time() + 2 * DAY_SECONDS)
    assert "retention: deleted 3 sessions inactive for more than 1 days" in caplog.text


def test_the_sweeper_runs_at_once_and_then_on_its_schedule(store: SessionStore) -> None:
    store.create_session("h")
    sweeper = RetentionSweeper(store, 0.2 / DAY_SECONDS, every_seconds=0.1)  # 0.2 s
    sweeper.start()
    try:
        deadline = time.monotonic() + 5
        while store.session_ids() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.session_ids() == []  # the first sweep waits for nothing
        fresh = store.create_session("h")
        assert fresh in store.session_ids()  # young: kept by the next sweeps ...
        while store.session_ids() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.session_ids() == []  # ... until it is 0.2 s old
        assert sweeper.sweeps >= 3
    finally:
        sweeper.stop()


def test_a_failing_sweep_is_logged_and_the_schedule_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.close()  # every sweep fails
    sweeper = RetentionSweeper(store, 1, every_seconds=0.05)
    with caplog.at_level("ERROR", logger="sessionrec"):
        sweeper.start()
        time.sleep(0.3)
        sweeper.stop()
    assert caplog.text.count("retention sweep failed") >= 2
    assert sweeper.sweeps == 0


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "7", True])
def test_retention_days_must_be_a_positive_number(bad: object) -> None:
    with pytest.raises(ConfigError, match="--retention-days must be a"):
        check_retention_days(bad)  # type: ignore[arg-type]
    assert check_retention_days(0.5) == 0.5
