"""Defaults of the workflows, importable without torch or pandas (the CLI's help shows them)."""

from __future__ import annotations

DEFAULT_TRAIN_MODEL = "hybrid"
"""What `sessionrec train` fits without --model."""

DEMO_MODEL = "transformer"
DEMO_TRAIN_SECONDS = 150.0
"""Training budget: the demo must be up within a few minutes on a 2-core machine."""
DEMO_THREADS = 2
DEMO_MODELS = "pop,sr,sknn,vsknn"
"""The baselines `sessionrec demo --evaluate` compares."""

RETRAIN_METRICS = ("NDCG@10", "HR@10", "MRR@10", "NDCG@20", "HR@20", "MRR@20")
"""What `sessionrec retrain --metric` may judge by (the next-item protocol's figures)."""
DEFAULT_RETRAIN_METRIC = "NDCG@10"
DEFAULT_HOLDOUT_SHARE = 0.1
"""Share of the exported sessions, the most recently active, held out to judge on."""
DEFAULT_MIN_HOLDOUT = 50
"""Fewest sessions held out; with fewer the judgement is refused (unless --force)."""
