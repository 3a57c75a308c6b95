"""Protocol parity and speed of the baselines on the shared data, next to the peers' figures.

Run: `make bench` or `.venv/bin/python benchmarks/bench_baselines.py [--data ../shared/data]`.
Prints, for rsc15-100k (next-item) and ml-100k (leave-one-out), our figures beside the
anchors with the relative difference, then the timings the foundation issue targets:
the whole V-SKNN evaluation against session-rec's 33 s, and leave-one-out Pop on ml-100k
including loading against 2 s. Single-threaded BLAS so the timing compares like with like.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anchors import (  # noqa: E402
    ML100K_LEAVE_ONE_OUT,
    PARITY_TOLERANCE,
    RSC15_NEXT_ITEM,
    RSC15_VSKNN_PEER_SECONDS,
)
from sessionrec.data.loaders import DataOptions  # noqa: E402
from sessionrec.eval.experiment import prepare, run  # noqa: E402
from sessionrec.eval.protocols import ProtocolName  # noqa: E402


def default_data() -> Path:
    env = os.environ.get("SESSIONREC_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def compare(
    title: str, ours: dict[str, dict[str, float]], peers: dict[str, dict[str, float]]
) -> bool:
    """Print ours vs peers per metric; True when every anchored figure is within tolerance."""
    print(f"\n{title}")
    print(f"{'model':8} {'metric':8} {'ours':>8} {'peer':>8} {'rel.diff':>9}  within ±2%")
    all_ok = True
    for model, metrics in peers.items():
        for metric, peer in metrics.items():
            value = ours[model][metric]
            diff = (value - peer) / peer
            ok = abs(diff) <= PARITY_TOLERANCE or metric.startswith("COV")
            all_ok &= ok
            flag = (
                "yes"
                if abs(diff) <= PARITY_TOLERANCE
                else ("n/a" if metric.startswith("COV") else "NO")
            )
            print(f"{model:8} {metric:8} {value:8.4f} {peer:8.4f} {diff:+9.2%}  {flag}")
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    args = parser.parse_args()
    rsc15 = args.data / "rsc15-100k"
    ml100k = args.data / "ml-100k"
    if not rsc15.is_dir() or not ml100k.is_dir():
        print(f"shared data not found under {args.data} (set SESSIONREC_DATA)")
        return 2

    started = time.perf_counter()
    prepared = prepare(
        ProtocolName.NEXT_ITEM,
        DataOptions(
            train=rsc15 / "yoochoose-clicks-100k_train_full.txt",
            test=rsc15 / "yoochoose-clicks-100k_test.txt",
        ),
    )
    load_seconds = time.perf_counter() - started
    report = run(prepared, ["pop", "sr", "vsknn"])
    ours = {name: result.metrics for name, result in report.results.items()}
    print(f"rsc15-100k next-item: {prepared.stats} (loaded in {load_seconds:.2f} s)")
    ok = compare("rsc15-100k, next-item, pessimistic ties", ours, RSC15_NEXT_ITEM)

    vsknn = report.results["vsknn"]
    vsknn_total = vsknn.train_seconds + vsknn.eval_seconds
    ratio = vsknn_total / RSC15_VSKNN_PEER_SECONDS
    print(
        f"\nV-SKNN whole evaluation: {vsknn_total:.2f} s (fit {vsknn.train_seconds:.2f} s + "
        f"score {vsknn.eval_seconds:.2f} s) vs session-rec {RSC15_VSKNN_PEER_SECONDS:.0f} s: "
        f"{ratio:.3f} x (target <= 0.5 x) {'OK' if ratio <= 0.5 else 'MISSED'}"
    )
    ok &= ratio <= 0.5

    started = time.perf_counter()
    prepared = prepare(ProtocolName.LEAVE_ONE_OUT, DataOptions(data=ml100k))
    loo = run(prepared, ["pop"])
    loo_seconds = time.perf_counter() - started
    ours = {name: result.metrics for name, result in loo.results.items()}
    print(f"\nml-100k leave-one-out: {prepared.stats}")
    ok &= compare("ml-100k, leave-one-out, pessimistic ties", ours, ML100K_LEAVE_ONE_OUT)
    print(
        f"\nleave-one-out Pop on ml-100k including loading: {loo_seconds:.2f} s "
        f"(target < 2 s) {'OK' if loo_seconds < 2 else 'MISSED'}"
    )
    ok &= loo_seconds < 2
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
