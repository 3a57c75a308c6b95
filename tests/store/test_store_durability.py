"""An acknowledged event survives `kill -9`.

A child process appends N events, one acknowledged batch at a time, printing the running
total after each `append_events` returns. The parent reads until at least half are
acknowledged, kills the child with SIGKILL, then checks that every acknowledged event is in
the store, in order. For Redis the server is SIGKILLed and restarted from its append-only
file as well, which is what `appendfsync always` promises to survive.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sessionrec.store import StoredEvent, open_store

N_EVENTS = 2000
KILL_AT = 1000

CHILD = """
import sys
from sessionrec.store import StoredEvent, open_store

url, sid, n, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = open_store(url)
done = 0
while done < n:
    store.append_events(
        sid, [StoredEvent(str(done + j), "click", float(done + j)) for j in range(batch)]
    )
    done += batch
    print(done, flush=True)
"""


def expected(n: int) -> list[StoredEvent]:
    return [StoredEvent(str(i), "click", float(i)) for i in range(n)]


def append_until_killed(url: str, sid: str, batch: int) -> int:
    """Run the child, SIGKILL it past KILL_AT; return how many events it acknowledged."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, sid, str(N_EVENTS), str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged = 0
    for line in child.stdout:
        acknowledged = int(line)
        if acknowledged >= KILL_AT:
            child.send_signal(signal.SIGKILL)
            break
    # Lines already in the pipe were printed after their append returned: acknowledged too.
    rest, err = child.communicate(timeout=30)
    for line in rest.split():
        acknowledged = max(acknowledged, int(line))
    assert child.returncode in (-signal.SIGKILL, 0), err
    assert acknowledged >= KILL_AT, err
    return acknowledged


def assert_acknowledged_present(stored: list[StoredEvent], acknowledged: int) -> None:
    assert len(stored) >= acknowledged
    # Nothing beyond the acknowledged prefix is invented or reordered either: at most the
    # batch in flight at the kill may be there too, and then whole.
    assert stored == expected(len(stored))


def test_sqlite_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/durable.db"
    with open_store(url) as store:
        sid = store.create_session("h")
    acknowledged = append_until_killed(url, sid, batch=4)
    with open_store(url) as store:
        stored = store.events(sid)
    assert_acknowledged_present(stored, acknowledged)
    assert len(stored) % 4 == 0


@pytest.mark.service
def test_redis_acknowledged_events_survive_sigkill_of_client_and_server(
    redis_starter: Callable[..., Any],
) -> None:
    server = redis_starter()
    with open_store(server.url) as store:
        sid = store.create_session("h")
    acknowledged = append_until_killed(server.url, sid, batch=10)

    server.kill()
    restarted = redis_starter(server.folder, server.port)
    with open_store(restarted.url) as store:
        stored = store.events(sid)
        assert store.token_hash(sid) == "h"
    assert_acknowledged_present(stored, acknowledged)
    assert len(stored) % 10 == 0
