"""Bayeux 1.0 protocol engine: the server side of CometD long-polling, free of any web framework.

The engine is pure state plus rules so that it can be unit-tested with a fake clock and reused by any
transport.  It never blocks: a /meta/connect that must wait comes back as a held :class:`Reply` whose
:class:`Hold` the transport waits on (``threading.Event``; under gevent monkey-patching that wait is
greenlet-friendly), after which :meth:`BayeuxServer.complete` builds the final message array.

Deliberate choices (see README.md):

* events are delivered only in /meta/connect replies and leave the client's queue only when such a reply
  is built, so a client that loses a held connect and reconnects with the same clientId gets them;
* a clientId presented by another principal is answered exactly like an unknown one;
* a client whose queue would exceed ``max_queue`` loses its session (402 on its next message) rather than
  silently losing messages.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "BAYEUX_VERSION",
    "SUPPORTED_CONNECTION_TYPES",
    "BayeuxServer",
    "Hold",
    "Principal",
    "Reply",
    "SessionInfo",
    "channel_matches",
    "is_valid_channel",
    "is_valid_subscription",
]

BAYEUX_VERSION = "1.0"
SUPPORTED_CONNECTION_TYPES: tuple[str, ...] = ("long-polling", "callback-polling")

Message = dict[str, Any]

# Bayeux 1.0 "token" characters for channel segments (alphanum and mark), plus "." which real
# deployments use in channel names.
_SEGMENT = r"[A-Za-z0-9\-_!~()$@.]+"
_CHANNEL_RE = re.compile(rf"^(?:/{_SEGMENT})+$")
_PATTERN_RE = re.compile(rf"^(?:/{_SEGMENT})*/\*\*?$")

ERR_UNKNOWN_CLIENT = "402::Unknown client"
ERR_BAD_REQUEST = "400::Bad request"
ERR_CHANNEL_MISSING = "400::channel_missing"
ERR_CHANNEL_INVALID = "400::channel_invalid"
ERR_SUBSCRIPTION_DENIED = "403::Subscription denied"
ERR_META_SUBSCRIPTION = "405::Cannot subscribe to meta channels"
ERR_PUBLISH_DENIED = "403::Publish denied"
ERR_HANDSHAKE_DENIED = "403::Handshake denied"
ERR_NO_COMMON_TRANSPORT = "400::No common connection type"
ERR_UNKNOWN_CHANNEL = "404::Unknown channel"
ERR_MULTIPLE_CONNECTS = "400::Only one connect per batch"


class Principal(Protocol):
    """Who made the HTTP request, as decided by the host app: hashable, compared with ``==``."""

    @property
    def user_id(self) -> str: ...

    def __hash__(self) -> int: ...


def is_valid_channel(name: object) -> bool:
    """A concrete channel name (no wildcard), as Bayeux 1.0 defines it."""
    return isinstance(name, str) and _CHANNEL_RE.match(name) is not None


def is_valid_subscription(name: object) -> bool:
    """A channel name or a pattern with one trailing ``*`` or ``**`` segment."""
    return isinstance(name, str) and (_CHANNEL_RE.match(name) is not None or _PATTERN_RE.match(name) is not None)


def channel_matches(pattern: str, channel: str) -> bool:
    """CometD globbing: ``/a/*`` matches one more segment, ``/a/**`` one or more; neither matches ``/a``."""
    if pattern.endswith("/**"):
        prefix = pattern[:-2]
        return channel.startswith(prefix) and len(channel) > len(prefix)
    if pattern.endswith("/*"):
        prefix = pattern[:-1]
        if not channel.startswith(prefix):
            return False
        rest = channel[len(prefix) :]
        return rest != "" and "/" not in rest
    return pattern == channel


@dataclass(frozen=True)
class SessionInfo:
    """A read-only snapshot of one Bayeux session, for the host app and for tests."""

    client_id: str
    user_id: str
    subscriptions: frozenset[str]
    queued: int
    held: bool
    connected: bool


class Hold:
    """A held /meta/connect: the transport waits on it until it is woken or its deadline passes.

    ``wait()`` blocks on a ``threading.Event`` (greenlet-friendly once gevent has monkey-patched
    ``threading``).  Transports that cannot block their thread register a non-blocking, thread-safe
    callback with :meth:`add_wake_callback` instead.
    """

    __slots__ = (
        "_callbacks",
        "_completed",
        "_connect_index",
        "_event",
        "_final_events",
        "_lock",
        "_outcome",
        "_replies",
        "_request",
        "_result",
        "client_id",
        "deadline",
    )

    def __init__(
        self,
        *,
        client_id: str,
        deadline: float,
        lock: threading.Lock,
        replies: list[Message | None],
        connect_index: int,
        request: Message,
    ) -> None:
        self.client_id = client_id
        self.deadline = deadline
        self._lock = lock
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._outcome = "pending"  # pending | superseded | disconnected | gone
        self._replies = replies
        self._connect_index = connect_index
        self._request = request
        self._final_events: list[Message] = []
        self._completed = False
        self._result: list[Message] | None = None

    @property
    def woken(self) -> bool:
        """True once there is a reason to answer before the deadline."""
        return self._event.is_set()

    def wait(self, timeout: float | None) -> bool:
        """Block until woken or ``timeout`` seconds pass; True if woken."""
        return self._event.wait(timeout)

    def add_wake_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when woken (now, if already woken); it must not block."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def remove_wake_callback(self, callback: Callable[[], None]) -> None:
        """Forget a callback; after this returns it will not be called."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _wake(self) -> None:
        # Caller holds the server lock.
        if self._event.is_set():
            return
        self._event.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


@dataclass
class Reply:
    """What :meth:`BayeuxServer.handle` decided: an array to send now, or a held connect.

    When ``held`` is true the transport waits on ``hold`` until ``deadline`` (a value of the server's
    clock) and then calls :meth:`BayeuxServer.complete`, which returns the array to send.
    """

    messages: list[Message]
    hold: Hold | None = None

    @property
    def held(self) -> bool:
        return self.hold is not None

    @property
    def client_id(self) -> str | None:
        return self.hold.client_id if self.hold is not None else None

    @property
    def deadline(self) -> float | None:
        return self.hold.deadline if self.hold is not None else None


@dataclass(eq=False)
class _Client:
    client_id: str
    principal: Hashable
    user_id: str | None
    transport: str
    last_seen: float
    subscriptions: set[str] = field(default_factory=set)
    queue: deque[Message] = field(default_factory=deque)
    connected: bool = False
    hold: Hold | None = None


def _echo_id(reply: Message, request: Mapping[str, Any]) -> Message:
    # Bayeux ids are strings; anything else is not echoed, so a reply never carries a malformed member.
    if isinstance(request.get("id"), str):
        reply["id"] = request["id"]
    return reply


def _echo_subscription(reply: Message, request: Mapping[str, Any]) -> Message:
    """Echo the request's subscription when it has the Bayeux shape (a channel name or a list of them)."""
    value = request.get("subscription")
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        reply["subscription"] = value
    return reply


def _user_id(principal: Hashable) -> str | None:
    value = getattr(principal, "user_id", None)
    return value if isinstance(value, str) else None


def _allow_all(_principal: Any, _channel: str) -> bool:
    return True


class BayeuxServer:
    """The Bayeux 1.0 server state machine: sessions, subscriptions, per-client queues, held connects."""

    def __init__(
        self,
        *,
        authenticate_ok: Callable[[Any], bool] | None = None,
        can_subscribe: Callable[[Any, str], bool] = _allow_all,
        clock: Callable[[], float] = time.monotonic,
        timeout_ms: int = 30000,
        interval_ms: int = 0,
        max_interval_ms: int = 10000,
        max_queue: int = 10000,
    ) -> None:
        if timeout_ms < 0 or interval_ms < 0 or max_interval_ms < 0 or max_queue < 1:
            raise ValueError("timeouts must be >= 0 and max_queue >= 1")
        self._authenticate_ok = authenticate_ok
        self._can_subscribe = can_subscribe
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.interval_ms = interval_ms
        self.max_interval_ms = max_interval_ms
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self._by_user: dict[str | None, set[str]] = {}
        self._event_ids = itertools.count(1)
        self._last_sweep = float("-inf")

    # ------------------------------------------------------------------ public API

    def handle(self, principal: Any, messages: Iterable[Any], *, transport: str) -> Reply:
        """Process one request's batch of messages in order and say what to answer (maybe: wait)."""
        if transport not in SUPPORTED_CONNECTION_TYPES:
            raise ValueError(f"unsupported transport {transport!r}")
        batch = list(messages)
        # Bayeux 1.0: "A server MUST ignore any other message sent in the same request as a handshake."
        for message in batch:
            if isinstance(message, dict) and message.get("channel") == "/meta/handshake":
                return Reply([self._handshake(principal, message, transport)])
        # Host callbacks run before the lock is taken, so they may call back into the server.
        decisions = self._subscribe_decisions(principal, batch)
        with self._lock:
            now = self.clock()
            self._maybe_sweep(now)
            return self._handle_locked(principal, batch, transport, decisions, now)

    def complete(self, reply: Reply) -> list[Message]:
        """The array to send for ``reply``; for a held reply, call it once the wait is over."""
        hold = reply.hold
        if hold is None:
            return reply.messages
        with self._lock:
            if hold._result is not None:
                return hold._result
            now = self.clock()
            request = hold._request
            client = self._clients.get(hold.client_id)
            events: list[Message] = []
            if hold._outcome == "superseded":
                connect_reply = self._connect_reply(request, hold.client_id)
            elif hold._outcome == "disconnected":
                events = hold._final_events
                connect_reply = _echo_id(
                    {
                        "channel": "/meta/connect",
                        "successful": True,
                        "clientId": hold.client_id,
                        "advice": {"reconnect": "none", "interval": 0},
                    },
                    request,
                )
            elif hold._outcome == "gone" or client is None or client.hold is not hold:
                connect_reply = self._unknown_client("/meta/connect", request)
            else:
                events = self._drain(client)
                client.hold = None
                client.last_seen = now
                connect_reply = self._connect_reply(request, client.client_id)
            hold._completed = True
            hold._event.set()
            replies = list(hold._replies)
            replies[hold._connect_index] = connect_reply
            hold._result = events + [r for r in replies if r is not None]
            return hold._result

    def abandon(self, reply: Reply) -> None:
        """The transport lost the held request (client hung up): end the hold, keep the events queued."""
        hold = reply.hold
        if hold is None:
            return
        with self._lock:
            if hold._result is not None:
                return
            hold._completed = True
            hold._event.set()
            hold._result = []
            client = self._clients.get(hold.client_id)
            if client is not None and client.hold is hold:
                client.hold = None
                client.last_seen = self.clock()

    def publish(self, channel: str, data: Any, *, audience: str | None) -> int:
        """Queue ``{"channel", "data", "id"}`` for every subscribed client of ``audience`` (all if None).

        Returns how many clients it was queued for.  ``data`` is copied, so the caller may reuse it.
        """
        if not is_valid_channel(channel) or channel.startswith("/meta/"):
            raise ValueError(f"cannot publish to {channel!r}")
        payload: Any = None  # copied once, for the first client that gets it (most publishes reach nobody)
        with self._lock:
            now = self.clock()
            self._maybe_sweep(now)
            event_id = str(next(self._event_ids))
            if audience is None:
                candidates = list(self._clients.values())
            else:
                candidates = [self._clients[cid] for cid in self._by_user.get(audience, ())]
            delivered = 0
            for client in candidates:
                if self._expired(client, now):
                    self._drop(client)
                    continue
                if not any(channel_matches(p, channel) for p in client.subscriptions):
                    continue
                if len(client.queue) >= self.max_queue:
                    # Never lose silently: end the session, the client re-handshakes and resyncs.
                    self._drop(client)
                    continue
                if payload is None:
                    payload = copy.deepcopy(data)
                client.queue.append({"channel": channel, "data": payload, "id": event_id})
                if client.hold is not None and not client.hold._completed:
                    client.hold._wake()
                delivered += 1
            return delivered

    def sweep(self) -> int:
        """Drop every client that sent no connect for ``max_interval_ms``; returns how many."""
        with self._lock:
            now = self.clock()
            return self._sweep_locked(now)

    def sessions_of(self, user_id: str) -> list[SessionInfo]:
        """Snapshots of the live sessions of one user."""
        with self._lock:
            now = self.clock()
            result = []
            for cid in sorted(self._by_user.get(user_id, ())):
                client = self._clients[cid]
                if self._expired(client, now):
                    continue
                result.append(
                    SessionInfo(
                        client_id=client.client_id,
                        user_id=user_id,
                        subscriptions=frozenset(client.subscriptions),
                        queued=len(client.queue),
                        held=client.hold is not None and not client.hold._completed,
                        connected=client.connected,
                    )
                )
            return result

    def drop_user(self, user_id: str) -> int:
        """End every session of a user (their HTTP session ended); held connects answer 402."""
        with self._lock:
            clients = [self._clients[cid] for cid in self._by_user.get(user_id, ())]
            for client in clients:
                self._drop(client)
            return len(clients)

    def close(self) -> None:
        """End every session and release every held connect (server shutdown)."""
        with self._lock:
            for client in list(self._clients.values()):
                self._drop(client)

    def stats(self) -> dict[str, int]:
        """Counters for health pages and benchmarks."""
        with self._lock:
            clients = list(self._clients.values())
            return {
                "clients": len(clients),
                "held": sum(1 for c in clients if c.hold is not None and not c.hold._completed),
                "queued": sum(len(c.queue) for c in clients),
            }

    # ------------------------------------------------------------------ message handlers

    def _handshake(self, principal: Any, message: Message, transport: str) -> Message:
        base: Message = {
            "channel": "/meta/handshake",
            "version": BAYEUX_VERSION,
            "supportedConnectionTypes": list(SUPPORTED_CONNECTION_TYPES),
        }
        if self._authenticate_ok is not None and not self._authenticate_ok(principal):
            return _echo_id(
                {
                    **base,
                    "successful": False,
                    "error": ERR_HANDSHAKE_DENIED,
                    "advice": {"reconnect": "none", "interval": 0},
                },
                message,
            )
        offered = message.get("supportedConnectionTypes")
        if isinstance(offered, list) and not set(SUPPORTED_CONNECTION_TYPES) & {
            t for t in offered if isinstance(t, str)
        }:
            return _echo_id(
                {
                    **base,
                    "successful": False,
                    "error": ERR_NO_COMMON_TRANSPORT,
                    "advice": {"reconnect": "none", "interval": 0},
                },
                message,
            )
        with self._lock:
            now = self.clock()
            self._maybe_sweep(now)
            client_id = secrets.token_hex(20)
            while client_id in self._clients:  # pragma: no cover - 160 random bits
                client_id = secrets.token_hex(20)
            client = _Client(
                client_id=client_id,
                principal=principal,
                user_id=_user_id(principal),
                transport=transport,
                last_seen=now,
            )
            self._clients[client_id] = client
            self._by_user.setdefault(client.user_id, set()).add(client_id)
        return _echo_id(
            {
                **base,
                "clientId": client_id,
                "successful": True,
                "advice": {"reconnect": "retry", "interval": self.interval_ms, "timeout": self.timeout_ms},
            },
            message,
        )

    def _subscribe_decisions(self, principal: Any, batch: list[Any]) -> dict[str, bool]:
        decisions: dict[str, bool] = {}
        for message in batch:
            if not isinstance(message, dict) or message.get("channel") != "/meta/subscribe":
                continue
            subscription = message.get("subscription")
            names = subscription if isinstance(subscription, list) else [subscription]
            for name in names:
                if (
                    is_valid_subscription(name)
                    and not name.startswith("/meta/")
                    and not name.startswith("/service/")
                    and name not in decisions
                ):
                    decisions[name] = bool(self._can_subscribe(principal, name))
        return decisions

    def _handle_locked(
        self,
        principal: Any,
        batch: list[Any],
        transport: str,
        decisions: dict[str, bool],
        now: float,
    ) -> Reply:
        replies: list[Message | None] = []
        connect: tuple[int, _Client, Message] | None = None
        hold: Hold | None = None
        for message in batch:
            if not isinstance(message, dict):
                replies.append({"successful": False, "error": ERR_BAD_REQUEST})
                continue
            channel = message.get("channel")
            if not isinstance(channel, str) or not channel:
                replies.append(_echo_id({"successful": False, "error": ERR_CHANNEL_MISSING}, message))
                continue
            client = self._lookup(message.get("clientId"), principal, now)
            if client is None:
                replies.append(self._unknown_client(channel, message))
                continue
            client.last_seen = now
            client.transport = transport
            if channel == "/meta/connect":
                if connect is not None:
                    replies.append(self._error(channel, message, ERR_MULTIPLE_CONNECTS))
                    continue
                connect = (len(replies), client, message)
                replies.append(None)
                hold = self._connect(client, message, replies, now)
            elif channel == "/meta/subscribe":
                replies.append(self._subscribe(client, message, decisions))
            elif channel == "/meta/unsubscribe":
                replies.append(self._unsubscribe(client, message))
            elif channel == "/meta/disconnect":
                self._disconnect(client)
                replies.append(
                    _echo_id({"channel": channel, "successful": True, "clientId": client.client_id}, message)
                )
            elif channel.startswith("/meta/"):
                replies.append(self._error(channel, message, ERR_UNKNOWN_CHANNEL))
            else:
                # GWS clients only listen; the mock refuses client publishes (and service requests).
                replies.append(self._error(channel, message, ERR_PUBLISH_DENIED))
        if hold is not None:
            return Reply([], hold)
        events: list[Message] = []
        if connect is not None:
            index, client, message = connect
            if self._clients.get(client.client_id) is client:
                events = self._drain(client)
                client.last_seen = now
                replies[index] = self._connect_reply(message, client.client_id)
            else:  # disconnected later in the same batch
                replies[index] = _echo_id(
                    {
                        "channel": "/meta/connect",
                        "successful": True,
                        "clientId": client.client_id,
                        "advice": {"reconnect": "none", "interval": 0},
                    },
                    message,
                )
        return Reply(events + [r for r in replies if r is not None])

    def _connect(self, client: _Client, message: Message, replies: list[Message | None], now: float) -> Hold | None:
        previous = client.hold
        if previous is not None and not previous._completed:
            # One outstanding connect per client: the newer request is the live one, so the queued
            # events stay for it and the superseded request answers empty.
            previous._outcome = "superseded"
            previous._wake()
        client.hold = None
        first = not client.connected
        client.connected = True
        requested = None
        advice = message.get("advice")
        if isinstance(advice, dict):
            value = advice.get("timeout")
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                requested = value
        hold_ms = self.timeout_ms if requested is None else min(requested, self.timeout_ms)
        if first or client.queue or hold_ms == 0:
            return None
        hold = Hold(
            client_id=client.client_id,
            deadline=now + hold_ms / 1000.0,
            lock=self._lock,
            replies=replies,
            connect_index=len(replies) - 1,
            request=message,
        )
        client.hold = hold
        return hold

    def _subscribe(self, client: _Client, message: Message, decisions: dict[str, bool]) -> Message:
        channel = "/meta/subscribe"
        names, error = self._subscription_names(message)
        if error is None:
            for name in names:
                if name.startswith("/meta/"):
                    error = ERR_META_SUBSCRIPTION
                    break
                if not name.startswith("/service/") and not decisions.get(name, False):
                    error = ERR_SUBSCRIPTION_DENIED
                    break
        reply = _echo_subscription({"channel": channel, "clientId": client.client_id}, message)
        if error is not None:
            reply.update(successful=False, error=error)
            return _echo_id(reply, message)
        for name in names:
            # Bayeux: "Servers SHOULD NOT record any subscriptions they receive for service channels."
            if not name.startswith("/service/"):
                client.subscriptions.add(name)
        reply["successful"] = True
        return _echo_id(reply, message)

    def _unsubscribe(self, client: _Client, message: Message) -> Message:
        channel = "/meta/unsubscribe"
        names, error = self._subscription_names(message)
        reply = _echo_subscription({"channel": channel, "clientId": client.client_id}, message)
        if error is None and any(name.startswith("/meta/") for name in names):
            error = ERR_META_SUBSCRIPTION
        if error is not None:
            reply.update(successful=False, error=error)
            return _echo_id(reply, message)
        for name in names:
            client.subscriptions.discard(name)
        reply["successful"] = True
        return _echo_id(reply, message)

    @staticmethod
    def _subscription_names(message: Message) -> tuple[list[str], str | None]:
        value = message.get("subscription")
        if value is None or value == "" or value == []:
            return [], ERR_CHANNEL_MISSING
        names = value if isinstance(value, list) else [value]
        if not all(is_valid_subscription(name) for name in names):
            return [], ERR_CHANNEL_INVALID
        return list(names), None

    def _disconnect(self, client: _Client) -> None:
        hold = client.hold
        self._remove(client)
        if hold is not None and not hold._completed:
            hold._outcome = "disconnected"
            hold._final_events = self._drain(client)
            hold._wake()

    # ------------------------------------------------------------------ helpers (lock held)

    def _connect_reply(self, request: Message, client_id: str) -> Message:
        return _echo_id(
            {
                "channel": "/meta/connect",
                "successful": True,
                "clientId": client_id,
                "advice": {"reconnect": "retry", "interval": self.interval_ms, "timeout": self.timeout_ms},
            },
            request,
        )

    @staticmethod
    def _unknown_client(channel: str, request: Message) -> Message:
        return _echo_id(
            {
                "channel": channel,
                "successful": False,
                "error": ERR_UNKNOWN_CLIENT,
                "advice": {"reconnect": "handshake", "interval": 0},
            },
            request,
        )

    @staticmethod
    def _error(channel: str, request: Message, error: str) -> Message:
        return _echo_id({"channel": channel, "successful": False, "error": error}, request)

    def _lookup(self, client_id: object, principal: Any, now: float) -> _Client | None:
        if not isinstance(client_id, str):
            return None
        client = self._clients.get(client_id)
        if client is None:
            return None
        if client.principal != principal:
            # Another user's (or another login's) session: indistinguishable from an unknown one.
            return None
        if self._expired(client, now):
            self._drop(client)
            return None
        return client

    def _expired(self, client: _Client, now: float) -> bool:
        hold = client.hold
        idle_since = client.last_seen
        if hold is not None and not hold._completed:
            if now < hold.deadline:
                return False
            # A hold nobody completed ends at its deadline.
            idle_since = max(idle_since, hold.deadline)
        return (now - idle_since) * 1000.0 > self.max_interval_ms

    def _drain(self, client: _Client) -> list[Message]:
        events = list(client.queue)
        client.queue.clear()
        return events

    def _remove(self, client: _Client) -> None:
        if self._clients.get(client.client_id) is not client:
            return
        del self._clients[client.client_id]
        ids = self._by_user.get(client.user_id)
        if ids is not None:
            ids.discard(client.client_id)
            if not ids:
                del self._by_user[client.user_id]

    def _drop(self, client: _Client) -> None:
        """End a session the client did not end itself; a held connect answers 402 + handshake."""
        self._remove(client)
        client.queue.clear()
        hold = client.hold
        if hold is not None and not hold._completed:
            hold._outcome = "gone"
            hold._wake()

    def _maybe_sweep(self, now: float) -> None:
        # A full sweep costs O(clients); a tenth of max_interval keeps expiry timely without paying it
        # on every request.  Lookups check expiry exactly anyway.
        if (now - self._last_sweep) * 1000.0 >= self.max_interval_ms / 10.0:
            self._sweep_locked(now)

    def _sweep_locked(self, now: float) -> int:
        self._last_sweep = now
        expired = [c for c in self._clients.values() if self._expired(c, now)]
        for client in expired:
            self._drop(client)
        return len(expired)
