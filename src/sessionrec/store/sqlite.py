"""SQLite session store: the embedded default, one file, no server to run.

Why these settings:

- WAL journal: readers never wait for the writer and the writer never waits for readers, so
  recommendation requests (reads) keep flowing while events are appended; several processes
  (uvicorn workers) may share the file.
- `synchronous=FULL` for events, sessions and items: the WAL is fsync'd at every commit, so an
  event whose `append_events` call returned survives `kill -9` of the process and also a
  power loss of the machine. Impression counts and feedback statistics commit with
  `synchronous=NORMAL` (no fsync; still safe against a killed process, only a power cut may
  drop the last few): they are ranking hints written on every slate, and skipping the fsync
  keeps them off the request's critical path.
- One connection per thread (and per process after a fork): a `sqlite3.Connection` must not
  be used by two threads at once, and one connection shared under a lock would serialise
  reads behind fsyncs. Connections of different threads coordinate through SQLite's own file
  locks; `busy_timeout` makes a writer wait for another process's instead of failing at
  once, and writers of one process queue on a lock of ours.
- `BEGIN IMMEDIATE` for every write: it takes the write lock up front, so the check that a
  session exists and the write that depends on it cannot interleave with a delete.
- `:memory:` has one database per connection, so there a single connection is shared under a
  lock instead.

Events carry a per-session sequence number (allocated from the session row inside the write
transaction), so their order is exact even when several processes append at once.

Each session row keeps `last_active`, this process's clock at its creation and at every
write to it (what retention sweeps by). Schema version 1 had no such column: a version-1
file is migrated when opened (the column added and filled from `created`, in one
transaction), so files written before keep working.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

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

#: Version of the table layout below; a file written by a newer layout is refused, one
#: written by an older layout is migrated (`MIGRATIONS`).
SCHEMA_VERSION = 2

#: Sessions deleted per write transaction by `delete_inactive`: each batch holds the write
#: lock briefly, so appends keep flowing during a large sweep.
SWEEP_BATCH = 500

#: How long a writer waits for another process's write lock before giving up (ms).
BUSY_TIMEOUT_MS = 10_000

MEMORY = ":memory:"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created REAL NOT NULL,
    n_events INTEGER NOT NULL DEFAULT 0,
    last_active REAL
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS impressions (
    session_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (session_id, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outcomes (
    item_id TEXT PRIMARY KEY,
    positives INTEGER NOT NULL DEFAULT 0,
    negatives INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
"""

# Moves a session's last activity forward to the bound time (never back: another process's
# clock may be a little behind).
_TOUCH = "last_active = MAX(COALESCE(last_active, created), ?)"

# `last_active` is NULL only in rows a version-1 process wrote after the file was migrated
# (a rolling upgrade); such a session counts as last active when it was created.
_LAST_ACTIVE = "COALESCE(last_active, created)"

_INDEXES = """
CREATE INDEX IF NOT EXISTS sessions_by_activity ON sessions (last_active);
"""


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Version 2 adds `sessions.last_active`, filled from `created` for existing rows."""
    columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(sessions)")}
    if "last_active" not in columns:
        conn.execute("ALTER TABLE sessions ADD COLUMN last_active REAL")
    conn.execute("UPDATE sessions SET last_active = created WHERE last_active IS NULL")


MIGRATIONS = {1: _migrate_1_to_2}
"""Schema version → the step that brings a file of that version to the next one."""


class SQLiteStore(SessionStore):
    """`SessionStore` over one SQLite file (or `:memory:` for tests)."""

    def __init__(self, path: str | Path) -> None:
        self._memory = str(path) == MEMORY
        self._path = MEMORY if self._memory else str(Path(path))
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # Serialises use of the single shared connection in `:memory:` mode; per-thread
        # connections need no lock of ours.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self._memory else contextlib.nullcontext()
        )
        # SQLite admits one writer at a time anyway; threads of this process queue on a lock
        # instead of SQLite's busy handler, which sleeps and retries and lets a busy writer
        # starve the others (a delete could wait seconds behind a stream of appends).
        self._write_lock = threading.Lock()
        self._closed = False
        self._shared: sqlite3.Connection | None = None
        if not self._memory:
            try:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the folder of {self._path}: {exc}") from exc
        with self._guard():
            self._init_schema(self._conn())

    @property
    def path(self) -> str:
        """The database file (or ":memory:")."""
        return self._path

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly
        # what each method says, not what the sqlite3 module guesses.
        conn = sqlite3.connect(
            self._path,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not self._memory:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.close()
                raise StoreUnavailable(f"{self._path}: cannot switch to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailable(f"the SQLite store {self._path} is closed")
        if self._memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        # A connection inherited through fork() must not be used by the child: SQLite's
        # locks are per process. Keyed by pid, the child opens its own.
        pid = os.getpid()
        cached: tuple[int, sqlite3.Connection] | None = getattr(self._local, "conn", None)
        if cached is not None and cached[0] == pid:
            return cached[1]
        conn = self._connect()
        self._local.conn = (pid, conn)
        return conn

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn driver errors (locked too long, disk full, not a database) into ours."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self._path}: {exc}") from exc

    @contextlib.contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._guard(), self._write_lock, self._lock:
            conn = self._conn()
            conn.execute("PRAGMA synchronous = " + ("FULL" if durable else "NORMAL"))
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._guard(), self._lock:
            yield self._conn()

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif row[0] != str(SCHEMA_VERSION):
                self._migrate(conn, str(row[0]))
            for statement in _INDEXES.split(";"):
                if statement.strip():
                    conn.execute(statement)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection, found: str) -> None:
        """Bring a file of an older schema version to this one (inside `_init_schema`'s
        transaction, so a failed step leaves the file as it was)."""
        version = int(found) if found.isdigit() else None
        if version is None or version > SCHEMA_VERSION or version not in MIGRATIONS:
            raise StoreUnavailable(
                f"{self._path}: store schema version {found}, this sessionrec reads versions "
                f"up to {SCHEMA_VERSION} (a newer sessionrec wrote this file)"
            )
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )

    # -- sessions ----------------------------------------------------------------------

    def create_session(self, token_hash: str) -> str:
        while True:
            session_id = new_session_id()
            with self._write() as conn:
                now = time.time()
                cur = conn.execute(
                    "INSERT OR IGNORE INTO sessions (id, token_hash, created, last_active) "
                    "VALUES (?, ?, ?, ?)",
                    (session_id, token_hash, now, now),
                )
                if cur.rowcount == 1:
                    return session_id

    def token_hash(self, session_id: str) -> str | None:
        if not is_session_id(session_id):
            return None
        with self._read() as conn:
            row = conn.execute(
                "SELECT token_hash FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def append_events(self, session_id: str, events: Sequence[StoredEvent]) -> int:
        check_events(events)
        if not is_session_id(session_id):
            raise SessionNotFound(session_id)
        with self._write() as conn:
            row = conn.execute(
                f"UPDATE sessions SET n_events = n_events + ?, {_TOUCH} WHERE id = ? "
                "RETURNING n_events",
                (len(events), time.time(), session_id),
            ).fetchone()
            if row is None:
                raise SessionNotFound(session_id)
            first = int(row[0]) - len(events)
            conn.executemany(
                "INSERT INTO events (session_id, seq, item_id, type, ts) VALUES (?, ?, ?, ?, ?)",
                [
                    (session_id, first + i, e.item_id, e.type, float(e.timestamp))
                    for i, e in enumerate(events)
                ],
            )
        return len(events)

    def events(self, session_id: str) -> list[StoredEvent]:
        if not is_session_id(session_id):
            raise SessionNotFound(session_id)
        # One statement reads one snapshot, so a concurrent delete cannot fall between the
        # existence check and the event rows.
        with self._read() as conn:
            rows = conn.execute(
                "SELECT e.item_id, e.type, e.ts FROM sessions s "
                "LEFT JOIN events e ON e.session_id = s.id WHERE s.id = ? ORDER BY e.seq",
                (session_id,),
            ).fetchall()
        if not rows:
            raise SessionNotFound(session_id)
        return [StoredEvent(r[0], r[1], r[2]) for r in rows if r[0] is not None]

    def retract_feedback(self, session_id: str, item_id: str) -> int:
        check_item_id(item_id)
        if not is_session_id(session_id):
            raise SessionNotFound(session_id)
        marks = ",".join("?" * len(RETRACTABLE_TYPES))
        # The remaining events keep their sequence numbers, hence their order; `n_events`
        # stays the next number to hand out, so a gap is never reused.
        with self._write() as conn:
            if not self._touch(conn, session_id):
                raise SessionNotFound(session_id)
            cur = conn.execute(
                f"DELETE FROM events WHERE session_id = ? AND item_id = ? AND type IN ({marks})",
                (session_id, item_id, *RETRACTABLE_TYPES),
            )
        return int(cur.rowcount)

    def delete_session(self, session_id: str) -> bool:
        if not is_session_id(session_id):
            return False
        with self._write() as conn:
            existed = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
            conn.execute("DELETE FROM events WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM impressions WHERE session_id = ?", (session_id,))
        return existed > 0

    @staticmethod
    def _touch(conn: sqlite3.Connection, session_id: str) -> bool:
        """Move the session's last activity to now (inside a write); False if it is gone."""
        cur = conn.execute(f"UPDATE sessions SET {_TOUCH} WHERE id = ?", (time.time(), session_id))
        return cur.rowcount > 0

    def session_ids(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute("SELECT id FROM sessions ORDER BY created, rowid").fetchall()
        return [str(r[0]) for r in rows]

    def last_active(self, session_id: str) -> float | None:
        if not is_session_id(session_id):
            return None
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_LAST_ACTIVE} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return None if row is None else float(row[0])

    def delete_inactive(self, before: float) -> int:
        cutoff = check_before(before)
        # The index answers `last_active < ?`; rows a version-1 process wrote (NULL) are
        # found by their creation time.
        stale = "last_active < ?1 OR (last_active IS NULL AND created < ?1)"
        deleted = 0
        while True:
            # Chosen and deleted inside one write transaction: a session written to in
            # between is not chosen, or its write waits and then finds no session.
            with self._write() as conn:
                ids = [
                    str(r[0])
                    for r in conn.execute(
                        f"SELECT id FROM sessions WHERE {stale} LIMIT {SWEEP_BATCH}", (cutoff,)
                    )
                ]
                for table, column in (
                    ("sessions", "id"),
                    ("events", "session_id"),
                    ("impressions", "session_id"),
                ):
                    conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])
            deleted += len(ids)
            if len(ids) < SWEEP_BATCH:
                return deleted

    # -- impressions -------------------------------------------------------------------

    def record_impressions(self, session_id: str, item_ids: Sequence[str]) -> None:
        if not is_session_id(session_id):
            raise SessionNotFound(session_id)
        counts = Counter(item_ids)
        with self._write(durable=False) as conn:
            if not self._touch(conn, session_id):
                raise SessionNotFound(session_id)
            conn.executemany(
                "INSERT INTO impressions (session_id, item_id, n) VALUES (?, ?, ?) "
                "ON CONFLICT (session_id, item_id) DO UPDATE SET n = n + excluded.n",
                [(session_id, item, n) for item, n in counts.items()],
            )

    def impressions(self, session_id: str) -> dict[str, int]:
        if not is_session_id(session_id):
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT item_id, n FROM impressions WHERE session_id = ?", (session_id,)
            ).fetchall()
        return {str(item): int(n) for item, n in rows}

    # -- global item statistics --------------------------------------------------------

    def record_outcome(self, item_id: str, positive: bool) -> None:
        check_item_id(item_id)
        column = "positives" if positive else "negatives"
        with self._write(durable=False) as conn:
            conn.execute(
                f"INSERT INTO outcomes (item_id, {column}) VALUES (?, 1) "
                f"ON CONFLICT (item_id) DO UPDATE SET {column} = {column} + 1",
                (item_id,),
            )

    def item_outcomes(self, item_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        wanted = list(dict.fromkeys(item_ids))
        if not wanted:
            return {}
        out: dict[str, tuple[int, int]] = {}
        with self._read() as conn:
            # Chunks stay under SQLite's limit on bound parameters.
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    "SELECT item_id, positives, negatives FROM outcomes "
                    f"WHERE item_id IN ({marks})",
                    chunk,
                )
                for item, pos, neg in rows:
                    out[str(item)] = (int(pos), int(neg))
        return out

    # -- admin items -------------------------------------------------------------------

    def upsert_item(self, item: Mapping[str, Any]) -> None:
        item_id, body = encode_item(item)
        # ON CONFLICT ... UPDATE keeps the row (and its rowid, hence its place in `items()`),
        # where INSERT OR REPLACE would delete and re-insert it at the end.
        with self._write() as conn:
            conn.execute(
                "INSERT INTO items (item_id, body) VALUES (?, ?) "
                "ON CONFLICT (item_id) DO UPDATE SET body = excluded.body",
                (item_id, body),
            )

    def items(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT body FROM items ORDER BY rowid").fetchall()
        return [decode_item(r[0]) for r in rows]

    # -- lifecycle ---------------------------------------------------------------------

    def ping(self) -> bool:
        try:
            with self._read() as conn:
                conn.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
        except Exception:
            return False
        return True

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._shared = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"
