"""Cutting user logs into sessions by an inactivity gap.

Ratings and click logs often name only the user; session models need sessions. A new
session starts when a user has been inactive for longer than the gap (30 minutes by
default, the usual web-analytics convention).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sessionrec.data.schema import SESSION_ID, TIMESTAMP, USER_ID, Interactions
from sessionrec.errors import ConfigError, DataError

DEFAULT_GAP_SECONDS = 1800.0


def sessionize(
    interactions: Interactions, gap_seconds: float = DEFAULT_GAP_SECONDS
) -> Interactions:
    """Fill missing session ids as "{user}:{n}", n counting each user's new sessions from 0.

    Per user, events without a session id are taken in time order (stable, so ties keep
    file order) and a new session starts where the gap to the previous such event is
    strictly greater than `gap_seconds`. Events that already carry a session id keep it
    and do not take part in the cutting.

    Rows come back grouped by user (users in order of first appearance; events with a
    session id but no user form groups of their own session), then by time, stably.
    """
    if not gap_seconds > 0:
        raise ConfigError(
            f"the session gap must be a positive number of seconds, got {gap_seconds}"
        )
    frame = interactions.frame
    if not len(frame):
        return interactions
    has_session = frame[SESSION_ID].notna().to_numpy()
    has_user = frame[USER_ID].notna().to_numpy()
    orphans = ~has_session & ~has_user
    if orphans.any():
        raise DataError(
            f"cannot cut a log into sessions: {int(orphans.sum())} events (the first is row "
            f"{int(np.flatnonzero(orphans)[0]) + 1}) have neither a session id nor a user id",
            path=interactions.source or None,
            field=USER_ID,
        )

    # One group per user, plus one per session of events that have no user; groups are
    # numbered in order of first appearance so the output order follows the file.
    user_codes, users = pd.factorize(frame[USER_ID])
    session_codes = pd.factorize(frame[SESSION_ID].where(~has_user))[0]
    raw_groups = np.where(has_user, user_codes, len(users) + session_codes)
    groups = pd.factorize(raw_groups)[0]
    times = frame[TIMESTAMP].to_numpy(dtype="float64")
    order = np.lexsort((times, groups))  # lexsort is stable: ties keep file order
    ordered = frame.iloc[order].reset_index(drop=True)

    todo = np.flatnonzero(~has_session[order])
    if len(todo):
        group = groups[order][todo]
        t = times[order][todo]
        new_group = np.r_[True, group[1:] != group[:-1]]
        new_session = new_group | np.r_[True, np.diff(t) > gap_seconds]
        session_index = np.cumsum(new_session)
        first_of_group = np.maximum.accumulate(np.where(new_group, session_index, 0))
        number = session_index - first_of_group
        user_names = ordered[USER_ID].iloc[todo].astype(str).to_numpy()
        generated = pd.Series(user_names, dtype=object) + ":" + number.astype(str)
        sessions = ordered[SESSION_ID].astype(object).to_numpy(copy=True)
        sessions[todo] = generated.to_numpy(dtype=object)
        ordered[SESSION_ID] = sessions
    return interactions.replace(ordered)
