"""A small Bayeux 1.0 long-polling client for the GWS notifications endpoint (003 l.1494-1567).

Why our own: the suite needs the GWS credentials, session cookie and CSRF header on every request, full
control over each message (negative tests send malformed ones), and deterministic waits — and must not
depend on the mock. What it does is what the official CometD JavaScript client does (see
/work/shared/reference/field-notes.md):

* ``POST <url>/handshake`` with ``supportedConnectionTypes: ["long-polling"]``;
* a first ``POST <url>/connect`` with ``advice.timeout: 0`` (answered at once), then a background thread
  holding ``/meta/connect`` in a loop, waiting ``advice.interval`` between connects;
* ``POST <url>/`` for subscribe/unsubscribe/publish, ``POST <url>/disconnect`` at the end;
* on ``402::Unknown client`` or ``advice.reconnect: handshake``: handshake again and re-subscribe;
* data messages go to an :class:`~conformance.transport.inbox.Inbox` — ``await_message``,
  ``await_messages``, ``drain``, ``expect_none``.

Transport failures raise :class:`TargetUnreachable`/:class:`ProtocolViolation`; when the connect loop cannot
go on (three transport failures in a row, ``reconnect: none``, a failed re-handshake) the waits fail at once
with the reason instead of running into their timeout.
"""

from __future__ import annotations

import itertools
import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any, cast

import httpx

from conformance import safejson
from conformance.evidence import Exchange, current, report_exchange
from conformance.failures import ConformanceFailure, ProtocolViolation, TargetUnreachable
from conformance.transport.http import HttpClient, send_bounded
from conformance.transport.inbox import Inbox, Predicate

__all__ = ["DEFAULT_CHANNELS", "BayeuxError", "CometdClient"]

DEFAULT_CHANNELS = ("/v2/me/*",)
_FIRST_CONNECT_TIMEOUT_MS = 0


class BayeuxError(ConformanceFailure):
    """A ``/meta/*`` request was answered ``successful: false`` (or not at all)."""

    default_title = "Bayeux request refused"

    def __init__(self, message: str, *, reply: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reply = dict(reply or {})

    @property
    def error(self) -> str | None:
        return self.reply.get("error")


class CometdClient:
    """One Bayeux session.

    Args:
        url: The endpoint (``http://gws:8080/api/v2/notifications``).
        http: The GWS client whose identity to use: its Basic credentials, cookie jar (shared, so the
            session is the same) and CSRF header. Without it, ``headers`` alone authenticate.
        headers: Extra headers for every request.
        timeout: Seconds for one request, a deadline for the whole exchange (a held connect gets the server's
            advised hold on top: the poll's own timeout plus the request timeout).
        notification_timeout: Default seconds of a wait.
        append_paths: Post to ``/handshake``, ``/connect``, ``/disconnect`` and ``/`` as the official client
            does (True), or everything to the bare URL.
        max_failures: Transport failures in a row after which the connect loop gives up.
    """

    def __init__(
        self,
        url: str,
        *,
        http: HttpClient | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        notification_timeout: float = 10.0,
        verify: bool | ssl.SSLContext | None = None,
        append_paths: bool = True,
        max_failures: int = 3,
        name: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        self.http = http
        self.headers = dict(headers or {})
        self.timeout = timeout if timeout is not None else (http.timeout if http else 10.0)
        self.max_response_bytes = http.max_response_bytes if http else None  # None: the response limit
        self.append_paths = append_paths
        self.max_failures = max_failures
        self.name = name or (http.name if http else "")
        verify = verify if verify is not None else (http.verify if http else True)
        self.cookies: CookieJar = http.cookies if http is not None else CookieJar()
        self.inbox = Inbox("cometd", notification_timeout)
        self.client_id: str | None = None
        self.advice: dict[str, Any] = {}
        self.channels: list[str] = []
        self.rehandshakes = 0
        self.connects = 0
        self.handshake_reply: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._control = httpx.Client(verify=verify, cookies=self.cookies, follow_redirects=False)
        self._poll = httpx.Client(verify=verify, cookies=self.cookies, follow_redirects=False)
        self._session_lock = threading.Lock()

    # ---- the await API ----------------------------------------------------------------------------------------
    def await_message(
        self, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """The first data message matching ``predicate`` (see :mod:`conformance.transport.inbox`).

        Raises:
            ConformanceFailure: none within ``timeout`` (default: the notification timeout).
        """
        message: dict[str, Any] = self.inbox.await_message(predicate, timeout, description)
        return message

    def await_messages(
        self, n: int, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> list[dict[str, Any]]:
        return self.inbox.await_messages(n, predicate, timeout, description)

    def drain(self) -> list[dict[str, Any]]:
        return self.inbox.drain()

    def expect_none(self, predicate: Predicate = None, quiet_for: float = 1.0, description: str | None = None) -> None:
        self.inbox.expect_none(predicate, quiet_for, description)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every data message received so far."""
        return self.inbox.history

    # ---- the session ------------------------------------------------------------------------------------------
    def open(self, channels: Sequence[str] = DEFAULT_CHANNELS) -> CometdClient:
        """Handshake, first connect (``advice.timeout`` 0), subscribe to ``channels``, start the loop."""
        self.handshake()
        self._connect_once(_FIRST_CONNECT_TIMEOUT_MS, background=False)
        if channels:
            self.subscribe(*channels)
        self.start()
        return self

    def handshake(self, *, check: bool = True, ext: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send ``/meta/handshake``; returns its reply and remembers the ``clientId``.

        Raises:
            BayeuxError: the handshake was refused (when ``check``).
        """
        message: dict[str, Any] = {
            "id": self._next_id(),
            "version": "1.0",
            "minimumVersion": "1.0",
            "channel": "/meta/handshake",
            "supportedConnectionTypes": ["long-polling"],
            "advice": {"timeout": 60000, "interval": 0},
        }
        if ext:
            message["ext"] = dict(ext)
        reply = self._meta_reply(self.send([message], path="handshake"), "/meta/handshake")
        self.handshake_reply = reply
        if reply.get("successful") is True and reply.get("clientId"):
            with self._session_lock:
                self.client_id = str(reply["clientId"])
                self.advice.update(reply.get("advice") or {})
        elif check:
            raise BayeuxError(f"handshake refused: {reply.get('error') or json.dumps(reply)}", reply=reply)
        return reply

    def subscribe(self, *channels: str, check: bool = True) -> list[dict[str, Any]]:
        """Subscribe to each channel (one batch); returns the replies.

        Raises:
            BayeuxError: a subscription was refused (when ``check``).
        """
        messages: list[dict[str, Any]] = [
            {"id": self._next_id(), "channel": "/meta/subscribe", "clientId": self.client_id, "subscription": channel}
            for channel in channels
        ]
        replies = self.send(messages, path="")
        out = []
        for message in messages:
            reply = _reply_for(replies, message)
            if reply is None:
                raise ProtocolViolation(
                    f"no /meta/subscribe reply for {message['subscription']} "
                    f"(id {message['id']}) in {json.dumps(replies)[:300]}"
                )
            out.append(reply)
            if reply.get("successful") is True:
                if message["subscription"] not in self.channels:
                    self.channels.append(message["subscription"])
            elif check:
                raise BayeuxError(
                    f"subscription to {message['subscription']} refused: {reply.get('error')}", reply=reply
                )
        self._route_data(replies)
        return out

    def unsubscribe(self, *channels: str, check: bool = True) -> list[dict[str, Any]]:
        messages = [
            {"id": self._next_id(), "channel": "/meta/unsubscribe", "clientId": self.client_id, "subscription": channel}
            for channel in channels
        ]
        replies = self.send(messages, path="")
        out = []
        for message in messages:
            reply = _reply_for(replies, message) or {}
            out.append(reply)
            if reply.get("successful") is True and message["subscription"] in self.channels:
                self.channels.remove(message["subscription"])
            elif check and reply.get("successful") is not True:
                raise BayeuxError(
                    f"unsubscribe from {message['subscription']} refused: {reply.get('error')}", reply=reply
                )
        return out

    def publish(self, channel: str, data: Any) -> dict[str, Any]:
        """Publish (GWS clients normally do not; negative tests do). Returns the reply, unchecked."""
        message = {"id": self._next_id(), "channel": channel, "clientId": self.client_id, "data": data}
        replies = self.send([message], path="")
        return _reply_for(replies, message) or {}

    def start(self) -> None:
        """Start the background connect loop (``open`` does it)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"cometd-{self.name or self.client_id}", daemon=True)
        self._thread.start()

    def disconnect(self) -> dict[str, Any] | None:
        """Stop the loop and send ``/meta/disconnect``; returns its reply (None when there was no session)."""
        self._stop.set()
        reply = None
        client_id = self.client_id
        if client_id:
            try:
                replies = self.send(
                    [{"id": self._next_id(), "channel": "/meta/disconnect", "clientId": client_id}], path="disconnect"
                )
                reply = _reply_for(replies, {"channel": "/meta/disconnect"})
            except ConformanceFailure:
                reply = None
            self.client_id = None
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        return reply

    def close(self) -> None:
        """Disconnect when connected, stop the loop, free the connections."""
        if self.client_id:
            self.disconnect()
        self._stop.set()
        self._poll.close()
        self._control.close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def __enter__(self) -> CometdClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- the wire ---------------------------------------------------------------------------------------------
    def send(
        self,
        messages: Sequence[Any] | Any,
        *,
        path: str = "",
        timeout: float | None = None,
        background: bool = False,
        raw: bytes | str | None = None,
    ) -> list[dict[str, Any]]:
        """POST a Bayeux batch (or ``raw`` bytes) and return the reply array.

        Raises:
            TargetUnreachable: refused or timed out.
            ProtocolViolation: the reply is not a JSON array of messages (a single object is accepted).
        """
        url = f"{self.url}/{path}" if self.append_paths and path else self.url
        if self.append_paths and not path:
            url = f"{self.url}/"
        headers = {"Content-Type": "application/json;charset=UTF-8", **self.headers}
        if self.http is not None:
            if not background:
                self.http.ensure_csrf()
            headers.update(self.http.auth_headers())
            headers.update(self.http.csrf_headers())
        body = raw if raw is not None else json.dumps(messages)
        limit = self.timeout if timeout is None else timeout
        client = self._poll if background else self._control
        request = client.build_request("POST", url, content=body, headers=headers, timeout=httpx.Timeout(limit))
        response, content = send_bounded(
            client,
            request,
            timeout=limit,
            max_bytes=self.max_response_bytes,
            record=lambda exchange: self._record(exchange, background),
        )
        text = content.decode("utf-8", errors="replace")
        if response.status_code != 200:
            raise ProtocolViolation(
                f"POST {url} answered HTTP {response.status_code} "
                f"(a Bayeux endpoint answers 200 with a message array): {text[:200]!r}"
            )
        try:
            data = safejson.loads(content)
        except safejson.JsonTooDeep as exc:
            raise ProtocolViolation(f"POST {url}: the reply is {exc}") from None
        except ValueError:
            raise ProtocolViolation(f"POST {url}: the reply is not JSON: {text[:120]!r}") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
            raise ProtocolViolation(f"POST {url}: the reply is not an array of Bayeux messages: {text[:200]!r}")
        return data

    def _record(self, exchange: Exchange, background: bool) -> None:
        if background:
            current().add(exchange)  # Allure steps belong to the test's thread
        else:
            report_exchange(exchange)

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _meta_reply(self, replies: list[dict[str, Any]], channel: str) -> dict[str, Any]:
        reply = next((m for m in replies if m.get("channel") == channel), None)
        if reply is None:
            raise ProtocolViolation(f"no {channel} reply in {json.dumps(replies)[:300]}")
        return reply

    def _route_data(self, replies: list[dict[str, Any]]) -> None:
        for message in replies:
            channel = message.get("channel")
            if isinstance(channel, str) and not channel.startswith("/meta/") and "data" in message:
                self.inbox.put(message)

    def _connect_once(self, hold_ms: int | None, *, background: bool) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self._next_id(),
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "long-polling",
        }
        if hold_ms is not None:
            message["advice"] = {"timeout": hold_ms}
        server_hold = float(self.advice.get("timeout", 30000) or 0) / 1000.0
        hold = server_hold if hold_ms is None else min(hold_ms / 1000.0, server_hold)
        replies = self.send([message], path="connect", timeout=hold + self.timeout, background=background)
        self.connects += 1
        self._route_data(replies)
        reply = self._meta_reply(replies, "/meta/connect")
        if isinstance(reply.get("advice"), dict):
            self.advice.update(reply["advice"])
        return reply

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                reply = self._connect_once(None, background=True)
            except ConformanceFailure as exc:
                if self._stop.is_set():
                    return
                failures += 1
                if failures >= self.max_failures:
                    self.inbox.fail(exc)
                    return
                self._stop.wait(min(0.2 * failures, 1.0))
                continue
            except Exception as exc:  # closed client while stopping, or a bug: never kill the test thread
                if not self._stop.is_set():
                    self.inbox.fail(TargetUnreachable(f"the CometD connect loop stopped: {exc!r}"))
                return
            failures = 0
            if reply.get("successful") is not True:
                if not self._recover(reply):
                    return
                continue
            if self.advice.get("reconnect") == "none":
                if not self._stop.is_set():
                    self.inbox.fail(BayeuxError("the server ended the session (advice reconnect: none)", reply=reply))
                return
            interval = float(self.advice.get("interval", 0) or 0) / 1000.0
            if interval > 0:
                self._stop.wait(interval)

    def _recover(self, reply: Mapping[str, Any]) -> bool:
        """After an unsuccessful connect: re-handshake when told to (or on 402), else retry or give up."""
        advice = cast(dict[str, Any], reply.get("advice")) if isinstance(reply.get("advice"), dict) else {}
        reconnect = advice.get("reconnect") or self.advice.get("reconnect", "retry")
        error = str(reply.get("error") or "")
        if self._stop.is_set():
            return False
        if reconnect == "handshake" or error.startswith("402"):
            try:
                self._rehandshake()
            except ConformanceFailure as exc:
                self.inbox.fail(exc)
                return False
            return True
        if reconnect == "none":
            self.inbox.fail(BayeuxError(f"connect refused with advice reconnect none: {error}", reply=reply))
            return False
        self._stop.wait(float(advice.get("interval", 0) or 0) / 1000.0 or 0.1)
        return True

    def _rehandshake(self) -> None:
        channels = list(self.channels)
        self.channels = []
        reply = self._meta_reply(
            self.send(
                [
                    {
                        "id": self._next_id(),
                        "version": "1.0",
                        "minimumVersion": "1.0",
                        "channel": "/meta/handshake",
                        "supportedConnectionTypes": ["long-polling"],
                        "advice": {"timeout": 60000, "interval": 0},
                    }
                ],
                path="handshake",
                background=True,
            ),
            "/meta/handshake",
        )
        if reply.get("successful") is not True or not reply.get("clientId"):
            raise BayeuxError(f"re-handshake refused: {reply.get('error')}", reply=reply)
        with self._session_lock:
            self.client_id = str(reply["clientId"])
            self.advice.update(reply.get("advice") or {})
        self.rehandshakes += 1
        self._connect_once(_FIRST_CONNECT_TIMEOUT_MS, background=True)
        if channels:
            messages = [
                {
                    "id": self._next_id(),
                    "channel": "/meta/subscribe",
                    "clientId": self.client_id,
                    "subscription": channel,
                }
                for channel in channels
            ]
            replies = self.send(messages, path="", background=True)
            for message in messages:
                sub = _reply_for(replies, message) or {}
                if sub.get("successful") is not True:
                    raise BayeuxError(
                        f"re-subscription to {message['subscription']} refused: {sub.get('error')}", reply=sub
                    )
                self.channels.append(message["subscription"])
            self._route_data(replies)

    def wait_until(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Poll a condition on this client (e.g. ``lambda: c.rehandshakes >= 1``) up to ``timeout``."""
        deadline = time.monotonic() + (self.inbox.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()


def _reply_for(replies: list[dict[str, Any]], message: Mapping[str, Any]) -> dict[str, Any] | None:
    """The reply to ``message``: same id when the server echoes ids, else the first of its channel."""
    same_channel = [r for r in replies if r.get("channel") == message.get("channel")]
    if "id" in message:
        by_id = next((r for r in same_channel if str(r.get("id")) == str(message["id"])), None)
        if by_id is not None:
            return by_id
        if "subscription" in message:
            by_sub = next((r for r in same_channel if r.get("subscription") == message["subscription"]), None)
            if by_sub is not None:
                return by_sub
    return same_channel[0] if same_channel else None
