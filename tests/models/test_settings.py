"""`--set` model options: scoped and unscoped, typed, and typos refused by name."""

from __future__ import annotations

import pytest

from sessionrec.errors import ConfigError
from sessionrec.models.hybrid import HybridConfig
from sessionrec.models.settings import build_configured, check_settings, configure, parse_settings
from sessionrec.models.transformer import TransformerConfig


def test_unscoped_options_apply_to_every_model_that_has_them() -> None:
    settings = parse_settings(["epochs=7", "dropout=0.25"])
    transformer = configure("transformer", settings)
    assert isinstance(transformer, TransformerConfig)
    assert (transformer.epochs, transformer.dropout) == (7, 0.25)
    hybrid = configure("hybrid", settings)
    assert isinstance(hybrid, HybridConfig)
    assert hybrid.transformer.epochs == 7  # reaches into the hybrid's transformer part
    check_settings(["pop", "transformer"], settings)  # pop has no epochs: fine, one model has


def test_scoped_options_apply_to_their_model_only() -> None:
    settings = parse_settings(["transformer.n_layers=3", "hybrid.weights=[0.5, 1.0]"])
    assert configure("transformer", settings).n_layers == 3  # type: ignore[attr-defined]
    hybrid = configure("hybrid", settings)
    assert hybrid.weights == (0.5, 1.0)  # type: ignore[attr-defined]
    assert hybrid.transformer.n_layers == 2  # type: ignore[attr-defined]
    nested = configure("hybrid", parse_settings(["hybrid.transformer.n_layers=1"]))
    assert nested.transformer.n_layers == 1  # type: ignore[attr-defined]
    model = build_configured("transformer", parse_settings(["text_encoder=hf:/models/x"]))
    assert model.config.text_encoder == "hf:/models/x"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("texts", "names", "message"),
    [
        (["epochs"], ["transformer"], "form"),
        (["epochs=five"], ["transformer"], "expected int"),
        (["dropout=true"], ["transformer"], "expected float"),
        (["transformer.epoch=3"], ["transformer"], "no option 'epoch'"),
        (["epoch=3"], ["transformer", "gru4rec"], "no chosen model"),
        (["gru4rec.epochs=3"], ["transformer"], "not among the chosen models"),
    ],
)
def test_mistakes_are_named(texts: list[str], names: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings = parse_settings(texts)
        check_settings(names, settings)
        for name in names:
            configure(name, settings)
