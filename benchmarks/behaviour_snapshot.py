"""Record what the models and the engine return, to prove a refactoring changed nothing.

Run once before a change (`--out before.json`) and once after (`--out after.json
--compare before.json`): every model's scores on fixed sessions of a synthetic log, the
leave-one-out metrics of every model on that log, the engine's slates (reasons, interests
and scores included) for a fixed set of queries over a transformer and a hybrid artifact,
and, with `--shared`, the CLI's metrics on ml-100k and rsc15-100k. Scores are compared to
within float32 rounding (1e-5 relative); slates, item order, reasons and metrics exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionrec.artifact import save_artifact
from sessionrec.data.schema import Catalogue, Interactions, make_catalogue, normalise_events
from sessionrec.engine import Engine, Filters, Query, SessionEvent
from sessionrec.eval.protocols import prepare_leave_one_out
from sessionrec.eval.runner import fit_and_evaluate
from sessionrec.models.base import SessionBatch
from sessionrec.models.registry import MODELS
from sessionrec.text.base import TextEncoder
from sessionrec.text.template import ItemTextTemplate

DIMENSION = 32
GENRES = {
    "a": ("Animation", "cartoon animation kids family colourful"),
    "t": ("Thriller", "crime thriller dark murder night"),
    "c": ("Comedy", "comedy laugh funny romance wedding"),
}
PER_GENRE = 10
TINY = {
    "epochs": 4,
    "patience": 4,
    "embedding_size": 32,
    "n_heads": 2,
    "n_layers": 1,
    "dropout": 0.1,
    "learning_rate": 5e-3,
    "max_length": 20,
    "progress": False,
    "threads": 1,
}
RTOL = 1e-5


class WordHashEncoder(TextEncoder):
    """Each word hashed to a fixed random direction: deterministic, offline, fast."""

    @property
    def name(self) -> str:
        return "snapshot:word-hash"

    @property
    def dimension(self) -> int:
        return DIMENSION

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
                out[row] += np.random.default_rng(seed).normal(size=DIMENSION)
        return out


def catalogue() -> Catalogue:
    ids, titles, texts, cats, attrs = [], [], [], [], []
    for genre, (category, words) in GENRES.items():
        for i in range(PER_GENRE):
            ids.append(f"{genre}{i}")
            titles.append(f"{category} film {i}")
            texts.append(f"{words} {genre}{i}")
            cats.append([category])
            attrs.append({"decade": "1990s" if i % 2 else "2000s"})
    return make_catalogue(ids, titles, texts, cats, attrs, source="snapshot")


def events() -> Interactions:
    """Users who mostly stay in one genre, with a few jumps, in time order."""
    rng = np.random.default_rng(7)
    rows = []
    t = 0.0
    for user in range(150):
        home = "atc"[user % 3]
        for _ in range(8):
            genre = home if rng.random() < 0.8 else "atc"[rng.integers(3)]
            t += 1.0
            rows.append((f"u{user}", f"{genre}{rng.integers(PER_GENRE)}", t))
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return Interactions(normalise_events(frame))


def text_vectors(cat: Catalogue) -> dict[str, np.ndarray]:
    vectors = WordHashEncoder().encode(ItemTextTemplate().build(cat))
    return {str(i): vectors[r] for r, i in enumerate(cat.frame["item_id"])}


def build(name: str, cat: Catalogue) -> Any:
    cls = MODELS[name]
    config_class = cls.config_class
    if name == "transformer":
        return cls(config_class(**TINY), text_vectors=text_vectors(cat))  # type: ignore[call-arg]
    if name == "hybrid":
        from sessionrec.models.transformer import TransformerConfig

        model = cls(config_class(transformer=TransformerConfig(**TINY), progress=False))  # type: ignore[call-arg]
        model.transformer.text_vectors = text_vectors(cat)  # type: ignore[attr-defined]
        return model
    if name == "gru4rec":
        options = {k: v for k, v in TINY.items() if k in {"epochs", "patience", "progress"}}
        return cls(config_class(**options, threads=1))  # type: ignore[call-arg]
    return cls()


def probe_sessions(model: Any) -> SessionBatch:
    ids = ["a1", "a2", "t3", "c4", "c5", "a1", "zz-unknown"]
    rows = model.vocab.lookup(ids)
    return SessionBatch.of([], rows[:1], rows[:3], rows[2:6], rows)


def model_records(cat: Catalogue, log: Interactions) -> tuple[dict[str, Any], dict[str, Any]]:
    scores: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    prepared = replace(prepare_leave_one_out(log), catalogue=cat)
    for name in sorted(MODELS):
        model = build(name, cat)
        result = fit_and_evaluate(model, prepared)
        metrics[name] = result.metrics
        scores[name] = {
            "vocab": model.vocab.ids,
            "scores": np.asarray(model.score(probe_sessions(model)), dtype=np.float64).tolist(),
        }
    return scores, metrics


def engine_queries() -> list[dict[str, Any]]:
    def ev(item: str, kind: str = "view") -> SessionEvent:
        return SessionEvent(item, kind)  # type: ignore[arg-type]

    cases: list[tuple[str, Query]] = [
        ("empty", Query(events=[], k=5)),
        ("one view", Query(events=[ev("a1")], k=5)),
        ("request only", Query(events=[], text="cartoon for kids", k=5)),
        ("two interests", Query(events=[ev(i) for i in ["a1", "a2", "a3", "t1", "t2", "t3"]])),
        (
            "feedback",
            Query(events=[ev("a1"), ev("a2", "like"), ev("a3", "dislike"), ev("t1", "skip")], k=8),
        ),
        ("request", Query(events=[ev("t1"), ev("t2")], text="funny wedding comedy", k=6)),
        (
            "filters",
            Query(
                events=[ev("c1"), ev("c2")],
                filters=Filters(categories=("Comedy",), exclude_items=("c3",)),
                k=4,
            ),
        ),
        ("exclude seen", Query(events=[ev("c1"), ev("c2")], exclude_seen=True, k=6)),
        (
            "impressions",
            Query(events=[ev("a1")], impressions={"a2": 2, "a3": 1}, k=6),
        ),
        ("explore", Query(events=[ev("t4"), ev("t5")], explore=0.3, k=10)),
        ("unknown item", Query(events=[ev("nope"), ev("t4")], k=3)),
    ]
    return [{"name": name, "query": query} for name, query in cases]


def slate_record(slate: Any) -> dict[str, Any]:
    return {
        "items": [
            {
                "item_id": i.item_id,
                "score": i.score,
                "title": i.title,
                "interest": i.interest,
                "reasons": [[r.kind, r.text, list(r.item_ids)] for r in i.reasons],
            }
            for i in slate.items
        ],
        "interests": [[x.weight, list(x.item_ids), x.label] for x in slate.interests],
        "unknown": list(slate.unknown_items),
    }


def engine_records(cat: Catalogue, log: Interactions, folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("transformer", "hybrid"):
        model = build(name, cat)
        model.fit(log, cat)
        artifact = save_artifact(model, folder / name, log, {"event_types": {"view": 1200}}, cat)
        engine = Engine.from_artifact(artifact, encoder=WordHashEncoder())
        slates = {}
        for case in engine_queries():
            rng = np.random.default_rng(3)
            slates[case["name"]] = slate_record(
                engine.recommend(case["query"], {"t6": (3, 1)}, rng)
            )
        engine.upsert_item("new1", "Brand new cartoon", text="cartoon animation kids new")
        slates["after upsert"] = slate_record(
            engine.recommend(Query(events=[SessionEvent("a1", "view")], k=10))  # type: ignore[arg-type]
        )
        slates["full scores"] = {"scores": engine.scores(engine_queries()[4]["query"]).tolist()}
        out[name] = slates
    return out


def shared_records(data: Path, work: Path) -> dict[str, Any]:
    runs = {
        "ml-100k": [
            "--data", str(data / "ml-100k"), "--protocol", "leave-one-out",
            "--models", "pop,sr,vsknn,transformer", "--set", "epochs=2",
        ],
        "rsc15-100k": [
            "--train", str(data / "rsc15-100k" / "yoochoose-clicks-100k_train_full.txt"),
            "--test", str(data / "rsc15-100k" / "yoochoose-clicks-100k_test.txt"),
            "--protocol", "next-item", "--models", "pop,sr,vsknn,hybrid", "--set", "epochs=2",
        ],
    }  # fmt: skip
    out: dict[str, Any] = {}
    cli = Path(sys.executable).with_name("sessionrec")
    for name, args in runs.items():
        target = work / f"{name}.json"
        subprocess.run([str(cli), "evaluate", *args, "--json", str(target)], check=True)
        results = json.loads(target.read_text())["results"]
        out[name] = {
            model: {k: v for k, v in figures.items() if not k.endswith("_seconds")}
            for model, figures in results.items()
        }
    return out


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two records differ: floats of `scores` lists to RTOL, everything else exactly."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            if key not in before or key not in after:
                found.append(f"{path}/{key}: only in {'after' if key in after else 'before'}")
            else:
                found += differences(before[key], after[key], f"{path}/{key}")
        return found
    if path.endswith("/scores") and isinstance(before, list):
        a, b = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
        if a.shape != b.shape:
            return [f"{path}: shape {a.shape} vs {b.shape}"]
        same = np.isclose(a, b, rtol=RTOL, atol=1e-6) | (np.isinf(a) & (a == b))
        return [] if same.all() else [f"{path}: {int((~same).sum())} scores differ"]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="an earlier --out to compare with")
    parser.add_argument("--shared", action="store_true", help="also ml-100k and rsc15-100k")
    args = parser.parse_args()
    cat, log = catalogue(), events()
    scores, metrics = model_records(cat, log)
    with tempfile.TemporaryDirectory() as work:
        record = {
            "model_scores": scores,
            "synthetic_metrics": metrics,
            "engine": engine_records(cat, log, Path(work)),
        }
        if args.shared:
            data = Path(os.environ.get("SESSIONREC_DATA", "../shared/data"))
            record["shared_metrics"] = shared_records(data, Path(work))
    args.out.write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")
    if args.compare is None:
        return 0
    found = differences(json.loads(args.compare.read_text()), record)
    for line in found:
        print("DIFFERENT", line)
    print("identical" if not found else f"{len(found)} differences")
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main())
