"""The requests protocol: request cases scored through the interactive engine.

Each case (`eval.cases.RequestCase`: events, an optional typed request, target items) is
turned into an engine `Query` and ranked by `Engine.scores`, so what is measured is what
a live session gets: the session read by meaning, history items excluded (as
`Query.exclude_seen` does by default), the request steering and matching, every
adjustment. Two result rows share the same cases:

- "engine+request": each case as written, its request included where it has one;
- "engine": the same cases with the request dropped.

Several targets per case: a case is a hit at k when *any* target is in the top k; its
reciprocal rank and NDCG are those of its best-ranked target (1 / rank, 1 / log2(rank + 1),
IDCG 1), ties ranked pessimistically among all items (other targets included). A target
the engine excluded (one in the session's history) cannot be ranked: when every target is
excluded the case is a miss. Coverage (COV@k) is the share of the catalogue in any top k.

Cases naming items the engine does not know (an artifact trained on other data, a typo)
are skipped and listed with their line numbers; the rest are evaluated. No usable case,
or a k beyond the catalogue, is an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sessionrec.data.schema import EventType
from sessionrec.engine import Engine, Query, SessionEvent
from sessionrec.errors import ConfigError, DataError
from sessionrec.eval.cases import RequestCase
from sessionrec.eval.report import EvaluationReport
from sessionrec.eval.runner import DEFAULT_KS, ModelResult
from sessionrec.metrics import MetricAccumulator

log = logging.getLogger(__name__)

PROTOCOL = "requests"
WITH_REQUEST = "engine+request"
WITHOUT_REQUEST = "engine"
BATCH_ROWS = 256
"""Cases whose scores are collected before they go to the metric accumulator."""
MAX_LISTED_SKIPS = 100
"""Skipped cases listed one by one in the report's settings (all are counted)."""

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class SkippedCase:
    """A case left out because it names items the engine does not know."""

    line: int | None
    """Its line in the cases file (None for a case built in memory)."""
    position: int
    """Its 0-based position among the cases given."""
    unknown_items: tuple[str, ...]

    def describe(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"case {self.position}"
        shown = ", ".join(repr(i) for i in self.unknown_items[:5])
        more = f" and {len(self.unknown_items) - 5} more" if len(self.unknown_items) > 5 else ""
        return f"{where}: unknown item(s) {shown}{more}"


def check_cases(
    engine: Engine, cases: Sequence[RequestCase]
) -> tuple[list[RequestCase], list[SkippedCase]]:
    """The cases whose every item (events and targets) the engine knows, and the others."""
    usable, skipped = [], []
    for position, case in enumerate(cases):
        unknown = tuple(dict.fromkeys(i for i in case.item_ids() if not engine.has_item(i)))
        if unknown:
            skipped.append(SkippedCase(case.line, position, unknown))
        else:
            usable.append(case)
    return usable, skipped


def check_ks(ks: Sequence[int], n_items: int) -> tuple[int, ...]:
    """The cut-offs as a sorted tuple; ConfigError for one below 1 or beyond the catalogue."""
    if not ks:
        raise ConfigError("give at least one cut-off k")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        if k > n_items:
            raise ConfigError(
                f"k = {k} is larger than the catalogue the engine ranks ({n_items:,} items)"
            )
    return tuple(sorted(set(ks)))


def case_query(case: RequestCase, with_request: bool = True) -> Query:
    """The engine query of one case (its request dropped unless `with_request`)."""
    events = [SessionEvent(e.item_id, EventType(e.type)) for e in case.events]
    return Query(events=events, text=case.query if with_request else None, explain=False)


def best_targets(scores: np.ndarray, target_rows: Sequence[np.ndarray]) -> np.ndarray:
    """Per row of `scores`, the column of its best-scored target; -1 where every target
    is excluded (-inf), which the metrics count as a miss."""
    out = np.full(len(target_rows), -1, dtype=np.int64)
    for row, columns in enumerate(target_rows):
        values = scores[row, columns]
        best = int(np.argmax(values))
        if np.isfinite(values[best]):
            out[row] = int(columns[best])
    return out


def score_cases(
    engine: Engine,
    cases: Sequence[RequestCase],
    ks: Sequence[int],
    with_request: bool,
    on_case: ProgressCallback | None = None,
) -> dict[str, float]:
    """HR, MRR, NDCG and COV at each k over `cases` (all known to the engine)."""
    accumulator = MetricAccumulator(engine.n_items, None, tuple(ks))
    index = {item: row for row, item in enumerate(engine.vocabulary_ids)}
    for start in range(0, len(cases), BATCH_ROWS):
        batch = cases[start : start + BATCH_ROWS]
        scores = np.stack([engine.scores(case_query(c, with_request)) for c in batch])
        rows = [np.array([index[t] for t in c.targets], dtype=np.int64) for c in batch]
        accumulator.add(scores, best_targets(scores, rows))
        if on_case is not None:
            on_case(len(batch))
    return accumulator.result()


def evaluate_requests(
    engine: Engine,
    cases: Sequence[RequestCase],
    ks: Sequence[int] = DEFAULT_KS,
    on_case: ProgressCallback | None = None,
    source: str | None = None,
) -> EvaluationReport:
    """The requests protocol's report: "engine+request" and "engine" rows.

    Cases naming unknown items are skipped (logged, counted in `dataset["skipped"]`, the
    first `MAX_LISTED_SKIPS` listed in `settings["skipped_cases"]`); `source` names the
    cases file in errors. The "engine+request" row is absent when no case has a request.
    """
    ks = check_ks(ks, engine.n_items)
    usable, skipped = check_cases(engine, cases)
    for skip in skipped[:MAX_LISTED_SKIPS]:
        log.warning("skipped case at %s", skip.describe())
    if not usable:
        first = f"; first: {skipped[0].describe()}" if skipped else ""
        raise DataError(
            f"no usable case: all {len(cases)} name items the engine does not know (is the "
            f"artifact trained on the data these cases come from?){first}",
            path=source,
        )
    with_query = sum(c.query is not None for c in usable)
    results: dict[str, ModelResult] = {}
    if with_query:
        results[WITH_REQUEST] = _timed(engine, usable, ks, True, on_case)
    results[WITHOUT_REQUEST] = _timed(engine, usable, ks, False, on_case)
    dataset = {
        "cases": len(cases),
        "test_cases": len(usable),
        "with_request": with_query,
        "skipped": len(skipped),
        "items": engine.n_items,
    }
    settings = {
        "ks": list(ks),
        "ties": "pessimistic",
        "hit": "any target in the top k; MRR and NDCG of the best-ranked target",
        "skipped_cases": [
            {"line": s.line, "position": s.position, "unknown_items": list(s.unknown_items)}
            for s in skipped[:MAX_LISTED_SKIPS]
        ],
    }
    if source is not None:
        settings["cases"] = source
    return EvaluationReport(PROTOCOL, dataset, results, settings, exclude_seen=True)


def _timed(
    engine: Engine,
    cases: Sequence[RequestCase],
    ks: Sequence[int],
    with_request: bool,
    on_case: ProgressCallback | None,
) -> ModelResult:
    start = time.perf_counter()
    metrics = score_cases(engine, cases, ks, with_request, on_case)
    return ModelResult(metrics, 0.0, time.perf_counter() - start)
