"""Train/validation/test splits that match the peers' protocols.

All splits sort stably: events with equal timestamps keep their order in the source file,
which is how RecBole and session-rec break such ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sessionrec.data.schema import SESSION_ID, TIMESTAMP, USER_ID, Interactions
from sessionrec.errors import DataError

DAY_SECONDS = 86_400.0


def sequence_key(interactions: Interactions) -> str:
    """The column whose runs form one sequence: users where known, else sessions."""
    if interactions.has_users:
        return USER_ID
    if interactions.has_sessions:
        return SESSION_ID
    raise DataError(
        "events have neither user ids nor session ids for every row",
        path=interactions.source or None,
    )


def sort_sequences(interactions: Interactions, key: str) -> Interactions:
    """Rows grouped by `key` (groups in order of first appearance), then by time, stably."""
    frame = interactions.frame
    codes = pd.factorize(frame[key])[0]
    order = np.lexsort((frame[TIMESTAMP].to_numpy(), codes))  # lexsort is stable
    return interactions.replace(frame.iloc[order])


def position_from_end(frame: pd.DataFrame, key: str) -> np.ndarray:
    """For rows already grouped by `key`: 0 for each group's last row, 1 before it, ..."""
    codes = pd.factorize(frame[key])[0]
    counts = np.bincount(codes)
    position = frame.groupby(codes, sort=False).cumcount().to_numpy()
    return counts[codes] - 1 - position


@dataclass(frozen=True)
class LeaveOneOutSplit:
    """Per sequence: all but the last two events train, second-last validates, last tests.

    `key` names the column that defines a sequence (user_id, or session_id without users).
    """

    train: Interactions
    valid: Interactions
    test: Interactions
    key: str


def leave_one_out(interactions: Interactions) -> LeaveOneOutSplit:
    """RecBole's 'LS' split ([valid_and_test], chronological order).

    A sequence of two events gives one to training and one to test; a single event only
    trains. This is RecBole's `_split_index_by_leave_one_out` with leave_one_num = 2.
    """
    key = sequence_key(interactions)
    ordered = sort_sequences(interactions, key)
    frame = ordered.frame
    from_end = position_from_end(frame, key)
    length = frame.groupby(key, sort=False)[key].transform("size").to_numpy()
    held_out = np.minimum(2, length - 1)
    is_test = (from_end == 0) & (held_out >= 1)
    is_valid = (from_end == 1) & (held_out >= 2)
    is_train = ~(is_test | is_valid)
    return LeaveOneOutSplit(
        train=ordered.replace(frame[is_train]),
        valid=ordered.replace(frame[is_valid]),
        test=ordered.replace(frame[is_test]),
        key=key,
    )


def temporal_session_split(
    interactions: Interactions, test_seconds: float = DAY_SECONDS
) -> tuple[Interactions, Interactions]:
    """session-rec's split: sessions ending in the last `test_seconds` of the log are test.

    Whole sessions go to one side, so no session is cut in two.
    """
    if not interactions.has_sessions:
        raise DataError(
            "a temporal session split needs session ids (sessionize user logs first)",
            path=interactions.source or None,
        )
    ordered = sort_sequences(interactions, SESSION_ID)
    frame = ordered.frame
    session_end = frame.groupby(SESSION_ID, sort=False)[TIMESTAMP].transform("max")
    cutoff = frame[TIMESTAMP].max() - test_seconds
    is_test = (session_end >= cutoff).to_numpy()
    return ordered.replace(frame[~is_test]), ordered.replace(frame[is_test])


def next_item_prefixes(
    sequences: Sequence[np.ndarray], types: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Every next event of every sequence as a case: the events before it (`sequences`'
    prefixes), their parallel `types`, and the event (int64 targets).

    The next-item protocol's test cases, and the validation cases of a model trained for
    it, so the two cannot disagree on what a case is.
    """
    prefixes: list[np.ndarray] = []
    prefix_types: list[np.ndarray] = []
    targets: list[int] = []
    for items, codes in zip(sequences, types, strict=True):
        for i in range(1, len(items)):
            prefixes.append(items[:i])
            prefix_types.append(codes[:i])
            targets.append(items[i])
    return prefixes, prefix_types, np.asarray(targets, dtype=np.int64)
