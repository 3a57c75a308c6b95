"""Does the item text pay? The transformer with and without it, by how rare the target is.

Run: `.venv/bin/python benchmarks/bench_text.py [--seeds 0] [--threads 2]`. On ml-100k
leave-one-out with every history item excluded (`--exclude-seen`), the default transformer
and its ID-only ablation (`use_text=false`) are fitted per seed and scored on the test
cases grouped by how often the target item occurs in training. Where a film has been
rated dozens of times its ID vector knows more than its title and genres; the text should
pay on the rarely rated ones, which is where a catalogue with descriptions and a long
tail would gain (issue 13, "text that pays").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_baselines import default_data
from bench_models import load
from sessionrec.data.schema import ITEM_ID
from sessionrec.eval.runner import evaluate_model
from sessionrec.models.transformer import SessionTransformer, TransformerConfig

BUCKETS = ((0, 10), (11, 50), (51, 10**9))
"""Training occurrences of the target item, inclusive bounds."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prepared = load("ml-100k", args.data)
    counts = prepared.train.frame[ITEM_ID].value_counts()
    cases = prepared.test_cases
    seen = np.array([counts.get(cases.vocab.ids[t], 0) if t >= 0 else 0 for t in cases.targets])
    groups = {f"{lo}-{hi}" if hi < 10**9 else f">{lo - 1}": (seen >= lo) & (seen <= hi)
              for lo, hi in BUCKETS}  # fmt: skip
    groups["all"] = np.ones(len(seen), dtype=bool)
    print(
        "test cases by the target's training count:", {k: int(v.sum()) for k, v in groups.items()}
    )
    for seed in [int(s) for s in args.seeds.split(",")]:
        for variant, use_text in (("text + ids", True), ("ids only", False)):
            config = TransformerConfig(seed=seed, progress=False, use_text=use_text)
            model = SessionTransformer(config).fit(
                prepared.train, prepared.catalogue, prepared.valid
            )
            row = []
            for name, mask in groups.items():
                figures = evaluate_model(model, cases.subset(mask), exclude_seen=True)
                row.append(f"{name}: NDCG@10 {figures['NDCG@10']:.4f} HR@20 {figures['HR@20']:.4f}")
            print(f"seed {seed}, {variant:10}  " + " | ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
