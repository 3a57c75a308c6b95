"""Who may do what: a secret token per session, an API key for the admin routes.

The session token is shown to the client once, at creation; the store keeps only its
SHA-256, so a leaked database does not leak live tokens. Comparisons run in constant time
so a caller cannot learn a hash byte by byte from response times.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sessionrec.service.errors import ApiError
from sessionrec.store.base import SessionStore

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh bearer token (256 bits of randomness, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer TOKEN` header; 401 when absent or malformed."""
    if not authorization:
        raise ApiError(401, "missing_token", "this session needs 'Authorization: Bearer TOKEN'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing_token", "the Authorization header must be 'Bearer TOKEN'")
    return token.strip()


def authorize_session(store: SessionStore, session_id: str, authorization: str | None) -> None:
    """Check that the caller holds the session's token: 401 without one, 404, 403 if wrong."""
    token = bearer_token(authorization)
    expected = store.token_hash(session_id)
    if expected is None:
        raise ApiError(404, "session_not_found", f"session {session_id!r} not found")
    if not hmac.compare_digest(hash_token(token), expected):
        raise ApiError(403, "wrong_token", "the token does not belong to this session")


def authorize_admin(configured: str | None, given: str | None) -> None:
    """Check the `X-API-Key` header: 503 when no key is configured, 401 when absent or wrong."""
    if configured is None:
        raise ApiError(
            503,
            "admin_disabled",
            "admin routes are off: set SESSIONREC_API_KEY on the server to enable them",
        )
    if not given:
        raise ApiError(401, "missing_api_key", "this route needs the 'X-API-Key' header")
    if not hmac.compare_digest(given.encode(), configured.encode()):
        raise ApiError(401, "wrong_api_key", "the API key is not valid")
