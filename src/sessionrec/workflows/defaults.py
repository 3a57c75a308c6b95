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
