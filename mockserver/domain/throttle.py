"""Failed-login throttle: after ``limit`` wrong credentials for one name within ``window`` seconds, that name is
refused (as a wrong credential, so the answer tells an attacker nothing) until its failures age out.

Configured by ``auth_failure_limit`` / ``auth_failure_window`` (VOICEKIT_AUTH_FAILURE_LIMIT, ..._WINDOW); the
default (100 per 60 s) is far above what the conformance suite and the tests cause; 0 turns it off."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class FailureThrottle:
    def __init__(self, limit: int = 0, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def locked(self, name: str) -> bool:
        if self.limit <= 0:
            return False
        with self._lock:
            failures = self._recent(name.lower())
            return failures is not None and len(failures) >= self.limit

    def failed(self, name: str) -> None:
        if self.limit <= 0:
            return
        with self._lock:
            key = name.lower()
            failures = self._recent(key)
            if failures is None:
                if len(self._failures) >= 10_000:  # bounded: forget the oldest names first
                    self._failures.pop(next(iter(self._failures)))
                failures = self._failures[key] = deque()
            if len(failures) < self.limit:
                failures.append(self.clock())

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures
