"""Time and delayed work behind one interface, so the domain never sleeps and tests control time."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic clock."""

    def wall(self) -> float:
        """Seconds since the epoch (for timestamps shown to clients)."""

    def call_later(self, delay: float, action: Callable[[], None]) -> Handle:
        """Run ``action`` after ``delay`` seconds, outside the caller's locks."""


class RealScheduler:
    """Threads for delayed work; greenlets when the server has monkey-patched threading."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def call_later(self, delay: float, action: Callable[[], None]) -> Handle:
        timer = threading.Timer(max(delay, 0.0), action)
        timer.daemon = True
        timer.start()
        return timer


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """A scheduler whose time moves only when a test calls ``advance``."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._queue: list[_Entry] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def call_later(self, delay: float, action: Callable[[], None]) -> Handle:
        entry = _Entry(self._now + max(delay, 0.0), next(self._seq), action)
        heapq.heappush(self._queue, entry)
        return entry

    def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while self._queue and self._queue[0].due <= target:
            entry = heapq.heappop(self._queue)
            self._now = max(self._now, entry.due)
            if not entry.cancelled:
                entry.action()
        self._now = target

    @property
    def pending(self) -> int:
        return sum(not e.cancelled for e in self._queue)
