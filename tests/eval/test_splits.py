"""Splits: leave-one-out as RecBole cuts it, and session-rec's temporal split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.data.schema import Interactions
from sessionrec.data.splits import leave_one_out, temporal_session_split
from sessionrec.testing import interactions


def events(rows: list[tuple[str | None, str | None, str, float]]) -> Interactions:
    return interactions(rows, columns=["user_id", "session_id", "item_id", "timestamp"])


def test_leave_one_out_holds_out_last_two_by_time_with_file_order_for_ties() -> None:
    data = events(
        [
            ("u1", None, "a", 3.0),
            ("u1", None, "b", 1.0),
            ("u1", None, "c", 5.0),  # tie at 5: file order decides, c before d
            ("u1", None, "d", 5.0),
            ("u2", None, "x", 1.0),
            ("u2", None, "y", 2.0),
            ("u3", None, "z", 1.0),
        ]
    )
    split = leave_one_out(data)
    assert split.key == "user_id"
    assert split.train.frame["item_id"].tolist() == ["b", "a", "x", "z"]
    assert split.valid.frame["item_id"].tolist() == ["c"]
    # A two-event user gives one to test, none to validation; a one-event user only trains.
    assert split.test.frame["item_id"].tolist() == ["d", "y"]


def test_leave_one_out_uses_sessions_when_users_are_unknown() -> None:
    data = events([(None, "s1", "a", 1.0), (None, "s1", "b", 2.0), (None, "s1", "c", 3.0)])
    split = leave_one_out(data)
    assert split.key == "session_id"
    assert split.test.frame["item_id"].tolist() == ["c"]


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), min_size=1, max_size=40))
def test_leave_one_out_partitions_every_event(rows: list[tuple[int, int]]) -> None:
    data = events([(f"u{u}", None, f"i{k}", float(t)) for k, (u, t) in enumerate(rows)])
    split = leave_one_out(data)
    sizes = len(split.train) + len(split.valid) + len(split.test)
    assert sizes == len(data)
    held = pd.concat([split.valid.frame, split.test.frame])
    assert held.empty or held.groupby("user_id").size().max() <= 2
    # Nothing held out is earlier than anything of the same user left in training.
    for user, group in split.test.frame.groupby("user_id"):
        train_times = split.train.frame.loc[split.train.frame["user_id"] == user, "timestamp"]
        assert (train_times <= group["timestamp"].iloc[0]).all()


def test_temporal_split_keeps_sessions_whole() -> None:
    day = 86_400.0
    data = events(
        [
            (None, "old", "a", 0.0),
            (None, "old", "b", 10.0),
            (None, "straddles", "c", 2 * day - 10),
            (None, "straddles", "d", 2 * day + 100),
            (None, "new", "e", 3 * day),
        ]
    )
    train, test = temporal_session_split(data)
    assert set(train.frame["session_id"]) == {"old"}
    assert set(test.frame["session_id"]) == {"straddles", "new"}
    assert np.all(test.frame.groupby("session_id")["timestamp"].max() >= 2 * day)
