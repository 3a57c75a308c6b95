"""Contract tests a model, store, text encoder or index passes by subclassing one class.

Each contract is a mixin of pytest test methods; a test class that subclasses it and says
how to build the thing under test runs them all::

    from sessionrec.testing.contracts import ModelContract

    class TestMyModel(ModelContract):
        def make_model(self) -> Recommender:
            return MyModel(MyConfig(epochs=3))

These need pytest (a dev dependency of sessionrec, not a runtime one); the builders in
`sessionrec.testing` do not.
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401
except ImportError as exc:  # pragma: no cover - pytest is installed wherever tests run
    raise ImportError(
        "sessionrec.testing.contracts are pytest test classes: install pytest "
        "(`pip install pytest`, or sessionrec's dev extra) to use them"
    ) from exc

from sessionrec.testing.contracts.embedding import EmbeddingModelContract
from sessionrec.testing.contracts.index import IndexContract
from sessionrec.testing.contracts.model import ModelContract
from sessionrec.testing.contracts.store import SessionStoreContract
from sessionrec.testing.contracts.text import TextEncoderContract

__all__ = [
    "EmbeddingModelContract",
    "IndexContract",
    "ModelContract",
    "SessionStoreContract",
    "TextEncoderContract",
]
