"""Several workers over one store stay in step: items one adds reach the others, and a new
artifact on disk is picked up (what `EngineHolder.sync_once` does every few seconds)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sessionrec.engine import Engine
from sessionrec.errors import ConfigError
from sessionrec.service.runtime import EngineHolder, item_payload
from sessionrec.store import open_store

pytestmark = pytest.mark.service


def test_items_upserted_by_one_worker_reach_another(tiny_artifact: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with open_store(url) as store_a, open_store(url) as store_b:
        a = EngineHolder(Engine.from_artifact(tiny_artifact), store_a, tiny_artifact)
        b = EngineHolder(Engine.from_artifact(tiny_artifact), store_b, tiny_artifact)
        payload = item_payload("new", "A New Film", "A documentary about volcanoes.", ["Doc"], {})
        assert a.upsert_item(payload) is True
        assert a.upsert_item(payload) is False  # now an update
        assert not b.engine.has_item("new")
        b.sync_once()
        info = b.engine.item("new")
        assert info is not None and info.title == "A New Film"


def test_a_refused_item_is_not_stored(tiny_artifact: Path, tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        holder = EngineHolder(Engine.from_artifact(tiny_artifact), store, tiny_artifact)
        with pytest.raises(ConfigError):
            holder.upsert_item(item_payload("", "No id", None, [], {}))
        assert store.items() == []


def test_a_rewritten_artifact_is_reloaded(tiny_artifact: Path, tmp_path: Path) -> None:
    folder = tmp_path / "artifact"
    shutil.copytree(tiny_artifact, folder)
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        holder = EngineHolder(Engine.from_artifact(folder), store, folder)
        first = holder.engine
        holder.sync_once()
        assert holder.engine is first  # nothing changed on disk
        manifest = folder / "manifest.json"
        manifest.write_text(manifest.read_text() + "\n")
        stat = manifest.stat()
        os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        holder.sync_once()
        assert holder.engine is not first


def test_outcome_lookup_reads_only_the_items_asked_for(tmp_path: Path) -> None:
    from sessionrec.service.routes.recommend import OutcomeLookup

    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.record_outcome("a", True)
        store.record_outcome("a", False)
        store.record_outcome("b", True)
        lookup = OutcomeLookup(store)
        assert lookup  # truthy before anything is fetched, so `stats or {}` keeps it
        assert lookup.get("a") == (1, 1)
        assert lookup.get("zzz") is None
        assert "zzz" not in lookup
        assert dict(lookup) == {"a": (1, 1)}  # "b" was never asked for
