"""Cutting user logs into sessions by an inactivity gap.

Ratings and click logs often name only the user; session models need sessions. A new session
starts when a user has been inactive for longer than the gap (30 minutes by default, the
usual web-analytics convention).
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
    """Fill missing session ids as "{user}:{n}", n counting each user's sessions from 0.

    Rows come back grouped by user (users in order of first appearance), then by time with
    a stable sort. Events that already carry a session id keep it.
    """
    if gap_seconds <= 0:
        raise ConfigError(f"the session gap must be positive, got {gap_seconds}")
    frame = interactions.frame
    if not len(frame):
        return interactions
    if frame[USER_ID].isna().any():
        raise DataError(
            "cannot cut a log into sessions: some events have neither a session id nor a user id",
            path=interactions.source or None,
            field=USER_ID,
        )
    codes = pd.factorize(frame[USER_ID])[0]
    times = frame[TIMESTAMP].to_numpy()
    order = np.lexsort((times, codes))
    ordered = frame.iloc[order].reset_index(drop=True)
    users = codes[order]
    t = times[order]
    new_user = np.r_[True, users[1:] != users[:-1]]
    new_session = new_user | np.r_[True, np.diff(t) > gap_seconds]
    session_index = np.cumsum(new_session)
    first_of_user = np.maximum.accumulate(np.where(new_user, session_index, 0))
    number = session_index - first_of_user
    generated = ordered[USER_ID].astype(str) + ":" + pd.Series(number).astype(str)
    ordered[SESSION_ID] = ordered[SESSION_ID].where(ordered[SESSION_ID].notna(), generated)
    return interactions.replace(ordered)
