"""Data-parallel training with PyTorch DDP: one process per core or GPU, launched by torchrun.

Every process holds the whole model and the whole training data. Each takes its own slice of
every mini-batch (the same global batch a single process would take, split evenly), DDP
averages the gradients, and so every process steps to the same weights: N processes train
the single-process model with 1/N of the work each. Process 0 alone validates and tells the
others its score and whether to stop, so their early stopping cannot drift apart (two
processes that disagree on stopping would wait for each other forever); process 0 alone
writes checkpoints and the artifact.

`sessionrec train --nproc N` starts torchrun itself (`launch`); on a cluster, torchrun
started by the user (``torchrun --nnodes 2 --nproc-per-node 8 -m sessionrec train ...``)
runs the same code, since a process knows it is one of several from torchrun's environment.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from sessionrec.errors import ConfigError

logger = logging.getLogger(__name__)

#: torchrun's variables that tell a process it is one of several.
WORLD_SIZE_VARIABLE = "WORLD_SIZE"

#: Added, times the rank, to the seed of a module's generator in the other processes.
PROCESS_SEED_STRIDE = 7919


@dataclass(frozen=True)
class Workers:
    """Which of how many training processes this one is."""

    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def leader(self) -> bool:
        """The process that validates, logs progress and writes files."""
        return self.rank == 0

    def shard(self, rows: np.ndarray) -> np.ndarray | None:
        """This process's part of a global mini-batch, or None when the batch is too small to
        give every process a row (all processes skip it alike, so they stay in step)."""
        if not self.distributed:
            return rows
        if len(rows) < self.world:
            return None
        return np.array_split(rows, self.world)[self.rank]


def launched_by_torchrun() -> bool:
    """Whether torchrun (or any launcher setting its variables) started this process as one
    of several."""
    return int(os.environ.get(WORLD_SIZE_VARIABLE, "1")) > 1


def current() -> Workers:
    """This process's place among the training processes (one process when none was set up)."""
    if not dist.is_available() or not dist.is_initialized():
        return Workers()
    return Workers(dist.get_rank(), dist.get_world_size())


def start() -> Workers:
    """Join the other processes torchrun started: gloo on CPUs, NCCL where CUDA is there.

    Idempotent; a process that torchrun did not start stays alone.
    """
    if not launched_by_torchrun():
        return Workers()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
        workers = current()
        logger.info(
            "training process %d of %d joined (%s)", workers.rank + 1, workers.world, backend
        )
    return current()


def stop() -> None:
    """Leave the process group (at the end of a distributed run)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def parallel(module: torch.nn.Module, generator: torch.Generator | None = None) -> torch.nn.Module:
    """`module` wrapped for data-parallel training where several processes train, else itself.

    DDP copies process 0's weights to the others here, so every process starts equal.
    `generator`, the one the module draws dropout and samples from, is reseeded in the other
    processes: drawn alike, every part of a batch would get the same dropout masks.
    """
    workers = current()
    if not workers.distributed:
        return module
    if generator is not None and not workers.leader:
        generator.manual_seed(generator.initial_seed() + PROCESS_SEED_STRIDE * workers.rank)
    return DistributedDataParallel(module)


def agreed(values: Sequence[float]) -> list[float]:
    """Process 0's `values`, in every process (its own values where training is not
    distributed)."""
    if not current().distributed:
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.broadcast(tensor, src=0)
    return [float(v) for v in tensor.tolist()]


def check_processes(nproc: int) -> None:
    """Refuse a process count that cannot work, before anything starts."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ConfigError(f"--nproc must be a whole number >= 1, got {nproc!r}")
    cores = os.cpu_count() or 1
    if nproc > cores and not torch.cuda.is_available():
        logger.warning(
            "--nproc %d on %d CPU cores: processes will share cores and train slower than %d",
            nproc,
            cores,
            cores,
        )


def threads_per_process(nproc: int) -> int:
    """Torch threads for each of `nproc` processes on this machine's cores (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(nproc, 1))


def torchrun_command(nproc: int, *program: str) -> list[str]:
    """The command line that runs `program` (a script and its arguments, or ``-m MODULE
    ...``) as `nproc` processes under torchrun on this machine alone."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes",
        "1",
        "--nproc-per-node",
        str(nproc),
        *program,
    ]


def launch(arguments: Sequence[str], nproc: int) -> int:
    """Run ``python -m sessionrec ARGUMENTS`` as `nproc` processes under torchrun on this
    machine; return torchrun's exit status (0 when every process succeeded)."""
    command = torchrun_command(nproc, "-m", "sessionrec", *arguments)
    environment = dict(os.environ)
    environment.setdefault("OMP_NUM_THREADS", str(threads_per_process(nproc)))
    logger.info("starting %d training processes: %s", nproc, " ".join(command))
    return subprocess.run(command, env=environment, check=False).returncode
