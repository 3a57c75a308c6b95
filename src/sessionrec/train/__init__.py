"""Training: the epoch loop, early stopping, checkpoints and progress, once for all models."""

from sessionrec.train.trainer import EpochLog, Trainer, TrainOptions, TrainResult

__all__ = ["EpochLog", "TrainOptions", "TrainResult", "Trainer"]
