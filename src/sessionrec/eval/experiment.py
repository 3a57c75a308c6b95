"""From file paths and option names to an evaluation report: what `evaluate` and `demo` run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sessionrec.data.loaders import FORMATS, ColumnMapping, load_dataset, load_interactions
from sessionrec.data.sessions import DEFAULT_GAP_SECONDS, sessionize
from sessionrec.data.splits import DAY_SECONDS, temporal_session_split
from sessionrec.errors import ConfigError, unknown_choice
from sessionrec.eval.metrics import TiePolicy
from sessionrec.eval.protocols import (
    PreparedEvaluation,
    ProtocolName,
    hold_out_cold_items,
    prepare_leave_one_out,
    prepare_next_item,
)
from sessionrec.eval.report import EvaluationReport
from sessionrec.eval.runner import ModelResult, fit_and_evaluate
from sessionrec.models.registry import parse_model_list
from sessionrec.models.settings import Setting, build_configured, check_settings

ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a model name and the number of cases, a callback advanced by scored cases."""


@dataclass(frozen=True)
class DataOptions:
    """Where the data comes from and how to read and split it."""

    data: Path | None = None
    train: Path | None = None
    test: Path | None = None
    format: str = "auto"
    test_seconds: float = DAY_SECONDS
    """For --data under next-item: sessions ending in this last stretch of time are test."""
    columns: ColumnMapping | None = None
    """Which source column holds which field, for generic files with unusual names."""
    session_gap: float = DEFAULT_GAP_SECONDS
    """Inactivity (seconds) that ends a session, for logs that have users but no sessions."""


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


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise unknown_choice("format", name, list(FORMATS))
    return name


def prepare(protocol: ProtocolName, options: DataOptions) -> PreparedEvaluation:
    """Load the data the options name and cut it as the protocol requires."""
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
        return prepare_next_item(
            load_interactions(options.train, fmt, options.columns),
            load_interactions(options.test, fmt, options.columns),
            options.session_gap,
        )
    if options.data is None:
        raise ConfigError("no data given: use --data PATH, or --train FILE --test FILE")
    dataset = load_dataset(options.data, fmt, options.columns)
    interactions = dataset.interactions
    if protocol is ProtocolName.LEAVE_ONE_OUT:
        return replace(prepare_leave_one_out(interactions), catalogue=dataset.catalogue)
    if not interactions.has_sessions:
        interactions = sessionize(interactions, options.session_gap)
    train, test = temporal_session_split(interactions, options.test_seconds)
    prepared = prepare_next_item(train, test, options.session_gap)
    return replace(prepared, catalogue=dataset.catalogue)


def run(
    prepared: PreparedEvaluation,
    models: str | Sequence[str],
    *,
    ties: TiePolicy = TiePolicy.PESSIMISTIC,
    progress: ProgressFactory | None = None,
    cold_items: float = 0.0,
    seed: int = 0,
    model_settings: Sequence[Setting] = (),
) -> EvaluationReport:
    """Fit and evaluate each named model on the prepared protocol.

    With `cold_items` > 0, that share of items (seeded) is removed from training entirely
    and the test cases whose target is such an item are also reported apart ("cold"), as
    are the others ("warm").
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
        protocol=prepared.protocol.value, dataset=prepared.stats, settings=settings
    )
    for name in names:
        on_batch = progress(name, len(prepared.test_cases)) if progress else None
        result: ModelResult = fit_and_evaluate(
            build_configured(name, model_settings),
            prepared,
            ties=ties,
            on_batch=on_batch,
            subsets=subsets,
        )
        report.results[name] = result
    return report
