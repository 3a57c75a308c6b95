"""Training checkpoints on disk: enough to resume an interrupted run exactly.

A checkpoint holds the module's weights, the best weights so far, the optimiser's moments,
the random states (numpy shuffling, and the torch generator the module draws its dropout
and samples from) and the early-stopping counters. With all of them restored, a run
resumed after epoch e repeats the uninterrupted run's epochs e+1, ... bit for bit. Tensors
go to safetensors (no pickle: a checkpoint from elsewhere cannot run code); the rest to
JSON. Files are written beside the old ones and renamed into place, so a crash mid-write
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from sessionrec.errors import DataError

if TYPE_CHECKING:
    from sessionrec.train.trainer import WeightAverage

WEIGHTS_FILE = "last.safetensors"
BEST_FILE = "best.safetensors"
STATE_FILE = "trainer.json"
FORMAT = 1


@dataclass
class TrainingState:
    """Where training stands after an epoch (JSON-ready)."""

    epoch: int
    best_epoch: int
    best_score: float
    stale: int
    seconds: float
    finished: bool = False
    """Training ended (early stopping or budget): resuming only restores the best weights."""
    history: list[dict[str, Any]] = field(default_factory=list)
    numpy_rng: dict[str, Any] = field(default_factory=dict)
    param_groups: list[dict[str, Any]] = field(default_factory=list)


def _write_atomically(path: Path, write: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    temporary.replace(path)


def _flat_optimiser(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """AdamW's per-parameter tensors as flat names ('optim.3.exp_avg')."""
    tensors = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"optim.{index}.{name}"] = tensor.contiguous()
    return tensors


def _nested_optimiser(tensors: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    return state


def save_checkpoint(
    folder: Path,
    module: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    best_state: dict[str, torch.Tensor],
    progress: TrainingState,
    rng: np.random.Generator,
    average: WeightAverage | None = None,
    generator: torch.Generator | None = None,
) -> None:
    """Write the checkpoint after an epoch (weights first, the JSON that vouches last).

    `generator` is the torch generator the module draws from (None: it draws nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    optimiser_state = optimiser.state_dict()
    tensors = {f"module.{k}": v.detach().contiguous() for k, v in module.state_dict().items()}
    tensors |= _flat_optimiser(optimiser_state)
    if generator is not None:
        tensors["torch_rng"] = generator.get_state()
    if average is not None:
        tensors |= {f"average.{i}": t.contiguous() for i, t in enumerate(average.shadow)}
    _write_atomically(folder / WEIGHTS_FILE, lambda p: save_file(tensors, str(p)))
    best = {k: v.detach().contiguous() for k, v in best_state.items()}
    _write_atomically(folder / BEST_FILE, lambda p: save_file(best, str(p)))
    progress.numpy_rng = dict(rng.bit_generator.state)
    progress.param_groups = optimiser_state["param_groups"]
    payload = {"format": FORMAT, **progress.__dict__}
    _write_atomically(folder / STATE_FILE, lambda p: p.write_text(json.dumps(payload)))


def load_checkpoint(
    folder: Path,
    module: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    rng: np.random.Generator,
    average: WeightAverage | None = None,
    generator: torch.Generator | None = None,
) -> tuple[TrainingState, dict[str, torch.Tensor]] | None:
    """Restore module, optimiser and random states (`rng`, `generator`); None when
    `folder` has no checkpoint.

    Returns the progress counters and the best weights so far.
    """
    state_path = folder / STATE_FILE
    if not state_path.exists():
        return None
    try:
        payload = json.loads(state_path.read_text())
        tensors = load_file(str(folder / WEIGHTS_FILE))
        best = load_file(str(folder / BEST_FILE))
    except (OSError, ValueError, SafetensorError) as exc:
        raise DataError(f"cannot read the training checkpoint: {exc}", path=folder) from exc
    if payload.pop("format", None) != FORMAT:
        raise DataError("checkpoint format not understood; remove it to start over", path=folder)
    progress = TrainingState(**payload)
    weights = {k.removeprefix("module."): v for k, v in tensors.items() if k.startswith("module.")}
    try:
        module.load_state_dict(weights)
        optimiser.load_state_dict(
            {
                "state": _nested_optimiser(
                    {k: v for k, v in tensors.items() if k.startswith("optim.")}
                ),
                "param_groups": progress.param_groups,
            }
        )
    except (RuntimeError, ValueError, KeyError) as exc:
        raise DataError(
            f"the checkpoint belongs to another model or configuration: {exc}", path=folder
        ) from exc
    if generator is not None:
        if "torch_rng" not in tensors:
            raise DataError("the checkpoint has no random state to resume", path=folder)
        generator.set_state(tensors["torch_rng"])
    if average is not None:
        for i, shadow in enumerate(average.shadow):
            key = f"average.{i}"
            if key not in tensors:
                raise DataError("the checkpoint has no weight average to resume", path=folder)
            shadow.copy_(tensors[key])
    rng.bit_generator.state = progress.numpy_rng
    return progress, best
