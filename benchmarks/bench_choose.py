"""Settings compared on a test carved from the training file, so a default is never chosen
on the shared test files.

Run: `.venv/bin/python benchmarks/bench_choose.py --variants "refit=false" "refit=true"
[--model transformer] [--seeds 0,1,2] [--share 0.1] [--threads 2]`. The latest `--share`
of rsc15-100k's training sessions (by their last click) play the test: every next click
in them is predicted as the next-item protocol does (items unseen in the rest dropped,
sessions of one click dropped). Each variant is fitted on the rest of the training file,
with the model's own validation carved from that rest as usual, and the table prints
HR@20 and MRR@20 per seed, mean and worst, with the pessimistic ties of
`docs/BENCHMARKS.md`. The shared test file is not read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_baselines import default_data
from sessionrec.data.loaders import load_interactions
from sessionrec.eval.protocols import prepare_next_item
from sessionrec.eval.runner import evaluate_model, train_counts
from sessionrec.models.sequences import carve_recent_sessions
from sessionrec.models.settings import build_configured, parse_settings

SHOWN = ("HR@20", "MRR@20")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--model", default="transformer")
    parser.add_argument(
        "--variants", nargs="+", default=[""], help="Each a comma-separated list of settings."
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--share", type=float, default=0.1, help="Sessions that play the test.")
    parser.add_argument("--threads", type=int, default=2, help="Torch threads.")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    train_file = args.data / "rsc15-100k" / "yoochoose-clicks-100k_train_full.txt"
    rest, carved = carve_recent_sessions(load_interactions(train_file, "gru4rec"), args.share)
    prepared = prepare_next_item(rest, carved)
    print(f"{train_file.name}: fit on {prepared.train.n_sessions} sessions; {prepared.stats}")
    table: dict[str, list[dict[str, float]]] = {}
    for variant in args.variants:
        settings = [s for s in variant.split(",") if s]
        for seed in seeds:
            fixed = [f"seed={seed}", "progress=false", f"threads={args.threads}"]
            model = build_configured(args.model, parse_settings([*settings, *fixed]))
            started = time.perf_counter()
            model.fit(prepared.train, None, None)
            seconds = time.perf_counter() - started
            popularity = train_counts(model, prepared)
            metrics = evaluate_model(model, prepared.test_cases, popularity=popularity)
            row = {key: metrics[key] for key in SHOWN} | {"fit_seconds": seconds}
            table.setdefault(variant or "defaults", []).append(row)
            print(
                f"  {variant or 'defaults'} seed {seed}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in row.items()),
                flush=True,
            )
    print(f"\n{args.model} on the carved test, {len(seeds)} seeds (mean / worst):")
    for variant, runs in table.items():
        cells = "  ".join(
            f"{key} {statistics.mean(r[key] for r in runs):.4f} / {min(r[key] for r in runs):.4f}"
            for key in SHOWN
        )
        print(f"  {variant:40} {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
