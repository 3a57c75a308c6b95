"""Model names as the CLI and configs spell them, and how to build each."""

from __future__ import annotations

from sessionrec.errors import unknown_choice
from sessionrec.models.base import Recommender
from sessionrec.models.gru4rec import GRU4Rec
from sessionrec.models.hybrid import Hybrid
from sessionrec.models.knn import SessionKNN, VectorSessionKNN
from sessionrec.models.pop import Pop
from sessionrec.models.rules import SequentialRules
from sessionrec.models.stan import STAN, VSTAN
from sessionrec.models.transformer import SessionTransformer

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        Pop,
        SessionKNN,
        VectorSessionKNN,
        STAN,
        VSTAN,
        SequentialRules,
        GRU4Rec,
        SessionTransformer,
        Hybrid,
    )
}


def model_class(name: str) -> type[Recommender]:
    """The class registered under `name`; a ConfigError listing valid names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise unknown_choice("model", name, list(MODELS)) from None


def parse_model_list(spec: str) -> list[str]:
    """'pop, vsknn' → ['pop', 'vsknn'], checking every name and rejecting an empty list."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise unknown_choice("model", spec, list(MODELS))
    for name in names:
        model_class(name)
    return names


def build_model(name: str) -> Recommender:
    """A fresh, unfitted model with its default config."""
    return model_class(name)()
