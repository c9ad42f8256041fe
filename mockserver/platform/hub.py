"""The notification sockets and the delivery of the domain's Platform notifications to them.

Each socket has one writer (a thread; a greenlet under ``mockserver.serve``) draining its outbox, so frames are
never interleaved and a slow client never blocks the domain (whose EventBus subscribers may only enqueue). The
writer also sends the channel.metadata heartbeat whenever ``heartbeat_seconds`` have passed since the last one
(0 turns heartbeats off).
Same approach as the Connect bus (mockserver/connect/hub.py).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from mockserver.domain.events import Notification
from mockserver.domain.platform import SOCKET_CLOSING, SYSTEM

log = logging.getLogger("voicekit.platform")

HEARTBEAT = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
PONG = {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}


class Socket(Protocol):
    def send(self, data: str) -> None: ...

    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


_WAKE = object()
_STOP = object()


class ChannelSocket:
    """One WebSocket on one notification channel."""

    def __init__(self, channel_id: str, ws: Socket, heartbeat: Callable[[], float], limit: int = 0) -> None:
        self.channel_id = channel_id
        self.ws = ws
        self.heartbeat = heartbeat
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.open = True
        self.limit = limit  # queued messages before a consumer too slow to read them is disconnected; 0: none
        self.overflowed = False
        self.writer = threading.Thread(target=self._drain, name=f"platform-channel-{channel_id}", daemon=True)
        self.writer.start()

    def deliver(self, message: dict[str, Any]) -> None:
        if not self.open:
            return
        if self.limit and self.outbox.qsize() >= self.limit:
            log.warning("channel socket %s is %d messages behind; disconnecting it", self.channel_id, self.limit)
            self.overflowed = True
            self.open = False
            self.outbox.put(_STOP)
            return
        self.outbox.put(message)

    def close_with(self, message: dict[str, Any] | None) -> None:
        """Send ``message`` (socket_closing), then close the socket."""
        if self.open:
            self.outbox.put(("close", message))

    def wake(self) -> None:
        """The heartbeat interval changed: recompute the next heartbeat now."""
        self.outbox.put(_WAKE)

    def stop(self) -> None:
        self.open = False
        self.outbox.put(_STOP)

    def _drain(self) -> None:
        last_beat = time.monotonic()
        while True:
            interval = self.heartbeat()  # 0 (or less): no heartbeats
            wait = max(0.0, last_beat + max(interval, 0.05) - time.monotonic()) if interval > 0 else None
            try:
                item = self.outbox.get(timeout=wait)
            except queue.Empty:
                last_beat = time.monotonic()
                if not self._send(HEARTBEAT):
                    return
                continue
            if self.overflowed:
                try:
                    self.ws.close(1008, "too many messages queued: the client does not read")
                except Exception:  # already gone
                    log.debug("closing socket of %s failed", self.channel_id, exc_info=True)
                return
            if item is _STOP:
                return
            if item is _WAKE:
                continue
            if isinstance(item, tuple):
                _, message = item
                self.open = False
                if message is not None:
                    self._send(message)
                try:
                    self.ws.close(1000, "channel closed")
                except Exception:  # already gone
                    log.debug("closing socket of %s failed", self.channel_id, exc_info=True)
                return
            if not self._send(item):
                return

    def _send(self, message: dict[str, Any]) -> bool:
        try:
            self.ws.send(json.dumps(message, ensure_ascii=True, allow_nan=False))
            return True
        except Exception:  # the peer went away; the reader side notices and detaches
            log.debug("socket of channel %s closed while sending", self.channel_id, exc_info=True)
            self.open = False
            return False


class NotificationHub:
    """Sockets by channel id; subscribed to the EventBus, asks the world which channels want a topic."""

    def __init__(self, subscribed: Callable[[str, str], bool]) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, set[ChannelSocket]] = {}
        self._subscribed = subscribed

    def attach(self, sock: ChannelSocket) -> None:
        with self._lock:
            self._by_channel.setdefault(sock.channel_id, set()).add(sock)

    def detach(self, sock: ChannelSocket) -> None:
        with self._lock:
            peers = self._by_channel.get(sock.channel_id)
            if peers is not None:
                peers.discard(sock)
                if not peers:
                    del self._by_channel[sock.channel_id]
        sock.stop()

    def count(self, channel_id: str) -> int:
        with self._lock:
            return len(self._by_channel.get(channel_id, ()))

    def wake_all(self) -> None:
        with self._lock:
            sockets = [s for peers in self._by_channel.values() for s in peers]
        for sock in sockets:
            sock.wake()

    def close_all(self) -> None:
        """Reset: every socket closes (its channel no longer exists)."""
        with self._lock:
            sockets = [s for peers in self._by_channel.values() for s in peers]
        for sock in sockets:
            sock.close_with(None)

    def on_notification(self, notification: Notification) -> None:
        """EventBus subscriber (runs under the world's lock): only enqueues."""
        if notification.system != SYSTEM:
            return
        with self._lock:
            channels = {cid: list(peers) for cid, peers in self._by_channel.items()}
        if notification.channel == SOCKET_CLOSING:
            for sock in channels.get(notification.audience or "", []):
                sock.close_with(notification.data)
            return
        for channel_id, peers in channels.items():
            if self._subscribed(channel_id, notification.channel):
                for sock in peers:
                    sock.deliver(notification.data)
