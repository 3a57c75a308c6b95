"""Load test: many concurrent sessions, each sending events and asking for a slate after each.

    .venv/bin/python benchmarks/load.py [--artifact DIR] [--sessions 200] [--events 50]
        [--workers 2] [--store sqlite|redis://...] [--url http://HOST:PORT] [--json OUT]

Starts `sessionrec serve` on 127.0.0.1 over a trained artifact (or drives `--url`), opens
`--sessions` sessions at once, and in each, `--events` times: posts one view and asks for a
recommendation. At the end every session's stored events are read back and compared with
what that session sent, in order: one event missing, extra or from another session is a
leak. Targets: 0 errors (any non-2xx or transport failure), 0 leaks. Prints requests,
throughput and p50 / p99 per kind, and writes them as JSON with `--json`.

The client runs in this process: asyncio with one keep-alive HTTP/1.1 connection per
session, written by hand because httpx spent about 9 ms of CPU per request here, more than
the service, and so measured itself. It still shares the machine with the server, so on
2 cores the throughput is a floor for what the service does alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import DEFAULT_ARTIFACT, DEFAULT_DATA, ensure_artifact, free_port, server

KINDS = ("create", "event", "recommend", "read")


@dataclass
class Tally:
    """What the load run saw, per kind of request."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    def timed(self, kind: str, start: float) -> None:
        self.seconds[kind].append(time.perf_counter() - start)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body[:200].decode(errors="replace")


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer, in turn."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Answer:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"Content-Length: {len(payload)}", "Content-Type: application/json"]
        if token is not None:
            head.append(f"Authorization: Bearer {token}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        status_line = await reader.readline()
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        data = await reader.readexactly(length) if length else b""
        if close:
            writer.close()
            self._streams = None
        return Answer(int(status_line.split()[1]), data)

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def one_session(
    link: Connection, items: list[str], events: int, seed: int, tally: Tally
) -> None:
    """Create a session, send `events` views with a slate after each, read them back."""
    rng = random.Random(seed)
    try:
        await session_steps(link, items, events, rng, tally)
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
        tally.errors.append(f"transport: {error!r}")
    finally:
        await link.close()


async def session_steps(
    link: Connection, items: list[str], events: int, rng: random.Random, tally: Tally
) -> None:
    start = time.perf_counter()
    created = await link.request("POST", "/v1/sessions")
    tally.timed("create", start)
    if created.status != 201:
        tally.errors.append(f"create: {created.status} {created.text}")
        return
    session, token = created.json()["session_id"], created.json()["token"]
    sent: list[str] = []
    for _ in range(events):
        item = rng.choice(items)
        start = time.perf_counter()
        body = {"events": [{"item_id": item, "type": "view"}]}
        answer = await link.request("POST", f"/v1/sessions/{session}/events", body, token)
        tally.timed("event", start)
        if answer.status != 200 or answer.json().get("accepted") != 1:
            tally.errors.append(f"event: {answer.status} {answer.text}")
            continue
        sent.append(item)
        start = time.perf_counter()
        path = f"/v1/sessions/{session}/recommendations"
        slate = await link.request("POST", path, {"k": 10}, token)
        tally.timed("recommend", start)
        if slate.status != 200 or not slate.json().get("items"):
            tally.errors.append(f"recommend: {slate.status} {slate.text}")
    start = time.perf_counter()
    stored = await link.request("GET", f"/v1/sessions/{session}", None, token)
    tally.timed("read", start)
    if stored.status != 200:
        tally.errors.append(f"read: {stored.status} {stored.text}")
        return
    seen = [event["item_id"] for event in stored.json()["events"]]
    if seen != sent:
        tally.leaks.append(f"session {session}: sent {len(sent)} events, stored {len(seen)}")


async def run_load(base: str, sessions: int, events: int, seed: int) -> dict[str, Any]:
    """Drive the service at `base` (http://HOST:PORT); the figures and counts of the run."""
    address = urlsplit(base)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    first = Connection(host, port)
    popular = await first.request("GET", "/v1/items?limit=100")
    await first.close()
    if popular.status != 200:
        raise SystemExit(f"GET /v1/items answered {popular.status}: {popular.text}")
    items = [item["item_id"] for item in popular.json()["items"]]
    tally = Tally()
    start = time.perf_counter()
    await asyncio.gather(
        *(
            one_session(Connection(host, port), items, events, seed + i, tally)
            for i in range(sessions)
        )
    )
    wall = time.perf_counter() - start
    requests = sum(len(v) for v in tally.seconds.values())
    result: dict[str, Any] = {
        "sessions": sessions,
        "events_per_session": events,
        "requests": requests,
        "seconds": round(wall, 2),
        "requests_per_s": round(requests / wall, 1),
        "errors": len(tally.errors),
        "leaks": len(tally.leaks),
        "first_errors": tally.errors[:5] + tally.leaks[:5],
    }
    for kind, seconds in tally.seconds.items():
        if seconds:
            ms = np.asarray(seconds) * 1000
            result[f"{kind}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
            result[f"{kind}_p99_ms"] = round(float(np.percentile(ms, 99)), 2)
    return result


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['sessions']} sessions x {result['events_per_session']} events, each followed "
        f"by a slate: {result['requests']:,} requests in {result['seconds']} s "
        f"({result['requests_per_s']:,} requests/s)"
    )
    for kind in KINDS:
        if f"{kind}_p50_ms" in result:
            p50, p99 = result[f"{kind}_p50_ms"], result[f"{kind}_p99_ms"]
            print(f"  {kind:<10} p50 / p99  {p50:7.2f} / {p99:7.2f} ms")
    print(f"  errors {result['errors']}   leaks {result['leaks']}   (targets: 0 and 0)")
    for line in result["first_errors"]:
        print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", default="sqlite", help="sqlite (a fresh file) or a URL")
    parser.add_argument("--url", default=None, help="drive a running service instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.events < 1:
        parser.error("--sessions and --events must be at least 1")
    if args.url is not None:
        result = asyncio.run(run_load(args.url, args.sessions, args.events, args.seed))
    else:
        ensure_artifact(args.artifact, args.data)
        with tempfile.TemporaryDirectory() as workdir:
            store = args.store
            if store == "sqlite":
                store = f"sqlite:///{Path(workdir) / 'sessions.db'}"
            port = free_port()
            with server(args.artifact, store, args.workers, port):
                base = f"http://127.0.0.1:{port}"
                result = asyncio.run(run_load(base, args.sessions, args.events, args.seed))
    report(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["errors"] == 0 and result["leaks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
