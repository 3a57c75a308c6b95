"""Shared fixtures: where the public data sets are, and skipping when they are not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """`$SESSIONREC_DATA`, else the `shared/data` folder beside the repository."""
    env = os.environ.get("SESSIONREC_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder holding ml-100k/ and rsc15-100k/; tests using it skip when it is absent."""
    root = shared_data_root()
    if not (root / "ml-100k").is_dir() or not (root / "rsc15-100k").is_dir():
        pytest.skip(f"shared data not found at {root} (set SESSIONREC_DATA)")
    return root
