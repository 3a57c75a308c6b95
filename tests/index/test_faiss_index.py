"""What `FaissIndex` promises beyond the contract: calibrated recall on clustered vectors,
updates that leave readers' index alone and never return a replaced row's old vector,
masks (filtered in FAISS, or exact when they leave few rows), and the rebuild."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sessionrec.errors import ConfigError
from sessionrec.index import ExactIndex, FaissIndex, SizedIndex, approximate, index_builder
from sessionrec.index.approximate import Kind


def clustered(n: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    """Rows around 50 centres: item vectors of a trained model are clustered like this."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dimension))
    rows = centres[rng.integers(0, 50, n)] + 0.5 * rng.normal(size=(n, dimension))
    return rows.astype(np.float32)


def recall(index: FaissIndex, vectors: np.ndarray, queries: np.ndarray, k: int) -> float:
    exact = ExactIndex.build(vectors)
    hits = sum(
        len(set(index.search(q, k)[0].tolist()) & set(exact.search(q, k)[0].tolist()))
        for q in queries
    )
    return hits / (k * len(queries))


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_calibrated_recall_holds_on_new_queries(kind: Kind) -> None:
    vectors = clustered(6000)
    index = FaissIndex.create(vectors, kind, target_recall=0.95)
    rng = np.random.default_rng(5)
    queries = vectors[rng.integers(0, len(vectors), 60)] + 0.3 * rng.normal(size=(60, 16))
    assert recall(index, vectors, queries.astype(np.float32), 20) >= 0.93


def test_a_stricter_target_searches_wider() -> None:
    vectors = clustered(6000)
    loose = FaissIndex.create(vectors, "ivf", target_recall=0.5)
    strict = FaissIndex.create(vectors, "ivf", target_recall=1.0)
    assert loose.breadth < strict.breadth


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_a_replaced_row_is_found_by_its_new_vector_only(kind: Kind) -> None:
    vectors = clustered(3000)
    index = FaissIndex.create(vectors, kind)
    query = vectors[7]
    best = int(index.search(query, 1)[0][0])
    edited = index.with_rows(-query[None, :] * 10, np.array([best]))
    assert best not in edited.search(query, 50)[0].tolist()  # its old vector is gone
    assert int(edited.search(-query, 1)[0][0]) == best  # its new one is found
    assert int(index.search(query, 1)[0][0]) == best  # the readers' index is unchanged
    rows, scores = edited.search(query, 10)
    np.testing.assert_allclose(scores, edited.vectors[rows] @ query, rtol=1e-5)


def test_appended_rows_are_searched_until_the_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approximate, "REBUILD_AT_LEAST", 10)
    vectors = clustered(1000)
    index = FaissIndex.create(vectors, "ivf")
    structure = index._structure
    query = vectors[3] * 5
    grown = index.with_rows(query[None, :])
    assert int(grown.search(query, 1)[0][0]) == 1000
    assert grown._structure is structure  # shared, not rebuilt
    for _ in range(25):  # past max(10, 2 % of the rows)
        grown = grown.with_rows(clustered(1, seed=len(grown)))
    assert grown._structure is not structure and len(grown) == 1026
    assert int(grown.search(query, 1)[0][0]) == 1000


def test_masks_are_honoured_filtered_or_exact() -> None:
    vectors = clustered(4000)
    index = FaissIndex.create(vectors, "hnsw")
    exact = ExactIndex.build(vectors)
    query = vectors[11]
    wide = np.ones(4000, dtype=bool)
    wide[exact.search(query, 5)[0]] = False  # the five best are excluded
    rows = index.search(query, 10, wide)[0]
    assert len(rows) == 10 and wide[rows].all()
    narrow = np.zeros(4000, dtype=bool)
    narrow[::200] = True  # 20 rows: searched exactly
    assert index.search(query, 5, narrow)[0].tolist() == exact.search(query, 5, narrow)[0].tolist()
    assert len(index.search(query, 5, np.zeros(4000, dtype=bool))[0]) == 0


def test_bad_arguments_are_named() -> None:
    vectors = clustered(100)
    with pytest.raises(ConfigError, match="kind"):
        FaissIndex.create(vectors, "lsh")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="recall"):
        FaissIndex.create(vectors, "ivf", target_recall=0.0)
    index = FaissIndex.create(vectors, "ivf")
    with pytest.raises(ConfigError, match="shape"):
        index.search(np.zeros(3, np.float32), 5)
    with pytest.raises(ConfigError, match="existing rows"):
        index.with_rows(vectors[:1], np.array([500]))


def test_the_sized_builder_switches_by_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SESSIONREC_CACHE", str(tmp_path))  # where index_builder saves
    vectors = clustered(500)
    assert isinstance(SizedIndex(exact_below=501).build(vectors), ExactIndex)
    assert isinstance(SizedIndex(exact_below=500).build(vectors), FaissIndex)
    assert index_builder("exact").build(vectors).__class__ is ExactIndex
    ivf = index_builder("ivf").build(clustered(5000))
    assert isinstance(ivf, FaissIndex) and ivf.kind == "ivf"
    assert len(list((tmp_path / "indexes").glob("*.faiss"))) == 1
    monkeypatch.setenv("SESSIONREC_EXACT_BELOW", "100")
    assert isinstance(index_builder("auto").build(vectors), FaissIndex)
    monkeypatch.setenv("SESSIONREC_EXACT_BELOW", "many")
    with pytest.raises(ConfigError, match="SESSIONREC_EXACT_BELOW"):
        index_builder("auto")
    with pytest.raises(ConfigError, match="unknown index"):
        index_builder("annoy")


def test_vectors_without_structure_are_searched_exactly(caplog: pytest.LogCaptureFixture) -> None:
    """I.i.d. noise in 64 dimensions: reaching the recall means reading most cells, so the
    builder says so and scans instead."""
    noise = np.random.default_rng(0).normal(size=(4000, 64)).astype(np.float32)
    assert FaissIndex.create(noise, "ivf").exhaustive
    assert not FaissIndex.create(clustered(4000), "ivf").exhaustive
    with caplog.at_level("WARNING"):
        assert isinstance(SizedIndex(exact_below=0, kind="ivf").build(noise), ExactIndex)
    assert "no structure" in caplog.text


def test_a_saved_index_answers_as_the_built_one(tmp_path: Path) -> None:
    vectors = clustered(3000)
    built = FaissIndex.create(vectors, "ivf")
    built.save(tmp_path / "items.faiss")
    read = FaissIndex.load(tmp_path / "items.faiss", vectors)
    assert read.kind == "ivf" and read.breadth == built.breadth
    for query in clustered(5, seed=9):
        for a, b in zip(read.search(query, 20), built.search(query, 20), strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="not"):
        FaissIndex.load(tmp_path / "items.faiss", vectors[:100])
    with pytest.raises(ConfigError, match="before any update"):
        built.with_rows(vectors[:1]).save(tmp_path / "changed.faiss")


def test_the_cache_skips_the_second_build(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    vectors = clustered(3000)
    builder = SizedIndex(exact_below=0, kind="hnsw", cache=tmp_path)
    with caplog.at_level("INFO"):
        first = builder.build(vectors)
        assert "built in" in caplog.text
        caplog.clear()
        second = builder.build(vectors)
        assert "read from" in caplog.text and "built in" not in caplog.text
    query = vectors[5]
    assert first.search(query, 10)[0].tolist() == second.search(query, 10)[0].tolist()
    other = builder.build(clustered(3000, seed=1))  # other vectors: another file
    assert len(list(tmp_path.glob("*.faiss"))) == 2 and len(other) == 3000
    for path in tmp_path.glob("*.faiss"):
        path.write_bytes(b"garbage")
    with caplog.at_level("WARNING"):
        again = builder.build(vectors)  # an unreadable cache file is rebuilt, not fatal
    assert "rebuilding" in caplog.text and len(again) == 3000
