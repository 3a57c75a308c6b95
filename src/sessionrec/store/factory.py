"""Open a session store from a URL, so the back end is a deployment choice, not code."""

from __future__ import annotations

from sessionrec.errors import ConfigError, unknown_choice
from sessionrec.store.base import SessionStore

SCHEMES = ("sqlite", "redis", "rediss", "unix")


def sqlite_path(url: str) -> str:
    """The file named by a `sqlite:///ABSOLUTE/PATH` URL, or ":memory:".

    Only absolute paths are accepted: a relative one would depend on the working directory
    of whichever process (CLI, uvicorn worker) opens it, and two of them could silently use
    different files.
    """
    rest = url[len("sqlite://") :]
    if rest in ("", "/"):
        raise ConfigError(f"store URL {url!r} names no file; write sqlite:///ABSOLUTE/PATH.db")
    if rest == "/:memory:":
        return ":memory:"
    if not rest.startswith("/"):
        raise ConfigError(
            f"store URL {url!r}: a sqlite URL takes an absolute path after three slashes "
            "(sqlite:///ABSOLUTE/PATH.db), not a host"
        )
    # sqlite:////abs/path (SQLAlchemy's spelling) means the same file as sqlite:///abs/path.
    path = "/" + rest.lstrip("/")
    if path.endswith("/"):
        raise ConfigError(f"store URL {url!r} names a folder, not a database file")
    return path


def open_store(url: str) -> SessionStore:
    """Open the store a URL names.

    - `sqlite:///abs/path.db`: embedded, one file (created with its folder when missing).
    - `sqlite:///:memory:`: embedded, in memory, for tests.
    - `redis://[:password@]host:port/db[?prefix=P&ttl=SECONDS]` (also `rediss://`,
      `unix://`): shared by several workers; reachability is checked at once.

    Raises `ConfigError` for a malformed URL or an unknown scheme and `StoreUnavailable` when
    the store cannot be opened or reached.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(
            f"store URL {url!r} is not a URL; use sqlite:///ABSOLUTE/PATH.db or "
            "redis://HOST:PORT/DB"
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        from sessionrec.store.sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(url))
    if scheme in ("redis", "rediss", "unix"):
        from sessionrec.store.redis import RedisStore

        return RedisStore.from_url(url)
    raise unknown_choice("store URL scheme", scheme, SCHEMES)
