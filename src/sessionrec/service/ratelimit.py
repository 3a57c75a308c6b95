"""Request rate limits per client address and per session, answered with 429 and Retry-After.

Token buckets: each key (a client address, a session) holds up to `burst` requests and
earns `per_second` more every second, so a person clicking through the web page never waits
while one client looping as fast as it can gets its fair share and a `Retry-After` telling
it when to come back.

The buckets live in the serving process. With `sessionrec serve --workers N` each worker
keeps its own, and the kernel spreads connections over the workers, so one client may get
up to N times the configured rate in all; a shared limit would need a round trip to the
store on every request, which costs more than the recommendation itself.

The per-session bucket is keyed by the session id *and* a hash of the bearer token the
request carries: someone who learns a session id (it is in URLs and logs) but not its token
cannot use up that session's budget and lock its owner out; a wrong token only ever drains
a bucket of its own, while the per-address limit still counts every request.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from sessionrec.errors import ConfigError
from sessionrec.service.errors import error_response
from sessionrec.service.metrics import ServiceMetrics
from sessionrec.store.base import is_session_id

ENV_RATE_PER_ADDRESS = "SESSIONREC_RATE_PER_ADDRESS"
ENV_RATE_PER_SESSION = "SESSIONREC_RATE_PER_SESSION"
ENV_RATE_EXEMPT = "SESSIONREC_RATE_EXEMPT"

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""What an orchestrator and a scraper poll: throttling them under load would make a busy
instance look dead and hide the very traffic that is being throttled."""

SESSION_PREFIX = "/v1/sessions/"


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: `per_second` sustained, up to `burst` at once after a lull."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not math.isfinite(self.per_second) or self.per_second <= 0:
            raise ConfigError(f"a rate limit must be positive per second, got {self.per_second}")
        if isinstance(self.burst, bool) or self.burst < 1:
            raise ConfigError(f"a rate limit's burst must be at least 1, got {self.burst}")

    @classmethod
    def parse(cls, text: str, variable: str) -> Rate | None:
        """`PER_SECOND,BURST` (e.g. `100,400`) or `off`; the error names `variable`."""
        if text.strip().lower() == "off":
            return None
        rate, sep, burst = text.partition(",")
        shape = f"{variable} must be 'PER_SECOND,BURST' (e.g. '100,400') or 'off', got {text!r}"
        try:
            if not sep:
                raise ValueError(shape)
            return cls(float(rate), int(burst))
        except ValueError:
            raise ConfigError(shape) from None
        except ConfigError as exc:
            raise ConfigError(f"{variable}: {exc}") from None

    def spec(self) -> str:
        """The text `parse` reads back."""
        return f"{self.per_second:g},{self.burst}"


@dataclass(frozen=True)
class RateLimits:
    """How fast one client address and one session may send requests (None: no limit)."""

    per_address: Rate | None = Rate(per_second=100.0, burst=400)
    """Every request from one address, whatever it asks (health and metrics excepted)."""
    per_session: Rate | None = Rate(per_second=20.0, burst=60)
    """Requests on one session's routes; a person needs a few a second at most."""
    exempt_addresses: tuple[str, ...] = ("127.0.0.1", "::1")
    """Addresses never limited: by default this machine (benchmarks, a co-located job).
    Behind a reverse proxy on the same machine, start uvicorn with the proxy's address
    trusted for `X-Forwarded-For` (uvicorn's default trusts 127.0.0.1), so the limits see
    the real clients rather than the proxy."""
    max_tracked: int = 100_000
    """Buckets kept per limit; past it the least recently used go (a full bucket is the
    same as a new one, so only a client silent for the longest loses its debt)."""

    def __post_init__(self) -> None:
        if self.max_tracked < 1:
            raise ConfigError(f"max_tracked must be at least 1, got {self.max_tracked}")

    @classmethod
    def off(cls) -> RateLimits:
        """No rate limits at all (a service behind a gateway that limits already)."""
        return cls(per_address=None, per_session=None)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RateLimits:
        """The limits `SESSIONREC_RATE_*` give; each variable left unset keeps its default."""
        default = cls()
        per_address, per_session = default.per_address, default.per_session
        if ENV_RATE_PER_ADDRESS in env:
            per_address = Rate.parse(env[ENV_RATE_PER_ADDRESS], ENV_RATE_PER_ADDRESS)
        if ENV_RATE_PER_SESSION in env:
            per_session = Rate.parse(env[ENV_RATE_PER_SESSION], ENV_RATE_PER_SESSION)
        exempt = default.exempt_addresses
        if ENV_RATE_EXEMPT in env:
            exempt = tuple(a.strip() for a in env[ENV_RATE_EXEMPT].split(",") if a.strip())
        return cls(per_address=per_address, per_session=per_session, exempt_addresses=exempt)

    def to_env(self) -> dict[str, str]:
        """The variables `from_env` reads back."""
        return {
            ENV_RATE_PER_ADDRESS: "off" if self.per_address is None else self.per_address.spec(),
            ENV_RATE_PER_SESSION: "off" if self.per_session is None else self.per_session.spec(),
            ENV_RATE_EXEMPT: ",".join(self.exempt_addresses),
        }


@dataclass
class TokenBuckets:
    """One bucket per key, least recently used first.

    Only the event loop calls it (the middleware is async and never awaits in between), so
    it needs no lock.
    """

    rate: Rate
    max_tracked: int
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str) -> float:
        """Spend one request of `key`'s budget: 0.0 when allowed, else seconds to wait."""
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (float(self.rate.burst), now))
        tokens = min(float(self.rate.burst), tokens + (now - stamp) * self.rate.per_second)
        if tokens >= 1.0:
            tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - tokens) / self.rate.per_second
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_tracked:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def session_key(scope: Scope) -> str | None:
    """The per-session bucket of a request: its session id with its token's hash, or None
    (not a session route, or no token: then the route answers 401 before any work)."""
    path: str = scope["path"]
    if not path.startswith(SESSION_PREFIX):
        return None
    session_id = path[len(SESSION_PREFIX) :].partition("/")[0]
    authorization = _header(scope, b"authorization")
    if not authorization or not is_session_id(session_id):
        return None
    # Hashed so that live tokens do not sit in a long-lived table in memory.
    digest = hashlib.blake2b(authorization, digest_size=16).hexdigest()
    return f"{session_id}:{digest}"


class RateLimitMiddleware:
    """Answer 429 with `Retry-After` (whole seconds) and the JSON error once a budget is spent."""

    def __init__(
        self, app: ASGIApp, limits: RateLimits, metrics: ServiceMetrics | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.metrics = metrics
        self.exempt = frozenset(limits.exempt_addresses)
        self.by_address = (
            None
            if limits.per_address is None
            else TokenBuckets(limits.per_address, limits.max_tracked)
        )
        self.by_session = (
            None
            if limits.per_session is None
            else TokenBuckets(limits.per_session, limits.max_tracked)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if address in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.by_address is not None:
            wait = self.by_address.take(address)
            if wait:
                await self._refuse("address", wait, scope, receive, send)
                return
        key = session_key(scope) if self.by_session is not None else None
        if key is not None and self.by_session is not None:
            wait = self.by_session.take(key)
            if wait:
                await self._refuse("session", wait, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(
        self, limit: str, wait: float, scope: Scope, receive: Receive, send: Send
    ) -> None:
        retry_after = max(1, math.ceil(wait))
        if self.metrics is not None:
            self.metrics.rate_limited.labels(limit).inc()
        whose = "this client address" if limit == "address" else "this session"
        response = error_response(
            429,
            "rate_limited",
            f"too many requests from {whose}; retry in {retry_after} s",
            {"limit": limit, "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
