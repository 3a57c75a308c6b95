"""The two offline protocols, each reproducing its peer's evaluator exactly.

- next-item (session-rec `evaluation.evaluate_sessions`, GRU4Rec's evaluator): fit on the
  train file; in the test file drop events on items unseen in training, then sessions left
  with fewer than two events; predict every next event from its whole prefix.
- leave-one-out (RecBole's sequential default, 'LS' split): per user, chronological with a
  stable sort, last event tests, second-last validates, the rest trains; the test sees the
  whole history before its target, validation event included, cut to the last 50.

Both rank the target against every item the model knows, seen items included.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import pandas as pd

from sessionrec.data.schema import (
    EVENT_TYPE,
    ITEM_ID,
    SESSION_ID,
    Catalogue,
    Interactions,
    event_type_codes,
)
from sessionrec.data.sessions import DEFAULT_GAP_SECONDS, sessionize
from sessionrec.data.splits import leave_one_out, next_item_prefixes, sort_sequences
from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary
from sessionrec.errors import ConfigError, DataError
from sessionrec.models.base import SessionBatch

LOO_MAX_HISTORY = 50
"""RecBole's MAX_ITEM_LIST_LENGTH default: the test history is cut to its last 50 items."""


class ProtocolName(StrEnum):
    """The protocols `sessionrec evaluate --protocol` accepts."""

    NEXT_ITEM = "next-item"
    LEAVE_ONE_OUT = "leave-one-out"


@dataclass(frozen=True)
class EvalCases:
    """Prefixes to score and the item that truly followed each, as indices into `vocab`."""

    vocab: Vocabulary
    prefixes: list[np.ndarray]
    event_types: list[np.ndarray]
    targets: np.ndarray
    histories: list[np.ndarray] | None = None
    """Per case, every item before its target, where that is more than the prefix a model
    reads (leave-one-out cuts prefixes to the last 50); None: the prefixes are whole. What
    `--exclude-seen` removes from the ranking."""

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, mask: np.ndarray) -> EvalCases:
        """The cases where `mask` is True (e.g. those whose target is a cold item)."""
        keep = np.flatnonzero(mask)
        return EvalCases(
            self.vocab,
            [self.prefixes[i] for i in keep],
            [self.event_types[i] for i in keep],
            self.targets[keep],
            None if self.histories is None else [self.histories[i] for i in keep],
        )

    def seen(self, model_vocab: Vocabulary, start: int, stop: int) -> list[np.ndarray]:
        """Cases `start` to `stop`: the items before each target, in a model's vocabulary
        (items it does not know left out)."""
        remap = self._remap(model_vocab)
        whole = self.prefixes if self.histories is None else self.histories
        out = []
        for items in whole[start:stop]:
            known = items[items >= 0]
            mapped = remap[known]
            out.append(mapped[mapped >= 0])
        return out

    def _remap(self, model_vocab: Vocabulary) -> np.ndarray:
        """Protocol index → model index (UNKNOWN_INDEX where the model lacks the item)."""
        if model_vocab == self.vocab:
            return np.arange(len(self.vocab), dtype=np.int64)
        return model_vocab.lookup(self.vocab.ids)

    def batches(
        self, model_vocab: Vocabulary, batch_size: int
    ) -> list[tuple[SessionBatch, np.ndarray]]:
        """Cases re-indexed to a model's vocabulary, cut into batches.

        A model whose vocabulary differs from the protocol's (a catalogue-wide one, say)
        still gets ids it knows; targets it does not know come back as UNKNOWN_INDEX and
        count as misses.
        """
        remap = self._remap(model_vocab)

        def to_model(indices: np.ndarray) -> np.ndarray:
            return np.where(indices >= 0, remap[np.maximum(indices, 0)], UNKNOWN_INDEX)

        out = []
        for start in range(0, len(self), batch_size):
            stop = min(start + batch_size, len(self))
            batch = SessionBatch(
                [to_model(p) for p in self.prefixes[start:stop]],
                self.event_types[start:stop],
            )
            out.append((batch, to_model(self.targets[start:stop])))
        return out


@dataclass(frozen=True)
class PreparedEvaluation:
    """Everything a protocol hands to models: what to fit on and what to predict.

    `valid` holds whole sequences whose last event is the validation target; models use it
    for early stopping and selection only. It never contains a test target.
    """

    protocol: ProtocolName
    train: Interactions
    test_cases: EvalCases
    valid: Interactions | None = None
    stats: dict[str, int] = field(default_factory=dict)
    catalogue: Catalogue | None = None
    """Item text and features, for models that read them (never targets or events)."""


def _session_arrays(
    interactions: Interactions, vocab: Vocabulary, key: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per sequence (rows already grouped by `key`): item indices and event-type codes."""
    frame = interactions.frame
    items = vocab.lookup(frame[ITEM_ID].to_numpy())
    types = event_type_codes(frame[EVENT_TYPE])
    codes = pd.factorize(frame[key])[0]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    return (
        [items[a:b] for a, b in itertools.pairwise(bounds)],
        [types[a:b] for a, b in itertools.pairwise(bounds)],
    )


def prepare_next_item(
    train: Interactions, test: Interactions, session_gap: float = DEFAULT_GAP_SECONDS
) -> PreparedEvaluation:
    """Cases for the next-item protocol from given train and test logs.

    Logs without session ids are cut into sessions at inactivity gaps of `session_gap` s.
    """
    train = sort_sequences(_with_sessions(train, session_gap), SESSION_ID)
    test = sort_sequences(_with_sessions(test, session_gap), SESSION_ID)
    vocab = Vocabulary(train.item_ids())
    frame = test.frame
    known = frame[ITEM_ID].map(vocab.__contains__).to_numpy(dtype=bool)
    if len(frame) and not known.any():
        raise DataError(
            f"test data shares no items with training data ({train.source or 'train'}): "
            "check that both files come from the same catalogue and use the same item ids",
            path=test.source or None,
        )
    frame = frame[known]
    sizes = frame.groupby(SESSION_ID, sort=False)[SESSION_ID].transform("size")
    kept = test.replace(frame[(sizes >= 2).to_numpy()])
    sessions, types = _session_arrays(kept, vocab, SESSION_ID)
    cases = EvalCases(vocab, *next_item_prefixes(sessions, types))
    all_events = pd.concat([train.frame, kept.frame])
    stats = {
        "users": int(all_events["user_id"].nunique()),
        "sessions": train.n_sessions + kept.n_sessions,
        "items": len(vocab),
        "events": len(train) + len(kept),
        "test_cases": len(cases),
    }
    return PreparedEvaluation(ProtocolName.NEXT_ITEM, train, cases, None, stats)


def prepare_leave_one_out(
    data: Interactions, max_history: int = LOO_MAX_HISTORY
) -> PreparedEvaluation:
    """Cases for RecBole's leave-one-out protocol from one log with user (or session) ids."""
    split = leave_one_out(data)
    key = split.key
    # Models see each user's history as one sequence.
    train = _as_sessions(split.train, key)
    # Every item of the log, training items first: a model that knows items beyond its
    # training data (through their text, say) can then see and score them.
    vocab = Vocabulary(train.item_ids() + data.item_ids())
    history = _as_sessions(
        split.train.replace(pd.concat([split.train.frame, split.valid.frame])), key
    )
    history = sort_sequences(history, SESSION_ID)
    histories, history_types = _session_arrays(history, vocab, SESSION_ID)
    history_of = dict(zip(pd.unique(history.frame[SESSION_ID]), range(len(histories)), strict=True))

    empty = np.zeros(0, dtype=np.int64)
    test = split.test.frame
    prefixes, prefix_types, wholes = [], [], []
    for sequence in test[key]:
        index = history_of.get(sequence)
        items = histories[index] if index is not None else empty
        codes = history_types[index] if index is not None else empty.astype(np.int8)
        prefixes.append(items[-max_history:])
        prefix_types.append(codes[-max_history:])
        wholes.append(items)
    targets = vocab.lookup(test[ITEM_ID].to_numpy())
    cases = EvalCases(vocab, prefixes, prefix_types, targets, wholes)

    valid_keys = set(split.valid.frame[key])
    valid = _as_sessions(
        split.train.replace(
            pd.concat(
                [split.train.frame[split.train.frame[key].isin(valid_keys)], split.valid.frame]
            )
        ),
        key,
    )
    frame = data.frame
    stats = {
        "users": int(frame[key].nunique()) if key == "user_id" else int(frame["user_id"].nunique()),
        "sessions": int(frame[key].nunique()),
        "items": int(frame[ITEM_ID].nunique()),
        "events": len(frame),
        "test_cases": len(cases),
    }
    return PreparedEvaluation(
        ProtocolName.LEAVE_ONE_OUT, train, cases, sort_sequences(valid, SESSION_ID), stats
    )


def _as_sessions(interactions: Interactions, key: str) -> Interactions:
    """The same events with `key`'s values as session ids."""
    if key == SESSION_ID:
        return interactions
    frame = interactions.frame.copy()
    frame[SESSION_ID] = frame[key]
    return interactions.replace(frame)


def _with_sessions(interactions: Interactions, gap_seconds: float) -> Interactions:
    """User logs without sessions are cut into sessions by an inactivity gap."""
    if interactions.has_sessions or not len(interactions):
        return interactions
    return sessionize(interactions, gap_seconds)


@dataclass(frozen=True)
class ColdStartSplit:
    """A protocol with some items removed from all training data, and which cases they are."""

    prepared: PreparedEvaluation
    cold_items: list[str]
    cold_cases: np.ndarray
    """Bool per test case: its target is a cold item."""


def hold_out_cold_items(prepared: PreparedEvaluation, share: float, seed: int) -> ColdStartSplit:
    """Remove a seeded random `share` of items from training and validation entirely.

    The test cases stay as the protocol made them (their histories may hold cold items, as
    a live session would); a model can only score a cold item through its text.
    """
    if not 0 < share < 1:
        raise ConfigError(f"--cold-items must lie strictly between 0 and 1, got {share}")
    vocab = prepared.test_cases.vocab
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(vocab), size=max(1, round(share * len(vocab))), replace=False)
    cold_items = vocab.decode(np.sort(chosen))
    cold = set(cold_items)

    def without_cold(interactions: Interactions) -> Interactions:
        frame = interactions.frame
        return interactions.replace(frame[~frame[ITEM_ID].isin(cold)])

    held_out = replace(
        prepared,
        train=without_cold(prepared.train),
        valid=None if prepared.valid is None else without_cold(prepared.valid),
    )
    cold_cases = np.isin(prepared.test_cases.targets, chosen)
    return ColdStartSplit(held_out, cold_items, cold_cases)
