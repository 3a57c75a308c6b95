"""The serving engine behind one swappable reference, plus the items added through the API.

A request reads `holder.engine` once at its start and uses that object to the end, so a
reload that swaps the reference never changes the model under a request in flight: old
requests finish on the old engine, new ones get the new one, and nobody waits. Reloads and
item upserts take one lock, so an item added during a reload is never lost from the new
engine (items are replayed from the store into every freshly loaded engine).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sessionrec.data.vocab import check_item_id
from sessionrec.engine import Engine
from sessionrec.errors import ConfigError
from sessionrec.store.base import SessionStore

logger = logging.getLogger(__name__)

EngineLoader = Callable[[Path], Engine]


def item_payload(
    item_id: str,
    title: str,
    text: str | None,
    categories: Sequence[str],
    attributes: Mapping[str, str],
) -> dict[str, Any]:
    """The JSON-able record the store keeps for an admin-added item."""
    return {
        "item_id": item_id,
        "title": title,
        "text": text,
        "categories": list(categories),
        "attributes": dict(attributes),
    }


def apply_item(engine: Engine, payload: Mapping[str, Any]) -> None:
    """Make one stored item recommendable in `engine` (encodes its text)."""
    engine.upsert_item(
        str(payload["item_id"]),
        str(payload.get("title") or ""),
        payload.get("text"),
        tuple(payload.get("categories") or ()),
        dict(payload.get("attributes") or {}),
    )


def _manifest_stamp(artifact: Path | None) -> tuple[int, int] | None:
    if artifact is None:
        return None
    try:
        stat = (artifact / "manifest.json").stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def settle_memory() -> None:
    """Take what is alive now (the model, catalogue, vocabulary) out of the collector's view.

    A full cyclic collection walks every tracked object, and a loaded catalogue holds
    hundreds of thousands; one landing inside a request added milliseconds to the tail
    latency. Frozen objects are still freed by reference counting; unfreezing first lets a
    reload's collection reclaim the old engine's cycles.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class EngineHolder:
    """Owns the current `Engine`; reloads it and applies item upserts safely."""

    def __init__(
        self,
        engine: Engine,
        store: SessionStore,
        artifact: Path | None,
        loader: EngineLoader | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self.artifact = artifact
        # A reload keeps the generative layer (and its cache) of the engine it replaces.
        self._loader: EngineLoader = loader or (
            lambda p: prepared(Engine.from_artifact(p, llm=engine.llm))
        )
        self._lock = threading.Lock()
        self._applied: dict[str, dict[str, Any]] = {}
        self._stamp = _manifest_stamp(artifact)
        self.loaded_at = time.time()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        settle_memory()

    @property
    def engine(self) -> Engine:
        """The engine to use for one whole request (read it once, keep the reference)."""
        return self._engine

    def replay_items(self) -> int:
        """Apply every item the store holds to the current engine (at start-up)."""
        with self._lock:
            return self._replay_into(self._engine, self._store.items())

    def _replay_into(self, engine: Engine, items: list[dict[str, Any]]) -> int:
        applied = 0
        for payload in items:
            item_id = str(payload.get("item_id"))
            try:
                apply_item(engine, payload)
            except ConfigError as exc:
                logger.warning("stored item %r not applied: %s", item_id, exc)
                continue
            self._applied[item_id] = dict(payload)
            applied += 1
        return applied

    def upsert_item(self, payload: dict[str, Any]) -> bool:
        """Add or replace an item in the engine, then persist it; True when it is new.

        The engine goes first: a payload the engine refuses is never stored, so it cannot
        break the replay after a restart.
        """
        check_item_id(payload.get("item_id"))
        with self._lock:
            engine = self._engine
            created = not engine.has_item(str(payload["item_id"]))
            apply_item(engine, payload)
            self._store.upsert_item(payload)
            self._applied[str(payload["item_id"])] = dict(payload)
            return created

    def reload(self) -> Engine:
        """Load the artifact again into a new engine and swap it in; the old one keeps serving
        until the swap. A failed load raises and leaves the current engine in place."""
        if self.artifact is None:
            raise ConfigError(
                "this service was started without an artifact folder; nothing to reload"
            )
        with self._lock:
            stamp = _manifest_stamp(self.artifact)
            fresh = self._loader(self.artifact)
            self._applied.clear()
            self._replay_into(fresh, self._store.items())
            self._engine = fresh
            self._stamp = stamp
            self.loaded_at = time.time()
        logger.info("now serving the artifact in %s (%d items)", self.artifact, fresh.n_items)
        settle_memory()
        return fresh

    def sync_once(self) -> None:
        """Pick up what other workers changed: a new artifact on disk, items they upserted."""
        stamp = _manifest_stamp(self.artifact)
        if stamp is not None and stamp != self._stamp:
            logger.info("artifact %s changed on disk; reloading", self.artifact)
            self.reload()
            return
        items = self._store.items()
        with self._lock:
            changed = [p for p in items if self._applied.get(str(p.get("item_id"))) != p]
            if changed:
                self._replay_into(self._engine, changed)

    def start_sync(self, every_seconds: float) -> None:
        """Run `sync_once` in a daemon thread every `every_seconds` (several workers)."""
        if every_seconds <= 0 or self._watcher is not None:
            return

        def loop() -> None:
            while not self._stop.wait(every_seconds):
                try:
                    self.sync_once()
                except Exception:
                    logger.exception("background sync failed; retrying later")

        self._watcher = threading.Thread(target=loop, name="sessionrec-sync", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None


def prepared(engine: Engine) -> Engine:
    """`engine` with its request interpreter built and its encoder loaded (`Engine.prepare`),
    so a reloaded model's first request is as fast as the rest."""
    engine.prepare()
    return engine
