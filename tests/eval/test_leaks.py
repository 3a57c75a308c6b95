"""No test target reaches a model's training or early-stopping data, under either protocol."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from sessionrec.data.schema import Catalogue, Interactions
from sessionrec.eval.protocols import prepare_leave_one_out, prepare_next_item
from sessionrec.eval.runner import fit_and_evaluate
from sessionrec.models.pop import Pop
from sessionrec.testing import interactions


class RecordingPop(Pop):
    """Pop that keeps what `fit` was given."""

    seen: list[pd.DataFrame]

    def fit(
        self,
        train: Interactions,
        catalogue: Catalogue | None = None,
        valid: Interactions | None = None,
    ) -> Self:
        self.seen = [train.frame] + ([valid.frame] if valid is not None else [])
        return super().fit(train, catalogue, valid)


def event_keys(frame: pd.DataFrame, key: str) -> set[tuple[str, str, float]]:
    return set(zip(frame[key], frame["item_id"], frame["timestamp"], strict=True))


def test_leave_one_out_targets_stay_out_of_fit() -> None:
    rng = np.random.default_rng(0)
    rows = [
        (f"u{u}", f"i{rng.integers(30)}", float(t))
        for u in range(25)
        for t in rng.choice(1000, size=int(rng.integers(1, 12)), replace=False)
    ]
    data = interactions(rows, columns=["user_id", "item_id", "timestamp"])
    prepared = prepare_leave_one_out(data)
    model = RecordingPop()
    fit_and_evaluate(model, prepared)
    # The test event of each user with two events or more: its last by time (file order
    # breaks ties); a single event only ever trains.
    frame = data.frame.reset_index()
    ordered = frame.sort_values(["user_id", "timestamp", "index"], kind="stable")
    sizes = ordered.groupby("user_id")["item_id"].transform("size")
    test_events = event_keys(ordered[sizes >= 2].groupby("user_id").tail(1), "user_id")
    assert len(test_events) == len(prepared.test_cases)
    for seen in model.seen:
        assert not test_events & event_keys(seen, "user_id")


def test_next_item_test_sessions_stay_out_of_fit() -> None:
    def log(prefix: str, start: float) -> Interactions:
        rows = [
            (f"{prefix}{s}", f"i{(s + k) % 9}", start + 10 * s + k)
            for s in range(20)
            for k in range(3)
        ]
        return interactions(rows, columns=["session_id", "item_id", "timestamp"])

    train, test = log("train", 0.0), log("test", 10_000.0)
    model = RecordingPop()
    fit_and_evaluate(model, prepare_next_item(train, test))
    for seen in model.seen:
        assert not set(seen["session_id"]) & set(test.frame["session_id"])
