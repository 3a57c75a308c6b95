"""Open a session store from a URL, so the back end is a deployment choice, not code."""

from __future__ import annotations

from pathlib import Path

from sessionrec.errors import ConfigError, unknown_choice
from sessionrec.store.base import SessionStore

SCHEMES = ("sqlite", "redis", "rediss", "unix")
_SQLITE_SPELLINGS = (
    "sqlite:///relative/path.db (from the working directory) or sqlite:////absolute/path.db"
)


def sqlite_path(url: str) -> str:
    """The file a sqlite URL names, as an absolute path, or ":memory:".

    SQLAlchemy's convention: after `sqlite://` comes an empty host and a slash, then the
    path, so `sqlite:///relative/path.db` (three slashes) is relative to the working
    directory and `sqlite:////absolute/path.db` (four) is absolute. A relative path is
    made absolute here, once, so every process that opens the store (CLI, uvicorn
    workers) uses the same file.
    """
    rest = url[len("sqlite://") :]
    if rest in ("", "/"):
        raise ConfigError(f"store URL {url!r} names no file; write {_SQLITE_SPELLINGS}")
    if rest == "/:memory:":
        return ":memory:"
    if not rest.startswith("/"):
        raise ConfigError(
            f"store URL {url!r}: a sqlite URL has three slashes before a path, not a host; "
            f"write {_SQLITE_SPELLINGS}"
        )
    path = rest[1:]  # "/relative/x.db" → "relative/x.db"; "//abs/x.db" → "/abs/x.db"
    if path.endswith("/"):
        raise ConfigError(f"store URL {url!r} names a folder, not a database file")
    if path.startswith("/"):
        path = "/" + path.lstrip("/")  # extra slashes are the same absolute path
    return str(Path(path).absolute())


def open_store(url: str) -> SessionStore:
    """Open the store a URL names.

    - `sqlite:///relative/path.db` (from the working directory), `sqlite:////abs/path.db`:
      embedded, one file (created with its folder when missing).
    - `sqlite:///:memory:`: embedded, in memory, for tests.
    - `redis://[:password@]host:port/db[?prefix=P&ttl=SECONDS]` (also `rediss://`,
      `unix://`): shared by several workers; reachability is checked at once.

    Raises `ConfigError` for a malformed URL or an unknown scheme and `StoreUnavailable` when
    the store cannot be opened or reached.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(
            f"store URL {url!r} is not a URL; use sqlite:///relative/path.db, "
            "sqlite:////absolute/path.db or redis://HOST:PORT/DB"
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        from sessionrec.store.sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(url))
    if scheme in ("redis", "rediss", "unix"):
        from sessionrec.store.redis import RedisStore

        return RedisStore.from_url(url)
    raise unknown_choice("store URL scheme", scheme, SCHEMES)
