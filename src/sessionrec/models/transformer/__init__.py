"""The text-fused causal session transformer.

Item vector = ID embedding + adapter(frozen language-model text vector). A GPT-style stack
reads the session's item vectors plus position and event-type embeddings; the output at the
last position, dotted with every item vector, scores the next item. Trained with full
softmax cross-entropy at every position (the loss of gSASRec / SASRec-CE, which beats the
original one-negative BCE by a wide margin).

ID dropout zeroes an item's ID part at random during training, so the text path alone
learns to stand for an item. A second loss (the text head) scores items by their text part
alone, which makes the text parts a map of what people treat alike; an item never seen in
training borrows the mean vector of its nearest trained items on that map, plus a boost
chosen on validation (`models.exposure`). Learned offsets push down items the
session already holds where the training data says people do not repeat
(`models.repeats`).

`net.py` is the network (pure torch), `recommender.py` the model that fits, scores and
saves it, `space.py` the fitted model as an embedding space for the interactive engine.
"""

from sessionrec.models.transformer.net import (
    MLP,
    N_EVENT_TYPES,
    Block,
    CausalSelfAttention,
    CausalTransformer,
    Dropout,
    ItemEncoder,
    Losses,
    TransformerConfig,
)
from sessionrec.models.transformer.recommender import (
    MAX_BOOST_CASES,
    SessionTransformer,
    negative_log_probabilities,
)
from sessionrec.models.transformer.space import EmbeddingSpace, traced_encoder

__all__ = [
    "MAX_BOOST_CASES",
    "MLP",
    "N_EVENT_TYPES",
    "Block",
    "CausalSelfAttention",
    "CausalTransformer",
    "Dropout",
    "EmbeddingSpace",
    "ItemEncoder",
    "Losses",
    "SessionTransformer",
    "TransformerConfig",
    "negative_log_probabilities",
    "traced_encoder",
]
