"""Where interactive sessions live: events, impressions, feedback statistics, admin items.

`open_store(url)` picks the back end from the URL: SQLite (embedded default, one file) or
Redis (shared by several workers or machines). Both implement `SessionStore`.
"""

from sessionrec.store.base import (
    SessionNotFound,
    SessionStore,
    StoredEvent,
    StoreUnavailable,
)
from sessionrec.store.factory import open_store

__all__ = [
    "SessionNotFound",
    "SessionStore",
    "StoreUnavailable",
    "StoredEvent",
    "open_store",
]
