"""Continual retraining: learn from the sessions a service has served (`sessionrec retrain`).

The recipe, one function each:

1. the artifact (the *champion*) and the log it was trained on (its manifest's "data", or
   `--data`), read as `sessionrec train` read it (`workflows.train.training_sequences`);
2. the store's sessions exported (`store.export`: only what it still holds, so deleted
   sessions are gone; dislikes and skips left out), optionally after a retention sweep;
3. the most recently active of them held out (`hold_out`), the rest joined to the log;
4. a *challenger* of the champion's model and config trained on that, warm-started from
   the champion where the model can be (`models.warm`), over the champion's catalogue plus
   the items upserted into the store, which so become trained items;
5. both scored on the held-out sessions with the next-item protocol (`eval`), the champion
   as the service serves it (with the store's items added through their text);
6. the challenger written, atomically, only when it is not worse on the chosen metric
   (`write_atomically`), the figures in its manifest's "retrain"; and, when asked, a
   running service told to reload (`request_reload`).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.artifact import (
    data_hash,
    load_artifact,
    load_artifact_catalogue,
    read_manifest,
    save_artifact,
)
from sessionrec.data.loaders import ColumnMapping, check_format, load_dataset
from sessionrec.data.schema import (
    ATTRIBUTES,
    CATEGORIES,
    EVENT_TYPE,
    ITEM_ID,
    SESSION_ID,
    TEXT,
    TITLE,
    Catalogue,
    Interactions,
    make_catalogue,
)
from sessionrec.errors import ConfigError, SessionrecError, unknown_choice
from sessionrec.eval.protocols import EvalCases, prepare_next_item
from sessionrec.eval.runner import evaluate_model
from sessionrec.models.base import ModelConfig, Recommender
from sessionrec.models.embedding import as_embedding_model
from sessionrec.models.registry import model_class
from sessionrec.models.settings import Setting, check_settings, reconfigure
from sessionrec.models.warm import warm_startable
from sessionrec.store.export import ExportedSessions, export_sessions
from sessionrec.store.factory import open_store
from sessionrec.store.redis import redact
from sessionrec.store.retention import check_retention_days, sweep_inactive
from sessionrec.text.features import item_text_vectors
from sessionrec.workflows.defaults import (
    DEFAULT_HOLDOUT_SHARE,
    DEFAULT_MIN_HOLDOUT,
    DEFAULT_RETRAIN_METRIC,
    RETRAIN_METRICS,
)
from sessionrec.workflows.train import check_output_folder, training_sequences

logger = logging.getLogger(__name__)

ACCEPTED, REJECTED, UNJUDGED = "accepted", "rejected", "unjudged"
"""Decisions: the challenger was not worse (written), worse (nothing written), or not
judged for want of held-out sessions, under `--force` (written)."""

RELOAD_TIMEOUT_S = 300.0
"""How long a service may take to load the new artifact (its text encoder, its index)."""


class NotEnoughSessionsError(ConfigError):
    """Too few exported sessions to judge the challenger by (`--force` writes it anyway)."""


class ReloadFailedError(SessionrecError):
    """The new artifact is written, but the service did not reload it."""


@dataclass(frozen=True)
class RetrainOptions:
    """What `retrain` needs besides the store, the artifact and the output folder."""

    data: Path | None = None
    """The log the artifact was trained on (None: the one its manifest records)."""
    format: str = "auto"
    columns: ColumnMapping | None = None
    holdout_share: float = DEFAULT_HOLDOUT_SHARE
    min_holdout: int = DEFAULT_MIN_HOLDOUT
    metric: str = DEFAULT_RETRAIN_METRIC
    seed: int | None = None
    """Seed of the challenger (None: the champion's)."""
    force: bool = False
    """With too few sessions to judge by: train on all of them and write unjudged."""
    warm_start: bool = True
    """Start the challenger from the champion's weights where its model can (off: from a
    fresh initialisation, as `train` would; needed to change the architecture by `--set`)."""
    retention_days: float | None = None
    """Sweep sessions inactive for longer from the store before exporting."""
    settings: Sequence[Setting] = field(default_factory=tuple)
    """`--set` options, applied on top of the champion's config."""
    progress: bool = True

    def __post_init__(self) -> None:
        check_format(self.format)
        share = self.holdout_share
        if isinstance(share, bool) or not (isinstance(share, int | float) and 0 < share < 1):
            raise ConfigError(f"--holdout-share must lie strictly between 0 and 1, got {share!r}")
        if isinstance(self.min_holdout, bool) or self.min_holdout < 1:
            raise ConfigError(f"--min-holdout must be at least 1, got {self.min_holdout!r}")
        if self.metric not in RETRAIN_METRICS:
            raise unknown_choice("metric", self.metric, list(RETRAIN_METRICS))
        if self.retention_days is not None:
            check_retention_days(self.retention_days)


@dataclass(frozen=True)
class RetrainResult:
    """What `retrain` decided and where the new artifact is (None: nothing written)."""

    decision: str
    out: Path | None
    report: dict[str, Any]
    """The manifest's "retrain" section (also for a rejected challenger)."""

    @property
    def written(self) -> bool:
        return self.out is not None


# -- 1. the champion and its data -----------------------------------------------------------


def base_data(
    artifact: Path, manifest: Mapping[str, Any], options: RetrainOptions
) -> tuple[Interactions, Path]:
    """The log the champion was trained on, as training sequences, and its path."""
    where = artifact / "manifest.json"
    if options.data is not None:
        path = options.data
    else:
        recorded = manifest.get("data")
        if not isinstance(recorded, str) or not recorded:
            raise ConfigError(
                f'{where} records no training data ("data"); give the log the artifact was '
                "trained on with --data PATH"
            )
        path = Path(recorded)
        if not path.exists():
            raise ConfigError(
                f'the artifact was trained on {recorded} ({where}, "data"), which does not '
                f"exist (from {Path.cwd()}); give the log with --data PATH"
            )
    dataset = load_dataset(path, options.format, options.columns)
    data = training_sequences(dataset.interactions)
    expected = _base_hash(manifest)
    if expected is not None and data_hash(data) != expected:
        logger.warning(
            "%s is not the data the artifact was trained on (its hash differs): it has changed "
            "since, or another log was given; the new model learns from it as it is now",
            path,
        )
    return data, path


def _base_hash(manifest: Mapping[str, Any]) -> str | None:
    """The hash of the log alone: a retrained artifact's data hash also covers sessions."""
    previous = manifest.get("retrain")
    if isinstance(previous, Mapping) and "base_data_hash" in previous:
        return str(previous["base_data_hash"])
    value = manifest.get("data_hash")
    return None if value is None else str(value)


def challenger_config(champion: Recommender, options: RetrainOptions) -> ModelConfig:
    """The champion's config for a new run: its own checkpoints never resumed, the seed
    and progress as asked, no step minimum after a warm start, then the user's `--set`."""
    name = champion.name
    check_settings([name], options.settings)
    wanted: list[tuple[str, Any]] = [
        ("checkpoint_dir", None),
        ("resume", False),
        ("progress", options.progress),
    ]
    if options.seed is not None:
        wanted.append(("seed", options.seed))
    if options.warm_start and warm_startable(champion) is not None:
        # `min_steps` holds a cold start back until it has learnt past popularity
        # (TransformerConfig); a warm start begins past it.
        wanted.append(("min_steps", 0))
    ours = [Setting(None, (key,), value, f"{key}={value!r}") for key, value in wanted]
    return reconfigure(name, champion.config, [*ours, *options.settings])


# -- 2, 3. the store's sessions, held out ---------------------------------------------------


@dataclass(frozen=True)
class HeldOut:
    """The exported sessions cut in two: to learn from, and the latest to judge on."""

    learn: Interactions
    judge: Interactions | None
    """None when there were too few to judge by (under `--force`)."""
    n_judge: int


def hold_out(exported: ExportedSessions, options: RetrainOptions) -> HeldOut:
    """The `holdout_share` most recently active sessions (at least `min_holdout`) to judge
    on, by the store's clock (events' own times come from clients); the rest to learn from.

    With fewer than `min_holdout` + 1 sessions a `NotEnoughSessionsError`, unless `force`: then
    every session is learnt from and nothing is judged.
    """
    n = exported.n_sessions
    wanted = max(math.ceil(options.holdout_share * n), options.min_holdout)
    frame = exported.interactions.frame
    if n <= wanted:
        if not options.force:
            raise NotEnoughSessionsError(
                f"the store holds {n} session{'' if n == 1 else 's'} with 2 or more events to "
                f"learn from; judging the new model against the old needs {wanted} held out "
                f"(--min-holdout {options.min_holdout}, --holdout-share "
                f"{options.holdout_share:g}) and at least one more to learn from. Wait for "
                "more traffic, lower --min-holdout, or pass --force to write the new model "
                "unjudged"
            )
        logger.warning(
            "only %d sessions: the new model learns from all of them and is written without "
            "being judged (--force)",
            n,
        )
        return HeldOut(exported.interactions, None, 0)
    latest = sorted(exported.last_active, key=lambda sid: (exported.last_active[sid], sid))
    judged = set(latest[-wanted:])
    mask = frame[SESSION_ID].isin(judged).to_numpy()
    source = exported.interactions
    logger.info(
        "holding out the %d most recently active sessions to judge on; learning from %d",
        wanted,
        n - wanted,
    )
    return HeldOut(source.replace(frame[~mask]), source.replace(frame[mask]), wanted)


def joined(first: Interactions, second: Interactions) -> Interactions:
    """Both logs as one (sessions of the second after the first's)."""
    if not len(second):
        return first
    return first.replace(pd.concat([first.frame, second.frame], ignore_index=True))


# -- 4. the catalogue and the challenger ------------------------------------------------------


def store_catalogue(items: Sequence[Mapping[str, Any]]) -> Catalogue:
    """The items upserted into the store as a catalogue (what `PUT /v1/items/{id}` keeps)."""
    return make_catalogue(
        [str(i["item_id"]) for i in items],
        [str(i.get(TITLE) or "") for i in items],
        [str(i.get(TEXT) or "") for i in items],
        [[str(c) for c in i.get(CATEGORIES) or []] for i in items],
        [{str(k): v for k, v in dict(i.get(ATTRIBUTES) or {}).items()} for i in items],
        source="store",
    )


def merged_catalogue(old: Catalogue | None, items: Sequence[Mapping[str, Any]]) -> Catalogue | None:
    """The champion's catalogue with the store's items added, or replacing the entries
    they edit (an upsert is the admin's latest word on an item)."""
    if not items:
        return old
    added = store_catalogue(items)
    if old is None:
        return added
    upserted = set(added.frame[ITEM_ID])
    kept = old.frame[~old.frame[ITEM_ID].isin(upserted)]
    return Catalogue(pd.concat([kept, added.frame], ignore_index=True), old.source)


def train_challenger(
    champion: Recommender,
    config: ModelConfig,
    train: Interactions,
    catalogue: Catalogue | None,
    warm_start: bool = True,
) -> tuple[Recommender, bool]:
    """The challenger fitted; whether it was warm-started from the champion."""
    challenger = model_class(champion.name)(config)
    warm = warm_startable(challenger) if warm_start else None
    if not warm_start:
        logger.info("%s is trained from scratch (--no-warm-start)", champion.name)
    elif warm is None:
        logger.info("%s has no warm start: it is refitted from scratch", champion.name)
    else:
        warm.warm_start_from(champion)
        logger.info("%s is warm-started from the champion", champion.name)
    try:
        challenger.fit(train, catalogue, None)
    finally:
        if warm is not None:
            warm.warm_start_from(None)  # the champion is not kept alive by the challenger
    return challenger, warm is not None


# -- 5. judging -------------------------------------------------------------------------------


def judged_cases(train: Interactions, judge: Interactions) -> EvalCases | None:
    """Next-item cases of the held-out sessions (`eval.protocols.prepare_next_item`: events
    on items never trained on dropped, then sessions left with fewer than two); None when
    no held-out event is on an item trained on."""
    if not judge.frame[ITEM_ID].isin(set(train.frame[ITEM_ID])).any():
        return None
    return prepare_next_item(train, judge).test_cases


def as_served(
    champion: Recommender, catalogue: Catalogue | None, items: Sequence[Mapping[str, Any]]
) -> int:
    """Add the store's items to the champion the way the service does at start-up (through
    their text, `EmbeddingModel.add_items`), so it is judged as it serves; how many.

    A model without an embedding space or text cannot take them (nor could a service).
    """
    if not items or catalogue is None:
        return 0
    try:
        model = as_embedding_model(champion)
    except ConfigError:
        return 0
    if not model.text_dimension:
        return 0
    ids = [str(i["item_id"]) for i in items]
    # Over the merged catalogue, as the challenger's text was built (and cached).
    vectors = item_text_vectors(catalogue, model.text_encoder, model.text_template)
    ids = [i for i in ids if i in vectors]
    if ids:
        model.add_items(model.item_arrays(), ids, np.stack([vectors[i] for i in ids]))
    return len(ids)


def figures(model: Recommender, cases: EvalCases) -> dict[str, float]:
    """The next-item protocol's figures of `model` on `cases` (HR, MRR, NDCG at 10, 20)."""
    result = evaluate_model(model, cases)
    return {name: result[name] for name in RETRAIN_METRICS if name in result}


# -- 6. writing -------------------------------------------------------------------------------


def write_atomically(
    model: Recommender,
    out: Path,
    train: Interactions,
    extra: dict[str, Any],
    catalogue: Catalogue | None,
) -> Path:
    """Save the artifact into a new folder beside `out`, check it, then put it in `out`'s
    place: a reader of `out` sees the old artifact or the new one, never half of one (for
    an instant between two renames, none: a service's sync then waits for the next poll)."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Not `tempfile.mkdtemp`: its folder is private to this user (0700), where an artifact
    # must be readable by whoever serves it, as any folder made under the umask is.
    staging = out.parent / f".{out.name}.new-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        save_artifact(model, staging, train, extra, catalogue)
        read_manifest(staging)  # every file checks out before anything is replaced
        replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def replace_folder(new: Path, out: Path) -> None:
    """Rename `new` to `out`; an existing `out` is renamed aside first and removed after
    (restored if the second rename fails)."""
    if not out.exists():
        new.rename(out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# -- the whole recipe ---------------------------------------------------------------------------


def retrain_artifact(
    store_url: str, artifact: Path, out: Path, options: RetrainOptions
) -> RetrainResult:
    """Export, train the challenger, judge it against the champion, write it if not worse
    (see the module docstring). Raises `NotEnoughSessionsError` when there is too little to
    judge by (unless `options.force`)."""
    started = time.perf_counter()
    check_output_folder(out)
    manifest = read_manifest(artifact)
    champion = load_artifact(artifact)
    config = challenger_config(champion, options)
    base, base_path = base_data(artifact, manifest, options)
    shown_url = redact(store_url)
    with open_store(store_url) as store:
        swept = (
            None
            if options.retention_days is None
            else sweep_inactive(store, options.retention_days)
        )
        exported = export_sessions(store, shown_url)
        items = store.items()
    split = hold_out(exported, options)
    catalogue = merged_catalogue(load_artifact_catalogue(artifact), items)
    train = training_sequences(joined(base, split.learn))
    # The cases depend on the data alone: a judgement that cannot be made fails before
    # training, not after.
    cases = None if split.judge is None else judged_cases(train, split.judge)
    n_cases = 0 if cases is None else len(cases)
    if split.judge is not None and not n_cases and not options.force:
        raise NotEnoughSessionsError(
            f"the {split.n_judge} held-out sessions leave no case to judge by (none of their "
            "items occurs in the training data); pass --force to write the new model unjudged"
        )
    challenger, warm = train_challenger(champion, config, train, catalogue, options.warm_start)

    decision, champion_figures, challenger_figures, added = UNJUDGED, None, None, 0
    if cases is not None and n_cases:
        added = as_served(champion, catalogue, items)
        champion_figures = figures(champion, cases)
        challenger_figures = figures(challenger, cases)
        better = challenger_figures[options.metric] >= champion_figures[options.metric]
        decision = ACCEPTED if better else REJECTED
    report: dict[str, Any] = {
        "decision": decision,
        "metric": options.metric,
        "champion": champion_figures,
        "challenger": challenger_figures,
        "held_out_sessions": split.n_judge,
        "held_out_cases": n_cases,
        "exported": exported.summary(),
        "learnt_sessions": int(split.learn.frame[SESSION_ID].nunique()),
        "learnt_events": len(split.learn),
        "swept_sessions": swept,
        "store": shown_url,
        "store_items": len(items),
        "champion_items_added": added,
        "warm_start": warm,
        "base_data": str(base_path.absolute()),
        "base_data_hash": data_hash(base),
        "parent": {
            "artifact": str(artifact.absolute()),
            "data_hash": manifest.get("data_hash"),
            "created": manifest.get("created"),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    _log_decision(report)
    if decision == REJECTED:
        return RetrainResult(decision, None, report)
    types = train.frame[EVENT_TYPE].value_counts()
    extra: dict[str, Any] = {
        "data": str(base_path.absolute()),  # found again from any working directory
        "event_types": {str(k): int(v) for k, v in types.items()},
        "retrain": report,
    }
    if "catalogue" in manifest:
        extra["catalogue"] = manifest["catalogue"]
    return RetrainResult(
        decision, write_atomically(challenger, out, train, extra, catalogue), report
    )


def _log_decision(report: Mapping[str, Any]) -> None:
    metric = report["metric"]
    if report["decision"] == UNJUDGED:
        logger.info("the new model is not judged (too few sessions, --force)")
        return
    logger.info(
        "%s on %d cases from %d held-out sessions: champion %.4f, challenger %.4f",
        metric,
        report["held_out_cases"],
        report["held_out_sessions"],
        report["champion"][metric],
        report["challenger"][metric],
    )


# -- reloading a running service --------------------------------------------------------------


def check_reload_url(url: str) -> str:
    """`url` without a trailing slash, or a `ConfigError` unless it is http(s)://HOST..."""
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1].strip("/")) == 0:
        raise ConfigError(
            f"--reload {url!r} is not a service address; give its base URL, e.g. "
            "http://127.0.0.1:8000"
        )
    return url.rstrip("/")


def request_reload(url: str, api_key: str, timeout: float = RELOAD_TIMEOUT_S) -> dict[str, Any]:
    """POST `url`/v1/admin/reload with the admin key; the service's answer (`ReloadOut`).

    Every failure is a `ReloadFailedError` saying what to do: nothing listening, a refused key,
    admin routes off, an artifact the service could not load (it keeps the old model).
    """
    endpoint = f"{check_reload_url(url)}/v1/admin/reload"
    request = urllib.request.Request(
        endpoint,
        data=b"",
        method="POST",
        headers={"X-API-Key": api_key, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise ReloadFailedError(_refusal(endpoint, exc.code, exc.read())) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReloadFailedError(f"cannot reach the service at {endpoint}: {reason}") from None
    except json.JSONDecodeError:
        raise ReloadFailedError(f"{endpoint} answered with something other than JSON") from None
    return body if isinstance(body, dict) else {}


_HINTS = {
    401: "the admin key was refused: set $SESSIONREC_ADMIN_KEY to the service's SESSIONREC_API_KEY",
    404: "no reload route there: give the service's base URL, e.g. http://127.0.0.1:8000",
    409: "the service could not load its artifact folder and keeps serving the old model",
    429: "the service is rate limiting; try the reload again shortly",
    503: "the service runs with its admin routes off: start it with SESSIONREC_API_KEY set",
}


def _refusal(endpoint: str, status: int, raw: bytes) -> str:
    """One line for an HTTP error from the service: its own code and message, and a hint."""
    code, message = "", raw.decode("utf-8", "replace").strip()[:300]
    try:
        error = json.loads(raw).get("error", {})
        code, message = str(error.get("code", "")), str(error.get("message", message))
    except (ValueError, AttributeError):
        pass
    said = f" {code}" if code else ""
    hint = _HINTS.get(status)
    return f"{endpoint} answered {status}{said}: {message}" + (f" ({hint})" if hint else "")
