"""deploy/run-behind-nginx.sh: two `sessionrec serve` processes over one real Redis behind
real nginx keep one truth.

What one process acknowledges, the next request to the other sees (the session lives in
Redis, not in a process); an item upserted through one and a reload after a new artifact
reach the other within the sync period; nginx hands the client's address on, so the rate
limits count real clients and not the proxy; SIGTERM stops every component.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from sessionrec.artifact import load_artifact, load_artifact_catalogue, save_artifact
from sessionrec.data.schema import ITEM_ID, TITLE
from sessionrec.service.server import SHARED_STORE_SYNC_SECONDS
from sessionrec.testing import films
from sessionrec.testing.redis_server import REDIS_SERVER, free_port
from sessionrec.testing.service import API_KEY

pytestmark = [pytest.mark.slow, pytest.mark.service]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "deploy" / "run-behind-nginx.sh"
NGINX = "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else shutil.which("nginx")
START_TIMEOUT_S = 120.0
# Beyond the sync period: one poll may start just before the write, and the other process
# then encodes the item's text (or loads the artifact) on a machine shared with others.
REACH_TIMEOUT_S = SHARED_STORE_SYNC_SECONDS + 10.0
ADMIN = {"X-API-Key": API_KEY}


def consecutive_free_ports(n: int) -> int:
    """The first of `n` consecutive 127.0.0.1 ports nothing listens on now."""
    for _ in range(50):
        first = free_port()
        if first + n > 65535:
            continue
        try:
            for port in range(first, first + n):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {n} consecutive free ports")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def poll(check: Callable[[], bool], timeout_s: float = REACH_TIMEOUT_S) -> float:
    """Seconds until `check()` is true (fails the test after `timeout_s`)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout_s, f"not reached within {timeout_s} s"
        time.sleep(0.1)
    return time.monotonic() - start


def republish_with_title(artifact: Path, item_id: str, title: str) -> None:
    """Write a new version of the artifact in place: the same model, one title changed
    (what a retrain followed by a deploy looks like to the serving processes)."""
    model = load_artifact(artifact)
    catalogue = load_artifact_catalogue(artifact)
    assert catalogue is not None
    catalogue.frame.loc[catalogue.frame[ITEM_ID] == item_id, TITLE] = title
    save_artifact(model, artifact, films.sessions(), catalogue=catalogue)


def test_two_processes_behind_nginx_share_one_truth(tiny_artifact: Path, tmp_path: Path) -> None:
    if NGINX is None:
        pytest.skip("nginx not installed (/usr/sbin/nginx); `make system-deps` installs it")
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"redis-server not installed ({REDIS_SERVER}); `make system-deps` installs it")
    artifact = tmp_path / "artifact"
    shutil.copytree(tiny_artifact, artifact)  # rewritten below, for the reload
    first, proxy_port, redis_port = consecutive_free_ports(2), free_port(), free_port()
    a, b, proxy = (f"http://127.0.0.1:{p}" for p in (first, first + 1, proxy_port))
    run_dir = tmp_path / "run"
    command = [
        "bash", str(SCRIPT), "--artifact", str(artifact), "--processes", "2",
        "--listen", f"127.0.0.1:{proxy_port}", "--backend-port", str(first),
        "--redis-port", str(redis_port), "--redis-dir", str(tmp_path / "redis"),
        "--run-dir", str(run_dir),
    ]  # fmt: skip
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SESSIONREC": str(Path(sys.executable).parent / "sessionrec"),
        "SESSIONREC_API_KEY": API_KEY,
        # Small enough to reach in a test; 127.0.0.1 (this test, the proxy) stays exempt.
        "SESSIONREC_RATE_PER_ADDRESS": "1,3",
    }
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not listening(proxy_port):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the deployment did not start"
            time.sleep(0.2)
        assert httpx.get(f"{proxy}/readyz", timeout=10).status_code == 200
        check_durable_redis(redis_port)
        check_read_your_writes(a, b, proxy)
        check_item_upsert_reaches_the_other(a, b)
        check_reload_reaches_the_other(a, b, artifact)
        check_proxy_forwards_the_client_address(proxy, a)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert f"behind nginx on http://127.0.0.1:{proxy_port}" in out
    still_up = [p for p in (first, first + 1, proxy_port, redis_port) if listening(p)]
    assert not still_up, f"still listening after SIGTERM: {still_up}"


def check_durable_redis(port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
    finally:
        client.close()


def check_read_your_writes(a: str, b: str, proxy: str) -> None:
    created = httpx.post(f"{proxy}/v1/sessions")
    assert created.status_code == 201, created.text
    sid, token = created.json()["session_id"], created.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    expected: list[str] = []
    # Alternate writer and reader: each write's very next read, on the other process, sees it.
    for turn, item in enumerate(["1", "2", "3", "11", "12", "13"]):
        writer, reader = (a, b) if turn % 2 == 0 else (b, a)
        event = {"events": [{"item_id": item, "type": "view"}]}
        posted = httpx.post(f"{writer}/v1/sessions/{sid}/events", json=event, headers=auth)
        assert posted.status_code == 200 and posted.json()["accepted"] == 1, posted.text
        expected.append(item)
        seen = httpx.get(f"{reader}/v1/sessions/{sid}", headers=auth).json()
        assert [e["item_id"] for e in seen["events"]] == expected
    slate = httpx.post(
        f"{proxy}/v1/sessions/{sid}/recommendations", json={"k": 5}, headers=auth, timeout=30
    )
    assert slate.status_code == 200, slate.text
    shown = [i["item_id"] for i in slate.json()["items"]]
    assert len(shown) == 5 and not set(shown) & set(expected)  # seen items are left out
    # A deletion through one process is a 404 on the other at once.
    assert httpx.delete(f"{a}/v1/sessions/{sid}", headers=auth).status_code == 204
    assert httpx.get(f"{b}/v1/sessions/{sid}", headers=auth).status_code == 404


def check_item_upsert_reaches_the_other(a: str, b: str) -> None:
    item = {
        "title": "Glacier Diaries",
        "text": "A documentary about glaciers, ice sheets and the people who study them.",
        "categories": ["Ice"],
    }
    put = httpx.put(f"{a}/v1/items/glacier", json=item, headers=ADMIN, timeout=30)
    assert put.status_code == 201, put.text
    poll(lambda: httpx.get(f"{b}/v1/items/glacier").status_code == 200)
    found = httpx.get(f"{b}/v1/items", params={"query": "Glacier Diaries", "limit": 5}).json()
    assert "glacier" in [i["item_id"] for i in found["items"]]
    sid, auth = new_session(b)
    only_ice = {"k": 3, "filters": {"categories": ["Ice"]}}
    slate = httpx.post(f"{b}/v1/sessions/{sid}/recommendations", json=only_ice, headers=auth)
    assert slate.status_code == 200, slate.text
    assert [i["item_id"] for i in slate.json()["items"]] == ["glacier"]


def check_reload_reaches_the_other(a: str, b: str, artifact: Path) -> None:
    before = httpx.get(f"{b}/v1/items/1").json()["title"]
    republish_with_title(artifact, "1", "Restored Edition")
    reload = httpx.post(f"{a}/v1/admin/reload", headers=ADMIN, timeout=60)
    assert reload.status_code == 200, reload.text
    assert httpx.get(f"{a}/v1/items/1").json()["title"] == "Restored Edition"
    assert before != "Restored Edition"
    poll(lambda: httpx.get(f"{b}/v1/items/1").json()["title"] == "Restored Edition")
    for process in (a, b):  # the upserted item is replayed into each reloaded engine
        assert httpx.get(f"{process}/v1/items/glacier").status_code == 200


def check_proxy_forwards_the_client_address(proxy: str, direct: str) -> None:
    # From 127.0.0.2 the proxy's X-Forwarded-For names a limited address; were it not
    # forwarded, the service would see the proxy (127.0.0.1, exempt) and never refuse.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport) as client:
        codes = [
            client.get(f"{proxy}/v1/items", params={"limit": 1}).status_code for _ in range(12)
        ]
    assert 200 in codes and 429 in codes, codes
    # This machine's own address is exempt, through the proxy or not.
    for base in (proxy, direct):
        assert {httpx.get(f"{base}/v1/items").status_code for _ in range(12)} == {200}


def new_session(base: str) -> tuple[str, dict[str, str]]:
    created = httpx.post(f"{base}/v1/sessions").json()
    return created["session_id"], {"Authorization": f"Bearer {created['token']}"}
