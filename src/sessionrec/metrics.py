"""Ranking metrics computed on whole score matrices at once.

The tie policy is explicit because count-based models (pop, rules, kNN) give many items the
same score: ranking the target first among its equals would flatter them (SR's HR@20 on
rsc15-100k goes from 0.618 to 0.731). The default is pessimistic, as in the anchors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class TiePolicy(StrEnum):
    """Where the target goes among items with exactly its score."""

    PESSIMISTIC = "pessimistic"
    """Last: rank = number of items scoring >= the target."""
    OPTIMISTIC = "optimistic"
    """First: rank = 1 + number of items scoring > the target."""
    AVERAGE = "average"
    """The mean of the two: the expected rank under a random order of the tied items."""


def sanitise(scores: np.ndarray) -> np.ndarray:
    """Scores as float64 with NaN treated as the lowest possible score."""
    out = np.asarray(scores, dtype=np.float64)
    if np.isnan(out).any():
        out = np.where(np.isnan(out), -np.inf, out)
    return out


def target_ranks(
    scores: np.ndarray, targets: np.ndarray, ties: TiePolicy = TiePolicy.PESSIMISTIC
) -> np.ndarray:
    """1-based rank of each row's target column; `inf` where the target is -1 (unknown).

    scores: (B, N); targets: (B,) column indices, -1 for a target the model cannot score.
    """
    scores = sanitise(scores)
    targets = np.asarray(targets, dtype=np.int64)
    known = targets >= 0
    target_score = scores[np.arange(len(targets)), np.where(known, targets, 0)][:, None]
    higher = (scores > target_score).sum(axis=1)
    equal = (scores == target_score).sum(axis=1)  # includes the target itself
    if ties is TiePolicy.PESSIMISTIC:
        ranks = (higher + equal).astype(np.float64)
    elif ties is TiePolicy.OPTIMISTIC:
        ranks = (higher + 1).astype(np.float64)
    else:
        ranks = higher + (equal + 1) / 2.0
    return np.where(known, ranks, np.inf)


def hit_rate(ranks: np.ndarray, k: int) -> np.ndarray:
    """1 where the target is within the top k (HR@k, equal to Recall@k for one target)."""
    return (ranks <= k).astype(np.float64)


def reciprocal_rank(ranks: np.ndarray, k: int) -> np.ndarray:
    """1/rank within the top k, else 0 (MRR@k once averaged)."""
    return np.where(ranks <= k, 1.0 / ranks, 0.0)


def ndcg(ranks: np.ndarray, k: int) -> np.ndarray:
    """1/log2(rank+1) within the top k, else 0 (one relevant item: IDCG = 1)."""
    return np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first; ties go to lower index."""
    scores = sanitise(scores)
    k = min(k, scores.shape[1])
    # A stable sort of the negated scores keeps tied items in index order, so slates (and
    # the coverage computed from them) do not depend on the sorting algorithm.
    return np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)


@dataclass
class MetricAccumulator:
    """Collects ranks, slates and popularity across batches; `result` averages them.

    Averages are micro (per prediction), as in session-rec and RecBole.
    """

    n_items: int
    popularity: np.ndarray | None = None
    """Training count per item; enables POP@k (mean popularity of the slate / max count)."""
    ks: tuple[int, ...] = (10, 20)
    ties: TiePolicy = TiePolicy.PESSIMISTIC
    _ranks: list[np.ndarray] = field(default_factory=list)
    _covered: dict[int, np.ndarray] = field(default_factory=dict)
    _pop_sums: dict[int, float] = field(default_factory=dict)

    def add(self, scores: np.ndarray, targets: np.ndarray) -> None:
        """Score one batch: (B, n_items) scores and (B,) target columns (-1 = unknown)."""
        scores = sanitise(scores)
        self._ranks.append(target_ranks(scores, targets, self.ties))
        deepest = top_k(scores, max(self.ks))
        for k in self.ks:
            slate = deepest[:, :k]
            covered = self._covered.setdefault(k, np.zeros(self.n_items, dtype=bool))
            covered[slate.ravel()] = True
            if self.popularity is not None and self.popularity.max() > 0:
                relative = self.popularity / self.popularity.max()
                self._pop_sums[k] = self._pop_sums.get(k, 0.0) + float(
                    relative[slate].mean(axis=1).sum()
                )

    @property
    def ranks(self) -> np.ndarray:
        return np.concatenate(self._ranks) if self._ranks else np.zeros(0)

    def result(self) -> dict[str, float]:
        """HR@k, MRR@k, NDCG@k for every k, plus COV@k and POP@k."""
        ranks = self.ranks
        out: dict[str, float] = {}
        n = max(len(ranks), 1)
        for k in self.ks:
            out[f"HR@{k}"] = float(hit_rate(ranks, k).sum() / n)
            out[f"MRR@{k}"] = float(reciprocal_rank(ranks, k).sum() / n)
            out[f"NDCG@{k}"] = float(ndcg(ranks, k).sum() / n)
        for k in self.ks:
            covered = self._covered.get(k)
            out[f"COV@{k}"] = float(covered.mean()) if covered is not None and self.n_items else 0.0
            if self.popularity is not None:
                out[f"POP@{k}"] = self._pop_sums.get(k, 0.0) / n
        return out
