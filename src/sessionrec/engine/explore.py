"""Exploration: a bounded share of the slate for items whose appeal is still uncertain.

Without it, items that were never shown never collect feedback and can never rise. Each
candidate's chance of a positive outcome gets a Beta(1 + positives, 1 + negatives)
posterior from the global feedback counts; Thompson sampling draws once from each and
takes the highest draws. Items with little feedback draw widely and so get tried; items
with much negative feedback rarely win. Candidates are restricted to the items the model
already ranks well, so exploring never shows something irrelevant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from sessionrec.data.vocab import Vocabulary
from sessionrec.engine.ranking import Picks, Ranking
from sessionrec.index.exact import top_k

CANDIDATE_FACTOR = 5
"""Exploration draws from the best CANDIDATE_FACTOR · k items not already on the slate."""


def explore_slots(share: float, k: int) -> int:
    """How many of k positions exploration may take: floor(share · k)."""
    return math.floor(share * k + 1e-9)


def thompson_pick(
    candidate_ids: Sequence[str],
    stats: Mapping[str, tuple[int, int]] | None,
    n: int,
    rng: np.random.Generator,
) -> list[int]:
    """Positions in `candidate_ids` of the n highest Beta posterior draws, best first."""
    if n <= 0 or not candidate_ids:
        return []
    counts = stats or {}
    positives = np.empty(len(candidate_ids))
    negatives = np.empty(len(candidate_ids))
    for i, item in enumerate(candidate_ids):
        pos, neg = counts.get(item, (0, 0))
        positives[i], negatives[i] = max(pos, 0), max(neg, 0)
    draws = rng.beta(1.0 + positives, 1.0 + negatives)
    order = np.argsort(-draws, kind="stable")[:n]
    return [int(i) for i in order]


def exploration_picks(
    ranking: Ranking,
    vocab: Vocabulary,
    chosen: Sequence[int],
    k: int,
    slots: int,
    stats: Mapping[str, tuple[int, int]] | None,
    rng: np.random.Generator | None,
) -> Picks:
    """The exploration slots of a slate of k: Thompson draws among the best candidates
    not `chosen` already, each scored by its best interest's final score."""
    best = ranking.scores.max(axis=1)
    mask = np.ones(len(best), dtype=bool)
    mask[np.searchsorted(ranking.pool, np.asarray(chosen, dtype=np.int64))] = False
    candidates = ranking.pool[top_k(best, CANDIDATE_FACTOR * k, mask)]
    ids = vocab.decode(candidates)
    drawn = thompson_pick(ids, stats, slots, rng if rng is not None else np.random.default_rng())
    rows = [int(candidates[p]) for p in drawn]
    position = np.searchsorted(ranking.pool, np.asarray(rows, dtype=np.int64))
    return Picks(rows, [None] * len(rows), [float(best[p]) for p in position], [True] * len(rows))
