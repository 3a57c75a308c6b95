"""Whole jobs behind CLI commands that are not evaluations: train a model into an artifact."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from sessionrec.artifact import save_artifact
from sessionrec.data.loaders import load_dataset
from sessionrec.data.schema import SESSION_ID, Interactions
from sessionrec.data.splits import sequence_key, sort_sequences
from sessionrec.errors import ConfigError
from sessionrec.eval.experiment import DataOptions, check_format
from sessionrec.models.base import Recommender
from sessionrec.models.registry import model_class

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
    options: DataOptions, model_name: str, out: Path, seed: int = 0, progress: bool = True
) -> tuple[Recommender, Path]:
    """Fit `model_name` on all the data (validation carved from its latest sessions), save."""
    cls = model_class(model_name)
    source = options.data or options.train
    if source is None:
        raise ConfigError("no data given: use --data PATH (or --train FILE)")
    dataset = load_dataset(source, check_format(options.format), options.columns)
    train = training_sequences(dataset.interactions)
    config = cls.config_class()
    names = {f.name for f in fields(config)}
    updates = {k: v for k, v in (("seed", seed), ("progress", progress)) if k in names}
    model = cls(replace(config, **updates))
    model.fit(train, dataset.catalogue, None)
    folder = save_artifact(model, out, train, {"data": str(source)})
    return model, folder
