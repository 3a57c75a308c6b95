"""Model options from the command line: `--set epochs=5 --set transformer.dropout=0.3`.

A setting is `[model.]option[.option]=value`. Without a model name it applies to every
chosen model that has the option (at its top level or in a part, such as the hybrid's
transformer), and must apply to at least one. Values are read as JSON where they parse
(numbers, true/false, null, lists) and as text otherwise, then checked against the type of
the option's default, so `epochs=five` fails here with the option's name rather than deep
inside training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sessionrec.errors import ConfigError
from sessionrec.models.base import ModelConfig, Recommender
from sessionrec.models.registry import MODELS, model_class


@dataclass(frozen=True)
class Setting:
    """One `key=value` from the command line."""

    model: str | None
    path: tuple[str, ...]
    value: Any
    text: str

    @classmethod
    def parse(cls, text: str) -> Setting:
        key, sep, raw = text.partition("=")
        parts = tuple(p.strip() for p in key.strip().split("."))
        if not sep or not all(parts):
            raise ConfigError(f"setting {text!r} is not of the form [model.]option=value")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        model = parts[0] if parts[0] in MODELS and len(parts) > 1 else None
        return cls(model, parts[1:] if model else parts, value, text)


def parse_settings(texts: Sequence[str]) -> list[Setting]:
    return [Setting.parse(t) for t in texts]


def _checked(value: Any, default: Any, setting: Setting) -> Any:
    """`value` if it fits the kind of `default` (ints widen to floats, lists to tuples)."""
    if default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        expected = "a list" if isinstance(default, list | tuple) else type(default).__name__
        raise ConfigError(f"setting {setting.text!r}: expected {expected}, got {value!r}")
    return value


def _apply(values: dict[str, Any], path: tuple[str, ...], setting: Setting) -> bool:
    """Set `path` inside nested `values`; False when the path does not exist there."""
    node = values
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            return False
        node = node[key]
    if path[-1] not in node or isinstance(node[path[-1]], dict):
        return False
    node[path[-1]] = _checked(setting.value, node[path[-1]], setting)
    return True


def _apply_anywhere(values: dict[str, Any], setting: Setting) -> bool:
    """Top level first, else every part (one level down) that has the option."""
    if _apply(values, setting.path, setting):
        return True
    parts = [key for key, value in values.items() if isinstance(value, dict)]
    return any([_apply(values[part], setting.path, setting) for part in parts])


def configure(name: str, settings: Sequence[Setting]) -> ModelConfig:
    """`name`'s default config with the settings that concern it applied."""
    return reconfigure(name, model_class(name).config_class(), settings)


def reconfigure(name: str, config: ModelConfig, settings: Sequence[Setting]) -> ModelConfig:
    """`config` (of model `name`: a trained model's, say) with the settings that concern
    `name` applied, checked as `configure` checks them."""
    cls = model_class(name)
    values = config.to_dict()
    for setting in settings:
        if setting.model is not None and setting.model != name:
            continue
        applied = (
            _apply(values, setting.path, setting)
            if setting.model
            else _apply_anywhere(values, setting)
        )
        if setting.model and not applied:
            raise ConfigError(
                f"setting {setting.text!r}: {name} has no option {'.'.join(setting.path)!r}; "
                f"options: {', '.join(sorted(values))}"
            )
    return cls.config_class.from_dict(values)


def check_settings(names: Sequence[str], settings: Sequence[Setting]) -> None:
    """Every setting must concern one of the chosen models (a typo must not pass silently)."""
    for setting in settings:
        if setting.model is not None:
            if setting.model not in names:
                raise ConfigError(
                    f"setting {setting.text!r} names {setting.model}, which is not among the "
                    f"chosen models ({', '.join(names)})"
                )
            continue
        if not any(
            _apply_anywhere(model_class(n).config_class().to_dict(), setting) for n in names
        ):
            raise ConfigError(
                f"setting {setting.text!r}: no chosen model ({', '.join(names)}) has an option "
                f"{'.'.join(setting.path)!r}"
            )


def build_configured(name: str, settings: Sequence[Setting] = ()) -> Recommender:
    """A fresh model of `name` with `settings` applied."""
    return model_class(name)(configure(name, settings))
