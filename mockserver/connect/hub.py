"""The sockets of each agent's bus, and delivery of the domain's notifications to them.

A bus is a broadcast medium (004 l.40-42: apps name themselves with ``source``): every message the bus
delivers reaches every app connected to that agent's bus. Each connection has one writer (a thread, a
greenlet under gevent) draining its outbox, so frames are never interleaved, a slow client never blocks
the domain (whose subscribers may only enqueue, see domain/events.py), and each socket gets messages in
the order they were published.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from typing import Any, Protocol

from mockserver.domain.connect import BUS_CHANNEL, SYSTEM
from mockserver.domain.events import Notification

log = logging.getLogger("voicekit.connect")


class Socket(Protocol):
    def send(self, data: str) -> None: ...

    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


class BusConnection:
    """One app's WebSocket on one agent's bus."""

    def __init__(self, agent_id: str, ws: Socket, limit: int = 0) -> None:
        self.agent_id = agent_id
        self.ws = ws
        self.outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.open = True
        self.limit = limit  # queued messages before a consumer too slow to read them is disconnected; 0: none
        self.overflowed = False
        self.writer = threading.Thread(target=self._drain, name=f"connect-bus-{agent_id}", daemon=True)
        self.writer.start()

    def deliver(self, message: dict[str, Any]) -> None:
        if not self.open:
            return
        if self.limit and self.outbox.qsize() >= self.limit:
            log.warning("bus socket of %s is %d messages behind; disconnecting it", self.agent_id, self.limit)
            self.overflowed = True
            self.close()
            return
        self.outbox.put(message)

    def close(self) -> None:
        self.open = False
        self.outbox.put(None)

    def _drain(self) -> None:
        while True:
            message = self.outbox.get()
            if self.overflowed:
                with contextlib.suppress(Exception):
                    self.ws.close(1008, "too many messages queued: the client does not read")
                return
            if message is None:
                return
            try:
                # ASCII escapes keep any echoed lone surrogate ("\ud800") a valid JSON text on the wire.
                text = json.dumps(message, ensure_ascii=True, allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                log.exception("bus message for %s is not JSON-serialisable; dropped", self.agent_id)
                continue
            try:
                self.ws.send(text)
            except Exception:  # the peer went away; the reader side notices and detaches
                log.debug("bus socket of %s closed while sending", self.agent_id, exc_info=True)
                self.open = False
                return


class BusHub:
    """Connections by agent id; subscribed to the domain's EventBus."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_agent: dict[str, set[BusConnection]] = {}

    def attach(self, connection: BusConnection) -> None:
        with self._lock:
            self._by_agent.setdefault(connection.agent_id, set()).add(connection)

    def detach(self, connection: BusConnection) -> None:
        with self._lock:
            peers = self._by_agent.get(connection.agent_id)
            if peers is not None:
                peers.discard(connection)
                if not peers:
                    del self._by_agent[connection.agent_id]
        connection.close()

    def count(self, agent_id: str) -> int:
        with self._lock:
            return len(self._by_agent.get(agent_id, ()))

    def on_notification(self, notification: Notification) -> None:
        """EventBus subscriber: broadcast the bus messages of an agent to all of its sockets."""
        if notification.system != SYSTEM or notification.channel != BUS_CHANNEL:
            return
        if notification.audience is None:
            return
        with self._lock:
            peers = list(self._by_agent.get(notification.audience, ()))
        for connection in peers:
            connection.deliver(notification.data)
