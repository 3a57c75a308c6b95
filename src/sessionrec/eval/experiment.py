"""From file paths and option names to an evaluation report: what `evaluate` and `demo` run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from sessionrec.data.loaders import (
    DataOptions,
    catalogue_coverage,
    check_format,
    load_catalogue,
    load_dataset,
    load_interactions,
)
from sessionrec.data.schema import ITEM_ID, SESSION_ID, Interactions
from sessionrec.data.sessions import sessionize
from sessionrec.data.splits import DAY_SECONDS, sequence_key, temporal_session_split
from sessionrec.errors import ConfigError, DataError, unknown_choice
from sessionrec.eval.protocols import (
    PreparedEvaluation,
    ProtocolName,
    hold_out_cold_items,
    prepare_leave_one_out,
    prepare_next_item,
)
from sessionrec.eval.report import EvaluationReport
from sessionrec.eval.runner import ModelResult, fit_and_evaluate
from sessionrec.metrics import TiePolicy
from sessionrec.models.registry import parse_model_list
from sessionrec.models.settings import Setting, build_configured, check_settings

ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a model name and the number of cases, a callback advanced by scored cases."""


def parse_protocol(name: str) -> ProtocolName:
    try:
        return ProtocolName(name)
    except ValueError:
        raise unknown_choice("protocol", name, [p.value for p in ProtocolName]) from None


def parse_ties(name: str) -> TiePolicy:
    try:
        return TiePolicy(name)
    except ValueError:
        raise unknown_choice("tie policy", name, [t.value for t in TiePolicy]) from None


def prepare(protocol: ProtocolName, options: DataOptions) -> PreparedEvaluation:
    """Load the data the options name and cut it as the protocol requires.

    A cut that leaves no test case is a `DataError` saying which rule dropped what.
    """
    fmt = check_format(options.format)
    given_files = options.train is not None or options.test is not None
    if given_files and options.data is not None:
        raise ConfigError("give either --data or --train/--test, not both")
    if given_files:
        if options.train is None or options.test is None:
            raise ConfigError("--train and --test go together: give both files")
        if protocol is ProtocolName.LEAVE_ONE_OUT:
            raise ConfigError(
                "leave-one-out splits one log by itself: use --data PATH, not --train/--test"
            )
        train = load_interactions(options.train, fmt, options.columns)
        test = load_interactions(options.test, fmt, options.columns)
        prepared = prepare_next_item(train, test, options.session_gap)
        if options.catalogue is not None:
            catalogue = load_catalogue(options.catalogue, mapping=options.catalogue_columns)
            both = train.replace(pd.concat([train.frame, test.frame]))
            catalogue_coverage(both, catalogue)
            prepared = replace(prepared, catalogue=catalogue)
        return _with_cases(prepared, lambda: _next_item_losses(train, test, options))
    if options.data is None:
        raise ConfigError("no data given: use --data PATH, or --train FILE --test FILE")
    dataset = load_dataset(
        options.data, fmt, options.columns, options.catalogue, options.catalogue_columns
    )
    interactions = dataset.interactions
    if protocol is ProtocolName.LEAVE_ONE_OUT:
        prepared = replace(prepare_leave_one_out(interactions), catalogue=dataset.catalogue)
        return _with_cases(prepared, lambda: _leave_one_out_losses(interactions))
    if not interactions.has_sessions:
        interactions = sessionize(interactions, options.session_gap)
    train, test = temporal_session_split(interactions, options.test_seconds)
    if not len(train):
        raise DataError(
            f"every one of the {test.n_sessions:,} sessions ends within the last "
            f"{_days(options.test_seconds)} of the log, which --test-days sets aside for "
            f"testing, so none is left for training (the log spans "
            f"{_days(_span(interactions))}): lower --test-days",
            path=options.data,
        )
    prepared = replace(
        prepare_next_item(train, test, options.session_gap), catalogue=dataset.catalogue
    )
    return _with_cases(prepared, lambda: _next_item_losses(train, test, options))


def _with_cases(prepared: PreparedEvaluation, why_none: Callable[[], str]) -> PreparedEvaluation:
    """`prepared`, if it has a test case at all; else the `DataError` `why_none` explains."""
    if len(prepared.test_cases) == 0:
        raise DataError(f"no test case left to evaluate on: {why_none()}")
    return prepared


def _next_item_losses(train: Interactions, test: Interactions, options: DataOptions) -> str:
    """Which of the next-item protocol's rules dropped how much of the test data."""
    if not len(test):
        return "the test data has no events"
    if not test.has_sessions:
        test = sessionize(test, options.session_gap)
    frame = test.frame
    sizes = frame.groupby(SESSION_ID, sort=False)[SESSION_ID].transform("size")
    known = frame[ITEM_ID].isin(set(train.item_ids()))
    known_sizes = known.groupby(frame[SESSION_ID], sort=False).transform("sum")
    first = ~frame[SESSION_ID].duplicated()  # one row per session
    single = int((first & (sizes < 2)).sum())
    shortened = int((first & (sizes >= 2) & (known_sizes < 2)).sum())
    unseen = int((~known).sum())
    return (
        f"of the {_count(test.n_sessions, 'test session')} ({_count(len(frame), 'event')}), "
        f"{single:,} {'has' if single == 1 else 'have'} fewer than 2 events, and dropping "
        f"the {_count(unseen, 'event')} on items unseen in training leaves {shortened:,} "
        "more with fewer than 2; a session makes test cases only with 2 or more events on "
        "items seen in training"
    )


def _count(n: int, noun: str) -> str:
    """'1 event', '3 events'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _leave_one_out_losses(interactions: Interactions) -> str:
    """Why leave-one-out found nothing to hold out."""
    key = sequence_key(interactions)
    kind = "users" if key == "user_id" else "sessions"
    n = int(interactions.frame[key].nunique())
    return (
        f"each of the {n:,} {kind} has a single event; leave-one-out holds out the last "
        f"event of {kind} with 2 or more"
    )


def _span(interactions: Interactions) -> float:
    """Seconds between the first and the last event."""
    times = interactions.frame["timestamp"]
    return float(times.max() - times.min()) if len(times) else 0.0


def _days(seconds: float) -> str:
    """A stretch of time in the largest unit that keeps it above 2 ("3 hours")."""
    for unit, size in (("day", DAY_SECONDS), ("hour", 3600.0), ("minute", 60.0)):
        if seconds >= 2 * size or (unit == "day" and seconds == size):
            amount = seconds / size
            break
    else:
        unit, amount = "second", seconds
    return f"{amount:.3g} {unit}" + ("" if amount == 1 else "s")


def run(
    prepared: PreparedEvaluation,
    models: str | Sequence[str],
    *,
    ties: TiePolicy = TiePolicy.PESSIMISTIC,
    progress: ProgressFactory | None = None,
    cold_items: float = 0.0,
    seed: int = 0,
    model_settings: Sequence[Setting] = (),
    exclude_seen: bool = False,
) -> EvaluationReport:
    """Fit and evaluate each named model on the prepared protocol.

    With `cold_items` > 0, that share of items (seeded) is removed from training entirely
    and the test cases whose target is such an item are also reported apart ("cold"), as
    are the others ("warm"). With `exclude_seen`, every item before a target is removed
    from every model's ranking (`runner.evaluate_model`).
    """
    names = parse_model_list(models) if isinstance(models, str) else list(models)
    check_settings(names, model_settings)
    settings: dict[str, object] = {"ties": ties.value}
    if model_settings:
        settings["model_settings"] = [s.text for s in model_settings]
    subsets: dict[str, np.ndarray] = {}
    if cold_items > 0:
        split = hold_out_cold_items(prepared, cold_items, seed)
        prepared = split.prepared
        subsets = {"cold": split.cold_cases, "warm": ~split.cold_cases}
        settings.update(
            cold_items=cold_items, seed=seed, n_cold_items=len(split.cold_items),
            cold_test_cases=int(split.cold_cases.sum()),
        )  # fmt: skip
    report = EvaluationReport(
        protocol=prepared.protocol.value,
        dataset=prepared.stats,
        settings=settings,
        exclude_seen=exclude_seen,
    )
    for name in names:
        on_batch = progress(name, len(prepared.test_cases)) if progress else None
        result: ModelResult = fit_and_evaluate(
            build_configured(name, model_settings),
            prepared,
            ties=ties,
            on_batch=on_batch,
            subsets=subsets,
            exclude_seen=exclude_seen,
        )
        report.results[name] = result
    return report
