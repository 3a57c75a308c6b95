"""The layer itself: what it is asked to do (`LLMOptions`), the three steps over one chat
client, each call under the request's deadline on a small thread pool (so a server that
trickles its answer cannot hold a request past it), answers cached by their exact
prompt, and every failure turned into a logged, counted fallback (`Outcome`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from sessionrec.engine.generative.chat import LLMItem, RejectedAnswerError, clip
from sessionrec.engine.generative.explain import explain_prompt, parse_explanations
from sessionrec.engine.generative.interpret import consistent, interpret_prompt, parse_understood
from sessionrec.engine.generative.rerank import RERANK_PICKS, parse_order, rerank_prompt
from sessionrec.engine.interpret import Facets, UnderstoodRequest
from sessionrec.errors import ConfigError
from sessionrec.llm import ChatCache, ChatClient, LLMError, check_reachable, parse_llm_spec
from sessionrec.llm.cache import prompt_key

# The package's name, as before the split into modules: log filters and records keep it.
logger = logging.getLogger("sessionrec.engine.generative")

MIN_CALL_S = 0.05
"""A call with less time left than this is not made: no model answers that fast."""

T = TypeVar("T")


@dataclass(frozen=True)
class LLMOptions:
    """What the generative model is asked to do, and in how much time."""

    interpret: bool = True
    """Read the typed request (the embedded interpreter's reading is the fallback)."""
    rerank_top: int = 20
    """Re-order the first max(k, rerank_top) candidates; 0 turns re-ranking off."""
    explain: bool = True
    """Write one sentence per slate item."""
    budget_s: float = 2.0
    """Seconds all model calls of one request may take together."""

    def __post_init__(self) -> None:
        if isinstance(self.rerank_top, bool) or not 0 <= self.rerank_top <= 100:
            raise ConfigError(f"rerank_top must be from 0 (off) to 100, got {self.rerank_top!r}")
        if not math.isfinite(self.budget_s) or self.budget_s <= 0:
            raise ConfigError(f"the LLM budget must be a positive time, got {self.budget_s!r} s")


@dataclass(frozen=True)
class Outcome:
    """How one stage of one request went: "llm", "cache" or "fallback", and why."""

    stage: str
    source: str
    reason: str = ""


class GenerativeLayer:
    """The engine's generative steps over one chat client; safe to share between threads."""

    def __init__(
        self,
        client: ChatClient,
        options: LLMOptions | None = None,
        cache: ChatCache | None = None,
    ) -> None:
        self.client = client
        self.options = options or LLMOptions()
        self.cache = cache if cache is not None else ChatCache()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sessionrec-llm")
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._last = threading.local()

    def deadline(self) -> float:
        """The `time.monotonic()` by which a request started now must be done with the model."""
        return time.monotonic() + self.options.budget_s

    def outcomes(self) -> dict[str, dict[str, int]]:
        """Counts per stage and source, e.g. {"rerank": {"llm": 3, "fallback": 1}}."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (stage, source), count in self._counts.items():
                out.setdefault(stage, {})[source] = count
            return out

    def last(self, stage: str) -> Outcome | None:
        """This thread's latest outcome of `stage` (what the current request got)."""
        found: dict[str, Outcome] = getattr(self._last, "outcomes", {})
        return found.get(stage)

    # -- the three steps ------------------------------------------------------------------

    def interpret(
        self,
        text: str,
        facets: Facets,
        fallback: UnderstoodRequest,
        deadline: float | None = None,
    ) -> UnderstoodRequest:
        """The request read by the model into the interpreter's structure, checked against
        `facets`; `fallback` (the embedded reading) on any failure."""
        messages, schema = interpret_prompt(text, facets)
        understood = self._ask(
            "interpret",
            messages,
            schema,
            max_tokens=160,
            deadline=self.deadline() if deadline is None else deadline,
            parse=lambda answer: consistent(parse_understood(answer, facets), fallback),
        )
        return fallback if understood is None else understood

    def rerank(
        self,
        request_text: str | None,
        session_titles: Sequence[str],
        candidates: Sequence[LLMItem],
        deadline: float,
    ) -> list[int]:
        """A permutation of range(len(candidates)), best first; the identity on failure."""
        identity = list(range(len(candidates)))
        if len(candidates) < 2:
            return identity
        messages, schema = rerank_prompt(request_text, session_titles, candidates)
        order = self._ask(
            "rerank",
            messages,
            schema,
            max_tokens=8 + 4 * min(len(candidates), RERANK_PICKS),
            deadline=deadline,
            parse=lambda answer: parse_order(answer, len(candidates)),
        )
        return identity if order is None else order

    def explain(
        self, session_titles: Sequence[str], items: Sequence[LLMItem], deadline: float
    ) -> list[str | None]:
        """One sentence per item on why it suits this session; None where there is none."""
        if not items:
            return []
        messages, schema = explain_prompt(session_titles, items)
        texts = self._ask(
            "explain",
            messages,
            schema,
            max_tokens=12 + 48 * len(items),  # key (number, title) and sentence per item
            deadline=deadline,
            parse=lambda answer: parse_explanations(answer, len(items)),
        )
        return [None] * len(items) if texts is None else texts

    # -- one call -------------------------------------------------------------------------

    def _ask(
        self,
        stage: str,
        messages: list[dict[str, str]],
        schema: Mapping[str, Any],
        *,
        max_tokens: int,
        deadline: float,
        parse: Callable[[str], T | None],
    ) -> T | None:
        """The parsed answer of one call, from the cache or the model; None (logged,
        counted) when there is no usable answer before `deadline`."""
        key = prompt_key(self.client.name, messages, schema, max_tokens)
        cached = self.cache.get(key)
        if cached is not None:
            value = parse(cached)
            if value is not None:
                self._record(Outcome(stage, "cache"))
                return value
        left = deadline - time.monotonic()
        if left < MIN_CALL_S:
            self._fallback(stage, f"no time left ({max(left, 0.0) * 1000:.0f} ms)")
            return None
        future = self._pool.submit(
            self.client.chat, messages, schema=schema, max_tokens=max_tokens, timeout_s=left
        )
        try:
            answer = future.result(timeout=left)
        except FutureTimeout:
            future.cancel()
            self._fallback(stage, f"no answer within {left:.2f} s", warn=True)
            return None
        except LLMError as exc:
            self._fallback(stage, str(exc), warn=True)
            return None
        except Exception as exc:  # a client of someone else's: never an exception to the caller
            self._fallback(stage, f"{type(exc).__name__}: {exc}", warn=True)
            return None
        try:
            value = parse(answer)
        except RejectedAnswerError as exc:
            self._fallback(stage, f"answer refused: {exc}")
            return None
        except (TypeError, ValueError, OverflowError):  # a shape the parsers did not foresee
            value = None
        if value is None:
            self._fallback(stage, f"unusable answer {clip(answer)!r}")
            return None
        self.cache.put(key, answer)
        self._record(Outcome(stage, "llm"))
        return value

    def _fallback(self, stage: str, reason: str, warn: bool = False) -> None:
        level = logging.WARNING if warn else logging.INFO
        logger.log(level, "LLM %s: embedded path used (%s)", stage, reason)
        self._record(Outcome(stage, "fallback", reason))

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self._counts[outcome.stage, outcome.source] += 1
        if not hasattr(self._last, "outcomes"):
            self._last.outcomes = {}
        self._last.outcomes[outcome.stage] = outcome


def layer_from_spec(
    spec: str, options: LLMOptions | None = None, check_timeout_s: float = 10.0
) -> GenerativeLayer | None:
    """The layer over the endpoint `spec` names (``openai:MODEL@URL``), or None, with a
    warning, when it does not answer now: the engine then serves on the embedded path.

    A malformed spec is the user's mistake and raises `ConfigError`.
    """
    client = parse_llm_spec(spec)
    reason = check_reachable(client, check_timeout_s)
    if reason is not None:
        logger.warning("LLM %s is not usable (%s); serving without it", client.name, reason)
        return None
    logger.info("LLM %s answers; it reads requests, re-ranks and explains", client.name)
    return GenerativeLayer(client, options)
