"""How a service instance is configured: in code for tests, from the environment for workers.

`sessionrec serve` with several uvicorn workers starts each worker by import string, so the
options travel as environment variables; `ServiceSettings.from_env` reads them back, and
`to_env` writes them, keeping both directions in one place.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sessionrec.data.download import cache_dir
from sessionrec.errors import ConfigError
from sessionrec.service.limits import Limits
from sessionrec.service.ratelimit import RateLimits
from sessionrec.store.retention import check_retention_days

if TYPE_CHECKING:
    from sessionrec.engine.generative import GenerativeLayer

ENV_ARTIFACT = "SESSIONREC_ARTIFACT"
ENV_STORE = "SESSIONREC_STORE"
ENV_API_KEY = "SESSIONREC_API_KEY"
ENV_SYNC_SECONDS = "SESSIONREC_SYNC_SECONDS"
ENV_CORS = "SESSIONREC_CORS_ORIGINS"
ENV_THREADS = "SESSIONREC_THREADS"
ENV_LLM = "SESSIONREC_LLM"
ENV_LLM_BUDGET_MS = "SESSIONREC_LLM_BUDGET_MS"
ENV_RETENTION_DAYS = "SESSIONREC_RETENTION_DAYS"

MIN_API_KEY_CHARS = 16
"""An admin key shorter than this is refused at start-up: the admin routes replace the
catalogue and reload the model, and a short key is within reach of guessing."""


def default_store_url() -> str:
    """An SQLite file in the user cache, so sessions survive restarts without set-up."""
    return f"sqlite:///{cache_dir() / 'sessions.db'}"


def check_api_key(key: str) -> None:
    """Refuse an admin key that is short or that no client could send back verbatim."""
    if len(key) < MIN_API_KEY_CHARS:
        raise ConfigError(
            f"{ENV_API_KEY} (the admin API key) must have at least {MIN_API_KEY_CHARS} "
            f"characters, got {len(key)}; unset it to run with the admin routes off"
        )
    if key != key.strip():
        # HTTP strips a header value's surrounding spaces, so such a key would never match.
        raise ConfigError(f"{ENV_API_KEY} must not start or end with whitespace")


@dataclass(frozen=True)
class ServiceSettings:
    """Everything `create_app` needs besides (optionally) an engine and a store.

    `sync_seconds` > 0 starts a background poll that replays items upserted through other
    workers and reloads the model when the artifact's manifest changes on disk: the way
    several worker processes over one store stay consistent. `sessionrec serve` turns it on
    (2 s) for every process, since other processes may share its store; an app built in
    code (tests) keeps it off unless asked.
    """

    artifact: Path | None = None
    store_url: str = field(default_factory=default_store_url)
    api_key: str | None = None
    limits: Limits = field(default_factory=Limits)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """Requests per second per client address and per session (`service.ratelimit`)."""
    cors_origins: tuple[str, ...] = ()
    sync_seconds: float = 0.0
    web: bool = True
    threads: int = 1
    """Torch/BLAS threads per serving process (see `service.threads`)."""
    llm: str | None = None
    """The generative model's spec, openai:MODEL@URL (`engine.generative`); None: none."""
    llm_budget_ms: int = 2000
    """Milliseconds the generative model may take per request."""
    retention_days: float | None = None
    """Sessions inactive for longer are deleted: at start-up, then hourly
    (`store.retention`); None keeps them forever."""

    def __post_init__(self) -> None:
        if self.api_key is not None:
            check_api_key(self.api_key)
        if not math.isfinite(self.sync_seconds) or self.sync_seconds < 0:
            raise ConfigError("sync_seconds must be zero (off) or a positive number of seconds")
        if self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.llm is not None:
            from sessionrec.llm import parse_llm_spec

            parse_llm_spec(self.llm)  # a malformed spec fails here, not in a worker
        if isinstance(self.llm_budget_ms, bool) or self.llm_budget_ms < 1:
            raise ConfigError(f"the LLM budget must be at least 1 ms, got {self.llm_budget_ms}")
        if self.retention_days is not None:
            check_retention_days(self.retention_days, f"--retention-days ({ENV_RETENTION_DAYS})")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Settings from `SESSIONREC_*` variables (what each worker process reads)."""
        env = os.environ if environ is None else environ
        artifact = env.get(ENV_ARTIFACT)
        sync = env.get(ENV_SYNC_SECONDS, "0")
        try:
            sync_seconds = float(sync)
        except ValueError:
            raise ConfigError(f"{ENV_SYNC_SECONDS} must be a number, got {sync!r}") from None
        cors = tuple(o.strip() for o in env.get(ENV_CORS, "").split(",") if o.strip())
        threads = env.get(ENV_THREADS, "1")
        if not threads.isdigit():
            raise ConfigError(f"{ENV_THREADS} must be a positive integer, got {threads!r}")
        budget = env.get(ENV_LLM_BUDGET_MS, "2000")
        if not budget.isdigit():
            raise ConfigError(f"{ENV_LLM_BUDGET_MS} must be a whole number, got {budget!r}")
        retention = env.get(ENV_RETENTION_DAYS) or None
        try:
            retention_days = None if retention is None else float(retention)
        except ValueError:
            raise ConfigError(
                f"{ENV_RETENTION_DAYS} must be a number of days, got {retention!r}"
            ) from None
        return cls(
            artifact=Path(artifact) if artifact else None,
            store_url=env.get(ENV_STORE) or default_store_url(),
            api_key=env.get(ENV_API_KEY) or None,
            cors_origins=cors,
            sync_seconds=sync_seconds,
            threads=int(threads),
            llm=env.get(ENV_LLM) or None,
            llm_budget_ms=int(budget),
            rate_limits=RateLimits.from_env(env),
            retention_days=retention_days,
        )

    def to_env(self) -> dict[str, str]:
        """The variables `from_env` reads back (for this process's own worker children)."""
        env = {
            ENV_STORE: self.store_url,
            ENV_SYNC_SECONDS: str(self.sync_seconds),
            ENV_THREADS: str(self.threads),
            ENV_LLM_BUDGET_MS: str(self.llm_budget_ms),
            **self.rate_limits.to_env(),
        }
        if self.api_key is not None:
            env[ENV_API_KEY] = self.api_key
        if self.artifact is not None:
            env[ENV_ARTIFACT] = str(self.artifact)
        if self.cors_origins:
            env[ENV_CORS] = ",".join(self.cors_origins)
        if self.llm is not None:
            env[ENV_LLM] = self.llm
        if self.retention_days is not None:
            env[ENV_RETENTION_DAYS] = repr(self.retention_days)
        return env

    def llm_layer(self) -> GenerativeLayer | None:
        """The generative layer `llm` names, or None (no spec, or it does not answer now:
        logged, and the engine serves on its embedded path)."""
        if self.llm is None:
            return None
        from sessionrec.engine.generative import LLMOptions, layer_from_spec

        return layer_from_spec(self.llm, LLMOptions(budget_s=self.llm_budget_ms / 1000))
