"""A content-addressed embedding cache on disk: each text is encoded once per encoder.

Encoding a catalogue with a language model is the slowest step of a run, and the same items
come back in every run, so vectors are kept by encoder name and by the SHA-256 of the text.
Layout: one folder per encoder (a readable, sanitised name plus a hash of the exact name),
holding ``shard-*.npz`` files of ``keys`` (32-byte digests) and ``vectors`` (float32).
Every call that encodes something adds one shard, written to a temporary file and renamed
into place, so a crash or a concurrent reader never sees half a file; many small shards are
merged now and then. Files are read with ``allow_pickle=False``; a damaged one is dropped
with a warning and its texts are simply encoded again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sessionrec.data.download import cache_dir
from sessionrec.text.base import DEFAULT_BATCH_SIZE, TextEncoder

__all__ = ["MAX_SHARDS", "EmbeddingCache", "default_cache_folder", "text_key"]

logger = logging.getLogger(__name__)

MAX_SHARDS = 32
"""Shards per encoder before they are merged into one, to keep start-up reads few."""

_SHARD_GLOB = "shard-*.npz"
_KEY_BYTES = 32
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _encode(
    encoder: TextEncoder, texts: list[str], batch_size: int, show_progress: bool
) -> np.ndarray:
    """The encoder's vectors as a contiguous float32 matrix, ready to store."""
    vectors = encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def default_cache_folder() -> Path:
    """``$SESSIONREC_CACHE/embeddings``, else the user cache (see `cache_dir`)."""
    return cache_dir() / "embeddings"


def text_key(text: str) -> bytes:
    """The cache key of a text: the SHA-256 digest of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def digests(keys: np.ndarray) -> list[bytes]:
    """The 32-byte keys of a shard's ``S32`` array, each exactly as it was written.

    Not ``bytes(key)``: numpy drops the trailing NUL bytes of an ``S`` element, so the one
    digest in 256 that ends in a zero byte came back a byte short, never matched, and its
    text was encoded again (loading the model) in every run.
    """
    raw = keys.tobytes()
    return [raw[start : start + _KEY_BYTES] for start in range(0, len(raw), _KEY_BYTES)]


@dataclass
class _Store:
    """What is known in memory about one encoder's folder."""

    folder: Path
    vectors: dict[bytes, np.ndarray] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)
    dimension: int | None = None


class EmbeddingCache:
    """Vectors on disk by encoder name and text hash; `encode_with_cache` encodes only misses.

    Safe to share between threads; several processes may use one folder too, since files
    are only ever added whole or removed (at worst a text is encoded twice).
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else default_cache_folder()
        self._stores: dict[str, _Store] = {}
        self._lock = threading.Lock()

    def folder_for(self, encoder_name: str) -> Path:
        """The folder holding one encoder's vectors; distinct names never share one."""
        readable = _UNSAFE.sub("_", encoder_name).strip("._")[:80] or "encoder"
        digest = hashlib.sha256(encoder_name.encode("utf-8")).hexdigest()[:12]
        return self.folder / f"{readable}-{digest}"

    def encode_with_cache(
        self,
        encoder: TextEncoder,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Vectors for `texts` as (n, d) float32, encoding and storing only the unseen texts.

        Repeated texts within the call are encoded once. Rows are exactly what the encoder
        gave when each text was first seen, so repeated runs are bit-identical.
        """
        with self._lock:
            store = self._refresh(encoder.name)
            keys = [text_key(str(t)) for t in texts]
            unique = dict(zip(keys, (str(t) for t in texts), strict=True))
            missing = {k: t for k, t in unique.items() if k not in store.vectors}
            logger.info(
                "embedding cache for %s: %d distinct texts, %d cached, %d to encode",
                encoder.name,
                len(unique),
                len(unique) - len(missing),
                len(missing),
            )
            if missing:
                fresh = _encode(encoder, list(missing.values()), batch_size, show_progress)
                if store.dimension is not None and fresh.shape[1] != store.dimension:
                    logger.warning(
                        "embedding cache for %s holds %d-d vectors but the encoder now gives "
                        "%d-d; discarding the old ones",
                        encoder.name,
                        store.dimension,
                        fresh.shape[1],
                    )
                    self._drop_all(store)
                    # The cached texts went with the old vectors: encode them as well.
                    hits = {k: t for k, t in unique.items() if k not in missing}
                    if hits:
                        more = _encode(encoder, list(hits.values()), batch_size, show_progress)
                        fresh = np.vstack([fresh, more])
                        missing.update(hits)
                self._add(store, encoder.name, list(missing), fresh)
            if not keys:
                width = store.dimension if store.dimension is not None else encoder.dimension
                return np.zeros((0, width), dtype=np.float32)
            return np.stack([store.vectors[k] for k in keys])

    def _add(
        self, store: _Store, encoder_name: str, keys: list[bytes], vectors: np.ndarray
    ) -> None:
        """Write new vectors as a shard, remember them, and merge shards when there are many."""
        self._write_shard(store, encoder_name, keys, vectors)
        store.vectors.update(zip(keys, vectors, strict=True))
        store.dimension = vectors.shape[1]
        if len(store.read) > MAX_SHARDS:
            self._compact(store, encoder_name)

    def _refresh(self, encoder_name: str) -> _Store:
        """The encoder's store, after reading any shard written since the last look."""
        store = self._stores.get(encoder_name)
        if store is None:
            store = _Store(self.folder_for(encoder_name))
            self._stores[encoder_name] = store
        if not store.folder.is_dir():
            return store
        for path in sorted(store.folder.glob(_SHARD_GLOB)):
            if path.name in store.read:
                continue
            loaded = self._read_shard(path, encoder_name, store.dimension)
            if loaded is None:
                continue
            keys, vectors = loaded
            store.dimension = vectors.shape[1]
            store.vectors.update(zip(digests(keys), vectors, strict=True))
            store.read.add(path.name)
        return store

    def _read_shard(
        self, path: Path, encoder_name: str, dimension: int | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """A shard's keys and vectors, or None (with a warning) when it cannot be trusted."""
        try:
            with np.load(path, allow_pickle=False) as data:
                keys = data["keys"]
                vectors = data["vectors"]
                name = str(data["name"])
        except FileNotFoundError:
            return None  # merged away by another process since the folder was listed
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            return self._discard(path, f"unreadable ({type(exc).__name__}: {exc})")
        if name != encoder_name:
            return self._discard(path, f"written for encoder {name!r}")
        if (
            keys.dtype != np.dtype(f"S{_KEY_BYTES}")
            or keys.ndim != 1
            or vectors.dtype != np.float32
            or vectors.ndim != 2
            or vectors.shape[0] != keys.shape[0]
            or vectors.shape[1] == 0
        ):
            return self._discard(path, f"wrong layout (keys {keys.shape}, vectors {vectors.shape})")
        if dimension is not None and vectors.shape[1] != dimension:
            return self._discard(path, f"{vectors.shape[1]}-d vectors, others are {dimension}-d")
        if not np.isfinite(vectors).all():
            return self._discard(path, "non-finite values")
        return keys, vectors

    @staticmethod
    def _discard(path: Path, why: str) -> None:
        """Remove a damaged shard so it is not read again; its texts will be re-encoded."""
        logger.warning("embedding cache file %s is %s; removing it and re-encoding", path, why)
        path.unlink(missing_ok=True)
        return None

    @staticmethod
    def _write_shard(
        store: _Store, encoder_name: str, keys: list[bytes], vectors: np.ndarray
    ) -> str:
        """Write one shard atomically (temporary file, then rename); returns its file name."""
        store.folder.mkdir(parents=True, exist_ok=True)
        file_name = f"shard-{uuid.uuid4().hex}.npz"
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=store.folder)
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(
                    stream,
                    keys=np.array(keys, dtype=f"S{_KEY_BYTES}"),
                    vectors=np.ascontiguousarray(vectors, dtype=np.float32),
                    name=np.array(encoder_name),
                )
                stream.flush()
                os.fsync(stream.fileno())
            Path(temporary).replace(store.folder / file_name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        store.read.add(file_name)
        return file_name

    def _compact(self, store: _Store, encoder_name: str) -> None:
        """Merge all shards read so far into one, then remove them."""
        old = set(store.read)
        keys = list(store.vectors)
        vectors = np.stack([store.vectors[k] for k in keys])
        merged = self._write_shard(store, encoder_name, keys, vectors)
        for name in old:
            (store.folder / name).unlink(missing_ok=True)
        store.read = {merged}
        logger.info("merged %d embedding cache files for %s", len(old), encoder_name)

    @staticmethod
    def _drop_all(store: _Store) -> None:
        """Forget and remove every shard of an encoder (its vectors no longer fit)."""
        for name in store.read:
            (store.folder / name).unlink(missing_ok=True)
        store.vectors.clear()
        store.read.clear()
        store.dimension = None
