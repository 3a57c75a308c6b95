"""Whole jobs behind CLI commands that are not evaluations: train a model into an artifact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from sessionrec.artifact import save_artifact
from sessionrec.data.loaders import load_dataset
from sessionrec.data.schema import EVENT_TYPE, SESSION_ID, Interactions
from sessionrec.data.splits import sequence_key, sort_sequences
from sessionrec.errors import ConfigError
from sessionrec.eval.experiment import DataOptions, check_format
from sessionrec.models.base import Recommender
from sessionrec.models.registry import model_class
from sessionrec.models.settings import Setting, check_settings, configure

DEFAULT_TRAIN_MODEL = "hybrid"


def training_sequences(interactions: Interactions) -> Interactions:
    """Sessions where the log has them, else each user's whole history as one sequence."""
    key = sequence_key(interactions) if not interactions.has_sessions else SESSION_ID
    if key != SESSION_ID:
        frame = interactions.frame.copy()
        frame[SESSION_ID] = frame[key]
        interactions = interactions.replace(frame)
    return sort_sequences(interactions, SESSION_ID)


def train_to_artifact(
    options: DataOptions,
    model_name: str,
    out: Path,
    seed: int = 0,
    progress: bool = True,
    overrides: Mapping[str, Any] | None = None,
    model_settings: Sequence[Setting] = (),
) -> tuple[Recommender, Path]:
    """Fit `model_name` on all the data (validation carved from its latest sessions), save.

    `overrides` sets config fields the model has (e.g. `threads`, `max_seconds` for the
    demo's bounded training); fields it lacks are ignored, as for `seed` and `progress`.
    `model_settings` are the user's `--set` options, checked against the model's config.
    """
    cls = model_class(model_name)
    check_settings([model_name], model_settings)
    source = options.data or options.train
    if source is None:
        raise ConfigError("no data given: use --data PATH (or --train FILE)")
    dataset = load_dataset(source, check_format(options.format), options.columns)
    train = training_sequences(dataset.interactions)
    config = configure(model_name, model_settings)
    names = {f.name for f in fields(config)}
    wanted = {"seed": seed, "progress": progress, **(overrides or {})}
    updates = {k: v for k, v in wanted.items() if k in names}
    model = cls(replace(config, **updates))
    model.fit(train, dataset.catalogue, None)
    # Which event types the model learned from: the engine reads unseen types as the
    # commonest one, since their embeddings never trained.
    types = train.frame[EVENT_TYPE].value_counts()
    extra = {"data": str(source), "event_types": {str(k): int(v) for k, v in types.items()}}
    folder = save_artifact(model, out, train, extra, dataset.catalogue)
    return model, folder
