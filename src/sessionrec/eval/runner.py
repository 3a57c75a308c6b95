"""Fit and evaluate models under a prepared protocol, timing each phase."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sessionrec.data.schema import ITEM_ID
from sessionrec.eval.protocols import EvalCases, PreparedEvaluation
from sessionrec.metrics import MetricAccumulator, TiePolicy
from sessionrec.models.base import Recommender

DEFAULT_KS = (10, 20)
SCORE_CELLS_PER_BATCH = 4_000_000
"""Upper bound on batch × items per scored batch (32 MB of float64 scores)."""

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class ModelResult:
    """One model's metrics under one protocol, with the time each phase took."""

    metrics: dict[str, float]
    train_seconds: float
    eval_seconds: float
    subsets: dict[str, dict[str, float]] = field(default_factory=dict)
    """Metrics on named subsets of the test cases (cold and warm targets, say)."""

    def to_dict(self) -> dict[str, float]:
        return {
            **self.metrics,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
        }


def evaluate_model(
    model: Recommender,
    cases: EvalCases,
    *,
    popularity: np.ndarray | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    ties: TiePolicy = TiePolicy.PESSIMISTIC,
    on_batch: ProgressCallback | None = None,
    exclude_seen: bool = False,
) -> dict[str, float]:
    """Metrics of a fitted model on the cases; `on_batch(n)` reports progress.

    `exclude_seen` removes every item before each target (the whole history, not only
    what the model reads) from the ranking, for every model alike; a target that is such
    an item counts as a miss.
    """
    accumulator = MetricAccumulator(model.n_items, popularity, ks, ties)
    batch_size = max(1, SCORE_CELLS_PER_BATCH // max(model.n_items, 1))
    for number, (batch, targets) in enumerate(cases.batches(model.vocab, batch_size)):
        scores = model.score(batch)
        if exclude_seen:
            start = number * batch_size
            seen = cases.seen(model.vocab, start, start + len(targets))
            scores, targets = without_seen(scores, targets, seen)
        accumulator.add(scores, targets)
        if on_batch is not None:
            on_batch(len(targets))
    return accumulator.result()


def without_seen(
    scores: np.ndarray, targets: np.ndarray, seen: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Scores with each row's `seen` items at -inf, and targets among them as unknown (-1:
    a miss under every tie policy)."""
    rows = np.repeat(np.arange(len(seen)), [len(s) for s in seen])
    columns = np.concatenate(seen) if seen else np.zeros(0, dtype=np.int64)
    out = np.array(scores, dtype=np.float64)
    out[rows, columns] = -np.inf
    n = out.shape[1]
    repeated = np.isin(np.arange(len(targets)) * n + targets, rows * n + columns)
    return out, np.where(repeated & (targets >= 0), -1, targets)


def train_counts(model: Recommender, prepared: PreparedEvaluation) -> np.ndarray:
    """How often each model item occurs in training: the basis of POP@k."""
    indices = model.vocab.lookup(prepared.train.frame[ITEM_ID].to_numpy())
    return np.bincount(indices[indices >= 0], minlength=model.n_items).astype(np.float64)


def fit_and_evaluate(
    model: Recommender,
    prepared: PreparedEvaluation,
    *,
    ks: tuple[int, ...] = DEFAULT_KS,
    ties: TiePolicy = TiePolicy.PESSIMISTIC,
    on_batch: ProgressCallback | None = None,
    subsets: dict[str, np.ndarray] | None = None,
    exclude_seen: bool = False,
) -> ModelResult:
    """Fit on the protocol's training data, then score its test cases.

    `subsets` names boolean masks over the test cases to report separately as well;
    `exclude_seen` as in `evaluate_model`.
    """
    started = time.perf_counter()
    model.fit(prepared.train, prepared.catalogue, prepared.valid)
    trained = time.perf_counter()
    popularity = train_counts(model, prepared)
    metrics = evaluate_model(
        model,
        prepared.test_cases,
        popularity=popularity,
        ks=ks,
        ties=ties,
        on_batch=on_batch,
        exclude_seen=exclude_seen,
    )
    eval_seconds = time.perf_counter() - trained
    by_subset = {
        name: evaluate_model(
            model,
            prepared.test_cases.subset(mask),
            popularity=popularity,
            ks=ks,
            ties=ties,
            exclude_seen=exclude_seen,
        )
        for name, mask in (subsets or {}).items()
    }
    return ModelResult(metrics, trained - started, eval_seconds, by_subset)
