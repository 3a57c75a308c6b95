"""Smoke test of `benchmarks/bench_understand.py` on a tiny artifact: every row, valid JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from sessionrec.data.schema import ITEM_ID, SESSION_ID, TIMESTAMP, USER_ID
from sessionrec.testing.artifacts import genre_transformer_artifact
from sessionrec.testing.genres import BagOfWordsEncoder, genre_events

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_understand.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_understand", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_users(path: Path) -> Path:
    """`genre_events` with sessions paired into users (s0+s1, s2+s3, ...), so some users
    rate comedies and then something else, as the exclusion rows need."""
    frame = genre_events().frame
    users = frame[SESSION_ID].map(lambda s: f"u{int(s[1:]) // 2}")
    out = frame.assign(**{USER_ID: users})[[USER_ID, ITEM_ID, TIMESTAMP]]
    out.to_csv(path, index=False)
    return path


def test_prints_every_row_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_script()
    artifact = genre_transformer_artifact(tmp_path / "artifact")
    data = write_users(tmp_path / "events.csv")
    report = tmp_path / "report.json"
    encoder = BagOfWordsEncoder()
    argv = [
        "--artifacts",
        f"one={artifact}",
        f"two={artifact}",
        "--data",
        str(data),
        "--users",
        "3",
        "--session-length",
        "3",
        "--items",
        "300",
        "--latency-requests",
        "40",
        "--json",
        str(report),
    ]
    code = bench.main(argv, encoders={"one": encoder, "two": encoder})
    assert code in (0, 1)
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:3] == ["measure", "one", "two"]
    written = json.loads(report.read_text())
    assert [r["key"] for r in written["rows"]] == [r.key for r in bench.ROWS]
    for row in written["rows"]:
        assert row["name"] in out
    assert "36 items: p50 / p99" in out and "300 items: p50 / p99" in out
    rows = {r["key"]: r["results"] for r in written["rows"]}
    # The tiny catalogue has Animation and Comedy: those rows measure something.
    assert rows["category_en"]["one"]["n"] > 0
    assert rows["exclusion_en"]["one"]["n"] > 0
    assert rows["dislike_random"]["one"]["n"] == 3
    assert rows["scale_latency"]["two"]["value"] > 0
    assert rows["new_text_latency"]["one"]["value"] > 0
    # No Horror, no years, no Toy Story there: those rows say so instead of a figure.
    assert rows["era_en"]["one"]["figure"] == "n/a"
    assert rows["dislike_named"]["one"]["figure"] == "n/a"
    assert rows["category_en"]["one"] == rows["category_en"]["two"]


def test_free_form_texts_are_distinct_and_share_their_words() -> None:
    texts = load_script().free_form_texts(200, np.random.default_rng(0))
    assert len(texts) == len(set(texts)) == 200
    words = [w for t in texts for w in t.split()]
    assert len(set(words)) < len(words) / 4  # people repeat words, not requests
