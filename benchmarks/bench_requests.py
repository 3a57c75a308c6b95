"""Requests protocol on MovieLens-100K: category requests built from the held-out target.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_requests.py \\
        --artifact /tmp/ml100k-artifact --data ../shared/data/ml-100k

The artifact is a transformer trained on MovieLens-100K (`sessionrec train --data
../shared/data/ml-100k --model transformer --out DIR`). Per user (leave-one-out), the last
50 ratings before the held-out item are the session and the held-out item the target; the
request is an English category template filled with one of the target's genres ("a comedy
film"). The same cases are scored through the engine with and without the request.
Target: HR@10 with the request >= 1.5 x HR@10 without it.

`sessionrec train` fits on all of the data, so such an artifact has seen every held-out
item in training. For figures without that leak, train on the leave-one-out training part
(every user's events but the last, as CSV with user_id,item_id,timestamp,event_type) with
`--catalogue DIR/catalogue.jsonl` of the full artifact, and pass that artifact instead.

Prints a table; exits 1 when the target fails, 2 when the inputs are missing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from sessionrec.data.loaders import load_dataset
from sessionrec.engine import Engine
from sessionrec.eval.cases import CaseKind, build_cases, write_cases
from sessionrec.interactive.requests import WITH_REQUEST, WITHOUT_REQUEST, evaluate_requests

TARGET_RATIO = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", type=Path, default=Path("/tmp/ml100k-artifact"))
    default_data = Path(os.environ.get("SESSIONREC_DATA", "../shared/data")) / "ml-100k"
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--users", type=int, default=943, help="cases (users) to sample")
    parser.add_argument(
        "--kind", default=CaseKind.CATEGORY.value, choices=[k.value for k in CaseKind]
    )
    parser.add_argument("--language", default="en", choices=["en", "zh"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases-out", type=Path, help="also write the cases as JSONL")
    parser.add_argument("--json", type=Path, help="write the report as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not (args.artifact / "manifest.json").is_file():
        print(
            f"no artifact at {args.artifact}; train one with\n"
            f"  sessionrec train --data {args.data} --model transformer --out {args.artifact}",
            file=sys.stderr,
        )
        return 2
    if not args.data.is_dir():
        print(f"no MovieLens-100K folder at {args.data} (--data)", file=sys.stderr)
        return 2
    dataset = load_dataset(args.data)
    if dataset.catalogue is None:
        print(f"{args.data} has no catalogue (u.item)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    cases = build_cases(
        dataset.interactions,
        dataset.catalogue,
        kind=args.kind,
        language=args.language,
        max_cases=args.users,
        seed=args.seed,
    )
    built = time.perf_counter() - start
    if args.cases_out:
        write_cases(cases, args.cases_out)
    engine = Engine.from_artifact(args.artifact)
    start = time.perf_counter()
    report = evaluate_requests(engine, cases, ks=(10, 20))
    scored = time.perf_counter() - start
    if args.json:
        report.write_json(args.json)
    manifest = json.loads((args.artifact / "manifest.json").read_text())
    steered = report.results[WITH_REQUEST].metrics
    plain = report.results[WITHOUT_REQUEST].metrics
    ratio = steered["HR@10"] / plain["HR@10"] if plain["HR@10"] else float("inf")
    ok = ratio >= TARGET_RATIO
    print(report.plain())
    print()
    print(f"artifact: {args.artifact} (trained on {manifest.get('data', '?')})")
    print(
        f"cases: {report.dataset['test_cases']} {args.kind} requests ({args.language}), "
        f"{report.dataset['skipped']} skipped; built in {built:.1f} s, scored in {scored:.1f} s"
    )
    for name, metrics in ((WITHOUT_REQUEST, plain), (WITH_REQUEST, steered)):
        print(f"{name:>15}: HR@10 {metrics['HR@10']:.4f}  NDCG@10 {metrics['NDCG@10']:.4f}")
    verdict = "met" if ok else "NOT met"
    print(f"HR@10 ratio with/without request: {ratio:.2f} (target >= {TARGET_RATIO}: {verdict})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
