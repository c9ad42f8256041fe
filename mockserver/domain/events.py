"""The notification bus between the domain and the transports.

The domain publishes :class:`Notification`s in the order things happen; URIs inside them are
server-relative paths (``/api/v2/...``), which each transport makes absolute for its client (E002).
Subscribers are called synchronously under the publisher's lock and must only enqueue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Subscriber = Callable[["Notification"], None]


@dataclass(frozen=True)
class Notification:
    """One message for one audience on one channel.

    ``system`` is gws, platform or connect; ``audience`` is the user id that may see it, or None for
    everyone (service state); ``channel`` is the transport channel or topic; ``data`` the payload.
    """

    system: str
    channel: str
    data: dict[str, Any]
    audience: str | None


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, Subscriber] = {}
        self._next = 0

    def subscribe(self, subscriber: Subscriber) -> int:
        with self._lock:
            self._next += 1
            self._subscribers[self._next] = subscriber
            return self._next

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def publish(self, notification: Notification) -> None:
        with self._lock:
            subscribers = list(self._subscribers.values())
        for subscriber in subscribers:
            subscriber(notification)
