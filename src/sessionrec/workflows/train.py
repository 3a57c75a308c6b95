"""Train a model on all the data into an artifact: what `sessionrec train` runs."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from sessionrec.artifact import MANIFEST_FILE, save_artifact
from sessionrec.data.loaders import DataOptions, check_format, load_dataset
from sessionrec.data.schema import EVENT_TYPE, SESSION_ID, Catalogue, Interactions
from sessionrec.data.splits import sequence_key, sort_sequences
from sessionrec.errors import ConfigError
from sessionrec.models.base import ModelConfig, Recommender
from sessionrec.models.registry import model_class
from sessionrec.models.settings import Setting, check_settings, configure
from sessionrec.text.template import ItemTextTemplate
from sessionrec.train import distributed

logger = logging.getLogger(__name__)


def training_sequences(interactions: Interactions) -> Interactions:
    """Sessions where the log has them, else each user's whole history as one sequence."""
    key = sequence_key(interactions) if not interactions.has_sessions else SESSION_ID
    if key != SESSION_ID:
        frame = interactions.frame.copy()
        frame[SESSION_ID] = frame[key]
        interactions = interactions.replace(frame)
    return sort_sequences(interactions, SESSION_ID)


def check_output_folder(out: Path) -> None:
    """Refuse, before any data is read, an artifact folder that cannot be written.

    `out` may be missing (it is created), empty, or an old artifact (it is replaced); a
    file, a folder holding other things, or a place without write access is a
    `ConfigError` naming it.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the artifact")
    if out.is_dir():
        if any(out.iterdir()) and not (out / MANIFEST_FILE).is_file():
            raise ConfigError(
                f"--out {out} is a folder with other files in it; give a new or empty folder "
                "(or an artifact to replace)"
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {out}: no permission to write in this folder")
        return
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"--out {out} cannot be created: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out} cannot be created: no permission to write in {parent}")


def _text_template(config: ModelConfig) -> str | None:
    """The item-text template of a model that reads item text (or whose part does)."""
    for part in (config, getattr(config, "transformer", None)):
        template = getattr(part, "text_template", None)
        if getattr(part, "use_text", False) and isinstance(template, str):
            return template
    return None


def warn_without_text(model_name: str, config: ModelConfig, catalogue: Catalogue | None) -> None:
    """Log a warning when a model that reads item text is about to train without a catalogue.

    With one, log how many of its items have text.
    """
    template = _text_template(config)
    if template is None:
        return
    if catalogue is None:
        logger.warning(
            "the data has no item catalogue, so %s learns from item ids alone and cannot "
            "recommend items it never saw in training; give one with --catalogue FILE "
            "(columns: id, title, description, categories)",
            model_name,
        )
        return
    texts = ItemTextTemplate.for_catalogue(catalogue, template).texts(catalogue)
    with_text = sum(1 for text in texts if text)
    # Without any text the template itself warns, naming its fields, when the model fits.
    if with_text:
        logger.info(
            "%s reads item text: %d of %d catalogue items have some",
            model_name,
            with_text,
            len(texts),
        )


def encoder_setting(spec: str) -> Setting:
    """`--encoder SPEC` as the setting it stands for, ``text_encoder=SPEC``.

    Built rather than parsed, so a spec is never read as JSON; like any setting without a
    model name it reaches the hybrid's transformer too, and a model that reads no item
    text refuses it.
    """
    return Setting(None, ("text_encoder",), spec, f"text_encoder={spec}")


def train_to_artifact(
    options: DataOptions,
    model_name: str,
    out: Path,
    seed: int = 0,
    progress: bool = True,
    overrides: Mapping[str, Any] | None = None,
    model_settings: Sequence[Setting] = (),
    encoder: str | None = None,
) -> tuple[Recommender, Path]:
    """Fit `model_name` on all the data (validation carved from its latest sessions), save.

    `overrides` sets config fields the model has (e.g. `threads`, `max_seconds` for the
    demo's bounded training); fields it lacks are ignored, as for `seed` and `progress`.
    `model_settings` are the user's `--set` options, checked against the model's config;
    `encoder` is a text encoder spec (`text.registry.load_encoder`), applied after them.
    The output folder is checked first, so a bad `out` fails before minutes of training.
    """
    cls = model_class(model_name)
    if encoder is not None:
        model_settings = [*model_settings, encoder_setting(encoder)]
    check_settings([model_name], model_settings)
    source = options.data or options.train
    if source is None:
        raise ConfigError("no data given: use --data PATH (or --train FILE)")
    check_output_folder(out)
    dataset = load_dataset(
        source,
        check_format(options.format),
        options.columns,
        options.catalogue,
        options.catalogue_columns,
    )
    train = training_sequences(dataset.interactions)
    config = configure(model_name, model_settings)
    names = {f.name for f in fields(config)}
    wanted = {"seed": seed, "progress": progress, **(overrides or {})}
    updates = {k: v for k, v in wanted.items() if k in names}
    config = replace(config, **updates)
    warn_without_text(model_name, config, dataset.catalogue)
    model = cls(config)
    model.fit(train, dataset.catalogue, None)
    if not distributed.current().leader:
        return model, out  # process 0 writes the artifact; the others trained beside it
    # Which event types the model learned from: the engine reads unseen types as the
    # commonest one, since their embeddings never trained.
    types = train.frame[EVENT_TYPE].value_counts()
    extra: dict[str, Any] = {
        "data": str(Path(source).absolute()),  # `retrain` finds it from any folder
        "event_types": {str(k): int(v) for k, v in types.items()},
    }
    if options.catalogue is not None:
        extra["catalogue"] = str(Path(options.catalogue).absolute())
    folder = save_artifact(model, out, train, extra, dataset.catalogue)
    return model, folder
