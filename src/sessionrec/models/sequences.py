"""Training sequences for neural models: windows, padding and validation cases."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from sessionrec.data.schema import SESSION_ID, TIMESTAMP, Interactions
from sessionrec.data.splits import next_item_prefixes, sort_sequences
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.metrics import MetricAccumulator
from sessionrec.models.base import Recommender, SessionBatch, encode_event_types, encode_sessions

VALIDATION_METRIC = "NDCG@10"
"""What early stopping maximises: the headline metric of both protocols."""


def split_sequences(
    train: Interactions, vocab: Vocabulary
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per training session: item indices and event-type codes (unknown items dropped)."""
    items, offsets = encode_sessions(train, vocab)
    types = encode_event_types(train)
    seqs, seq_types = [], []
    for start, stop in itertools.pairwise(offsets):
        chunk = items[start:stop]
        keep = chunk != UNKNOWN_INDEX
        seqs.append(chunk[keep])
        seq_types.append(types[start:stop][keep])
    return seqs, seq_types


def training_windows(
    sequences: list[np.ndarray],
    types: list[np.ndarray],
    max_length: int,
    stride: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every position of every sequence as a next-item target, in windows of `max_length`.

    Windows are cut from the end of each sequence, so the most recent events get the most
    context. With `stride` < `max_length` windows overlap and each trains only its last
    `stride` targets (the earliest window trains all of its own), so that every target but
    a sequence's first few sees at least `max_length - stride` events of context, closer to
    what it sees at test time. With `rng`, each sequence longer than one window gets its
    window boundaries shifted by a random offset (the first cut trains only the last
    `offset` targets, with full context before them): across epochs a target is seen with
    varying context at the cost of non-overlapping windows. Returns left-padded inputs
    (pad = -1), their event types and targets (-1 = no target), each (windows, max_length).
    """
    step = max_length if stride is None else stride
    if not 0 < step <= max_length:
        raise ValueError(f"stride must lie in 1..{max_length}, got {step}")
    inputs, input_types, targets = [], [], []
    for seq, codes in zip(sequences, types, strict=True):
        end = len(seq)
        first_step = step
        if rng is not None and end - 1 > max_length:
            first_step = int(rng.integers(1, step + 1))
        this_step = first_step
        while end >= 2:
            start = max(0, end - max_length - 1)
            window_targets = seq[start + 1 : end].copy()
            if start > 0 and end - this_step - 1 > start:
                window_targets[: end - this_step - 1 - start] = UNKNOWN_INDEX  # trained elsewhere
            inputs.append(seq[start : end - 1])
            input_types.append(codes[start : end - 1])
            targets.append(window_targets)
            end = end - this_step if start > 0 else 0
            this_step = step
    return (
        left_pad(inputs, max_length, UNKNOWN_INDEX),
        left_pad(input_types, max_length, 0),
        left_pad(targets, max_length, UNKNOWN_INDEX),
    )


def without_leading_padding(items: np.ndarray, *aligned: np.ndarray) -> list[np.ndarray]:
    """`items` (B, T) left-padded with -1, and the arrays `aligned` with it, less the leading
    columns that are padding in every row (at least one column is kept).

    A batch of short sessions padded to the model's window is mostly padding, and the
    transformer reads the real positions the same whatever padding precedes them (it
    numbers positions from the window's end and masks padding); on logs of sessions of a
    few clicks (a shop, rsc15) the trimmed batch is several times cheaper.
    """
    real = np.flatnonzero((items >= 0).any(axis=0))
    first = int(real[0]) if len(real) else items.shape[1] - 1
    return [array[:, first:] for array in (items, *aligned)]


def left_pad(rows: list[np.ndarray], length: int, pad: int) -> np.ndarray:
    """Rows right-aligned in a (len(rows), length) int64 array; longer rows keep their end."""
    out = np.full((len(rows), length), pad, dtype=np.int64)
    for i, row in enumerate(rows):
        tail = row[-length:]
        if len(tail):
            out[i, length - len(tail) :] = tail
    return out


def last_event_cases(valid: Interactions, vocab: Vocabulary) -> tuple[SessionBatch, np.ndarray]:
    """Validation cases from sequences whose last event is the target to predict."""
    seqs, types = split_sequences(valid, vocab)
    kept = [i for i, s in enumerate(seqs) if len(s) >= 2]
    batch = SessionBatch([seqs[i][:-1] for i in kept], [types[i][:-1] for i in kept])
    return batch, np.array([seqs[i][-1] for i in kept], dtype=np.int64)


def carve_recent_sessions(train: Interactions, share: float) -> tuple[Interactions, Interactions]:
    """The latest `share` of sessions (by their last event) held out for early stopping.

    Used when a protocol provides no validation split (next-item): the test data is never
    touched, and validation looks like the test, the most recent sessions.
    """
    frame = train.frame
    ends = frame.groupby(SESSION_ID, sort=False)[TIMESTAMP].max().sort_values(kind="stable")
    n_valid = max(1, round(len(ends) * share))
    held = set(ends.index[-n_valid:])
    is_held = frame[SESSION_ID].isin(held).to_numpy()
    return train.replace(frame[~is_held]), train.replace(frame[is_held])


def next_item_cases(valid: Interactions, vocab: Vocabulary) -> tuple[SessionBatch, np.ndarray]:
    """Every next event of held-out sessions as a case (the next-item protocol's shape)."""
    prefixes, prefix_types, targets = next_item_prefixes(*split_sequences(valid, vocab))
    return SessionBatch(prefixes, prefix_types), targets


MAX_VALIDATION_EVENTS = 100_000
"""Events that the cases carved for early stopping may read in all, each case's prefix
counted up to the model's window. Every next event of the held-out sessions is a case, so
a log of long histories made many long cases: ml-100k read as one session per user
(`sessionrec train`) carved 17,619 cases reading 768,427 events at a window of 50, and
validating them took 12 s of a 15.5 s epoch. Above the budget a seeded sample of cases is
kept; a log of short sessions stays whole (rsc15-100k: 5,767 cases, 24,520 events)."""


def validation_split(
    train: Interactions,
    valid: Interactions | None,
    vocab: Vocabulary,
    share: float,
    window: int | None = None,
    seed: int = 0,
) -> tuple[Interactions, SessionBatch, np.ndarray]:
    """What to fit on, and the cases early stopping scores.

    With the protocol's own validation sequences (leave-one-out) their last events are the
    cases; without (next-item), the latest `share` of training sessions are held out and
    every next event in them is a case, as in the test. Given the model's `window`, those
    cases are sampled down to `MAX_VALIDATION_EVENTS` (`within_event_budget`).
    """
    if valid is not None:
        batch, targets = last_event_cases(valid, vocab)
        return train, batch, targets
    fit_data, held = carve_recent_sessions(train, share)
    batch, targets = next_item_cases(held, vocab)
    if window is not None:
        batch, targets = within_event_budget(batch, targets, MAX_VALIDATION_EVENTS, window, seed)
    return fit_data, batch, targets


def within_event_budget(
    batch: SessionBatch, targets: np.ndarray, budget: int, window: int, seed: int
) -> tuple[SessionBatch, np.ndarray]:
    """The cases whole if they read at most `budget` events (each up to `window`), else a
    seeded random sample of them that does, in their original order."""
    lengths = np.array([min(len(items), window) for items in batch.items], dtype=np.int64)
    if int(lengths.sum()) <= budget:
        return batch, targets
    order = np.random.default_rng(seed).permutation(len(targets))
    kept = np.sort(order[np.cumsum(lengths[order]) <= budget])
    return batch.take(kept), targets[kept]


def validation_score(
    model: Recommender, batch: SessionBatch, targets: np.ndarray, chunk: int = 1024
) -> float:
    """`VALIDATION_METRIC` of the model on validation cases, scored in chunks."""
    accumulator = MetricAccumulator(model.n_items, ks=(10,))
    for start in range(0, len(targets), chunk):
        stop = start + chunk
        accumulator.add(model.score(batch.rows(start, stop)), targets[start:stop])
    return accumulator.result()[VALIDATION_METRIC]


def with_validation(train: Interactions, valid: Interactions | None) -> Interactions:
    """Training and validation events together, each session once.

    Validation sequences (leave-one-out) hold the whole history before their target, so
    they replace their session's training rows; without them, `train` is already whole.
    """
    if valid is None:
        return train
    held = set(valid.frame[SESSION_ID])
    rest = train.frame[~train.frame[SESSION_ID].isin(held)]
    return sort_sequences(train.replace(pd.concat([rest, valid.frame])), SESSION_ID)
