"""Retrieval over item vectors: exact top-k now, room for an approximate index later."""

from sessionrec.index.exact import ExactIndex, top_k

__all__ = ["ExactIndex", "top_k"]
