"""Protocol parity with the peers' own evaluators on the shared data (../shared/anchors.md).

A mismatch here means our protocol differs from the peer's; nothing built on top is honest
until it passes. Figures are pessimistic-tie figures, within ±2 % relative.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionrec.data.loaders import DataOptions
from sessionrec.eval.experiment import prepare, run
from sessionrec.eval.protocols import ProtocolName

pytestmark = pytest.mark.shared_data

RSC15_ANCHORS = {
    "pop": {"HR@20": 0.0894, "MRR@20": 0.0264},
    "sr": {"HR@20": 0.6177, "MRR@20": 0.3429},
    "vsknn": {"HR@10": 0.5993, "HR@20": 0.6668, "MRR@20": 0.3636},
    "stan": {"HR@10": 0.6125, "MRR@10": 0.3654, "HR@20": 0.6767, "MRR@20": 0.3700},
    "vstan": {"HR@10": 0.6273, "MRR@10": 0.3713, "HR@20": 0.6908, "MRR@20": 0.3759},
}
ML100K_POP_ANCHORS = {"HR@10": 0.0498, "NDCG@10": 0.0220, "HR@20": 0.0795}
ML100K_POP_EXCLUDED_ANCHORS = {"HR@10": 0.0838, "NDCG@10": 0.0432, "HR@20": 0.1262}
"""Popularity with every history item removed from the ranking (the whole history, not
only the last 50 the models read)."""


def test_rsc15_next_item_matches_session_rec(shared_data: Path) -> None:
    folder = shared_data / "rsc15-100k"
    prepared = prepare(
        ProtocolName.NEXT_ITEM,
        DataOptions(
            train=folder / "yoochoose-clicks-100k_train_full.txt",
            test=folder / "yoochoose-clicks-100k_test.txt",
        ),
    )
    assert prepared.stats["test_cases"] == 10_152
    assert prepared.stats["items"] == 2_933
    report = run(prepared, list(RSC15_ANCHORS))
    for model, anchors in RSC15_ANCHORS.items():
        for metric, expected in anchors.items():
            got = report.results[model].metrics[metric]
            assert got == pytest.approx(expected, rel=0.02), (model, metric, got)


@pytest.mark.parametrize(
    ("exclude_seen", "anchors"),
    [(False, ML100K_POP_ANCHORS), (True, ML100K_POP_EXCLUDED_ANCHORS)],
    ids=["history-ranked", "history-excluded"],
)
def test_ml100k_leave_one_out_pop_matches_the_reference(
    shared_data: Path, exclude_seen: bool, anchors: dict[str, float]
) -> None:
    prepared = prepare(ProtocolName.LEAVE_ONE_OUT, DataOptions(data=shared_data / "ml-100k"))
    assert prepared.stats["test_cases"] == 943
    report = run(prepared, ["pop"], exclude_seen=exclude_seen)
    assert report.to_dict()["exclude_seen"] is exclude_seen
    metrics = report.results["pop"].metrics
    for metric, expected in anchors.items():
        assert metrics[metric] == pytest.approx(expected, rel=0.02), (metric, metrics[metric])
