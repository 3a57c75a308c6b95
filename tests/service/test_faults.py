"""Faults the service must survive: no acknowledged event is ever lost, and an outage is a
503 with `Retry-After` that heals by itself.

- SIGKILL of `sessionrec serve` while clients post events concurrently, over SQLite and
  over Redis (`appendonly yes`, `appendfsync always`, SIGKILLed too): every event the
  service acknowledged is in the store afterwards, in order; of a batch in flight at the
  kill, all or none.
- Redis killed under a running service: requests that need the store answer 503
  `store_unavailable` with `Retry-After` within seconds, /readyz answers 503; Redis restarted
  on its port and append-only file: the same service answers 200 again, untouched, and the
  events acknowledged before the outage are there.
- The SQLite store's disk full (a tmpfs with a size limit) or its files made read-only
  (`chattr +i`, which binds root too): writes answer 503 and leave nothing half-written,
  reads still answer, and writes succeed again once space or permission is back.

(A corrupted artifact on reload is refused while the old model keeps serving:
`test_admin.py::test_a_failed_reload_keeps_serving_the_old_model`.)

Real processes throughout: redis-server and `sessionrec serve` on 127.0.0.1, killed with
SIGKILL. The default run has a short form of each; `slow` runs more events and restarts the
service over HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessionrec.artifact import save_artifact
from sessionrec.engine import Engine
from sessionrec.models.transformer import SessionTransformer
from sessionrec.service.app import create_app
from sessionrec.service.errors import STORE_RETRY_AFTER_S
from sessionrec.service.ratelimit import RateLimits
from sessionrec.service.settings import ServiceSettings
from sessionrec.store import StoredEvent, open_store
from sessionrec.testing import QUICK_TRANSFORMER_SMOKE, films
from sessionrec.testing.redis_server import RedisServer, free_port, stop_process
from sessionrec.testing.service import running_server

pytestmark = pytest.mark.service

logger = logging.getLogger(__name__)

RedisStarter = Callable[..., RedisServer]

#: Rate limits off in served processes: the ingest clients are one address posting fast.
NO_RATE_LIMITS = {"SESSIONREC_RATE_PER_ADDRESS": "off", "SESSIONREC_RATE_PER_SESSION": "off"}

#: A 503 must come this fast: a dead store is an answer, not a hang.
PROMPT_S = 3.0


@pytest.fixture(scope="module")
def plain_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch transformer over the film catalogue without item text, so that a served
    process starts without loading a language model: a (re)start takes seconds."""
    config = dataclasses.replace(QUICK_TRANSFORMER_SMOKE, use_text=False)
    train = films.sessions()
    model = SessionTransformer(config).fit(train, films.catalogue())
    return save_artifact(
        model, tmp_path_factory.mktemp("plain"), train, catalogue=films.catalogue()
    )


# -- a served process ---------------------------------------------------------------------


@dataclass
class Served:
    """`sessionrec serve` in a child process, its output in a log file."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, no buffer is flushed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Poll /readyz until it answers 200 (fails if the process exits or time runs out)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"sessionrec serve exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"sessionrec serve not ready:\n{self.log.read_text()}")
            time.sleep(0.1)


def spawn_serve(artifact: Path, store_url: str, port: int, log: Path) -> Served:
    """Start `sessionrec serve` without waiting for it."""
    command = [
        sys.executable, "-m", "sessionrec", "serve", "--artifact", str(artifact),
        "--store", store_url, "--port", str(port),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **NO_RATE_LIMITS}
        )
    return Served(proc, f"http://127.0.0.1:{port}", log)


ServeStarter = Callable[[Path, list[tuple[str, int]]], list[Served]]


@pytest.fixture
def serve_starter(tmp_path: Path) -> Iterator[ServeStarter]:
    """Start served processes, one per (store URL, port), together (their start-up is
    mostly imports, so two cost little more than one) and wait until all are ready; any
    still running at the end are stopped."""
    started: list[Served] = []

    def start(artifact: Path, stores: list[tuple[str, int]]) -> list[Served]:
        batch = [
            spawn_serve(artifact, url, port, tmp_path / f"serve-{port}.log") for url, port in stores
        ]
        started.extend(batch)
        for served in batch:
            served.wait_ready()
        return batch

    yield start
    for served in started:
        stop_process(served.proc)


# -- ingest under SIGKILL -----------------------------------------------------------------


def event_at(items: list[str], index: int) -> StoredEvent:
    """The session's event number `index`: its timestamp is its index, so order and gaps
    show in the stored log."""
    return StoredEvent(items[index % len(items)], "view", float(index))


@dataclass
class Ingester:
    """One client posting batches of events to its own session, counting acknowledgements."""

    session_id: str
    token: str
    items: list[str]
    batch: int
    acked: int = 0
    """Events 0..acked-1 were acknowledged: 200 with every event of their batch accepted."""
    refused: list[str] = field(default_factory=list)

    def run(self, base: str, stop: threading.Event, tally: Callable[[int], None]) -> None:
        """Post until the server goes away or `stop` is set."""
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while not stop.is_set():
                events = [event_at(self.items, self.acked + j) for j in range(self.batch)]
                body = {"events": [dataclasses.asdict(e) for e in events]}
                try:
                    answer = client.post(f"/v1/sessions/{self.session_id}/events", json=body)
                except httpx.TransportError:
                    return  # killed: this batch was never acknowledged
                if answer.status_code != 200 or answer.json()["accepted"] != self.batch:
                    self.refused.append(f"{answer.status_code} {answer.text[:200]}")
                    return
                self.acked += self.batch
                tally(self.batch)

    def lost(self, stored: list[StoredEvent]) -> int:
        """How many acknowledged events are not in `stored` where they belong."""
        expected = [event_at(self.items, i) for i in range(self.acked)]
        kept = 0
        for want, got in zip(expected, stored, strict=False):
            if want != got:
                break
            kept += 1
        return self.acked - kept

    def check(self, stored: list[StoredEvent]) -> None:
        """Nothing acknowledged is lost, nothing is invented or reordered, and of the batch
        in flight at the kill there is all or nothing."""
        assert self.lost(stored) == 0, f"{self.lost(stored)} acknowledged events lost"
        assert stored == [event_at(self.items, i) for i in range(len(stored))]
        assert len(stored) - self.acked in (0, self.batch)
        self.acked = len(stored)  # a whole in-flight batch that landed counts from now on


def new_ingesters(base: str, n: int, batch: int) -> list[Ingester]:
    with httpx.Client(base_url=base, timeout=30) as client:
        items = [
            i["item_id"] for i in client.get("/v1/items", params={"limit": 40}).json()["items"]
        ]
        created = [client.post("/v1/sessions").json() for _ in range(n)]
    return [Ingester(c["session_id"], c["token"], items, batch) for c in created]


def ingest_then_kill(served: Served, ingesters: list[Ingester], kill_after: int) -> int:
    """Clients post concurrently; once `kill_after` more events are acknowledged the
    service is SIGKILLed mid-stream. Returns the events acknowledged in this round."""
    done = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()
    count = [0]

    def tally(n: int) -> None:
        with lock:
            count[0] += n
            if count[0] >= kill_after:
                done.set()

    threads = [
        threading.Thread(target=i.run, args=(served.base, stop, tally), daemon=True)
        for i in ingesters
    ]
    for thread in threads:
        thread.start()
    reached = done.wait(timeout=120)
    served.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    refused = [r for i in ingesters for r in i.refused]
    assert not refused, refused  # every answer before the kill was a 200
    assert reached, f"only {count[0]} events acknowledged in 120 s"
    return count[0]


def read_back_over_http(base: str, ingesters: list[Ingester]) -> list[list[StoredEvent]]:
    with httpx.Client(base_url=base, timeout=30) as client:
        out = []
        for ingester in ingesters:
            answer = client.get(
                f"/v1/sessions/{ingester.session_id}",
                headers={"Authorization": f"Bearer {ingester.token}"},
            )
            assert answer.status_code == 200, answer.text
            out.append([StoredEvent(**e) for e in answer.json()["events"]])
    return out


def read_back_from_store(url: str, ingesters: list[Ingester]) -> list[list[StoredEvent]]:
    with open_store(url) as store:
        return [store.events(i.session_id) for i in ingesters]


def check_all(ingesters: list[Ingester], stored: list[list[StoredEvent]]) -> int:
    """Check every session; return the acknowledged events lost (0, or the check fails)."""
    acked = sum(i.acked for i in ingesters)
    lost = sum(i.lost(s) for i, s in zip(ingesters, stored, strict=True))
    logger.info(
        "%d events acknowledged, %d stored, %d acknowledged ones lost",
        acked,
        sum(map(len, stored)),
        lost,
    )
    for ingester, events in zip(ingesters, stored, strict=True):
        ingester.check(events)
    return lost


def test_sigkill_during_ingest_loses_no_acknowledged_event(
    plain_artifact: Path,
    tmp_path: Path,
    redis_starter: RedisStarter,
    serve_starter: ServeStarter,
) -> None:
    """One service over SQLite and one over Redis, started together; each SIGKILLed while
    four clients post, Redis SIGKILLed as well (only its fsync'd append-only file remains)."""
    redis = redis_starter()
    urls = [f"sqlite:///{tmp_path / 'sessions.db'}", redis.url]
    services = serve_starter(plain_artifact, [(url, free_port()) for url in urls])
    rounds = []
    for served in services:
        ingesters = new_ingesters(served.base, n=4, batch=5)
        assert ingest_then_kill(served, ingesters, kill_after=200) >= 200
        rounds.append(ingesters)
    redis.kill()
    redis_starter(redis.folder, redis.port)
    for url, ingesters in zip(urls, rounds, strict=True):
        assert check_all(ingesters, read_back_from_store(url, ingesters)) == 0, url


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_repeated_sigkills_during_ingest_lose_nothing_over_http(
    backend: str,
    plain_artifact: Path,
    tmp_path: Path,
    redis_starter: RedisStarter,
    serve_starter: ServeStarter,
) -> None:
    """Two rounds: kill the service (round 1), restart it on the same store, go on posting to
    the same sessions, kill it again (with Redis, the Redis server too), restart; every
    acknowledged event is read back through the restarted service."""
    redis = redis_starter() if backend == "redis" else None
    url = redis.url if redis is not None else f"sqlite:///{tmp_path / 'sessions.db'}"
    port = free_port()
    (served,) = serve_starter(plain_artifact, [(url, port)])
    ingesters = new_ingesters(served.base, n=8, batch=10)
    total = 0
    for round_ in range(2):
        total += ingest_then_kill(served, ingesters, kill_after=1500)
        if redis is not None and round_ == 1:
            redis.kill()
            redis = redis_starter(redis.folder, redis.port)
        (served,) = serve_starter(plain_artifact, [(url, port)])
        assert check_all(ingesters, read_back_over_http(served.base, ingesters)) == 0
    assert total >= 3000


# -- Redis outage while serving -----------------------------------------------------------


def assert_store_unavailable(response: httpx.Response, elapsed: float) -> dict[str, Any]:
    """503 `store_unavailable` with the JSON error body and `Retry-After`, promptly."""
    assert response.status_code == 503, response.text
    assert elapsed < PROMPT_S, f"the 503 took {elapsed:.1f} s"
    assert response.headers["Retry-After"] == str(STORE_RETRY_AFTER_S)
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "store_unavailable" and error["message"]
    return error


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def outage_and_recovery(client: httpx.Client, redis: RedisServer, restart: RedisStarter) -> None:
    """Kill Redis under the service behind `client`, check the 503s, restart Redis, check
    the same service recovers and kept what it acknowledged."""
    created = client.post("/v1/sessions").json()
    path = f"/v1/sessions/{created['session_id']}"
    auth = {"Authorization": f"Bearer {created['token']}"}
    items = [i["item_id"] for i in client.get("/v1/items", params={"limit": 40}).json()["items"]]
    before = [{"item_id": items[i], "type": "view", "timestamp": float(i)} for i in range(6)]
    assert client.post(f"{path}/events", json={"events": before}, headers=auth).json() == {
        "accepted": 6,
        "rejected": [],
    }

    redis.kill()
    more = {"events": [{"item_id": items[7], "type": "click", "timestamp": 7.0}]}
    needing_the_store: list[Callable[[], httpx.Response]] = [
        lambda: client.post("/v1/sessions"),
        lambda: client.get(path, headers=auth),
        lambda: client.post(f"{path}/events", json=more, headers=auth),
        lambda: client.post(f"{path}/recommendations", json={"k": 3}, headers=auth),
        lambda: client.post(
            f"{path}/feedback", json={"item_id": items[0], "kind": "like"}, headers=auth
        ),
        lambda: client.delete(path, headers=auth),
    ]
    for call in needing_the_store:
        error = assert_store_unavailable(*timed(call))
        assert f"127.0.0.1:{redis.port}" in error["message"]
    ready = assert_store_unavailable(*timed(lambda: client.get("/readyz")))
    assert ready["details"]["ready"] is False and ready["details"]["store"] is False
    assert client.get("/healthz").status_code == 200  # the process itself is fine

    restart(redis.folder, redis.port)  # same port, same append-only file
    deadline = time.monotonic() + 10
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover by itself in 10 s"
        time.sleep(0.1)
    session = client.get(path, headers=auth)
    assert session.status_code == 200 and session.json()["events"] == before
    assert client.post(f"{path}/events", json=more, headers=auth).json()["accepted"] == 1
    assert client.post(f"{path}/recommendations", json={"k": 3}, headers=auth).status_code == 200
    assert client.post("/v1/sessions").status_code == 201


@contextlib.contextmanager
def app_over(artifact: Path, store_url: str) -> Iterator[httpx.Client]:
    """The app served by uvicorn in a thread of this process, over a store it opens (and
    closes afterwards): a real server, cheaper to start than a `sessionrec serve`."""
    settings = ServiceSettings(artifact=artifact, store_url=store_url, rate_limits=RateLimits.off())
    store = open_store(store_url)
    app = create_app(settings, Engine.from_artifact(artifact), store)
    try:
        with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            yield client
    finally:
        store.close()


def test_redis_outage_is_503_with_retry_after_and_heals_by_itself(
    plain_artifact: Path, redis_starter: RedisStarter
) -> None:
    redis = redis_starter()
    with app_over(plain_artifact, redis.url) as client:
        outage_and_recovery(client, redis, redis_starter)


@pytest.mark.slow
def test_redis_outage_under_sessionrec_serve_heals_by_itself(
    plain_artifact: Path, redis_starter: RedisStarter, serve_starter: ServeStarter
) -> None:
    redis = redis_starter()
    (served,) = serve_starter(plain_artifact, [(redis.url, free_port())])
    with httpx.Client(base_url=served.base, timeout=30) as client:
        outage_and_recovery(client, redis, redis_starter)
    assert served.proc.poll() is None  # never restarted


# -- SQLite: disk full, read-only ---------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (skips where mounting is not permitted)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """`chattr +i` on `paths` (skips where the file system or the user cannot): unlike a
    chmod it stops root's writes too, also through files already open."""
    result = subprocess.run(
        ["chattr", "+i", *map(str, paths)], capture_output=True, text=True, check=False
    )
    try:
        if result.returncode != 0:
            pytest.skip(f"chattr +i is not possible here: {result.stderr.strip()}")
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True, check=False)


def post_batch(
    client: httpx.Client, path: str, auth: dict[str, str], items: list[str], start: int, n: int
) -> httpx.Response:
    events = [
        {"item_id": items[(start + j) % len(items)], "type": "view", "timestamp": float(start + j)}
        for j in range(n)
    ]
    return client.post(f"{path}/events", json={"events": events}, headers=auth)


def stored_stamps(client: httpx.Client, path: str, auth: dict[str, str]) -> list[float]:
    session = client.get(path, headers=auth)
    assert session.status_code == 200, session.text  # reads keep working
    return [e["timestamp"] for e in session.json()["events"]]


def new_session(client: httpx.Client) -> tuple[str, dict[str, str], list[str]]:
    created = client.post("/v1/sessions").json()
    items = [i["item_id"] for i in client.get("/v1/items", params={"limit": 40}).json()["items"]]
    return (
        f"/v1/sessions/{created['session_id']}",
        {"Authorization": f"Bearer {created['token']}"},
        items,
    )


def test_a_full_disk_is_503_and_a_refused_batch_leaves_nothing(
    plain_artifact: Path, tmp_path: Path
) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        url = f"sqlite:///{disk / 'sessions.db'}"
        with app_over(plain_artifact, url) as client:
            path, auth, items = new_session(client)
            ballast = disk / "ballast"
            free = shutil.disk_usage(disk).free
            ballast.write_bytes(b"\0" * (free - 64 * 1024))  # some room: batches fit, then not
            acked, batch = 0, 200
            for _ in range(50):
                start = time.monotonic()
                answer = post_batch(client, path, auth, items, acked, batch)
                if answer.status_code != 200:
                    break
                acked += batch
            error = assert_store_unavailable(answer, time.monotonic() - start)
            assert "full" in error["message"] and acked > 0
            # Whatever of the refused batch reached the write-ahead log before the disk filled
            # up is not visible; every acknowledged event is.
            assert stored_stamps(client, path, auth) == [float(i) for i in range(acked)]
            assert client.get("/readyz").status_code == 200  # reads work: the store answers
            # A new session is a row of its own: it may still fit in pages the database or
            # its write-ahead log already holds, but not for long.
            created = [client.post("/v1/sessions").status_code for _ in range(500)]
            assert set(created) <= {201, 503} and created[-1] == 503, created

            ballast.unlink()  # space again: the same service writes again
            assert post_batch(client, path, auth, items, acked, batch).json()["accepted"] == batch
            assert stored_stamps(client, path, auth) == [float(i) for i in range(acked + batch)]
        with contextlib.closing(sqlite3.connect(disk / "sessions.db")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_read_only_store_is_503_and_reads_keep_working(
    plain_artifact: Path, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.db"
    with app_over(plain_artifact, f"sqlite:///{db}") as client:
        path, auth, items = new_session(client)
        assert post_batch(client, path, auth, items, 0, 10).json()["accepted"] == 10
        with immutable(db, Path(f"{db}-wal")):
            assert_store_unavailable(*timed(lambda: post_batch(client, path, auth, items, 10, 10)))
            assert_store_unavailable(*timed(lambda: client.post("/v1/sessions")))
            assert stored_stamps(client, path, auth) == [float(i) for i in range(10)]
        assert post_batch(client, path, auth, items, 10, 10).json()["accepted"] == 10
        assert stored_stamps(client, path, auth) == [float(i) for i in range(20)]
