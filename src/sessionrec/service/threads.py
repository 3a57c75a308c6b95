"""Thread limits for serving processes.

One recommendation is a handful of small matrix products. Spreading each over several
threads buys nothing at that size, and under concurrent requests (and several workers) the
threads of torch and BLAS fight over the same cores: measured on 2 cores under load, one
MovieLens-100K slate took ~380 ms with torch's default of 2 threads and ~6 ms with 1.
Parallelism in the service comes from requests and workers instead.
"""

from __future__ import annotations

import importlib.util

import torch

from sessionrec.errors import ConfigError


def limit_threads(n: int) -> None:
    """Cap torch's and BLAS's threads in this process at `n`."""
    if n < 1:
        raise ConfigError(f"threads must be at least 1, got {n}")
    torch.set_num_threads(n)
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)
