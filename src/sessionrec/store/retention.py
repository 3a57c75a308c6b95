"""Session retention: sessions inactive for longer than a number of days are deleted.

`sessionrec serve --retention-days D` sweeps when it starts and then every
`RETENTION_SWEEP_SECONDS` in a background thread of each process; `sessionrec retrain
--retention-days D` sweeps once before it exports. Inactive means on the store's clock
(`SessionStore.last_active`: the last write to the session), so a client's timestamps can
neither keep a session alive nor age it. A sweep deletes each session exactly as
`delete_session` does, and several processes sweeping one store at once delete each
session once between them.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from sessionrec.errors import ConfigError
from sessionrec.store.base import SessionStore

logger = logging.getLogger(__name__)

DAY_SECONDS = 86_400.0
RETENTION_SWEEP_SECONDS = 3600.0
"""How often a serving process sweeps: hourly, so a session outlives its retention by at
most an hour, at the cost of one indexed query (SQLite) or range read (Redis) an hour."""


def check_retention_days(days: float, what: str = "--retention-days") -> float:
    """`days` as a float, or a `ConfigError` naming `what` unless it is a positive number."""
    if isinstance(days, bool) or not isinstance(days, int | float):
        raise ConfigError(f"{what} must be a number of days, got {days!r}")
    if not math.isfinite(days) or days <= 0:
        raise ConfigError(
            f"{what} must be a positive number of days (leave it out to keep sessions "
            f"forever), got {days!r}"
        )
    return float(days)


def sweep_inactive(store: SessionStore, days: float, now: float | None = None) -> int:
    """Delete the sessions of `store` last active more than `days` before `now` (default:
    this moment); log and return how many this call deleted."""
    days = check_retention_days(days)
    moment = time.time() if now is None else now
    deleted = store.delete_inactive(moment - days * DAY_SECONDS)
    logger.info(
        "retention: deleted %d session%s inactive for more than %g days",
        deleted,
        "" if deleted == 1 else "s",
        days,
    )
    return deleted


class RetentionSweeper:
    """Runs `sweep_inactive` in a daemon thread: at once, then every `every_seconds`."""

    def __init__(
        self, store: SessionStore, days: float, every_seconds: float = RETENTION_SWEEP_SECONDS
    ) -> None:
        self.store = store
        self.days = check_retention_days(days)
        if not math.isfinite(every_seconds) or every_seconds <= 0:
            raise ConfigError(f"the sweep period must be positive seconds, got {every_seconds}")
        self.every_seconds = every_seconds
        self.sweeps = 0
        """Sweeps finished (failed ones are logged and not counted)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once; a second call does nothing)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="sessionrec-retention", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                sweep_inactive(self.store, self.days)
                self.sweeps += 1
            except Exception:  # a store outage must not end the schedule
                logger.exception("retention sweep failed; trying again in %g s", self.every_seconds)
            if self._stop.wait(self.every_seconds):
                return

    def stop(self) -> None:
        """Stop the thread, waiting for a sweep in progress (at most 10 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
