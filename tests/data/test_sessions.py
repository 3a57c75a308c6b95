"""Sessionisation: user logs cut into sessions by an inactivity gap."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionrec.data.loaders import load_interactions
from sessionrec.data.schema import Interactions, normalise_events
from sessionrec.data.sessions import DEFAULT_GAP_SECONDS, sessionize
from sessionrec.errors import ConfigError, DataError


def log(
    users: list[str | None], times: list[float], sessions: list[str | None] | None = None
) -> Interactions:
    """A log with a `row` column recording each event's original position."""
    frame = normalise_events(
        pd.DataFrame(
            {
                "user_id": users,
                "session_id": sessions if sessions is not None else [None] * len(users),
                "item_id": [f"i{k}" for k in range(len(users))],
                "timestamp": times,
            }
        )
    )
    frame["row"] = np.arange(len(frame))
    return Interactions(frame, "log")


def test_hand_worked_example() -> None:
    # Gaps for a: 100, 1900 (> 1800: new session), 1800 (not more than the gap: same).
    events = log(["a", "b", "a", "a", "a", "b"], [0, 50, 100, 2000, 3800, 10_000])
    out = sessionize(events).frame
    assert out["user_id"].tolist() == ["a", "a", "a", "a", "b", "b"]
    assert out["timestamp"].tolist() == [0, 100, 2000, 3800, 50, 10_000]
    assert out["session_id"].tolist() == ["a:0", "a:0", "a:1", "a:1", "b:0", "b:1"]
    assert DEFAULT_GAP_SECONDS == 1800.0


def test_gap_argument() -> None:
    events = log(["a", "a", "a"], [0, 10, 25])
    assert sessionize(events, gap_seconds=10).frame["session_id"].tolist() == [
        "a:0",
        "a:0",
        "a:1",
    ]


def test_users_in_order_of_first_appearance_and_ties_in_file_order() -> None:
    events = log(["z", "a", "z", "z", "a"], [5, 1, 5, 0, 1])
    out = sessionize(events).frame
    assert out["row"].tolist() == [3, 0, 2, 1, 4]


def test_existing_session_ids_are_kept() -> None:
    events = log(
        ["a", "a", None, "a", "a"],
        [0, 10, 20, 5000, 5001],
        ["web-1", None, "s-9", None, "web-2"],
    )
    out = sessionize(events).frame
    by_row = dict(zip(out["row"], out["session_id"], strict=True))
    assert by_row == {0: "web-1", 1: "a:0", 2: "s-9", 3: "a:1", 4: "web-2"}
    # Rows: user a's events by time, then the user-less session's events.
    assert out["row"].tolist() == [0, 1, 3, 4, 2]


def test_a_log_that_is_all_sessions_only_gets_ordered() -> None:
    events = log([None, None, None], [3, 1, 2], ["s", "t", "s"])
    out = sessionize(events).frame
    assert out["session_id"].tolist() == ["s", "s", "t"]
    assert out["timestamp"].tolist() == [2, 3, 1]


def test_events_without_user_or_session_are_refused() -> None:
    with pytest.raises(DataError, match="neither a session id nor a user id"):
        sessionize(log(["a", None], [0, 1]))


@pytest.mark.parametrize("gap", [0.0, -1.0, float("nan")])
def test_gap_must_be_positive(gap: float) -> None:
    with pytest.raises(ConfigError, match="positive"):
        sessionize(log(["a"], [0]), gap)


def test_empty_log() -> None:
    empty = log([], [])
    assert len(sessionize(empty)) == 0


def test_loaded_user_log(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("user,item,time,session\nu,1,0,\nu,2,60,\nv,3,0,v-web\nu,4,9000,\n")
    events = load_interactions(path)
    assert not events.has_sessions
    out = sessionize(events)
    assert out.has_sessions and out.source == str(path)
    assert out.frame["session_id"].tolist() == ["u:0", "u:0", "u:1", "v-web"]


@st.composite
def user_logs(draw: st.DrawFn) -> tuple[Interactions, float]:
    n = draw(st.integers(1, 40))
    users = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    times = draw(
        st.lists(
            st.one_of(st.integers(0, 20_000).map(float), st.sampled_from([0.0, 1800.0])),
            min_size=n,
            max_size=n,
        )
    )
    gap = draw(st.sampled_from([1.0, 60.0, 1800.0, 5000.0]))
    return log(list(users), times), gap


@settings(max_examples=200)
@given(user_logs())
def test_sessionize_properties(case: tuple[Interactions, float]) -> None:
    events, gap = case
    out = sessionize(events, gap).frame
    source = events.frame
    # Same events, each once.
    assert sorted(out["row"]) == list(range(len(source)))
    # Grouped by user in order of first appearance, then by time, ties in file order.
    first_seen = {u: i for i, u in reversed(list(enumerate(source["user_id"])))}
    key = [
        (first_seen[u], t, r)
        for u, t, r in zip(out["user_id"], out["timestamp"], out["row"], strict=True)
    ]
    assert key == sorted(key)
    for user, rows in out.groupby("user_id", sort=False):
        sessions = list(dict.fromkeys(rows["session_id"]))
        # Ids count the user's sessions from 0 in time order.
        assert sessions == [f"{user}:{n}" for n in range(len(sessions))]
        spans = []
        for session in sessions:
            times = rows.loc[rows["session_id"] == session, "timestamp"].to_numpy()
            assert (np.diff(times) <= gap).all()  # inside a session: no gap above `gap`
            spans.append((times.min(), times.max()))
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start - end > gap  # consecutive sessions: separated by more than `gap`
