"""Which items are among an item's closest: the measure behind 'close to X' and a
dislike's near-duplicates.

An item is among anchor X's closest share of the catalogue when its cosine to X beats that
of the closest sampled item outside the share. The measure is relative to X's own
neighbourhood, so it holds for any encoder (MiniLM's cosines between unrelated item texts
sit at 0.3-0.5, e5's much higher) and any catalogue, and it is taken over the catalogue's
fixed sample (`CatalogueSnapshot.scale_rows`), a few thousand dot products per anchor
whatever the catalogue's size. Thresholds are remembered per snapshot: sessions keep
naming the same few items.
"""

from __future__ import annotations

import threading

import numpy as np

CACHE_SIZE = 100_000
"""Thresholds remembered per snapshot (anchor, share): a few hundred kilobytes at most."""

FLOOR_SAMPLE = 512
"""Sampled items whose pairs (about 130,000) `pair_cosines` takes."""


def pair_cosines(sample: np.ndarray) -> np.ndarray:
    """The cosines between distinct rows of `sample` (unit vectors), ascending: where a
    catalogue's cosines between items sit, whatever the encoder. Zero rows (items without
    text) are left out; above `FLOOR_SAMPLE` rows, evenly spaced ones are taken."""
    rows = sample[np.flatnonzero(np.abs(sample).sum(axis=1) > 0)]
    if len(rows) > FLOOR_SAMPLE:
        rows = rows[np.linspace(0, len(rows) - 1, FLOOR_SAMPLE).astype(np.int64)]
    cosines = rows @ rows.T
    return np.sort(cosines[np.triu_indices(len(rows), k=1)]).astype(np.float64)


def pair_quantile(pairs: np.ndarray, share: float) -> float:
    """The cosine that `share` of the (ascending) `pairs` exceed; -inf without pairs."""
    if not len(pairs):
        return -np.inf
    return float(np.quantile(pairs, 1.0 - share))


def closeness_thresholds(
    similarity: np.ndarray,
    anchors: np.ndarray,
    sample_rows: np.ndarray,
    share: float,
    at_least: int = 1,
    sample: np.ndarray | None = None,
) -> np.ndarray:
    """(len(anchors),) per anchor, the cosine an item must exceed to be among the anchor's
    closest `share` of the catalogue, at least its `at_least` closest: that of the
    closest sampled item outside them (-inf when they take in every sampled item). The
    anchor itself is left out of its sample. `sample` is `similarity[sample_rows]` where
    the caller keeps it: copying those rows out cost more than the products."""
    if not len(anchors):
        return np.zeros(0, dtype=np.float64)
    if sample is None:
        sample = similarity.take(sample_rows, axis=0)
    cosines = similarity.take(anchors, axis=0) @ sample.T
    itself = sample_rows[None, :] == anchors[:, None]  # (anchors, sample)
    cosines[itself] = -np.inf
    others = len(sample_rows) - int(itself.any())
    within = max(at_least, round(share * others))
    if within >= others:
        return np.full(len(anchors), -np.inf)
    column = cosines.shape[1] - within - 1
    return np.asarray(np.partition(cosines, column, axis=1)[:, column], dtype=np.float64)


class Closeness:
    """`closeness_thresholds` over one catalogue snapshot's vectors, remembered per anchor;
    safe to share between threads."""

    def __init__(self, similarity: np.ndarray, sample_rows: np.ndarray) -> None:
        self.similarity = similarity
        self.sample_rows = sample_rows
        self._sample: np.ndarray | None = None  # similarity[sample_rows], taken at first use
        self._known: dict[tuple[int, float, int], float] = {}
        self._pairs: np.ndarray | None = None  # pair_cosines of the sample, at first use
        self._pair_quantiles: dict[float, float] = {}
        self._lock = threading.Lock()

    def _taken_sample(self) -> np.ndarray:
        if self._sample is None:
            self._sample = self.similarity.take(self.sample_rows, axis=0)
        return self._sample

    def pair_quantile(self, share: float) -> float:
        """`pair_quantile` of this snapshot's sampled pairs (taken once, and remembered per
        share: a quantile of 130,000 pairs costs about a millisecond, every request)."""
        known = self._pair_quantiles.get(share)
        if known is not None:
            return known
        if self._pairs is None:
            pairs = pair_cosines(self._taken_sample())
            with self._lock:
                self._pairs = pairs
        value = pair_quantile(self._pairs, share)
        with self._lock:
            self._pair_quantiles[share] = value
        return value

    def thresholds(self, anchors: np.ndarray, share: float, at_least: int = 1) -> np.ndarray:
        """(len(anchors),) as `closeness_thresholds`, computed only for anchors not seen
        before with this share."""
        rows = anchors.tolist()
        with self._lock:
            found = [self._known.get((row, share, at_least)) for row in rows]
        missing = [row for row, value in zip(rows, found, strict=True) if value is None]
        if missing:
            fresh = closeness_thresholds(
                self.similarity,
                np.asarray(missing, dtype=np.int64),
                self.sample_rows,
                share,
                at_least,
                self._taken_sample(),
            ).tolist()
            computed = dict(zip(missing, fresh, strict=True))
            with self._lock:
                if len(self._known) + len(computed) > CACHE_SIZE:
                    self._known.clear()
                for row, value in computed.items():
                    self._known[(row, share, at_least)] = value
            found = [computed[r] if v is None else v for r, v in zip(rows, found, strict=True)]
        return np.asarray(found, dtype=np.float64)
