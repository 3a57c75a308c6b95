"""The route parameters several routes share: the two credentials and the ids in paths.

The credentials are declared through FastAPI's security classes so that the OpenAPI schema
names them (a bearer token per session, an admin key header) and /docs offers an Authorize
button; the checks themselves stay in `auth`, which needs the raw header to tell a missing
token from a malformed one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from sessionrec.data.vocab import MAX_ITEM_ID_CHARS
from sessionrec.service.schemas import SPACES

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
"""The ids the stores issue (`store.base.is_session_id`). Only declared: any other id is
answered 404 `session_not_found` by the store, as an unknown one is."""

ITEM_ID_PATH_PATTERN = f"^[^/]*[^{SPACES}./][^/]*$"
"""An item id that can travel in a path: not only spaces (422 `invalid_item_id`), no `/`
(which ends the segment, so the route is not found) and not only dots (`.` and `..` are
removed by clients as dot-segments, which sends the request to another route)."""

session_token = HTTPBearer(
    scheme_name="SessionToken",
    description="The token `POST /v1/sessions` returned with the session (shown only once).",
    auto_error=False,
)
admin_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="AdminKey",
    description="The admin key the server was started with (`SESSIONREC_API_KEY`).",
    auto_error=False,
)


def _raw_authorization(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(session_token)],
) -> str | None:
    """The `Authorization` header as sent (`auth.bearer_token` reads and judges it)."""
    return request.headers.get("Authorization")


Authorization = Annotated[str | None, Depends(_raw_authorization)]
"""'Bearer TOKEN' as sent, or None; the route passes it to `auth.authorize_session`."""

ApiKey = Annotated[str | None, Security(admin_key)]
"""The `X-API-Key` header, or None; the route passes it to `auth.authorize_admin`."""

SessionId = Annotated[
    str,
    Path(
        description="As returned by `POST /v1/sessions`.",
        json_schema_extra={"pattern": SESSION_ID_PATTERN},
    ),
]

ItemId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_ITEM_ID_CHARS,
        json_schema_extra={"pattern": ITEM_ID_PATH_PATTERN},
    ),
]
"""Lengths enforced (422 `validation_error`), the pattern only declared: the routes answer a
blank id with a code of their own."""
