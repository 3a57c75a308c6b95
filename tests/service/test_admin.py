"""Admin routes: item upsert (recommendable at once, persisted) and reload without downtime."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessionrec.service.app import create_app
from sessionrec.testing.service import API_KEY, Service, running_server

pytestmark = pytest.mark.service

NEW_FILM = {
    "title": "Dinosaur Cartoon Party",
    "text": "An animated cartoon for children and families: singing baby dinosaurs.",
    "categories": ["Animation"],
    "attributes": {"year": "2024"},
}


def ask(service: Service, session: str, auth: dict[str, str], **body: Any) -> list[str]:
    response = service.client.post(
        f"/v1/sessions/{session}/recommendations", json=body, headers=auth
    )
    assert response.status_code == 200, response.text
    return [i["item_id"] for i in response.json()["items"]]


def test_an_upserted_item_is_recommendable_at_once(service: Service) -> None:
    session, auth = service.new_session()
    assert "dino" not in ask(service, session, auth, k=40)
    response = service.client.put("/v1/items/dino", json=NEW_FILM, headers=service.admin())
    assert response.status_code == 201, response.text
    assert response.json()["title"] == NEW_FILM["title"]
    assert service.client.get("/v1/items/dino").json()["categories"] == ["Animation"]
    steered = ask(service, session, auth, k=10, query="an animated cartoon for children")
    assert "dino" in steered
    events = {"events": [{"item_id": "dino", "type": "like"}]}
    posted = service.client.post(f"/v1/sessions/{session}/events", json=events, headers=auth)
    assert posted.json()["accepted"] == 1
    updated = service.client.put(
        "/v1/items/dino", json={**NEW_FILM, "title": "Dino Party 2"}, headers=service.admin()
    )
    assert updated.status_code == 200
    assert service.client.get("/v1/items/dino").json()["title"] == "Dino Party 2"
    assert [i["item_id"] for i in service.store.items()] == ["dino"]


def test_an_item_id_the_route_accepts_the_engine_accepts(service: Service) -> None:
    """One id rule for route, engine and store (`data.vocab.check_item_id`): a 256-character
    id is added everywhere; one longer is refused by the route before anything runs."""
    longest = "x" * 256
    response = service.client.put(f"/v1/items/{longest}", json=NEW_FILM, headers=service.admin())
    assert response.status_code == 201, response.text
    assert service.engine.has_item(longest)
    assert [i["item_id"] for i in service.store.items()] == [longest]
    too_long = service.client.put(f"/v1/items/{longest}y", json=NEW_FILM, headers=service.admin())
    assert too_long.status_code == 422
    assert not service.engine.has_item(longest + "y")


def test_upserted_items_survive_a_restart_and_a_reload(make_service: Any, sqlite_url: str) -> None:
    first: Service = make_service(store_url=sqlite_url)
    first.client.put("/v1/items/dino", json=NEW_FILM, headers=first.admin())
    second: Service = make_service(store_url=sqlite_url)
    assert second.engine.has_item("dino")
    assert second.client.post("/v1/admin/reload", headers=second.admin()).status_code == 200
    assert second.client.get("/v1/items/dino").json()["title"] == NEW_FILM["title"]


def test_reload_swaps_the_engine_while_requests_keep_succeeding(
    tiny_artifact: Path, tmp_path: Path
) -> None:
    from sessionrec.engine import Engine
    from sessionrec.service.settings import ServiceSettings
    from sessionrec.store import open_store

    settings = ServiceSettings(
        artifact=tiny_artifact, store_url=f"sqlite:///{tmp_path / 's.db'}", api_key=API_KEY
    )
    store = open_store(settings.store_url)
    app = create_app(settings, Engine.from_artifact(tiny_artifact), store)
    before = app.state.service.holder.engine
    statuses: list[int] = []
    stop = threading.Event()

    with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        created = client.post("/v1/sessions").json()
        auth = {"Authorization": f"Bearer {created['token']}"}
        url = f"/v1/sessions/{created['session_id']}/recommendations"

        def hammer() -> None:
            with httpx.Client(base_url=base, timeout=30) as own:
                while not stop.is_set():
                    statuses.append(own.post(url, json={"k": 5}, headers=auth).status_code)

        workers = [threading.Thread(target=hammer) for _ in range(3)]
        for worker in workers:
            worker.start()
        try:
            reloads = [
                client.post("/v1/admin/reload", headers={"X-API-Key": API_KEY}) for _ in range(2)
            ]
        finally:
            stop.set()
            for worker in workers:
                worker.join()
    store.close()
    assert [r.status_code for r in reloads] == [200, 200]
    assert reloads[0].json()["n_items"] == 40
    assert statuses and set(statuses) == {200}
    assert app.state.service.holder.engine is not before


def test_a_failed_reload_keeps_serving_the_old_model(
    make_service: Any, tiny_artifact: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "artifact"
    shutil.copytree(tiny_artifact, folder)
    service: Service = make_service(artifact=folder)
    session, auth = service.new_session()
    victim = next(p for p in folder.iterdir() if p.name != "manifest.json" and p.is_file())
    victim.write_bytes(victim.read_bytes()[:-10] + b"corrupted!")
    response = service.client.post("/v1/admin/reload", headers=service.admin())
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "reload_failed" and "corrupted" in error["message"]
    assert ask(service, session, auth, k=3)
