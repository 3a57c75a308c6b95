"""Hard constraints of an understood request over a small shop table."""

from __future__ import annotations

import numpy as np

from sessionrec.engine.catalogue import ItemInfo, ItemTable
from sessionrec.engine.constraints import apply_constraints, has_constraints
from sessionrec.engine.interpret import UnderstoodRequest

TABLE = ItemTable(
    [
        ItemInfo("kettle", "Kettle", ("Kitchen", "Tea"), {"price": 40, "brand": "Brewline"}),
        ItemInfo("grinder", "Grinder", ("Kitchen", "Coffee"), {"price": "89.00", "brand": "Mill"}),
        ItemInfo("beans", "Beans", ("Coffee",), {"price": 12.5}),
        ItemInfo("lamp", "Lamp", ("Office", "Lighting"), {"price": 35, "brand": "Brewline"}),
        ItemInfo("tent", "Tent", ("Outdoor",), {}),
    ]
)
ALL = np.ones(len(TABLE), dtype=bool)


def allowed_ids(understood: UnderstoodRequest, allowed: np.ndarray = ALL) -> list[str]:
    result = apply_constraints(TABLE, understood, allowed)
    assert result.mask is not None
    return [TABLE.infos[i].item_id for i in np.flatnonzero(result.mask & allowed)]


def test_no_hard_part_means_no_mask() -> None:
    soft = UnderstoodRequest(soft="something cosy")
    assert not has_constraints(soft)
    assert apply_constraints(TABLE, soft, ALL).mask is None


def test_asked_categories_must_all_hold_and_refused_ones_never() -> None:
    assert allowed_ids(UnderstoodRequest(include=("Kitchen", "Coffee"))) == ["grinder"]
    assert allowed_ids(UnderstoodRequest(include=("coffee",))) == ["grinder", "beans"]
    assert allowed_ids(UnderstoodRequest(exclude=("Kitchen", "Outdoor"))) == ["beans", "lamp"]


def test_categories_that_never_meet_fall_back_to_any_of_them_with_a_note() -> None:
    result = apply_constraints(TABLE, UnderstoodRequest(include=("Tea", "Lighting")), ALL)
    assert result.mask is not None
    assert [TABLE.infos[i].item_id for i in np.flatnonzero(result.mask)] == ["kettle", "lamp"]
    assert result.notes == ("nothing is Tea and Lighting: showing any of them",)


def test_ranges_read_numbers_and_exclude_items_without_the_attribute() -> None:
    under_50 = UnderstoodRequest(ranges={"price": (None, 50.0)})
    assert allowed_ids(under_50) == ["kettle", "beans", "lamp"]  # the tent has no price
    assert allowed_ids(UnderstoodRequest(ranges={"price": (80.0, 90.0)})) == ["grinder"]


def test_values_are_asked_for_and_refused_case_insensitively() -> None:
    assert allowed_ids(UnderstoodRequest(values={"brand": ("brewline",)})) == ["kettle", "lamp"]
    refused = UnderstoodRequest(exclude_values={"brand": ("Brewline",)})
    assert allowed_ids(refused) == ["grinder", "beans", "tent"]


def test_nothing_left_is_said_not_ignored() -> None:
    impossible = UnderstoodRequest(include=("Coffee",), ranges={"price": (100.0, None)})
    result = apply_constraints(TABLE, impossible, ALL)
    assert result.mask is not None and not result.mask.any()
    assert result.notes == ("nothing here is Coffee, price 100 or more",)
    # What the query already rules out counts: only the grinder has both, and it is seen.
    seen_grinder = ALL.copy()
    seen_grinder[TABLE.index["grinder"]] = False
    both = UnderstoodRequest(include=("Kitchen", "Coffee"))
    notes = apply_constraints(TABLE, both, seen_grinder).notes
    assert notes[0] == "nothing is Kitchen and Coffee: showing any of them"
