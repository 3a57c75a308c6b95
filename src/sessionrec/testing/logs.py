"""Tiny synthetic event logs with a known answer, for tests and quick experiments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sessionrec.data.schema import ITEM_ID, SESSION_ID, TIMESTAMP, Interactions, normalise_events

EVENT_ROW_COLUMNS = (SESSION_ID, ITEM_ID, TIMESTAMP)
"""The columns of a row tuple unless `interactions` is told otherwise."""


def interactions(
    rows: Iterable[Sequence[object]], columns: Sequence[str] = EVENT_ROW_COLUMNS
) -> Interactions:
    """An event log from row tuples, by default (session_id, item_id, timestamp).

    Other columns (`user_id`, `event_type`, `value`) are named in `columns`; what is not
    named gets its default (`normalise_events`).
    """
    frame = pd.DataFrame(list(rows), columns=list(columns))
    return Interactions(normalise_events(frame))


def ring_sessions(
    n_sessions: int = 60, *, ring: int = 12, length: int | None = None, seed: int = 7
) -> Interactions:
    """Sessions walking a ring of items "i0".."i{ring-1}", so the next item is learnable.

    Without `length`, each session starts at a random item and has 2 to 6 events (drawn
    from `seed`), timestamps counting up from 1. With `length`, session s starts at item
    s % ring and has `length` events at times length * s + k: no randomness at all.
    """
    rows: list[tuple[str, str, float]] = []
    if length is not None:
        for s in range(n_sessions):
            for k in range(length):
                rows.append((f"s{s}", f"i{(s + k) % ring}", float(length * s + k)))
        return interactions(rows)
    rng = np.random.default_rng(seed)
    t = 0.0
    for s in range(n_sessions):
        start = int(rng.integers(ring))
        for step in range(int(rng.integers(2, 7))):
            t += 1.0
            rows.append((f"s{s}", f"i{(start + step) % ring}", t))
    return interactions(rows)


def pairs_log(n_sessions: int = 80, n_pairs: int = 8) -> Interactions:
    """Sessions of two events, "x{k}" then "y{k}" (k = s % n_pairs): after x_k comes y_k."""
    rows: list[tuple[str, str, float]] = []
    for s in range(n_sessions):
        k = s % n_pairs
        rows += [(f"s{s}", f"x{k}", 2.0 * s), (f"s{s}", f"y{k}", 2.0 * s + 1)]
    return interactions(rows)


def no_repeat_log(n_sessions: int = 150, n_items: int = 10, seed: int = 0) -> Interactions:
    """Each session is a random order of the same items "i0".."i{n_items-1}": nothing ever
    repeats within a session."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, float]] = []
    for s in range(n_sessions):
        for t, item in enumerate(rng.permutation(n_items)):
            rows.append((f"s{s}", f"i{item}", 100.0 * s + t))
    return interactions(rows)
