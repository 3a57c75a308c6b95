"""Peers' figures from ../shared/anchors.md, measured with their own code (November 2026)."""

from __future__ import annotations

RSC15_NEXT_ITEM: dict[str, dict[str, float]] = {
    "pop": {"HR@10": 0.0739, "MRR@10": 0.0254, "HR@20": 0.0894, "MRR@20": 0.0264, "COV@20": 0.007},
    "sr": {"HR@10": 0.5596, "MRR@10": 0.3389, "HR@20": 0.6177, "MRR@20": 0.3429, "COV@20": 0.917},
    "vsknn": {
        "HR@10": 0.5993,
        "MRR@10": 0.3589,
        "HR@20": 0.6668,
        "MRR@20": 0.3636,
        "COV@20": 0.928,
    },
}
"""session-rec's Pop, SR and V-SKNN under the next-item protocol, pessimistic ties."""

RSC15_VSKNN_PEER_SECONDS = 33.0
"""session-rec's V-SKNN, whole test set, single-threaded, on a machine like ours."""

ML100K_LEAVE_ONE_OUT: dict[str, dict[str, float]] = {
    "pop": {
        "HR@10": 0.0498,
        "NDCG@10": 0.0220,
        "MRR@10": 0.0136,
        "HR@20": 0.0795,
        "NDCG@20": 0.0294,
    },
}
"""The reference popularity model (counts over training interactions), RecBole's LS split."""

PARITY_TOLERANCE = 0.02
"""Relative difference within which a reproduction counts as the same result."""
