"""`sessionrec retrain`: learn from served sessions, judge against the served model, reload.

Artifacts are trained on the shop example by the command line; sessions are written to a
real SQLite store through the store API and through a real running service.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from sessionrec.artifact import load_artifact, load_artifact_catalogue, read_manifest
from sessionrec.cli import EXIT_KEPT, EXIT_RELOAD_FAILED, app
from sessionrec.models.base import SessionBatch
from sessionrec.models.transformer import SessionTransformer
from sessionrec.service.app import create_app
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import StoredEvent, open_store
from sessionrec.testing.redis_server import free_port
from sessionrec.testing.service import API_KEY, running_server
from sessionrec.workflows.retrain import ReloadFailedError, request_reload

SHOP = Path(__file__).resolve().parent.parent / "examples" / "shop"
QUICK = ["--set", "epochs=2", "--set", "progress=false", "--set", "threads=1"]
NEW_RING = [f"N{i}" for i in range(1, 7)]
"""Items only a library client's sessions have: no model trained on the shop knows them."""


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SESSIONREC_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def train(out: Path, model: str, *extra: str) -> Path:
    code, stdout, stderr = invoke(
        "train", "--data", str(SHOP / "events.csv"), "--model", model, "--out", str(out), *extra
    )
    assert code == 0, stdout + stderr
    return out


@pytest.fixture(scope="module")
def shop_transformer(tmp_path_factory: pytest.TempPathFactory, cache: None) -> Path:
    folder = tmp_path_factory.mktemp("transformer") / "artifact"
    return train(folder, "transformer", "--catalogue", str(SHOP / "items.csv"), *QUICK)


@pytest.fixture(scope="module")
def shop_pop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("pop") / "artifact", "pop")


def add_sessions(url: str, sessions: Sequence[Sequence[str]]) -> list[str]:
    """Sessions written through the store API, as a library client would (views)."""
    with open_store(url) as store:
        ids = []
        for items in sessions:
            sid = store.create_session("h")
            store.append_events(sid, [StoredEvent(i, "view", 1e9 + k) for k, i in enumerate(items)])
            ids.append(sid)
        return ids


def ring(n: int) -> list[list[str]]:
    """n sessions of four steps round `NEW_RING`."""
    return [[NEW_RING[(s + k) % len(NEW_RING)] for k in range(4)] for s in range(n)]


# -- the transformer, a running service and --reload ----------------------------------------


@pytest.mark.service
def test_retrain_learns_served_sessions_and_the_service_reloads_the_new_model(
    shop_transformer: Path, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    shutil.copytree(shop_transformer, served)
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    settings = ServiceSettings(artifact=served, store_url=url, api_key=API_KEY)
    with running_server(create_app(settings)) as base:
        admin = {"X-API-Key": API_KEY}
        grinder = {"title": "Hand grinder", "text": "A compact manual coffee grinder."}
        put = httpx.put(f"{base}/v1/items/P99", json=grinder, headers=admin)
        assert put.status_code in (200, 201), put.text

        def new_session() -> tuple[str, dict[str, str]]:
            body = httpx.post(f"{base}/v1/sessions").json()
            return body["session_id"], {"Authorization": f"Bearer {body['token']}"}

        # A person browses with the item added while serving. (Their client's clock is
        # behind the shop's log, so training does not hold the session out for validation,
        # which takes the latest sessions by their events' times.)
        sid, auth = new_session()
        events = [
            {"item_id": i, "type": "view", "timestamp": 1.5e9 + k}
            for k, i in enumerate(("P01", "P99", "P03", "P99"))
        ]
        posted = httpx.post(
            f"{base}/v1/sessions/{sid}/events", json={"events": events}, headers=auth
        )
        assert posted.json()["accepted"] == 4
        # Another deletes their session: none of it may reach the new model.
        gone, gone_auth = new_session()
        add_to = open_store(url)
        add_to.append_events(gone, [StoredEvent(f"GHOST{k}", "view", 1.0) for k in range(3)])
        add_to.close()
        assert httpx.delete(f"{base}/v1/sessions/{gone}", headers=gone_auth).status_code == 204
        # The most recent sessions walk items the served model has never seen.
        add_sessions(url, ring(30))

        report = tmp_path / "retrain.json"
        code, stdout, stderr = invoke(
            "retrain", "--store", url, "--artifact", str(served), "--out", str(served),
            "--min-holdout", "5", *QUICK, "--json", str(report), "--reload", base,
            env={"SESSIONREC_ADMIN_KEY": API_KEY},
        )  # fmt: skip
        assert code == 0, stdout + stderr

        manifest = read_manifest(served)
        figures = manifest["retrain"]
        assert figures == {k: v for k, v in json.loads(report.read_text()).items() if k != "out"}
        assert figures["decision"] == "accepted" and figures["warm_start"] is True
        assert figures["held_out_sessions"] == 5 and figures["held_out_cases"] == 15
        assert figures["champion"]["HR@20"] == 0.0  # it knows none of those items
        assert figures["challenger"]["HR@20"] > 0.0
        assert figures["exported"]["sessions"] == 31 and figures["exported"]["events"] == 124
        assert figures["store_items"] == 1 and figures["champion_items_added"] == 1
        assert figures["parent"]["data_hash"] == read_manifest(shop_transformer)["data_hash"]
        assert manifest["data"] == str(SHOP / "events.csv")
        assert "champion" in stderr and "warm-started" in stderr  # progress in the log
        assert "is not the data the artifact was trained on" not in stderr

        model = load_artifact(served)
        assert isinstance(model, SessionTransformer) and model.net is not None
        ids = set(model.vocab.ids)
        assert {"P99", *NEW_RING} <= ids and not any(i.startswith("GHOST") for i in ids)
        assert bool(model.net.items.trained[model.vocab.index("P99")])  # now a trained item
        catalogue = load_artifact_catalogue(served)
        assert catalogue is not None and catalogue.item("P99")["title"] == "Hand grinder"
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]

        assert f"reloaded {served}" in stdout
        engine = httpx.get(f"{base}/readyz").json()["engine"]
        assert engine["n_items"] == len(model.vocab)  # the new vocabulary is served

        with pytest.raises(ReloadFailedError, match=r"401 wrong_api_key: .*SESSIONREC_ADMIN_KEY"):
            request_reload(base, "not-the-admin-key-0123")
        (served / "weights.safetensors").write_bytes(b"broken")
        with pytest.raises(ReloadFailedError, match=r"409 reload_failed: .*old model"):
            request_reload(base, API_KEY)
    with pytest.raises(ReloadFailedError, match="cannot reach the service at http://127"):
        request_reload(f"http://127.0.0.1:{free_port()}", API_KEY)


# -- the decision, with popularity: its figures follow from the counts -----------------------


def top_item(artifact: Path) -> tuple[str, str]:
    """The pop artifact's most popular item and another it knows."""
    model = load_artifact(artifact)
    order = np.argsort(-model.score(SessionBatch.of([]))[0], kind="stable")
    return model.vocab.ids[order[0]], model.vocab.ids[order[-1]]


def test_a_worse_model_is_not_written_and_a_better_one_is(shop_pop: Path, tmp_path: Path) -> None:
    top, other = top_item(shop_pop)
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    out = tmp_path / "new"
    report = tmp_path / "retrain.json"
    # Learnt from: `other`, over and over, so it becomes the most popular item. Judged on:
    # the served model's favourite, which the new model ranks second.
    add_sessions(url, [[other] * 5] * 40 + [[top] * 3] * 5)
    args = ["retrain", "--store", url, "--artifact", str(shop_pop), "--out", str(out),
            "--min-holdout", "5", "--json", str(report)]  # fmt: skip
    code, stdout, stderr = invoke(*args)
    assert code == EXIT_KEPT, stdout + stderr
    assert "kept the served model" in stdout and "nothing written" in stdout
    assert "NDCG@10 0.6309 against the served model's 1.0000" in stdout
    assert "pop has no warm start: it is refitted from scratch" in stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    rejected = json.loads(report.read_text())
    assert rejected["decision"] == "rejected" and rejected["out"] is None
    assert rejected["held_out_sessions"] == 5 and rejected["learnt_sessions"] == 40

    # Now the latest sessions want `other` too: the new model is the better one.
    add_sessions(url, [[other] * 3] * 5)
    code, stdout, stderr = invoke(*args)
    assert code == 0, stdout + stderr
    assert "the new model scores NDCG@10 1.0000 against" in stdout
    figures = read_manifest(out)["retrain"]
    assert figures["decision"] == "accepted" and figures["warm_start"] is False
    assert figures["challenger"]["NDCG@10"] == 1.0 > figures["champion"]["NDCG@10"]
    assert load_artifact(out).score(SessionBatch.of([]))[0].argmax() == load_artifact(
        out
    ).vocab.index(other)


def test_too_few_sessions_are_refused_unless_forced_and_swept_ones_are_gone(
    shop_pop: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    out = tmp_path / "new"
    add_sessions(url, [["P01", "P02"]] * 6)
    args = ["retrain", "--store", url, "--artifact", str(shop_pop), "--out", str(out)]
    code, _, stderr = invoke(*args)
    assert code == 2 and not out.exists()
    assert "the store holds 6 sessions with 2 or more events" in stderr
    assert "needs 50 held out (--min-holdout 50" in stderr and "--force" in stderr
    # Retention first: a retention of 9 ms (1e-7 days) leaves no session to learn from.
    time.sleep(0.05)
    code, stdout, stderr = invoke(*args, "--force", "--retention-days", "1e-7")
    assert code == 0, stdout + stderr
    assert "not judged (--force); artifact written to" in stdout
    figures = read_manifest(out)["retrain"]
    assert figures["decision"] == "unjudged" and figures["swept_sessions"] == 6
    assert figures["exported"]["sessions"] == 0 and figures["champion"] is None
    with open_store(url) as store:
        assert store.session_ids() == []


def test_a_failed_reload_leaves_the_artifact_written(shop_pop: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    out = tmp_path / "new"
    add_sessions(url, [["P01", "P02"]] * 3)
    code, stdout, stderr = invoke(
        "retrain", "--store", url, "--artifact", str(shop_pop), "--out", str(out), "--force",
        "--reload", f"http://127.0.0.1:{free_port()}", env={"SESSIONREC_API_KEY": API_KEY},
    )  # fmt: skip
    assert code == EXIT_RELOAD_FAILED, stdout + stderr
    assert f"the artifact is written to {out}, but the service did not reload it" in stderr
    assert "cannot reach the service" in stderr
    assert read_manifest(out)["retrain"]["decision"] == "unjudged"


def test_the_training_data_is_found_or_named(shop_pop: Path, tmp_path: Path) -> None:
    moved = tmp_path / "artifact"
    shutil.copytree(shop_pop, moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["data"] = str(tmp_path / "gone" / "events.csv")
    (moved / "manifest.json").write_text(json.dumps(manifest))
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    add_sessions(url, [["P01", "P02"]] * 3)
    args = ["retrain", "--store", url, "--artifact", str(moved), "--out", str(moved), "--force"]
    code, _, stderr = invoke(*args)
    assert code == 2
    assert f"trained on {tmp_path / 'gone' / 'events.csv'}" in stderr
    assert '/manifest.json, "data")' in stderr and "--data PATH" in stderr
    edited = tmp_path / "events.csv"
    edited.write_text((SHOP / "events.csv").read_text() + "S999,P01,2026-03-09T10:00:00,view\n")
    code, stdout, stderr = invoke(*args, "--data", str(edited))
    assert code == 0, stdout + stderr
    assert "is not the data the artifact was trained on" in stderr  # edited since
    assert read_manifest(moved)["data"] == str(edited)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--holdout-share", "1.5"], "--holdout-share must lie strictly between 0 and 1"),
        (["--min-holdout", "0"], "--min-holdout must be at least 1"),
        (["--metric", "AUC"], "unknown metric 'AUC'"),
        (["--retention-days", "0"], "--retention-days must be a positive number of days"),
        (["--reload", "127.0.0.1:8000"], "is not a service address"),
        (["--reload", "http://127.0.0.1:8000"], "--reload needs the service's admin key"),
        (["--set", "epoch=3"], "setting 'epoch=3': no chosen model (pop) has an option"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    shop_pop: Path,
    tmp_path: Path,
    extra: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SESSIONREC_ADMIN_KEY", "SESSIONREC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    code, _, stderr = invoke(
        "retrain", "--store", url, "--artifact", str(shop_pop), "--out", str(tmp_path / "o"),
        *extra,
    )  # fmt: skip
    assert code == 2 and message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1


def test_help_names_the_exit_statuses() -> None:
    code, stdout, _ = invoke("retrain", "--help")
    assert code == 0
    assert f"{EXIT_KEPT} the new model scored worse" in " ".join(stdout.split())


def test_train_records_its_log_by_absolute_path_so_retrain_finds_it_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(SHOP)
    out = tmp_path / "pop"
    code, stdout, stderr = invoke(
        "train", "--data", "events.csv", "--catalogue", "items.csv", "--model", "pop",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    manifest = read_manifest(out)
    assert manifest["data"] == str(SHOP / "events.csv")
    assert manifest["catalogue"] == str(SHOP / "items.csv")
