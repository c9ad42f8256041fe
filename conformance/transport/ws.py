"""A synchronous WebSocket client with the same await API as the CometD client, for the Amazon Connect CTI
bus (one socket per agent) and the Platform notification channel.

Why a reader thread: messages arrive whether or not a test is waiting; the thread parses each frame as JSON
into an :class:`~conformance.transport.inbox.Inbox`, so waits are bounded and ordered the same way as for
CometD. A frame that is not JSON (or nests too deep, or exceeds the response limit — websockets' ``max_size``)
is a protocol violation; a socket the target closes ends every pending wait at once with the close code and
reason.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import ssl
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from conformance import safejson
from conformance.evidence import Notification, attach, current, step
from conformance.failures import ConformanceFailure, ProtocolViolation, TargetUnreachable
from conformance.redact import redact_json, redact_url
from conformance.transport.http import over_limit, response_limit
from conformance.transport.inbox import Inbox, Predicate

__all__ = ["WsClient", "WsRejected"]

# websockets >= 16 warns unless a direct connection is asked for explicitly; older ones lack the flag.
_DIRECT: dict[str, Any] = {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}


class WsRejected(ConformanceFailure):
    """The server refused the WebSocket upgrade (an HTTP status instead of 101)."""

    default_title = "WebSocket upgrade refused"

    def __init__(self, message: str, *, status: int, body: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.body = body


class WsClient:
    """One WebSocket connection.

    Args:
        url: ``ws://`` or ``wss://`` URL.
        headers: Headers of the upgrade request (e.g. ``Authorization``).
        timeout: Seconds to open, to send, and to close.
        notification_timeout: Default seconds of a wait.
        verify: TLS verification (bool or context) for ``wss://``.
        transport: Name shown in evidence (``connect-bus``, ``platform-ws``).
        channel_key: The message member that names its channel in evidence (``topic``, ``topicName``).
        max_frame_bytes: The largest frame accepted (default: the response limit, ``--max-response-bytes``).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        notification_timeout: float = 10.0,
        verify: bool | ssl.SSLContext = True,
        transport: str = "websocket",
        channel_key: str | None = None,
        name: str = "",
        max_frame_bytes: int | None = None,
    ) -> None:
        self.url = url
        self.max_frame_bytes = response_limit() if max_frame_bytes is None else max_frame_bytes
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.verify = verify
        self.transport = transport
        self.name = name
        self._key = channel_key
        self.inbox = Inbox(transport, notification_timeout, self._channel_of)
        self.connection: ClientConnection | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._closing = False
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None

    def _channel_of(self, message: Any) -> str | None:
        if not isinstance(message, Mapping):
            return None
        for key in (self._key, "topicName", "topic", "channel"):
            if key and isinstance(message.get(key), str):
                sub = message.get("subtopic")
                return f"{message[key]}/{sub}" if key == "topic" and isinstance(sub, str) else message[key]
        return None

    # ---- lifetime --------------------------------------------------------------------------------------------
    def open(self) -> WsClient:
        """Connect and start reading.

        Raises:
            TargetUnreachable: refused or timed out.
            WsRejected: the upgrade was answered with an HTTP status (``.status``).
            ProtocolViolation: the answer to the upgrade is not HTTP/WebSocket.
        """
        shown = redact_url(self.url)
        context = None
        if self.url.startswith("wss://"):
            if isinstance(self.verify, ssl.SSLContext):
                context = self.verify
            else:
                context = ssl.create_default_context()
                if not self.verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
        with step(f"open WebSocket {shown}"):
            try:
                self.connection = connect(
                    self.url,
                    additional_headers=self.headers,
                    open_timeout=self.timeout,
                    close_timeout=self.timeout,
                    ssl=context,
                    proxy=None,
                    max_size=self.max_frame_bytes,
                    user_agent_header="voicekit",
                    **_DIRECT,
                )
            except InvalidStatus as exc:
                body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
                raise WsRejected(
                    f"WebSocket {shown}: the upgrade was answered HTTP {exc.response.status_code}",
                    status=exc.response.status_code,
                    body=body,
                ) from None
            except InvalidURI as exc:
                raise ProtocolViolation(f"WebSocket {shown}: invalid URL ({exc})") from None
            except InvalidHandshake as exc:
                raise ProtocolViolation(f"WebSocket {shown}: the upgrade failed ({exc})") from None
            except TimeoutError:
                raise TargetUnreachable(
                    f"WebSocket {shown}: no answer within {self.timeout:g} s", outage="hang"
                ) from None
            except OSError as exc:
                reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc)
                raise TargetUnreachable(f"WebSocket {shown}: cannot connect ({reason})", outage="unreachable") from None
        self._reader = threading.Thread(target=self._read, name=f"ws-{self.name or self.transport}", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.connection is not None
        try:
            for frame in self.connection:
                text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
                try:
                    message = safejson.loads(text)
                except safejson.JsonTooDeep as exc:
                    self.inbox.fail(ProtocolViolation(f"{self.transport}: a frame is {exc}"))
                    continue
                except ValueError:
                    self.inbox.fail(ProtocolViolation(f"{self.transport}: a frame is not JSON: {text[:200]!r}"))
                    continue
                self.inbox.put(message)
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == 1009:  # we refused a frame over max_size
                self.inbox.fail(over_limit(f"{self.transport} {redact_url(self.url)}", "a frame", self.max_frame_bytes))
        except Exception as exc:  # never let the reader kill the test thread
            self.inbox.fail(TargetUnreachable(f"{self.transport}: reading failed: {exc!r}"))
        finally:
            connection = self.connection
            if connection is not None:
                self.close_code = getattr(connection, "close_code", None)
                self.close_reason = getattr(connection, "close_reason", None)
            self._closed.set()
            if not self._closing:
                self.inbox.fail(
                    TargetUnreachable(
                        f"{self.transport}: the server closed the WebSocket (code {self.close_code}, "
                        f"reason {self.close_reason!r})",
                        title="WebSocket closed",
                    )
                )

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._closing = True
        if self.connection is not None:
            with contextlib.suppress(Exception):  # already gone
                self.connection.close(code, reason)
        if self._reader is not None:
            self._reader.join(timeout=self.timeout)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def await_close(self, timeout: float | None = None) -> tuple[int | None, str | None]:
        """Wait until the server closes the socket; returns (code, reason).

        Raises:
            ConformanceFailure: still open after ``timeout``.
        """
        limit = self.inbox.timeout if timeout is None else timeout
        with step(f"await WebSocket close ({self.transport})"):
            if not self._closed.wait(limit):
                raise ConformanceFailure(
                    f"{self.transport}: the WebSocket is still open after {limit:g} s", title="WebSocket not closed"
                )
        return self.close_code, self.close_reason

    def __enter__(self) -> WsClient:
        if self.connection is None:
            self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- sending and waiting ---------------------------------------------------------------------------------
    def send(self, message: Any) -> None:
        """Send a JSON value (or a str/bytes frame as is, for malformed-frame tests).

        Raises:
            TargetUnreachable: the socket is closed.
        """
        if self.connection is None:
            raise TargetUnreachable(f"{self.transport}: not connected")
        frame = message if isinstance(message, str | bytes) else json.dumps(message)
        shown = message if not isinstance(message, bytes) else f"<{len(message)} bytes>"
        current().add(Notification(self.transport, self._channel_of(message), shown, direction="sent"))
        with step(f"send on {self.transport}"):
            attach(json.dumps(redact_json(shown), indent=2, ensure_ascii=False, default=str), "frame")
            try:
                self.connection.send(frame)
            except ConnectionClosed as exc:
                raise TargetUnreachable(f"{self.transport}: cannot send, the WebSocket is closed ({exc})") from None

    def request(
        self, message: Any, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> Any:
        """Send ``message`` and wait for the first message matching ``predicate``."""
        self.send(message)
        return self.await_message(predicate, timeout, description)

    def await_message(
        self, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> Any:
        return self.inbox.await_message(predicate, timeout, description)

    def await_messages(
        self, n: int, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> list[Any]:
        return self.inbox.await_messages(n, predicate, timeout, description)

    def drain(self) -> list[Any]:
        return self.inbox.drain()

    def expect_none(self, predicate: Predicate = None, quiet_for: float = 1.0, description: str | None = None) -> None:
        self.inbox.expect_none(predicate, quiet_for, description)

    @property
    def messages(self) -> list[Any]:
        return self.inbox.history
