"""Redis session store: one shared state for several workers or machines.

Layout (every key starts with a configurable prefix, default `sessionrec:`, so one Redis can
serve several deployments):

- `P session:ID` — hash: `token_hash`, `created`. Its existence *is* the session's.
- `P session:ID:events` — list of JSON objects `{"item_id", "type", "timestamp"}`, appended
  with RPUSH, so Redis keeps the order.
- `P session:ID:impressions` — hash item id -> times shown.
- `P outcomes:positive`, `P outcomes:negative` — hashes item id -> count, across sessions.
- `P items` (hash item id -> JSON), `P items:order` (sorted set, first-insert order),
  `P items:seq` (counter) — admin-added items.
- `P sessions:active` — sorted set session id -> last activity (unix seconds, the writing
  process's clock), written in the same MULTI/EXEC as the session's own keys, so a session
  is listed exactly while its hash exists: a delete removes both, a write under WATCH can
  never add a member for a deleted session. Members of sessions that expired through the
  TTL are dropped when seen (`session_ids`, `delete_inactive`) and, with a TTL, once they
  are an hour past it. `P sessions:indexed` marks that sessions written before this set
  existed were added to it (done once, by the first process that opens the store).

A retention sweep (`delete_inactive`) deletes each session in a Lua script that checks its
last activity and deletes its keys atomically, so a write racing the sweep either lands
first (and the session stays) or finds no session.

A retraction (`retract_feedback`) reads the list under WATCH of the session hash and the
list, then removes the matching entries with LREM in one MULTI/EXEC: an append or delete in
between makes it look again, so it never removes an event it did not read.

Writes that touch a session check that it exists and write in one MULTI/EXEC under WATCH of
the session hash: a concurrent delete makes the transaction fail and retry, so an append can
never resurrect a deleted session's list. With a TTL every write refreshes the expiry of all
the session's keys together, so they expire as one.

Durability is the server's job: run Redis with `appendonly yes` and `appendfsync always`,
then a command is fsync'd to the append-only file before its reply is sent, and an event
whose `append_events` returned survives a `kill -9` of both the client and the server. With
the default `appendfsync everysec` up to a second of acknowledged writes can be lost.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.client import Pipeline
from redis.retry import Retry

from sessionrec.errors import ConfigError
from sessionrec.store.base import (
    RETRACTABLE_TYPES,
    SessionNotFound,
    SessionStore,
    StoredEvent,
    StoreUnavailable,
    check_before,
    check_events,
    check_item_id,
    decode_item,
    encode_item,
    is_session_id,
    new_session_id,
)

DEFAULT_PREFIX = "sessionrec:"

#: Seconds to wait for a TCP connection: an unreachable store must fail fast, not hang.
CONNECT_TIMEOUT_S = 2.0
#: Seconds to wait for a reply (an fsync'ing server under load can be slow, not this slow).
SOCKET_TIMEOUT_S = 10.0
#: Reconnects (after a short jittered backoff) when a connection breaks. One is what a
#: restarted server needs: the pool's old connections are dead and the first command on each
#: must reconnect, not fail. Only connection errors are retried, never a timeout: a timed-out
#: command may have run, and redis-py's default (10 retries, timeouts included) turned a
#: hung server into minutes of waiting per request instead of a prompt 503.
RECONNECT_RETRIES = 2
#: How long past the TTL a session's member of `sessions:active` may linger before it is
#: pruned: generous, because the TTL runs on the server's clock and the score on ours.
TTL_PRUNE_MARGIN_S = 3600.0
#: Sessions per round trip when listing or sweeping.
BATCH = 1000

# KEYS: the activity set, the session's hash, events and impressions; ARGV: its id, the
# cut-off. Deletes the session if it was last active before the cut-off; returns 1 if its
# hash existed then, 0 for a member whose session had expired, -1 when it was kept.
_DELETE_IF_INACTIVE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) >= tonumber(ARGV[2]) then
    return -1
end
local existed = redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[1], ARGV[1])
return existed
"""


def reconnect_policy() -> Retry:
    """The client's retry policy: `RECONNECT_RETRIES` on connection errors, under 0.3 s."""
    return Retry(
        ExponentialWithJitterBackoff(cap=0.2, base=0.05),
        RECONNECT_RETRIES,
        supported_errors=(redis.ConnectionError,),
    )


def redact(url: str) -> str:
    """The URL with any password replaced, fit for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisStore(SessionStore):
    """`SessionStore` over a Redis server (redis-py; thread-safe through its pool)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        url: str = "redis",
        prefix: str = DEFAULT_PREFIX,
        ttl: int | None = None,
    ) -> None:
        """Wrap a client created with `decode_responses=True`; checks it answers."""
        if not isinstance(prefix, str) or not prefix:
            raise ConfigError("the Redis key prefix must be a non-empty string")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
            raise ConfigError(f"the session TTL must be a positive number of seconds, got {ttl!r}")
        self._client = client
        self._url = redact(url)
        self._prefix = prefix
        self._ttl = ttl
        self._active = f"{prefix}sessions:active"
        with self._guard():
            client.ping()
            self._delete_if_inactive = client.register_script(_DELETE_IF_INACTIVE)
            self._index_existing_sessions()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str | None = None,
        ttl: int | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        socket_timeout: float = SOCKET_TIMEOUT_S,
    ) -> RedisStore:
        """Open `redis://host:port/db`; `?prefix=P&ttl=SECONDS` in the URL set those options.

        Other query options go to redis-py (e.g. `socket_timeout`).
        """
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        url_prefix = query.pop("prefix", None)
        url_ttl = query.pop("ttl", None)
        if prefix is None:
            prefix = DEFAULT_PREFIX if url_prefix is None else url_prefix
        if ttl is None and url_ttl is not None:
            try:
                ttl = int(url_ttl)
            except ValueError:
                raise ConfigError(
                    f"store URL {redact(url)!r}: ttl must be whole seconds, got {url_ttl!r}"
                ) from None
        clean = urlunsplit(parts._replace(query=urlencode(query)))
        try:
            client = redis.Redis.from_url(
                clean,
                decode_responses=True,
                socket_connect_timeout=connect_timeout,
                socket_timeout=socket_timeout,
                retry=reconnect_policy(),
            )
        except ValueError as exc:
            raise ConfigError(f"store URL {redact(url)!r}: {exc}") from exc
        return cls(client, url=url, prefix=prefix, ttl=ttl)

    @property
    def prefix(self) -> str:
        """The key prefix of this store."""
        return self._prefix

    # -- keys and plumbing -------------------------------------------------------------

    def _meta(self, sid: str) -> str:
        return f"{self._prefix}session:{sid}"

    def _events_key(self, sid: str) -> str:
        return f"{self._prefix}session:{sid}:events"

    def _imp_key(self, sid: str) -> str:
        return f"{self._prefix}session:{sid}:impressions"

    def _session_keys(self, sid: str) -> tuple[str, str, str]:
        return self._meta(sid), self._events_key(sid), self._imp_key(sid)

    def _outcome_key(self, positive: bool) -> str:
        return f"{self._prefix}outcomes:{'positive' if positive else 'negative'}"

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Name the server instead of surfacing a redis-py traceback."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"cannot reach the Redis store at {self._url}: {exc}") from exc
        except redis.RedisError as exc:
            raise StoreUnavailable(f"the Redis store at {self._url} failed: {exc}") from exc

    def _touch(self, pipe: Pipeline, sid: str) -> None:
        if self._ttl is not None:
            for key in self._session_keys(sid):
                pipe.expire(key, self._ttl)

    def _mark_active(self, pipe: Pipeline, sid: str) -> None:
        """Queue: the session's last activity is now (GT: never moved back by a process
        whose clock is a little behind)."""
        pipe.zadd(self._active, {sid: time.time()}, gt=True)

    def _index_existing_sessions(self) -> None:
        """Add sessions written before `sessions:active` existed to it, scored by creation
        (once per prefix; several processes doing it at once add the same members)."""
        marker = f"{self._prefix}sessions:indexed"
        if self._client.exists(marker):
            return
        head = f"{self._prefix}session:"
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", head) + "*"
        ids = [
            key[len(head) :]
            for key in self._client.scan_iter(match=pattern, count=BATCH)
            if ":" not in key[len(head) :]  # the hash, not the events or impressions
        ]
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            pipe = self._client.pipeline(transaction=False)
            for sid in chunk:
                pipe.hget(self._meta(sid), "created")
            created = pipe.execute()
            found = {sid: float(c) for sid, c in zip(chunk, created, strict=True) if c}
            if found:
                self._client.zadd(self._active, found, nx=True)
        self._client.set(marker, "1")

    def _write_session(self, sid: str, build: Callable[[Pipeline], None]) -> list[Any]:
        """Run `build`'s commands in one transaction, only while the session exists."""
        if not is_session_id(sid):
            raise SessionNotFound(sid)
        meta = self._meta(sid)
        with self._guard(), self._client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(meta)  # type: ignore[no-untyped-call]
                    if not pipe.exists(meta):
                        raise SessionNotFound(sid)
                    pipe.multi()
                    build(pipe)
                    self._touch(pipe, sid)
                    self._mark_active(pipe, sid)
                    return list(pipe.execute())
                except redis.WatchError:
                    continue  # the session changed (deleted, expired) meanwhile: look again

    # -- sessions ----------------------------------------------------------------------

    def create_session(self, token_hash: str) -> str:
        with self._guard():
            while True:
                sid = new_session_id()
                meta = self._meta(sid)
                now = time.time()
                pipe = self._client.pipeline(transaction=True)
                pipe.hsetnx(meta, "token_hash", token_hash)
                pipe.hsetnx(meta, "created", repr(now))
                self._touch(pipe, sid)
                pipe.zadd(self._active, {sid: now}, nx=True)
                if self._ttl is not None:  # members of sessions long expired
                    stale = now - self._ttl - TTL_PRUNE_MARGIN_S
                    pipe.zremrangebyscore(self._active, "-inf", f"({stale!r}")
                if pipe.execute()[0]:
                    return sid

    def token_hash(self, session_id: str) -> str | None:
        if not is_session_id(session_id):
            return None
        with self._guard():
            value = self._client.hget(self._meta(session_id), "token_hash")
        return None if value is None else str(value)

    def append_events(self, session_id: str, events: Sequence[StoredEvent]) -> int:
        check_events(events)
        payload = [
            json.dumps(
                {"item_id": e.item_id, "type": e.type, "timestamp": float(e.timestamp)},
                ensure_ascii=False,
            )
            for e in events
        ]
        key = self._events_key(session_id)

        def build(pipe: Pipeline) -> None:
            if payload:
                pipe.rpush(key, *payload)

        self._write_session(session_id, build)
        return len(events)

    def events(self, session_id: str) -> list[StoredEvent]:
        if not is_session_id(session_id):
            raise SessionNotFound(session_id)
        with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.exists(self._meta(session_id))
            pipe.lrange(self._events_key(session_id), 0, -1)
            exists, raw = pipe.execute()
        if not exists:
            raise SessionNotFound(session_id)
        out = []
        for text in raw:
            value = json.loads(text)
            out.append(StoredEvent(value["item_id"], value["type"], float(value["timestamp"])))
        return out

    def retract_feedback(self, session_id: str, item_id: str) -> int:
        check_item_id(item_id)
        if not is_session_id(session_id):
            raise SessionNotFound(session_id)
        meta, key = self._meta(session_id), self._events_key(session_id)
        with self._guard(), self._client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(meta, key)  # type: ignore[no-untyped-call]
                    if not pipe.exists(meta):
                        raise SessionNotFound(session_id)
                    raw: list[str] = pipe.lrange(key, 0, -1)  # type: ignore[assignment]
                    # Identical entries are one LREM (count 0 removes every copy).
                    doomed = Counter(text for text in raw if self._retractable(text, item_id))
                    pipe.multi()
                    for text in doomed:
                        pipe.lrem(key, 0, text)
                    self._touch(pipe, session_id)
                    self._mark_active(pipe, session_id)
                    replies = pipe.execute()
                    return sum(int(n) for n in replies[: len(doomed)])
                except redis.WatchError:
                    continue  # appended to, deleted or expired meanwhile: read it again

    @staticmethod
    def _retractable(text: str, item_id: str) -> bool:
        value = json.loads(text)
        return bool(value["item_id"] == item_id and value["type"] in RETRACTABLE_TYPES)

    def delete_session(self, session_id: str) -> bool:
        if not is_session_id(session_id):
            return False
        meta, events, imp = self._session_keys(session_id)
        with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(meta)
            pipe.delete(events, imp)
            pipe.zrem(self._active, session_id)
            existed, _, _ = pipe.execute()
        return bool(existed)

    def session_ids(self) -> list[str]:
        with self._guard():
            members: list[str] = self._client.zrange(self._active, 0, -1)  # type: ignore[assignment]
            created: list[tuple[float, int, str]] = []
            stale: list[str] = []
            for start in range(0, len(members), BATCH):
                chunk = members[start : start + BATCH]
                pipe = self._client.pipeline(transaction=False)
                for sid in chunk:
                    pipe.hget(self._meta(sid), "created")
                for offset, (sid, value) in enumerate(zip(chunk, pipe.execute(), strict=True)):
                    if value is None:
                        stale.append(sid)  # expired through the TTL
                    else:
                        created.append((float(value), start + offset, sid))
            if stale:
                self._client.zrem(self._active, *stale)
        return [sid for _, _, sid in sorted(created)]

    def last_active(self, session_id: str) -> float | None:
        if not is_session_id(session_id):
            return None
        with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.hget(self._meta(session_id), "created")
            pipe.zscore(self._active, session_id)
            created, score = pipe.execute()
        if created is None:
            return None
        # No member: written by a sessionrec from before the set (and after the indexing).
        return float(created) if score is None else float(score)

    def delete_inactive(self, before: float) -> int:
        cutoff = check_before(before)
        deleted = 0
        with self._guard():
            while True:
                # Members the script deletes or finds active leave this range, so each
                # round sees new ones and the loop ends.
                batch: list[str] = self._client.zrangebyscore(  # type: ignore[assignment]
                    self._active, "-inf", f"({cutoff!r}", start=0, num=BATCH
                )
                if not batch:
                    return deleted
                for sid in batch:
                    keys = [self._active, *self._session_keys(sid)]
                    if int(self._delete_if_inactive(keys=keys, args=[sid, repr(cutoff)])) == 1:
                        deleted += 1

    # -- impressions -------------------------------------------------------------------

    def record_impressions(self, session_id: str, item_ids: Sequence[str]) -> None:
        counts = Counter(item_ids)
        key = self._imp_key(session_id)

        def build(pipe: Pipeline) -> None:
            for item, n in counts.items():
                pipe.hincrby(key, item, n)

        self._write_session(session_id, build)

    def impressions(self, session_id: str) -> dict[str, int]:
        if not is_session_id(session_id):
            return {}
        with self._guard():
            raw = self._client.hgetall(self._imp_key(session_id))
        return {str(k): int(v) for k, v in raw.items()}

    # -- global item statistics --------------------------------------------------------

    def record_outcome(self, item_id: str, positive: bool) -> None:
        check_item_id(item_id)
        with self._guard():
            self._client.hincrby(self._outcome_key(positive), item_id, 1)

    def item_outcomes(self, item_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        wanted = list(dict.fromkeys(item_ids))
        if not wanted:
            return {}
        with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.hmget(self._outcome_key(True), wanted)
            pipe.hmget(self._outcome_key(False), wanted)
            pos, neg = pipe.execute()
        return {
            item: (int(p or 0), int(n or 0))
            for item, p, n in zip(wanted, pos, neg, strict=True)
            if p is not None or n is not None
        }

    # -- admin items -------------------------------------------------------------------

    def upsert_item(self, item: Mapping[str, Any]) -> None:
        item_id, body = encode_item(item)
        key = f"{self._prefix}items"
        with self._guard():
            seq = self._client.incr(f"{key}:seq")
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(key, item_id, body)
            # NX: a replaced item keeps its first position.
            pipe.zadd(f"{key}:order", {item_id: seq}, nx=True)
            pipe.execute()

    def items(self) -> list[dict[str, Any]]:
        key = f"{self._prefix}items"
        with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.zrange(f"{key}:order", 0, -1)
            pipe.hgetall(key)
            order, bodies = pipe.execute()
        ids = [i for i in order if i in bodies] + sorted(set(bodies) - set(order))
        return [decode_item(bodies[i]) for i in ids]

    # -- lifecycle ---------------------------------------------------------------------

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except Exception:
            return False

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self._client.close()

    def __repr__(self) -> str:
        return f"RedisStore({self._url!r}, prefix={self._prefix!r})"
