"""DDP training against one process: the same model, the same seeds, N processes.

Run: `.venv/bin/python benchmarks/bench_ddp.py [--nproc 1,2] [--seeds 0,1,2]
[--model transformer] [--set epochs=20] [--json OUT]`. For every process count and seed it
starts torchrun on this machine (each process gets cores / N torch threads), fits on
ml-100k's leave-one-out training data with early stopping on its validation split, and
process 0 evaluates the test cases (history items ranked, and excluded). It prints each
run, the means over seeds, and the ratio of every process count's NDCG@10 to one
process's: the issue's target is two processes within 2 % of one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_baselines import default_data

TOLERANCE = 0.02
"""Relative NDCG@10 difference the issue allows between N processes and one."""
SHOWN = ("NDCG@10", "HR@10", "NDCG@10 excl", "HR@10 excl", "fit_seconds", "epochs")


def worker(args: argparse.Namespace) -> int:
    """One training process (torchrun started it); process 0 evaluates and writes JSON."""
    from sessionrec.data.loaders import DataOptions
    from sessionrec.eval.experiment import prepare
    from sessionrec.eval.protocols import ProtocolName
    from sessionrec.eval.runner import evaluate_model, train_counts
    from sessionrec.models.settings import build_configured, parse_settings
    from sessionrec.train import distributed

    workers = distributed.start()
    threads = distributed.threads_per_process(workers.world)
    prepared = prepare(ProtocolName.LEAVE_ONE_OUT, DataOptions(data=args.data / "ml-100k"))
    fixed = [f"seed={args.seed}", "progress=false", f"threads={threads}"]
    model = build_configured(args.model, parse_settings([*args.settings, *fixed]))
    started = time.perf_counter()
    model.fit(prepared.train, prepared.catalogue, prepared.valid)
    fit_seconds = time.perf_counter() - started
    distributed.stop()
    if not workers.leader:
        return 0
    popularity = train_counts(model, prepared)
    metrics = evaluate_model(model, prepared.test_cases, popularity=popularity)
    excluded = evaluate_model(model, prepared.test_cases, popularity=popularity, exclude_seen=True)
    part = getattr(model, "transformer", model)  # the hybrid's network trains in its transformer
    result = getattr(part, "training_result", None)
    figures = {
        "NDCG@10": metrics["NDCG@10"],
        "HR@10": metrics["HR@10"],
        "NDCG@10 excl": excluded["NDCG@10"],
        "HR@10 excl": excluded["HR@10"],
        "fit_seconds": fit_seconds,
        "epochs": float(len(result.history)) if result is not None else 0.0,
        "threads": float(threads),
    }
    Path(args.json).write_text(json.dumps(figures))
    return 0


def run(args: argparse.Namespace, nproc: int, seed: int, folder: Path) -> dict[str, float]:
    """Train and evaluate once under torchrun; the figures process 0 wrote."""
    out = folder / f"n{nproc}-s{seed}.json"
    from sessionrec.train.distributed import torchrun_command

    command = torchrun_command(
        nproc,
        __file__,
        "--worker",
        "--seed",
        str(seed),
        "--model",
        args.model,
        "--data",
        str(args.data),
        "--json",
        str(out),
    )
    for setting in args.settings:
        command += ["--set", setting]
    environment = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc))}
    subprocess.run(command, env=environment, check=True)
    figures: dict[str, float] = json.loads(out.read_text())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--model", default="transformer")
    parser.add_argument("--nproc", default="1,2", help="Process counts; the first is the base.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="Write every run and the means here.")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], help="Model option, as the CLI's."
    )
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    counts = [int(n) for n in args.nproc.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{args.model} on ml-100k (leave-one-out); settings: {args.settings or 'defaults'}")
    runs: dict[int, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for nproc in counts:
            for seed in seeds:
                figures = run(args, nproc, seed, Path(folder))
                runs.setdefault(nproc, []).append(figures)
                shown = ", ".join(f"{k} {figures[k]:.4f}" for k in SHOWN)
                print(f"  {nproc} process(es), seed {seed}: {shown}", flush=True)
    means = {n: {k: statistics.mean(r[k] for r in rs) for k in SHOWN} for n, rs in runs.items()}
    print(f"\nmeans over seeds {args.seeds}:")
    print(f"  {'processes':>9} " + " ".join(f"{k:>13}" for k in SHOWN))
    for nproc, figures in means.items():
        print(f"  {nproc:>9} " + " ".join(f"{figures[k]:13.4f}" for k in SHOWN))
    base = means[counts[0]]
    verdicts = []
    for nproc in counts[1:]:
        ratio = means[nproc]["NDCG@10"] / base["NDCG@10"]
        speedup = base["fit_seconds"] / means[nproc]["fit_seconds"]
        ok = abs(ratio - 1) <= TOLERANCE
        verdicts.append(ok)
        print(
            f"  {nproc} processes: NDCG@10 {ratio:.4f} × {counts[0]} process(es)' "
            f"(target within ±{TOLERANCE:.0%}: {'met' if ok else 'NOT met'}); "
            f"training {speedup:.2f}× as fast"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "means": means}, indent=2) + "\n")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
