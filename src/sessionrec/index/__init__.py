"""Retrieval over item vectors: the `ItemIndex` protocol, exact search, FAISS, and the
builder that picks one by size."""

from sessionrec.index.approximate import FaissIndex
from sessionrec.index.base import IndexBuilder, ItemIndex
from sessionrec.index.exact import ExactIndex, top_k, top_k_columns
from sessionrec.index.sized import SizedIndex, index_builder

__all__ = [
    "ExactIndex",
    "FaissIndex",
    "IndexBuilder",
    "ItemIndex",
    "SizedIndex",
    "index_builder",
    "top_k",
    "top_k_columns",
]
