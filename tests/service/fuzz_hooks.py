"""Schemathesis hooks for fuzzing the service (loaded by `st run` through SCHEMATHESIS_HOOKS).

The fuzzer knows the schema but not the service's state, so every request would otherwise
name a random session and carry a random token: all 404s, and no request would ever reach
the recommender. These hooks give each request the credentials a real client has: the
fuzzing session and its token (the test created them, with some events) on session routes,
and the admin key everywhere. `DELETE /v1/sessions/{id}` gets a spare session each time (the
test made them beforehand, so that every request the service counts is the fuzzer's), so
deleting does not end the fuzzing session for the requests after it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import schemathesis

SESSION = "SESSIONREC_FUZZ_SESSION"
TOKEN = "SESSIONREC_FUZZ_TOKEN"
SPARE_SESSIONS = "SESSIONREC_FUZZ_SPARE_SESSIONS"
"""A JSON file: [[session_id, token], ...], one for each delete."""
API_KEY = "SESSIONREC_FUZZ_API_KEY"

DELETE_SESSION = ("DELETE", "/v1/sessions/{session_id}")


@functools.cache
def _spares() -> Iterator[list[str]]:
    """The spare sessions, read once (the hooks run in the fuzzer's process, one call at a
    time with `--workers 1`)."""
    return iter(json.loads(Path(os.environ[SPARE_SESSIONS]).read_text()))


def _spare_session() -> tuple[str, str]:
    """The next unused spare session (the fuzzing session again once all are used: a 404)."""
    session, token = next(_spares(), [os.environ[SESSION], os.environ[TOKEN]])
    return session, token


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
) -> None:
    """Put a real session and the credentials into the request about to be sent."""
    case.headers["X-API-Key"] = os.environ[API_KEY]  # case-insensitive: replaces a generated one
    if "session_id" in case.path_parameters:
        if (case.method.upper(), case.path) == DELETE_SESSION:
            session, token = _spare_session()
        else:
            session, token = os.environ[SESSION], os.environ[TOKEN]
        case.path_parameters["session_id"] = session
        case.headers["Authorization"] = f"Bearer {token}"
