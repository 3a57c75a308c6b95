"""The contract every model honours (`sessionrec.testing.contracts.ModelContract`); each
model's class here only says how to build it."""

from __future__ import annotations

from sessionrec.models.base import Recommender
from sessionrec.models.registry import MODELS
from sessionrec.testing import quick_model
from sessionrec.testing.contracts import ModelContract


class TestPop(ModelContract):
    learns_order = False  # popularity ignores the session by design

    def make_model(self) -> Recommender:
        return quick_model("pop")


class TestSessionKNN(ModelContract):
    # Plain SKNN ignores order (i0 before i1 is as similar as i3 after i2).
    ring_places = 2

    def make_model(self) -> Recommender:
        return quick_model("sknn")


class TestVectorSessionKNN(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("vsknn")


class TestSTAN(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("stan")


class TestVSTAN(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("vstan")


class TestSequentialRules(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("sr")


class TestGRU4Rec(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("gru4rec")


class TestSessionTransformer(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("transformer")


class TestHybrid(ModelContract):
    def make_model(self) -> Recommender:
        return quick_model("hybrid")


def test_every_registered_model_has_a_contract_class() -> None:
    classes = [
        cls
        for cls in globals().values()
        if isinstance(cls, type) and issubclass(cls, ModelContract) and cls is not ModelContract
    ]
    assert {cls().make_model().name for cls in classes} == set(MODELS)
