"""Cold start on ml-100k: items never seen in training, recommended through their text.

Run: `.venv/bin/python benchmarks/bench_cold.py [--seeds 0,1,2] [--share 0.1]`. For each
seed, a seeded random share of items is removed from training entirely (as `sessionrec
evaluate --protocol leave-one-out --cold-items 0.1 --seed S` does); the transformer is
trained with item text (default), with text but no boost for new items (their scores are
then their borrowed vectors' alone, `models.exposure`), and without text (the ID-only ablation,
`--set use_text=false`), and each is scored on test cases whose target is a cold item and
on the rest. Target: the default's cold-target HR@20 ≥ 0.3 × its warm-target HR@20 (mean
over seeds).

`--boosts 0,0.5,1` instead trains the default model once per seed and scores the same
split with the new-item boost set to each value (besides the one validation chose), so the
trade-off between the cold items' exposure and overall NDCG@10 is read from one fit.
Issue 13's second bound: overall NDCG@10 ≥ 0.95 × the same model without the boost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_baselines import default_data
from bench_models import load
from sessionrec.eval.experiment import run
from sessionrec.eval.protocols import PreparedEvaluation, hold_out_cold_items
from sessionrec.eval.runner import evaluate_model
from sessionrec.models.settings import parse_settings
from sessionrec.models.transformer import SessionTransformer, TransformerConfig

TARGET_RATIO = 0.3
TARGET_NDCG_KEPT = 0.95
VARIANTS = {
    "text + ids (default)": [],
    "text + ids, no new-item boost": ["new_item_exposure=0"],
    "ids only (ablation)": ["use_text=false"],
}


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--boosts", default="", help="Instead: a sweep of these boosts.")
    args = parser.parse_args()
    prepared = load("ml-100k", args.data)
    if args.boosts:
        boosts = [float(b) for b in args.boosts.split(",")]
        seeds = [int(s) for s in args.seeds.split(",")]
        return boost_sweep(prepared, args.share, seeds, boosts, args.threads)
    figures: dict[str, dict[str, list[float]]] = {v: {} for v in VARIANTS}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for variant, extra in VARIANTS.items():
            settings = parse_settings(
                [f"seed={seed}", "progress=false", f"threads={args.threads}", *extra]
            )
            report = run(
                prepared,
                ["transformer"],
                cold_items=args.share,
                seed=seed,
                model_settings=settings,
            )
            result = report.results["transformer"]
            cold, warm = result.subsets["cold"], result.subsets["warm"]
            row = {
                "cold HR@20": cold["HR@20"],
                "warm HR@20": warm["HR@20"],
                "ratio": cold["HR@20"] / warm["HR@20"] if warm["HR@20"] else 0.0,
                "cold NDCG@10": cold["NDCG@10"],
                "warm NDCG@10": warm["NDCG@10"],
                "all NDCG@10": result.metrics["NDCG@10"],
            }
            for key, value in row.items():
                figures[variant].setdefault(key, []).append(value)
            print(
                f"seed {seed}, {variant}: cold test cases {report.settings['cold_test_cases']}, "
                + ", ".join(f"{k} {v:.4f}" for k, v in row.items()),
                flush=True,
            )
    print(f"\nml-100k leave-one-out, {args.share:.0%} of items cold, mean ± sd over seeds")
    for variant, rows in figures.items():
        print(f"  {variant}")
        for key, values in rows.items():
            print(f"    {key:14} {mean_sd(values)}")
    ratio = statistics.mean(figures["text + ids (default)"]["ratio"])
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(
        f"\ntarget: cold HR@20 ≥ {TARGET_RATIO} × warm HR@20 (text model): {ratio:.3f} — {verdict}"
    )
    return 0 if ratio >= TARGET_RATIO else 1


def boost_sweep(
    prepared: PreparedEvaluation, share: float, seeds: list[int], boosts: list[float], threads: int
) -> int:
    """Per seed one fit, scored at each boost; the mean over seeds per boost at the end."""
    rows: dict[float, list[tuple[float, float, float]]] = {}
    for seed in seeds:
        split = hold_out_cold_items(prepared, share, seed)
        data = split.prepared
        config = TransformerConfig(seed=seed, progress=False, threads=threads)
        model = SessionTransformer(config).fit(data.train, data.catalogue, data.valid)
        assert model.net is not None
        chosen = float(model.net.items.new_item_boost)
        for boost in sorted({*boosts, chosen}):
            model.net.items.new_item_boost.fill_(boost)
            every = evaluate_model(model, data.test_cases)["NDCG@10"]
            cold = evaluate_model(model, data.test_cases.subset(split.cold_cases))["HR@20"]
            warm = evaluate_model(model, data.test_cases.subset(~split.cold_cases))["HR@20"]
            rows.setdefault(boost, []).append((every, cold, warm))
            mark = " (chosen on validation)" if boost == chosen else ""
            print(
                f"seed {seed}, boost {boost:.2f}{mark}: NDCG@10 {every:.4f}, cold HR@20 "
                f"{cold:.4f}, warm HR@20 {warm:.4f}, ratio {cold / max(warm, 1e-12):.3f}",
                flush=True,
            )
    base = rows.get(0.0)
    print(f"\nml-100k, {share:.0%} of items cold, mean over the seeds every boost was scored at")
    for boost, values in sorted(rows.items()):
        if len(values) < len(seeds):
            continue
        ndcg = statistics.mean(v[0] for v in values)
        ratio = statistics.mean(v[1] for v in values) / statistics.mean(v[2] for v in values)
        kept = f", × no boost {ndcg / statistics.mean(v[0] for v in base):.3f}" if base else ""
        print(f"  boost {boost:.2f}: NDCG@10 {ndcg:.4f}{kept}, cold/warm HR@20 {ratio:.3f}")
    print(f"targets: ratio ≥ {TARGET_RATIO} with NDCG@10 ≥ {TARGET_NDCG_KEPT} × no boost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
