"""Recommenders behind one protocol (`base.Recommender`) and the registry naming them."""

from sessionrec.models.base import ModelConfig, Recommender, SessionBatch

__all__ = ["ModelConfig", "Recommender", "SessionBatch"]
