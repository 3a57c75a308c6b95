"""Simulated users from the command line: train on the users' prefixes, check, simulate.

The simulator's users hide their last events as targets, so the model they talk to must
never have trained on those events. `train_on_prefixes` trains one that has not, and
`simulate_checked` refuses any artifact whose manifest does not record exactly those
training events (its data hash), which is what keeps a simulation leak-free when the
artifact comes from elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sessionrec.artifact import data_hash, read_manifest, save_artifact
from sessionrec.data.loaders import load_dataset
from sessionrec.data.schema import EVENT_TYPE, Interactions
from sessionrec.errors import ConfigError, DataError
from sessionrec.eval.cases import Language
from sessionrec.interactive.simulate import (
    ALL_MODES,
    DEFAULT_TARGETS,
    Mode,
    ProgressFactory,
    prefix_interactions,
    simulate_artifact,
)
from sessionrec.models.settings import build_configured, parse_settings
from sessionrec.workflows.train import check_output_folder, training_sequences

logger = logging.getLogger(__name__)

TRAIN_SETTINGS = ("threads=2", "epochs=40", "max_seconds=120", "progress=false", "seed=0")
"""A transformer within about two minutes on two cores: enough for a simulation to mean
something, short enough to run before one."""


def prefix_log(data: str | Path, n_targets: int = DEFAULT_TARGETS) -> Interactions:
    """The training sequences a simulation's model may see: every user's history but its
    last `n_targets` events."""
    dataset = load_dataset(data)
    return training_sequences(prefix_interactions(dataset.interactions, n_targets))


def train_on_prefixes(
    data: str | Path,
    out: Path,
    settings: tuple[str, ...] = TRAIN_SETTINGS,
    n_targets: int = DEFAULT_TARGETS,
) -> float:
    """A transformer trained on `prefix_log(data, n_targets)` and saved to `out`; seconds
    taken."""
    check_output_folder(out)
    start = time.perf_counter()
    dataset = load_dataset(data)
    train_log = training_sequences(prefix_interactions(dataset.interactions, n_targets))
    model = build_configured("transformer", parse_settings(list(settings)))
    model.fit(train_log, dataset.catalogue, None)
    types = train_log.frame[EVENT_TYPE].value_counts()
    extra = {
        "data": str(data),
        "event_types": {str(k): int(v) for k, v in types.items()},
        "simulation": f"trained without each user's last {n_targets} events",
        "simulation_targets": n_targets,
    }
    save_artifact(model, out, train_log, extra, dataset.catalogue)
    return time.perf_counter() - start


def simulate_checked(
    artifact: Path,
    data: str | Path,
    users: int,
    turns: int,
    k: int,
    seed: int,
    n_targets: int = DEFAULT_TARGETS,
    language: Language = Language.EN,
    progress: ProgressFactory | None = None,
    validation_of: int | None = None,
    modes: Sequence[Mode] = ALL_MODES,
) -> dict[str, Any]:
    """`simulate_artifact`, after checking that the artifact trained on the users' prefixes
    of this very data and nothing else (so it never saw a hidden target)."""
    if n_targets < 1:
        raise ConfigError(f"--targets must be at least 1, got {n_targets}")
    recorded = read_manifest(artifact).get("data_hash")
    if recorded != data_hash(prefix_log(data, n_targets)):
        raise DataError(
            "this artifact was not trained on this data's user prefixes (without each "
            f"user's last {n_targets} events), so it may have seen the simulated "
            "users' targets: give --train to train one first",
            path=artifact,
        )
    return simulate_artifact(
        artifact,
        data,
        users,
        turns,
        k,
        seed,
        n_targets,
        modes,
        language=language,
        progress=progress,
        validation_of=validation_of,
    )
