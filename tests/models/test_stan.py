"""STAN and VSTAN on hand-built logs whose scores were worked out by hand from the formulas
(`sessionrec.models.stan`); the contract tests are in `test_contract.py`."""

from __future__ import annotations

from math import exp, log, sqrt
from pathlib import Path

import numpy as np
import pytest

from sessionrec.data.schema import Interactions
from sessionrec.errors import ConfigError
from sessionrec.models.base import SessionBatch
from sessionrec.models.settings import configure, parse_settings
from sessionrec.models.stan import STAN, VSTAN, STANConfig, VSTANConfig
from sessionrec.testing import interactions

DAY = 86_400.0
E = exp(-1)  # every decay below is 1 click or 1 day: exp(-1) per step
UNIT = {"lambda_spw": 1.0, "lambda_snh": 1.0, "lambda_inh": 1.0}


def two_sessions() -> Interactions:
    """s1 = a b c ending at t = 2 s; s2 = b d ending exactly one day later."""
    return interactions(
        [
            ("s1", "a", 0.0),
            ("s1", "b", 1.0),
            ("s1", "c", 2.0),
            ("s2", "b", DAY + 1.0),
            ("s2", "d", DAY + 2.0),
        ]
    )


def scores_of(model: STAN, session: list[str]) -> dict[str, float]:
    row = model.score(SessionBatch([model.vocab.lookup(session)]))[0]
    return dict(zip(model.vocab.ids, row.tolist(), strict=True))


def test_stan_scores_match_the_hand_worked_example() -> None:
    model = STAN(STANConfig(k=10, sample_size=0, **UNIT)).fit(two_sessions())
    got = scores_of(model, ["a", "b"])
    # Session a b: weights a e^-1 (one click back), b 1; |s| = sqrt(1 + e^-2).
    norm = sqrt(1 + E**2)
    # s1 = {a, b, c}, one day older than s2: cosine (e^-1 + 1) / (|s| sqrt 3), decay e^-1.
    w1 = (1 + E) / (norm * sqrt(3)) * E
    # s2 = {b, d}, the most recent: cosine 1 / (|s| sqrt 2).
    w2 = 1 / (norm * sqrt(2))
    # p* is b's position in each neighbour (2 in s1, 1 in s2); items decay by distance.
    expected = {"a": w1 * E, "b": w1 + w2, "c": w1 * E, "d": w2 * E}
    assert got == pytest.approx(expected, rel=1e-12)
    assert got["a"] > 0  # λsnh read as seconds would give s1 (a day older) exp(-86400) = 0


def test_the_age_decay_reads_lambda_snh_in_days() -> None:
    """Halving λsnh squares s1's decay; moving every event by a year changes nothing."""
    half = STAN(STANConfig(k=10, sample_size=0, **{**UNIT, "lambda_snh": 0.5}))
    got = scores_of(half.fit(two_sessions()), ["a", "b"])
    norm = sqrt(1 + E**2)
    w1 = (1 + E) / (norm * sqrt(3)) * E**2
    w2 = 1 / (norm * sqrt(2))
    assert got["c"] == pytest.approx(w1 * E, rel=1e-12)
    assert got["d"] == pytest.approx(w2 * E, rel=1e-12)

    frame = two_sessions().frame.copy()
    frame["timestamp"] += 365 * DAY
    later = STAN(STANConfig(k=10, sample_size=0, **UNIT)).fit(two_sessions().replace(frame))
    base = STAN(STANConfig(k=10, sample_size=0, **UNIT)).fit(two_sessions())
    assert scores_of(later, ["a", "b"]) == pytest.approx(scores_of(base, ["a", "b"]), rel=1e-12)


def test_a_neighbours_repeated_item_votes_once_from_its_last_position() -> None:
    log_ = interactions([("n", item, float(t)) for t, item in enumerate(["x", "b", "y", "x", "z"])])
    model = STAN(STANConfig(k=10, sample_size=0, **UNIT)).fit(log_)
    got = scores_of(model, ["b"])
    sim = 1 / sqrt(4)  # {x, b, y, z}: four distinct items, b shared, weight 1
    # p* = 2 (b); x counts once, from position 4: distance 2.
    expected = {"x": sim * E**2, "b": sim, "y": sim * E, "z": sim * E**3}
    assert got == pytest.approx(expected, rel=1e-12)


def test_candidates_are_the_most_recent_sessions_and_neighbours_the_most_similar() -> None:
    log_ = interactions(
        [
            ("old", "a", 0.0),
            ("old", "b", 1.0),
            ("new", "a", 10.0),
            ("new", "c", 11.0),
            ("new", "d", 12.0),
            ("new", "e", 13.0),
        ]
    )

    def voted(k: int, sample_size: int) -> set[str]:
        model = STAN(STANConfig(k=k, sample_size=sample_size, **UNIT)).fit(log_)
        return {item for item, score in scores_of(model, ["a"]).items() if score > 0}

    assert voted(k=10, sample_size=1) == {"a", "c", "d", "e"}  # only the recent one sampled
    assert voted(k=10, sample_size=0) == {"a", "b", "c", "d", "e"}
    # Cosine 1/sqrt 2 beats 1/sqrt 4 (the 13 s of age are nothing at a day's decay).
    assert voted(k=1, sample_size=0) == {"a", "b"}


def test_vstan_scores_match_the_hand_worked_example() -> None:
    config = VSTANConfig(
        k=10, sample_size=0, similarity="cosine", lambda_ipw=1.0, lambda_idf=1.0, **UNIT
    )
    model = VSTAN(config).fit(two_sessions())
    got = scores_of(model, ["b", "a"])
    # Session b a: weights b e^-1, a 1.
    norm = sqrt(1 + E**2)
    # s1 shares a (the last click: λipw factor 1); s2 shares only b, one click back: e^-1.
    w1 = (1 + E) / (norm * sqrt(3)) * E * 1
    w2 = E / (norm * sqrt(2)) * 1 * E
    # idf = log(2 sessions / training events): a, c, d log 2; b (two events) 0.
    boost = 1 + log(2)
    expected = {"a": w1 * E * boost, "b": w1 + w2, "c": w1 * E * boost, "d": w2 * E * boost}
    assert got == pytest.approx(expected, rel=1e-12)


def test_vstan_vec_similarity_divides_by_the_sessions_distinct_items() -> None:
    config = VSTANConfig(
        k=10, sample_size=0, similarity="vec", lambda_ipw=1.0, lambda_idf=0.0, **UNIT
    )
    got = scores_of(VSTAN(config).fit(two_sessions()), ["b", "a"])
    w1 = (1 + E) / 2 * E  # (e^-1 + 1) over two items, a day older
    w2 = E / 2 * E  # e^-1 over two items, b one click back
    assert got == pytest.approx({"a": w1 * E, "b": w1 + w2, "c": w1 * E, "d": w2 * E})


def test_defaults_are_the_peers_rsc15_settings_and_bad_values_are_refused() -> None:
    stan = STANConfig()
    assert (stan.k, stan.sample_size, stan.lambda_spw, stan.lambda_snh, stan.lambda_inh) == (
        1000,
        10000,
        0.5,
        20.0,
        0.5,
    )
    vstan = VSTANConfig()
    assert (vstan.k, vstan.sample_size, vstan.lambda_spw, vstan.lambda_snh) == (2000, 2500, 8, 10)
    assert (vstan.lambda_inh, vstan.lambda_ipw, vstan.lambda_idf) == (8, 0.5, 2)
    with pytest.raises(ConfigError, match="lambda_snh"):
        STANConfig(lambda_snh=0.0)
    with pytest.raises(ConfigError, match="similarity"):
        VSTANConfig(similarity="jaccard")
    with pytest.raises(ConfigError, match="lambda_idf"):
        VSTANConfig(lambda_idf=-1.0)


def test_options_are_settable_from_the_command_line() -> None:
    config = configure("vstan", parse_settings(["vstan.similarity=vec", "lambda_snh=3"]))
    assert isinstance(config, VSTANConfig)
    assert (config.similarity, config.lambda_snh) == ("vec", 3.0)
    assert configure("stan", parse_settings(["stan.k=50"])).k == 50  # type: ignore[attr-defined]


def test_save_and_load_keep_the_sequences_and_times(tmp_path: Path) -> None:
    model = VSTAN(VSTANConfig(k=10, sample_size=0, lambda_idf=1.0, **UNIT)).fit(two_sessions())
    model.save(tmp_path / "vstan")
    loaded = VSTAN.load(tmp_path / "vstan")
    batch = SessionBatch([model.vocab.lookup(["b", "a"]), model.vocab.lookup(["d"])])
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))
