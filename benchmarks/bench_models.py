"""Neural models against the peers: mean ± sd over seeds, under each peer's protocol.

Run: `.venv/bin/python benchmarks/bench_models.py [--models transformer,gru4rec]
[--datasets ml-100k,rsc15-100k] [--seeds 0,1,2]`. For every data set and model it fits
on the protocol's training data (early stopping on its validation split, never the test),
evaluates on the test cases, and prints each metric as mean ± sd beside the best peer's
figure from ../shared/anchors.md, with the training time per epoch and peak memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_baselines import default_data
from sessionrec.eval.experiment import DataOptions, prepare
from sessionrec.eval.protocols import PreparedEvaluation, ProtocolName
from sessionrec.eval.runner import evaluate_model, train_counts
from sessionrec.models.registry import model_class

PEERS = {
    "ml-100k": {
        "GRU4Rec official": {
            "HR@10": 0.1166, "NDCG@10": 0.0594, "MRR@10": 0.0423,
            "HR@20": 0.1934, "NDCG@20": 0.0788,
        },
        "target (transformer)": {"HR@10": 0.1166, "NDCG@10": 0.0653},
    },
    "rsc15-100k": {
        "GRU4Rec official": {"HR@10": 0.6038, "MRR@10": 0.3521, "HR@20": 0.6807, "MRR@20": 0.3575},
        "VSTAN (best peer)": {"HR@10": 0.6273, "MRR@10": 0.3713, "HR@20": 0.6908, "MRR@20": 0.3759},
    },
}  # fmt: skip


def load(name: str, data: Path) -> PreparedEvaluation:
    if name == "ml-100k":
        return prepare(ProtocolName.LEAVE_ONE_OUT, DataOptions(data=data / "ml-100k"))
    folder = data / "rsc15-100k"
    return prepare(
        ProtocolName.NEXT_ITEM,
        DataOptions(
            train=folder / "yoochoose-clicks-100k_train_full.txt",
            test=folder / "yoochoose-clicks-100k_test.txt",
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--models", default="transformer,gru4rec")
    parser.add_argument("--datasets", default="ml-100k,rsc15-100k")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"torch threads: {os.environ.get('OMP_NUM_THREADS', 'default')}")
    for dataset in args.datasets.split(","):
        prepared = load(dataset, args.data)
        print(f"\n== {dataset} ({prepared.protocol.value}): {prepared.stats}")
        for name in args.models.split(","):
            cls = model_class(name)
            runs: list[dict[str, float]] = []
            for seed in seeds:
                config = replace(cls.config_class(), seed=seed, progress=False)  # type: ignore[call-arg]
                model = cls(config)
                started = time.perf_counter()
                model.fit(prepared.train, prepared.catalogue, prepared.valid)
                fit_seconds = time.perf_counter() - started
                metrics = evaluate_model(
                    model, prepared.test_cases, popularity=train_counts(model, prepared)
                )
                result = getattr(model, "training_result", None)
                metrics["fit_seconds"] = fit_seconds
                if result is not None:
                    metrics["epochs"] = len(result.history)
                    metrics["seconds_per_epoch"] = result.seconds_per_epoch
                    metrics["peak_memory_mb"] = result.peak_memory_mb
                runs.append(metrics)
                print(
                    f"  {name} seed {seed}: "
                    + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                )
            print(f"  {name}, mean ± sd over {len(seeds)} seeds:")
            for key in runs[0]:
                values = [r[key] for r in runs]
                sd = statistics.stdev(values) if len(values) > 1 else 0.0
                peers = "  ".join(
                    f"{peer} {figures[key]:.4f}"
                    for peer, figures in PEERS[dataset].items()
                    if key in figures
                )
                print(f"    {key:18} {statistics.mean(values):9.4f} ± {sd:.4f}   {peers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
