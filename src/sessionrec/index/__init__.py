"""Retrieval over item vectors: the `ItemIndex` protocol and its exact implementation."""

from sessionrec.index.base import ItemIndex
from sessionrec.index.exact import ExactIndex, top_k, top_k_columns

__all__ = ["ExactIndex", "ItemIndex", "top_k", "top_k_columns"]
