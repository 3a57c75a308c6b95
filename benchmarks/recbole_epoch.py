"""Seconds per training epoch of RecBole's SASRec (CE loss) on ml-100k, leave-one-out.

Runs inside RecBole's own virtualenv (`.bench/recbole-venv`, made by
`benchmarks/bench_speed.py --setup`), never the project's: it imports only RecBole, torch
and the standard library. `bench_speed.py` starts it as a subprocess so that both figures
come from one benchmark run with the same thread count; it can also be run by hand:

    .bench/recbole-venv/bin/python benchmarks/recbole_epoch.py --threads 1 --epochs 1

The configuration is RecBole's own sequential set-up for this protocol: leave-one-out `LS`
split (`valid_and_test`) over time-ordered (`TO`) interactions, full ranking, SASRec's
defaults (2 layers, 2 heads, hidden size 64, inner size 256, dropout 0.5), `loss_type: CE`
with no negative sampling, MAX_ITEM_LIST_LENGTH 50 and the default training batch of 2048.
RecBole turns every prefix of a user's training sequence into its own example, which is
what makes its epoch long; the JSON reports how many examples that is.

Only the training passes are timed (`Trainer._train_epoch`, RecBole's own epoch loop):
loading, splitting and evaluation are excluded, so the figure is comparable with the
project's per-epoch training time. CPU seconds are reported beside wall seconds: on a
machine shared with other work they vary less. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATASET = "ml-100k"
ATOMIC_SUFFIXES = ("inter", "item", "user")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with ml-100k.inter (RecBole atomic)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs to time")
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    if args.threads < 1 or args.epochs < 1:
        parser.error("--threads and --epochs must be at least 1")
    if not (args.data / f"{DATASET}.inter").is_file():
        parser.error(f"{args.data / (DATASET + '.inter')} does not exist")
    return args


def recbole_config(data_root: Path, workdir: Path, epochs: int, seed: int) -> dict[str, Any]:
    """SASRec-CE on ml-100k under RecBole's leave-one-out protocol, CPU only."""
    return {
        "data_path": str(data_root),
        "checkpoint_dir": str(workdir / "saved"),
        "use_gpu": False,
        "seed": seed,
        "reproducibility": True,
        "show_progress": False,
        "state": "WARNING",
        "worker": 0,
        # Data: the columns the leave-one-out split needs, sorted by time.
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 50,
        "eval_args": {
            "split": {"LS": "valid_and_test"},
            "order": "TO",
            "group_by": "user",
            "mode": "full",
        },
        # Model: SASRec's defaults, cross-entropy over all items.
        "n_layers": 2,
        "n_heads": 2,
        "hidden_size": 64,
        "inner_size": 256,
        "hidden_dropout_prob": 0.5,
        "attn_dropout_prob": 0.5,
        "loss_type": "CE",
        "train_neg_sample_args": None,
        # Training: RecBole's default batch and optimiser; only `epochs` passes are run.
        "epochs": epochs,
        "train_batch_size": 2048,
        "learner": "adam",
        "learning_rate": 0.001,
        "metrics": ["Hit", "NDCG"],
        "topk": [10],
        "valid_metric": "NDCG@10",
    }


def link_dataset(source: Path, data_root: Path) -> None:
    """RecBole reads `{data_path}/{dataset}/{dataset}.{suffix}`: symlink the shared files."""
    folder = data_root / DATASET
    folder.mkdir(parents=True)
    for suffix in ATOMIC_SUFFIXES:
        path = source / f"{DATASET}.{suffix}"
        if path.is_file():
            (folder / path.name).symlink_to(path.resolve())


def peak_rss_mb() -> float:
    """The process's peak resident set size (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    args = parse_args()
    # Before torch is imported, so that its OpenMP pool starts with this many threads.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    torch.set_num_threads(args.threads)
    # RecBole's Config also parses sys.argv (`--key=value`); ours are not its settings.
    sys.argv = sys.argv[:1]
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="recbole-bench-") as tmp:
        workdir = Path(tmp)
        link_dataset(args.data, workdir / "data")
        # RecBole's trainer writes tensorboard logs under the working directory.
        os.chdir(workdir)
        prep_start = time.perf_counter()
        config = Config(
            model="SASRec",
            dataset=DATASET,
            config_dict=recbole_config(workdir / "data", workdir, args.epochs, args.seed),
        )
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train_data, _valid, _test = data_preparation(config, dataset)
        model = SASRec(config, train_data.dataset).to(config["device"])
        trainer = Trainer(config, model)
        prep_seconds = time.perf_counter() - prep_start

        epoch_seconds: list[float] = []
        cpu_seconds: list[float] = []
        losses: list[float] = []
        for epoch in range(args.epochs):
            started, cpu_started = time.perf_counter(), time.process_time()
            loss = trainer._train_epoch(train_data, epoch, show_progress=False)
            epoch_seconds.append(time.perf_counter() - started)
            cpu_seconds.append(time.process_time() - cpu_started)
            losses.append(float(loss))
        trainer.tensorboard.close()

    result = {
        "model": "RecBole SASRec (CE loss)",
        "recbole_version": _version("recbole"),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "seconds_per_epoch": sum(epoch_seconds) / len(epoch_seconds),
        "epoch_seconds": epoch_seconds,
        "cpu_seconds_per_epoch": sum(cpu_seconds) / len(cpu_seconds),
        "losses": losses,
        "train_examples": len(train_data.dataset),
        "batch_size": config["train_batch_size"],
        "n_items": dataset.item_num,
        "n_users": dataset.user_num,
        "prepare_seconds": prep_seconds,
        "peak_rss_mb": peak_rss_mb(),
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    raise SystemExit(main())
