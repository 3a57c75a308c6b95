"""The index the engine builds by default: exact search for a catalogue a scan answers in
a millisecond or two, FAISS beyond.

`SizedIndex` is an `IndexBuilder`, so the engine asks it for an index over each vector
space and never learns which kind it got: the switch by size is here and nowhere else.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sessionrec.data.download import cache_dir
from sessionrec.errors import ConfigError
from sessionrec.index.approximate import KINDS, TARGET_RECALL, FaissIndex, Kind
from sessionrec.index.base import ItemIndex
from sessionrec.index.exact import ExactIndex

EXACT_BELOW = 200_000
"""Rows below which search is exact. A scan of 200,000 rows of 64 numbers takes about 3 ms
on one core here and needs no build; FAISS answers in under 1 ms but takes seconds to
build and finds about 99 % of the rows (`benchmarks/bench_index.py`)."""

log = logging.getLogger(__name__)

ENV_EXACT_BELOW = "SESSIONREC_EXACT_BELOW"
ENV_INDEX = "SESSIONREC_INDEX"
INDEX_CHOICES = ("auto", "exact", *KINDS)


@dataclass(frozen=True)
class SizedIndex:
    """Builds `ExactIndex` below `exact_below` rows and `FaissIndex` (of `kind`, or the
    kind `approximate.choose_kind` picks) at or above it.

    With a `cache` folder, a FAISS index is saved there under a fingerprint of its vectors
    and read back by every later build over the same vectors: a restart, a reload of the
    same artifact and every worker process skip the build (minutes at a million items).
    """

    exact_below: int = EXACT_BELOW
    kind: Kind | None = None
    target_recall: float = TARGET_RECALL
    cache: Path | None = None

    def __post_init__(self) -> None:
        if self.exact_below < 0:
            raise ConfigError(f"exact_below must be ≥ 0, got {self.exact_below}")
        if self.kind is not None and self.kind not in KINDS:
            raise ConfigError(f"unknown FAISS index kind {self.kind!r}; choose one of {KINDS}")

    def build(self, vectors: np.ndarray) -> ItemIndex:
        """An index over the rows of an (n, dimension) matrix, exact or approximate by n."""
        if len(vectors) < self.exact_below:
            return ExactIndex.build(vectors)
        index = self._cached(vectors)
        if index.exhaustive:
            log.warning(
                "the %d vectors of %d numbers have no structure FAISS can use: reaching "
                "recall %.2f means reading most of them, so search is exact instead",
                len(vectors),
                index.dimension,
                self.target_recall,
            )
            return ExactIndex.build(index.vectors)
        return index

    def _cached(self, vectors: np.ndarray) -> FaissIndex:
        """The FAISS index over `vectors`: read from the cache when it holds one for these
        very vectors, else built (and saved there)."""
        if self.cache is None:
            return FaissIndex.create(vectors, self.kind, self.target_recall)
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        name = f"{fingerprint(array)}-{self.kind or 'auto'}-{self.target_recall:g}.faiss"
        path = self.cache / name
        if path.is_file():
            try:
                index = FaissIndex.load(path, array)
            except ConfigError as error:
                log.warning("rebuilding: %s", error)
            else:
                log.info("FAISS index over %d rows read from %s", len(array), path)
                return index
        index = FaissIndex.create(array, self.kind, self.target_recall)
        try:
            index.save(path)
        except OSError as error:  # a read-only cache costs the next start a build, no more
            log.warning("could not save the FAISS index to %s: %s", path, error)
        return index


def fingerprint(vectors: np.ndarray) -> str:
    """A digest of a float32 matrix's shape and every number: the cache key of an index."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(vectors.shape).encode())
    digest.update(np.ascontiguousarray(vectors).data)
    return digest.hexdigest()


def default_cache() -> Path:
    """Where `index_builder` keeps FAISS indexes: the user cache's `indexes` folder."""
    return cache_dir() / "indexes"


def index_builder(choice: str | None = None, exact_below: int | None = None) -> SizedIndex:
    """The builder a choice names: ``auto`` (exact below `exact_below`, else FAISS by
    size), ``exact`` (always a scan), ``hnsw`` or ``ivf`` (FAISS at any size, or from
    `exact_below` when given). The choice defaults to $SESSIONREC_INDEX, else ``auto``;
    `exact_below` to $SESSIONREC_EXACT_BELOW, else `EXACT_BELOW`: what `sessionrec serve
    --index` sets for its worker processes."""
    if choice is None:
        choice = os.environ.get(ENV_INDEX, "auto").strip() or "auto"
    if choice not in INDEX_CHOICES:
        raise ConfigError(f"unknown index {choice!r}; choose one of {', '.join(INDEX_CHOICES)}")
    if choice == "exact":
        return SizedIndex(exact_below=np.iinfo(np.int64).max)
    cache = default_cache()
    if exact_below is None:
        raw = os.environ.get(ENV_EXACT_BELOW)
        if raw is not None:
            try:
                exact_below = int(raw)
            except ValueError:
                raise ConfigError(
                    f"{ENV_EXACT_BELOW} must be a whole number, got {raw!r}"
                ) from None
    if choice == "auto":
        return SizedIndex(EXACT_BELOW if exact_below is None else exact_below, cache=cache)
    kind: Kind = "hnsw" if choice == "hnsw" else "ivf"
    return SizedIndex(0 if exact_below is None else exact_below, kind, cache=cache)
