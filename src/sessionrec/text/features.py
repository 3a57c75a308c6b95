"""Item text vectors for models: catalogue → template → encoder (cached) → id → vector."""

from __future__ import annotations

import logging

import numpy as np

from sessionrec.data.schema import ITEM_ID, Catalogue
from sessionrec.text.cache import EmbeddingCache
from sessionrec.text.registry import load_encoder_on_use
from sessionrec.text.template import DEFAULT_TEMPLATE, ItemTextTemplate

logger = logging.getLogger(__name__)


def item_text_vectors(
    catalogue: Catalogue,
    encoder: str | None = None,
    template: str = DEFAULT_TEMPLATE,
    show_progress: bool = False,
) -> dict[str, np.ndarray]:
    """Unit text vectors of the catalogue's items that have any text, keyed by item id.

    Items whose template renders empty are left out: models give them the ID path alone.
    Vectors come from the on-disk cache where the same encoder saw the same text before;
    the default encoder's model is loaded only if some text is not cached.
    The default template is fitted to the catalogue's fields (`ItemTextTemplate.for_catalogue`).
    """
    texts = ItemTextTemplate.for_catalogue(catalogue, template, allow_id_fallback=True).build(
        catalogue
    )
    ids = [str(i) for i in catalogue.frame[ITEM_ID]]
    with_text = [(i, t) for i, t in zip(ids, texts, strict=True) if t]
    if not with_text:
        # The template has said so, with its fields; this is only the consequence.
        logger.debug("no item in %s has text; the model uses item ids only", catalogue.source)
        return {}
    vectors = EmbeddingCache().encode_with_cache(
        load_encoder_on_use(encoder), [t for _, t in with_text], show_progress=show_progress
    )
    return {item: vectors[row] for row, (item, _) in enumerate(with_text)}
