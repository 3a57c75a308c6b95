"""What only the SQLite back end promises: its settings, schema, files and processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sessionrec.store import SessionNotFound, StoredEvent, StoreUnavailable
from sessionrec.store.sqlite import SCHEMA_VERSION, SQLiteStore


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def test_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.create_session("h")
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL after a durable write
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    store.close()
    # WAL is a property of the file: every later connection, any process, uses it.
    with raw(tmp_path / "s.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "s.db").close()
    with raw(tmp_path / "s.db") as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert row == (str(SCHEMA_VERSION),)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "s.db").close()
    with raw(tmp_path / "s.db") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreUnavailable, match=r"s\.db: store schema version 99"):
        SQLiteStore(tmp_path / "s.db")


VERSION_1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created REAL NOT NULL,
    n_events INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE events (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, item_id TEXT NOT NULL,
    type TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE impressions (
    session_id TEXT NOT NULL, item_id TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (session_id, item_id)
) WITHOUT ROWID;
CREATE TABLE outcomes (
    item_id TEXT PRIMARY KEY, positives INTEGER NOT NULL DEFAULT 0,
    negatives INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE items (item_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO sessions VALUES ('old-session-a', 'hash-a', 1000.0, 2);
INSERT INTO sessions VALUES ('old-session-b', 'hash-b', 2000.0, 0);
INSERT INTO events VALUES ('old-session-a', 0, 'x', 'view', 5.0);
INSERT INTO events VALUES ('old-session-a', 1, 'y', 'like', 6.0);
INSERT INTO impressions VALUES ('old-session-a', 'z', 3);
INSERT INTO items VALUES ('n', '{"item_id": "n", "title": "N"}');
"""
"""The layout sessionrec wrote before `sessions.last_active` (schema version 1), with data."""


def test_a_version_1_file_is_migrated_on_open_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with raw(path) as conn:
        conn.executescript(VERSION_1_SCHEMA)
    store = SQLiteStore(path)
    assert store.token_hash("old-session-a") == "hash-a"
    assert store.events("old-session-a") == [
        StoredEvent("x", "view", 5.0),
        StoredEvent("y", "like", 6.0),
    ]
    assert store.impressions("old-session-a") == {"z": 3}
    assert store.items() == [{"item_id": "n", "title": "N"}]
    # Last activity is unknown before the migration: creation stands in for it.
    assert store.last_active("old-session-a") == 1000.0
    assert store.session_ids() == ["old-session-a", "old-session-b"]
    store.append_events("old-session-a", [StoredEvent("w", "view", 7.0)])  # numbering goes on
    assert [e.item_id for e in store.events("old-session-a")] == ["x", "y", "w"]
    assert store.delete_inactive(1500.0) == 0  # a is active now, b was created at 2000
    assert store.delete_inactive(2500.0) == 1
    assert store.session_ids() == ["old-session-a"]
    store.close()
    with raw(path) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sessions)")]
    assert version == (str(SCHEMA_VERSION),) and "last_active" in columns
    SQLiteStore(path).close()  # a migrated file opens as any other


def test_a_session_a_version_1_process_adds_after_the_migration_still_ages(
    tmp_path: Path,
) -> None:
    """During a rolling upgrade an old process still writes rows without `last_active`."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    with raw(path) as conn:
        conn.execute("INSERT INTO sessions (id, token_hash, created) VALUES ('legacy', 'h', 10.0)")
    assert store.last_active("legacy") == 10.0
    assert "legacy" in store.session_ids()
    assert store.delete_inactive(11.0) == 1
    assert store.token_hash("legacy") is None
    store.close()


def test_an_unreadable_schema_version_is_refused_and_the_file_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with raw(path) as conn:
        conn.executescript(VERSION_1_SCHEMA)
        conn.execute("UPDATE meta SET value = 'one' WHERE key = 'schema_version'")
    with pytest.raises(StoreUnavailable, match="store schema version one"):
        SQLiteStore(path)
    with raw(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sessions)")]
    assert "last_active" not in columns


def test_not_a_database_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not an SQLite file, just some text " * 100)
    with pytest.raises(StoreUnavailable, match=r"notes\.db"):
        SQLiteStore(bad)


def test_missing_folder_is_created(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a" / "b" / "s.db")
    assert store.ping()
    assert (tmp_path / "a" / "b" / "s.db").exists()
    store.close()


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.close()
    assert store.ping() is False
    with pytest.raises(StoreUnavailable, match="closed"):
        store.create_session("h")


def test_delete_leaves_no_row_of_the_session(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    sid = store.create_session("h")
    keep = store.create_session("h")
    store.append_events(sid, [StoredEvent("1", "view", 1.0)] * 3)
    store.record_impressions(sid, ["1", "2"])
    store.append_events(keep, [StoredEvent("1", "view", 1.0)])
    assert store.delete_session(sid)
    store.close()
    with raw(tmp_path / "s.db") as conn:
        for table, column in (("sessions", "id"), ("events", "session_id")):
            n = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (sid,))
            assert n.fetchone()[0] == 0
        n = conn.execute("SELECT COUNT(*) FROM impressions WHERE session_id = ?", (sid,))
        assert n.fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1


def test_sequence_numbers_are_contiguous(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    sid = store.create_session("h")
    for n in (2, 1, 3):
        store.append_events(sid, [StoredEvent("x", "view", 0.0)] * n)
    store.close()
    with raw(tmp_path / "s.db") as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
        n_events = conn.execute("SELECT n_events FROM sessions").fetchone()[0]
    assert seqs == list(range(6))
    assert n_events == 6


APPENDER = """
import sys
from sessionrec.store import StoredEvent, open_store

url, sid, tag = sys.argv[1], sys.argv[2], sys.argv[3]
store = open_store(url)
for b in range(40):
    store.append_events(sid, [StoredEvent(f"{tag}-{b}-{j}", "click", 0.0) for j in range(3)])
"""


def test_several_processes_append_to_one_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = SQLiteStore(tmp_path / "s.db")
    sid = store.create_session("h")
    children = [
        subprocess.Popen([sys.executable, "-c", APPENDER, url, sid, tag], stderr=subprocess.PIPE)
        for tag in ("p", "q", "r")
    ]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()
    ids = [e.item_id for e in store.events(sid)]
    assert len(ids) == 3 * 40 * 3
    for pos in range(0, len(ids), 3):
        tag, b, _ = ids[pos].split("-")
        assert ids[pos : pos + 3] == [f"{tag}-{b}-{j}" for j in range(3)]
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    sid = store.create_session("h")  # the parent's connection now exists
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            store.append_events(sid, [StoredEvent("from-child", "view", 1.0)])
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.append_events(sid, [StoredEvent("from-parent", "view", 2.0)])
    assert [e.item_id for e in store.events(sid)] == ["from-child", "from-parent"]
    store.close()


def test_memory_stores_are_private(tmp_path: Path) -> None:
    a, b = SQLiteStore(":memory:"), SQLiteStore(":memory:")
    sid = a.create_session("h")
    assert b.token_hash(sid) is None
    with pytest.raises(SessionNotFound):
        b.events(sid)
    a.close()
    b.close()
