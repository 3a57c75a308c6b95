"""The vocabulary: stable indices, a sentinel for unknown ids, and a JSON round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionrec.data.vocab import UNKNOWN_INDEX, Vocabulary


def test_indices_follow_first_appearance_and_repeats_are_ignored() -> None:
    vocab = Vocabulary(["b", "a", "b", "c"])
    assert vocab.ids == ["b", "a", "c"]
    assert vocab.index("a") == 1
    assert len(vocab) == 3


def test_unknown_ids_map_to_the_sentinel_and_are_reported() -> None:
    vocab = Vocabulary(["x", "y"])
    assert vocab.lookup(["y", "z", "x", "z", "w"]).tolist() == [1, UNKNOWN_INDEX, 0, -1, -1]
    assert vocab.unknown(["y", "z", "x", "z", "w"]) == ["z", "w"]
    assert "z" not in vocab


def test_ids_are_strings_so_leading_zeros_matter() -> None:
    vocab = Vocabulary(["0012", "12"])
    assert vocab.index("0012") != vocab.index("12")
    assert vocab.index(12) == 1  # type: ignore[arg-type]  # ints are read as their text


def test_decode_rejects_indices_outside_the_vocabulary() -> None:
    vocab = Vocabulary(["a"])
    assert vocab.decode([0]) == ["a"]
    with pytest.raises(IndexError):
        vocab.decode([UNKNOWN_INDEX])


@given(st.lists(st.text(min_size=1, max_size=5), max_size=30))
def test_round_trip(ids: list[str]) -> None:
    vocab = Vocabulary(ids)
    assert Vocabulary(vocab.to_list()) == vocab
    assert vocab.decode(vocab.lookup(ids)) == ids
