"""The epoch loop every neural model shares.

Nothing here knows about transformers or GRUs (minGPT's trainer is the model): a model
hands the trainer a torch module, a function that yields loss tensors for one epoch, and a
validation score (higher is better). The trainer owns the optimiser, early stopping on that
score, the best weights, the progress bar and the peak-memory log.
"""

from __future__ import annotations

import copy
import logging
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sessionrec.errors import ConfigError
from sessionrec.train import distributed
from sessionrec.train.checkpoint import TrainingState, load_checkpoint, save_checkpoint

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """How long and how fast to train; shared names across models."""

    epochs: int = 200
    """Upper bound on passes over the training data."""
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    """Epochs without a better validation score before training stops."""
    min_epochs: int = 1
    """Epochs to run before early stopping may end training (an epoch before it may still
    be kept, if it validated best)."""
    min_steps: int = 0
    """Optimiser steps to take before early stopping may end training. Counted in steps,
    not epochs, because what a model must learn before its validation score means much
    grows with the catalogue, not with the number of batches an epoch happens to have: on
    a few hundred long histories an epoch is ten steps."""
    min_steps_epochs: int = 40
    """Epochs after which `min_steps` no longer holds training back: a log of a hundred
    sessions takes one optimiser step an epoch, and 400 steps would run it to the epoch
    limit (the 110-session shop example: 200 epochs instead of about 20)."""
    validation_smoothing: int = 1
    """Early stopping and the kept epoch read the mean of the last this many validation
    scores (fewer in the first epochs), not the epoch's own: on a small validation split
    one epoch's score is noisy, and a lucky early epoch can end training (1: the raw score)."""
    seed: int = 0
    """Seeds weight initialisation, shuffling and dropout; runs with one seed repeat exactly."""
    threads: int | None = None
    """Torch intra-op threads (None: torch's default)."""
    max_seconds: float | None = None
    """Wall-clock budget; training stops after the epoch that exceeds it."""
    progress: bool = True
    """Show a progress bar with loss and validation score."""
    checkpoint_dir: str | None = None
    """Folder for a checkpoint after every epoch (None: none written)."""
    resume: bool = False
    """Continue from the checkpoint in `checkpoint_dir` when one is there."""
    weight_average: float | None = None
    """Decay of an exponential moving average of the weights, updated every step; the
    average is what gets validated and kept (None: the raw weights)."""

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.patience < 1 or self.learning_rate <= 0:
            raise ConfigError("training needs epochs >= 1, patience >= 1, learning_rate > 0")
        if (
            self.min_epochs < 1
            or self.min_steps < 0
            or self.min_steps_epochs < 1
            or self.validation_smoothing < 1
        ):
            raise ConfigError(
                "training needs min_epochs >= 1, min_steps >= 0, min_steps_epochs >= 1 and "
                "validation_smoothing >= 1"
            )
        if self.weight_average is not None and not 0 < self.weight_average < 1:
            raise ConfigError("weight_average must lie in (0, 1) (or be None)")
        if self.resume and self.checkpoint_dir is None:
            raise ConfigError("resume needs a checkpoint_dir to resume from")


@dataclass(frozen=True)
class EpochLog:
    """One epoch's figures."""

    epoch: int
    loss: float
    score: float | None
    seconds: float
    steps: int = 0
    """Optimiser steps (mini-batches) in this epoch."""


@dataclass
class TrainResult:
    """What training did: per-epoch log, best epoch and score, peak memory."""

    history: list[EpochLog] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    peak_memory_mb: float = 0.0
    seconds: float = 0.0
    averaged: bool = False
    """Whether the kept weights are the moving average's (`TrainOptions.weight_average`)."""

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(len(self.history), 1)


class WeightAverage:
    """An exponential moving average of a module's parameters (Polyak averaging).

    Averaged weights sit in a flatter region of the loss than the last step's, which
    generalises better on small, noisy data and makes the validation score, and so early
    stopping, less jumpy; it costs one multiply-add per parameter per step.

    The decay ramps up over the first steps, (1 + t) / (10 + t) until it reaches `decay`
    (about 440 steps for 0.98): a fixed decay would keep the random initialisation in the
    average of a short run, 0.98^30 = 55 % of it after the 30 steps a small shop's log
    trains for.
    """

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.parameters]
        self.updates = 0
        """Steps averaged so far (restored from the epoch log when training resumes)."""

    def current_decay(self) -> float:
        """The decay of the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def update(self) -> None:
        weight = 1 - self.current_decay()
        with torch.no_grad():
            torch._foreach_lerp_(self.shadow, [p.detach() for p in self.parameters], weight)
        self.updates += 1

    def swap(self) -> None:
        """Exchange live and averaged weights (twice restores the live ones)."""
        with torch.no_grad():
            for live, shadow in zip(self.parameters, self.shadow, strict=True):
                held = live.detach().clone()
                live.copy_(shadow)
                shadow.copy_(held)


@contextmanager
def averaged_weights(average: WeightAverage | None) -> Iterator[None]:
    """Inside: the module carries the averaged weights (a no-op without an average)."""
    if average is None:
        yield
        return
    average.swap()
    try:
        yield
    finally:
        average.swap()


def peak_memory_mb() -> float:
    """The process's peak resident set size so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Trainer:
    """Runs epochs of `losses` on `module`, keeps the weights that validated best."""

    def __init__(self, options: TrainOptions) -> None:
        self.options = options

    def fit(
        self,
        module: torch.nn.Module,
        losses: Callable[[np.random.Generator], Iterable[torch.Tensor]],
        validate: Callable[[], float] | None = None,
        description: str = "training",
        generator: torch.Generator | None = None,
    ) -> TrainResult:
        """Train until `epochs`, the time budget, or `patience` epochs without improvement.

        `losses(rng)` yields one scalar loss per mini-batch of an epoch; `validate()` scores
        the module (evaluation mode is set around it). Without `validate`, the last epoch's
        weights are kept. `generator` is the one the module draws from (dropout, sampling):
        checkpoints save its state, so a resumed run draws what an unbroken one would.
        Under DDP, `losses` calls the wrapped module (`distributed.parallel`) on this
        process's shard of each batch (`Workers.shard`); `validate` runs in process 0 only.
        """
        opts = self.options
        workers = distributed.current()
        if opts.threads is not None:
            torch.set_num_threads(opts.threads)
        rng = np.random.default_rng(opts.seed)
        optimiser = torch.optim.AdamW(
            module.parameters(), lr=opts.learning_rate, weight_decay=opts.weight_decay
        )
        result = TrainResult()
        best_state = copy.deepcopy(module.state_dict())
        started = time.perf_counter()
        stale, first_epoch = 0, 1
        average = WeightAverage(module, opts.weight_average) if opts.weight_average else None
        folder = Path(opts.checkpoint_dir) if opts.checkpoint_dir else None
        if folder is not None and opts.resume:
            restored = load_checkpoint(folder, module, optimiser, rng, average, generator)
            if restored is not None:
                saved, best_state = restored
                first_epoch, stale = saved.epoch + 1, saved.stale
                if saved.finished:
                    first_epoch = opts.epochs + 1  # nothing left to run
                result.best_epoch, result.best_score = saved.best_epoch, saved.best_score
                result.history = [EpochLog(**entry) for entry in saved.history]
                if average is not None:
                    average.updates = sum(entry.steps for entry in result.history)
                started -= saved.seconds
                logger.info("%s: resumed after epoch %d", description, saved.epoch)
        # The bar goes to stderr, beside the log lines; off a terminal those say it all.
        console = Console(stderr=True)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("epoch {task.completed}/{task.total} {task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not opts.progress or not console.is_terminal,
            transient=True,
        )
        reason: str | None = None  # why the loop ended early, for the last log line
        with progress:
            task = progress.add_task(
                description, total=opts.epochs, completed=first_epoch - 1, status=""
            )
            for epoch in range(first_epoch, opts.epochs + 1):
                epoch_start = time.perf_counter()
                module.train()
                total, batches = 0.0, 0
                for loss in losses(rng):
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]
                    optimiser.step()
                    if average is not None:
                        average.update()
                    total += float(loss.detach())
                    batches += 1
                mean_loss = total / max(batches, 1)
                score = smoothed = None
                if validate is not None:
                    module.eval()
                    with torch.no_grad():
                        score, averaged = validated(validate, average, workers.leader)
                        smoothed = smoothed_score(result.history, score, opts)
                        if smoothed > result.best_score:
                            result.best_score, result.best_epoch, stale = smoothed, epoch, 0
                            result.averaged = averaged
                            with averaged_weights(average if averaged else None):
                                best_state = copy.deepcopy(module.state_dict())
                        else:
                            stale += 1
                result.history.append(
                    EpochLog(epoch, mean_loss, score, time.perf_counter() - epoch_start, batches)
                )
                status = f"loss {mean_loss:.4f}" + (
                    f" valid {score:.4f}" if score is not None else ""
                )
                if smoothed is not None and opts.validation_smoothing > 1:
                    status += f" (mean of last {opts.validation_smoothing} {smoothed:.4f})"
                progress.update(task, advance=1, status=status)
                logger.info(
                    "%s epoch %d/%d: %s, %.1f s%s",
                    description,
                    epoch,
                    opts.epochs,
                    status.replace(" valid", ", valid"),
                    result.history[-1].seconds,
                    " (best so far)" if score is not None and stale == 0 else "",
                )
                over_time = (
                    opts.max_seconds is not None
                    and time.perf_counter() - started > opts.max_seconds
                )
                steps = sum(entry.steps for entry in result.history)
                stepped = steps >= opts.min_steps or epoch >= opts.min_steps_epochs
                may_stop = epoch >= opts.min_epochs and stepped
                stopping = over_time or (may_stop and stale >= opts.patience)
                if workers.distributed:  # process 0's clock decides the time budget
                    over_time, stopping = (
                        value > 0 for value in distributed.agreed([over_time, stopping])
                    )
                if folder is not None and workers.leader:
                    state = TrainingState(
                        epoch=epoch,
                        best_epoch=result.best_epoch,
                        best_score=result.best_score,
                        stale=stale,
                        finished=stopping,
                        seconds=time.perf_counter() - started,
                        history=[asdict(entry) for entry in result.history],
                    )
                    save_checkpoint(
                        folder, module, optimiser, best_state, state, rng, average, generator
                    )
                if stopping:
                    reason = _stop_reason(opts, over_time, stale)
                    break
        if validate is not None:
            module.load_state_dict(best_state)
        else:
            result.best_epoch = len(result.history)
            if average is not None:
                average.swap()  # keep the average
        module.eval()
        result.seconds = time.perf_counter() - started
        result.peak_memory_mb = peak_memory_mb()
        if reason is None:
            reason = (
                f"reached the epoch limit (epochs={opts.epochs})"
                if first_epoch <= opts.epochs
                else "the checkpoint it resumed from had finished"
            )
        weights = ", averaged weights" if result.averaged else ""
        kept = (
            f"kept epoch {result.best_epoch}{weights} (valid {result.best_score:.4f})"
            if validate is not None
            else "kept the last epoch's weights"
        )
        logger.info(
            "%s stopped after epoch %d: %s; %s; %.1f s, peak memory %.0f MB",
            description,
            result.history[-1].epoch if result.history else 0,
            reason,
            kept,
            result.seconds,
            result.peak_memory_mb,
        )
        return result


def validated(
    validate: Callable[[], float], average: WeightAverage | None, leader: bool = True
) -> tuple[float, bool]:
    """The epoch's validation score, and whether the averaged weights earned it.

    With an average, both the live and the averaged weights are validated and the better
    counts: averaging pays once the weights jitter around a plateau, but lags behind them
    while they still move fast, as in a short run on a small log. Under DDP, process 0
    validates and every process gets its scores (`distributed.agreed`).
    """
    live = float(validate()) if leader else 0.0
    if average is None:
        return distributed.agreed([live])[0], False
    with averaged_weights(average):
        smooth = float(validate()) if leader else 0.0
    live, smooth = distributed.agreed([live, smooth])
    return (smooth, True) if smooth >= live else (live, False)


def smoothed_score(history: list[EpochLog], score: float, opts: TrainOptions) -> float:
    """The mean of `score` and the validation scores of the epochs before it in `history`,
    the last `validation_smoothing` of them together (fewer where fewer epochs ran)."""
    if opts.validation_smoothing <= 1:
        return score
    window = opts.validation_smoothing - 1
    earlier = [e.score for e in history[-window:] if e.score is not None] if window else []
    return (score + sum(earlier)) / (1 + len(earlier))


def _stop_reason(opts: TrainOptions, over_time: bool, stale: int) -> str:
    """Why training stops before its epoch limit, in words for the log."""
    if over_time:
        return f"the time budget of {opts.max_seconds:g} s is spent (max_seconds)"
    without = f"no better validation score for {stale} epochs"
    return f"early stopping: {without} (patience={opts.patience})"
