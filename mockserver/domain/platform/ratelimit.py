"""A sliding-window rate limit per key (per token): 001 l.315-318, E417. Refused requests do not count."""

from __future__ import annotations

import math
from collections import deque

from mockserver.domain.clock import Scheduler
from mockserver.domain.platform.errors import TooManyRequests


class RateLimiter:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._hits: dict[str, deque[float]] = {}
        self.refused = 0
        self.allowed = 0

    def hit(self, key: str, limit: int, window: float, retry_after: int | None = None) -> None:
        """Count one request, or raise TooManyRequests with the seconds until a slot frees up (or the fixed
        ``retry_after``, to drive a client's retries in tests)."""
        if limit <= 0:
            return
        now = self.scheduler.now()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            self.refused += 1
            if retry_after is None:
                retry_after = max(1, math.ceil(hits[0] + window - now))
            raise TooManyRequests(retry_after, len(hits), limit)
        hits.append(now)
        self.allowed += 1

    def clear(self) -> None:
        self._hits.clear()
        self.refused = 0
        self.allowed = 0
