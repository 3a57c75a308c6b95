"""Approximate search through FAISS: the `ItemIndex` for catalogues too large to scan.

Two kinds of FAISS index, both by inner product over the item vectors as they are:

- ``hnsw`` (a navigable small-world graph): high recall at a short search for mid-size
  catalogues; its build time grows faster than linearly, so it is not the choice at a
  million items on a small machine.
- ``ivf`` (an inverted file over k-means cells, vectors stored flat): builds in seconds at
  a million items and searches a few cells per query.

How far each search looks (HNSW's ``efSearch``, IVF's ``nprobe``) is not a guess: `build`
calibrates it on the catalogue's own vectors, raising it until a sample of rows used as
queries finds `target_recall` of their exact top 50 (`calibrate`).

Updates never touch the FAISS index readers are searching. `with_rows` returns a new
`FaissIndex` that shares the old FAISS structure and keeps the rows added or changed since
it was built in a small exact part searched beside it (a changed row's old entry is
filtered out); once that part passes `REBUILD_SHARE` of the catalogue the new index is
built afresh, by the writer, while readers keep the old one.

Scores of the rows returned are dot products computed here, in float32 as `ExactIndex`
computes them, and rows are ordered best first with ties to the lower row; what is
approximate is which rows are found. A mask that leaves few rows (`EXACT_SHARE`) is
searched exactly over those rows: cheaper than a filtered graph walk, and exact.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from sessionrec.errors import ConfigError
from sessionrec.index.exact import top_k

log = logging.getLogger(__name__)

Kind = Literal["hnsw", "ivf"]
KINDS: tuple[Kind, ...] = ("hnsw", "ivf")

TARGET_RECALL = 0.99
"""Default share of the exact top 50 a calibrated search finds on the calibration sample."""
CALIBRATION_QUERIES = 200
CALIBRATION_K = 50
HNSW_NEIGHBOURS = 32
HNSW_BUILD_BREADTH = 64
HNSW_BREADTHS = (64, 128, 256, 512, 1024)
IVF_BREADTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
IVF_TRAINING_PER_CELL = 64
"""Training rows per k-means cell: FAISS warns below 39; more makes the build slower for
cells that are hardly better."""
EXACT_SHARE = 0.05
"""A mask that allows at most this share of the rows is searched exactly over them."""
REBUILD_SHARE = 0.02
"""Rows added or changed since the build, as a share of all rows, that trigger a rebuild."""
REBUILD_AT_LEAST = 1000


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - faiss-cpu is a dependency
        raise ConfigError(
            "approximate search needs the package faiss-cpu (pip install faiss-cpu)"
        ) from error
    return faiss


IVF_MAX_CELLS = 1024
"""k-means training costs cells² × dimension: 4,000 cells (4 √n at a million rows) took
minutes to train here, 1,024 take seconds, and the search breadth is calibrated anyway."""


def ivf_cells(n: int) -> int:
    """k-means cells for n rows: about 4 √n (FAISS's guidance) up to `IVF_MAX_CELLS`, at
    most n / 39 so that each cell has training rows, at least 1."""
    return max(1, min(int(4 * np.sqrt(n)), IVF_MAX_CELLS, n // 39))


@dataclass(frozen=True)
class Calibration:
    """What `calibrate` measured: the search breadth chosen and the recall it gave."""

    breadth: int
    recall: float
    seconds: float


class _Structure:
    """One built FAISS index over the first `len(self)` rows, never modified after
    `__init__`: the part of every `FaissIndex` derived from it that readers share."""

    @classmethod
    def loaded(cls, index: Any, kind: Kind) -> _Structure:
        """A structure around an index read from disk (it owns its quantiser)."""
        structure = cls.__new__(cls)
        structure.kind, structure.size, structure.index = kind, int(index.ntotal), index
        return structure

    def __init__(self, vectors: np.ndarray, kind: Kind, seed: int) -> None:
        faiss = _faiss()
        n, dimension = vectors.shape
        self.kind = kind
        self.size = n
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_BUILD_BREADTH
            index.add(vectors)
        else:
            cells = ivf_cells(n)
            quantiser = faiss.IndexFlatIP(dimension)
            index = faiss.IndexIVFFlat(quantiser, dimension, cells, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(seed)
            wanted = min(n, IVF_TRAINING_PER_CELL * cells)
            sample = vectors if wanted == n else vectors[np.sort(rng.choice(n, wanted, False))]
            index.cp.seed = seed
            index.train(np.ascontiguousarray(sample))
            index.add(vectors)
            self._quantiser = quantiser  # FAISS does not own it: keep it alive
        self.index = index

    def search(
        self, query: np.ndarray, k: int, breadth: int, allowed: np.ndarray | None
    ) -> np.ndarray:
        """Up to k row numbers (unordered beyond FAISS's own order); `allowed` (bool over
        this structure's rows) filters inside the search."""
        faiss = _faiss()
        selector = bitmap = None
        if allowed is not None:
            bitmap = np.packbits(allowed, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(breadth, k))
        else:
            params = faiss.SearchParametersIVF(nprobe=breadth)
        if selector is not None:
            params.sel = selector
        _, found = self.index.search(query[None, :], k, params=params)
        del bitmap  # the selector reads the bitmap during the search only
        rows = found[0]
        return rows[rows >= 0].astype(np.int64)


class FaissIndex:
    """An `ItemIndex` searched through FAISS (see the module docstring); immutable."""

    def __init__(
        self,
        vectors: np.ndarray,
        structure: _Structure,
        breadth: int,
        fresh: np.ndarray,
        target_recall: float,
    ) -> None:
        self.vectors = vectors
        self._structure = structure
        self.breadth = breadth
        self._fresh = fresh
        """Sorted rows searched exactly: appended since the build, or changed."""
        self._stale: np.ndarray | None = None
        if len(fresh) and fresh[0] < structure.size:
            stale = np.zeros(structure.size, dtype=bool)
            stale[fresh[fresh < structure.size]] = True
            self._stale = stale
        self.target_recall = target_recall

    @property
    def kind(self) -> Kind:
        return self._structure.kind

    @property
    def exhaustive(self) -> bool:
        """Whether the calibrated search reads most of the catalogue anyway (vectors with
        no cluster structure: i.i.d. noise), so a scan would be as fast and exact."""
        structure = self._structure
        if structure.kind == "ivf":
            return self.breadth * 2 > int(structure.index.nlist)
        return self.breadth >= HNSW_BREADTHS[-1] and len(self) <= 8 * self.breadth

    @classmethod
    def build(cls, vectors: np.ndarray) -> Self:
        """An index over the rows of an (n, dimension) matrix, of the kind `choose_kind`
        picks for n rows, calibrated to `TARGET_RECALL`."""
        return cls.create(vectors)

    @classmethod
    def create(
        cls,
        vectors: np.ndarray,
        kind: Kind | None = None,
        target_recall: float = TARGET_RECALL,
        seed: int = 0,
    ) -> Self:
        """`build` with the kind and the recall to calibrate for chosen by the caller."""
        array = _frozen_rows(vectors)
        if not 0.0 < target_recall <= 1.0:
            raise ConfigError(f"target recall must be in (0, 1], got {target_recall}")
        chosen = choose_kind(len(array)) if kind is None else kind
        if chosen not in KINDS:
            raise ConfigError(f"unknown FAISS index kind {chosen!r}; choose one of {KINDS}")
        start = time.perf_counter()
        structure = _Structure(array, chosen, seed)
        built = time.perf_counter() - start
        calibration = calibrate(array, structure, target_recall, seed)
        log.info(
            "FAISS %s index over %d rows of %d: built in %.1f s, breadth %d gives recall@%d "
            "%.3f on %d sample rows (calibrated in %.1f s)",
            chosen,
            len(array),
            array.shape[1],
            built,
            calibration.breadth,
            CALIBRATION_K,
            calibration.recall,
            CALIBRATION_QUERIES,
            calibration.seconds,
        )
        return cls(array, structure, calibration.breadth, np.zeros(0, np.int64), target_recall)

    def save(self, path: Path) -> None:
        """Write the built structure and its calibration to `path` (and `path`.json),
        each through a temporary file, so a reader never sees half a file. Rows changed
        since the build are not saved: save right after `create`."""
        if len(self._fresh):
            raise ConfigError("save an index right after it is built, before any update")
        faiss = _faiss()
        path.parent.mkdir(parents=True, exist_ok=True)
        own = f".{os.getpid()}.tmp"  # workers may save the same index at once
        temporary = path.with_name(path.name + own)
        faiss.write_index(self._structure.index, str(temporary))
        meta = {
            "kind": self.kind,
            "breadth": self.breadth,
            "target_recall": self.target_recall,
            "rows": len(self),
            "dimension": self.dimension,
        }
        sidecar = path.with_name(path.name + ".json")
        sidecar_temporary = sidecar.with_name(sidecar.name + own)
        sidecar_temporary.write_text(json.dumps(meta) + "\n")
        temporary.replace(path)
        sidecar_temporary.replace(sidecar)

    @classmethod
    def load(cls, path: Path, vectors: np.ndarray) -> Self:
        """The index `save` wrote, over `vectors` (the rows it was built from: the caller
        checks that, e.g. by a fingerprint in the file name); a ConfigError when the files
        are missing, unreadable or for another shape."""
        faiss = _faiss()
        array = _frozen_rows(vectors)
        sidecar = path.with_name(path.name + ".json")
        try:
            meta = json.loads(sidecar.read_text())
            index = faiss.read_index(str(path))
        except (OSError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot read the FAISS index {path}: {error}") from None
        shape = (int(meta.get("rows", -1)), int(meta.get("dimension", -1)))
        if shape != array.shape or int(index.ntotal) != len(array) or meta["kind"] not in KINDS:
            raise ConfigError(f"the FAISS index {path} is for {shape}, not {array.shape}")
        structure = _Structure.loaded(index, meta["kind"])
        fresh = np.zeros(0, np.int64)
        return cls(array, structure, int(meta["breadth"]), fresh, float(meta["target_recall"]))

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """About the k best rows for one (dimension,) query and their dot products, best
        first, ties to the lower row; rows where `mask` is false never come back."""
        vector = np.ascontiguousarray(query, dtype=np.float32)
        if vector.shape != (self.dimension,):
            raise ConfigError(f"a query must have shape ({self.dimension},), got {vector.shape}")
        n = len(self)
        if mask is not None and mask.shape != (n,):
            raise ConfigError(f"mask shape {mask.shape} does not match {n} rows")
        if k < 1 or n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        allowed = n if mask is None else int(np.count_nonzero(mask))
        if mask is not None and allowed <= max(k, EXACT_SHARE * n):
            return self._best(vector, k, np.flatnonzero(mask))
        found = self._structure.search(vector, k, self._breadth_for(k), self._base_filter(mask))
        if len(found) < min(k, allowed) - len(self._fresh):
            # The filter left FAISS too few rows in the cells it looked at.
            return self._scan(vector, k, mask)
        if len(self._fresh):
            fresh = self._fresh if mask is None else self._fresh[mask[self._fresh]]
            found = np.concatenate([found, fresh])
        return self._best(vector, k, found)

    def _breadth_for(self, k: int) -> int:
        """The calibrated breadth, widened for a large k: IVF cells hold n / cells rows
        each, and a search that reads fewer than 2 k rows would come back short."""
        structure = self._structure
        if structure.kind != "ivf" or not structure.size:
            return self.breadth
        cells = int(structure.index.nlist)
        needed = int(np.ceil(2 * k * cells / structure.size))
        return min(cells, max(self.breadth, needed))

    def _base_filter(self, mask: np.ndarray | None) -> np.ndarray | None:
        """The rows of the FAISS structure a search may return: allowed and not stale."""
        size = self._structure.size
        allowed = None if mask is None else mask[:size]
        if self._stale is not None:
            allowed = ~self._stale if allowed is None else allowed & ~self._stale
        return allowed

    def _scan(
        self, vector: np.ndarray, k: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The exact k best allowed rows, every row scored (what `ExactIndex` does)."""
        scores = self.vectors @ vector
        picked = top_k(scores, k, mask)
        return picked, scores[picked]

    def _best(self, vector: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k best of `rows` by their dot products computed here, ties to the lower row."""
        rows = np.unique(rows)
        scores = self.vectors[rows] @ vector
        picked = top_k(scores, k)
        return rows[picked], scores[picked]

    def with_rows(self, vectors: np.ndarray, rows: np.ndarray | None = None) -> Self:
        """A new index with `rows` replaced by `vectors`, or `vectors` appended when None;
        this one is unchanged, and readers of it are never blocked."""
        new = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        if rows is None:
            changed = np.arange(len(self), len(self) + len(new), dtype=np.int64)
            updated = np.concatenate([self.vectors, new])
        else:
            changed = np.asarray(rows, dtype=np.int64)
            if len(changed) != len(new) or (len(changed) and changed.max() >= len(self)):
                raise ConfigError("rows to replace must be existing rows, one per vector")
            updated = self.vectors.copy()
            updated[changed] = new
        updated.setflags(write=False)
        fresh = np.union1d(self._fresh, changed)
        if len(fresh) > max(REBUILD_AT_LEAST, REBUILD_SHARE * len(updated)):
            log.info("rebuilding the FAISS index: %d rows changed since it was built", len(fresh))
            return type(self).create(updated, self.kind, self.target_recall)
        return type(self)(updated, self._structure, self.breadth, fresh, self.target_recall)


def choose_kind(n: int) -> Kind:
    """HNSW up to `HNSW_UP_TO` rows, IVF beyond (see the module docstring)."""
    return "hnsw" if n <= HNSW_UP_TO else "ivf"


HNSW_UP_TO = 300_000
"""Rows up to which HNSW is built: about 25 s on two cores at 300,000 rows of 64 numbers;
IVF builds a million rows in about 10 s (`benchmarks/bench_index.py`)."""


def calibrate(
    vectors: np.ndarray, structure: _Structure, target_recall: float, seed: int
) -> Calibration:
    """The smallest search breadth whose recall@`CALIBRATION_K` over a sample of the rows,
    each used as a query, reaches `target_recall` (the largest tried if none does)."""
    began = time.perf_counter()
    n = len(vectors)
    k = min(CALIBRATION_K, n)
    rng = np.random.default_rng(seed + 1)
    queries = vectors[rng.choice(n, min(CALIBRATION_QUERIES, n), replace=False)]
    truth: list[set[int]] = []
    for start in range(0, len(queries), 25):  # one product per 25 queries, not per query
        block = vectors @ queries[start : start + 25].T
        truth.extend(set(top_k(column, k).tolist()) for column in block.T)
    breadths: tuple[int, ...] = HNSW_BREADTHS if structure.kind == "hnsw" else IVF_BREADTHS
    if structure.kind == "ivf":
        cells = int(structure.index.nlist)
        breadths = (*(b for b in breadths if b < cells), cells)
    recall = 0.0
    chosen = breadths[-1]
    for breadth in breadths:
        hits = sum(
            len(expected.intersection(structure.search(q, k, breadth, None).tolist()))
            for q, expected in zip(queries, truth, strict=True)
        )
        recall = hits / (k * len(queries))
        if recall >= target_recall:
            chosen = breadth
            break
    return Calibration(chosen, recall, time.perf_counter() - began)


def _frozen_rows(vectors: np.ndarray) -> np.ndarray:
    """A read-only float32 C-ordered matrix: the caller's own when it already is one (the
    engine's item arrays), else a copy, so the index never changes under its readers."""
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise ConfigError(f"index vectors must be a matrix, got shape {array.shape}")
    if array.dtype == np.float32 and array.flags.c_contiguous and not array.flags.writeable:
        return array
    copy = np.array(array, dtype=np.float32, order="C", copy=True)
    copy.setflags(write=False)
    return copy
