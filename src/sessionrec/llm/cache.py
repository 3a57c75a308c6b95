"""Answers remembered by their exact prompt.

A chat model at temperature 0 answers the same prompt the same way, and people repeat
requests (refreshing a page, paging back), so an answer is kept under a key of everything
that was sent: model, messages, schema and token limit. A different session or request
is a different prompt, so nothing leaks between them beyond what the prompt holds.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ChatCache", "prompt_key"]


def prompt_key(
    model: str,
    messages: Sequence[Mapping[str, str]],
    schema: Mapping[str, Any] | None,
    max_tokens: int,
) -> str:
    """A digest of everything one chat request sends (canonical JSON, sorted keys)."""
    blob = json.dumps(
        {
            "model": model,
            "messages": list(map(dict, messages)),
            "schema": schema,
            "max": max_tokens,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ChatCache:
    """A thread-safe LRU map of prompt keys to answers, with hit and miss counts."""

    def __init__(self, size: int = 1024) -> None:
        if size < 0:
            raise ValueError(f"cache size must not be negative, got {size}")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        """The answer kept for `key` (now the most recent), or None."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: str, answer: str) -> None:
        """Keep `answer`; the least recently used one goes when the cache is full."""
        if self.size == 0:
            return
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
