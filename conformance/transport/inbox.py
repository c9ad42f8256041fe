"""The await API shared by the notification transports (CometD, WebSocket): a thread-safe inbox that a
receiving thread fills and a test waits on.

Why one class: families write ``await_message(...)`` the same way whatever the channel, and every wait is
bounded, reported as an Allure step and turned into a clear :class:`ConformanceFailure` on timeout.

Messages that do not match a wait stay in the inbox, so waiting for B and then A works even when A came
first. A predicate is a callable ``(message) -> bool``, a mapping compared as a subset (nested mappings
recursively, other values by equality: ``{"channel": "/v2/me/calls", "data": {"call": {"state":
"Ringing"}}}``) or None (any message).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Union

from conformance.evidence import Notification, attach, current, step
from conformance.failures import ConformanceFailure
from conformance.redact import redact_json

__all__ = ["Inbox", "Predicate", "describe", "matcher", "subset_matches"]

Predicate = Union[Callable[[Any], bool], Mapping[str, Any], None]  # noqa: UP007 - a runtime alias


def subset_matches(expected: Any, actual: Any) -> bool:
    """Every member of ``expected`` is in ``actual`` with a matching value (mappings recursively)."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and subset_matches(value, actual[key]) for key, value in expected.items()
        )
    return bool(expected == actual)


def matcher(predicate: Predicate) -> Callable[[Any], bool]:
    if predicate is None:
        return lambda _message: True
    if isinstance(predicate, Mapping):
        return lambda message: subset_matches(predicate, message)
    return predicate


def describe(predicate: Predicate) -> str:
    if predicate is None:
        return "any message"
    if isinstance(predicate, Mapping):
        return json.dumps(predicate, ensure_ascii=False, default=str)
    return getattr(predicate, "__name__", None) or repr(predicate)


class Inbox:
    """Received messages and the waits on them.

    Args:
        transport: ``cometd``, ``websocket``… (shown in evidence).
        timeout: Default seconds of a wait (the per-notification timeout).
        channel_of: How to read a message's channel for the evidence.
    """

    def __init__(
        self, transport: str, timeout: float = 10.0, channel_of: Callable[[Any], str | None] | None = None
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self._channel_of = channel_of or (lambda m: m.get("channel") if isinstance(m, Mapping) else None)
        self._cond = threading.Condition()
        self._pending: list[Any] = []
        self._history: list[Any] = []
        self._broken: ConformanceFailure | None = None

    # ---- the receiving side ----------------------------------------------------------------------------------
    def put(self, message: Any) -> None:
        """Add a received message (called from the receiving thread)."""
        current().add(Notification(self.transport, self._channel_of(message), message))
        with self._cond:
            self._pending.append(message)
            self._history.append(message)
            self._cond.notify_all()

    def fail(self, failure: ConformanceFailure) -> None:
        """The source is broken: waits that cannot be satisfied from what is pending raise ``failure``."""
        with self._cond:
            if self._broken is None:
                self._broken = failure
            self._cond.notify_all()

    def clear_failure(self) -> None:
        with self._cond:
            self._broken = None

    @property
    def broken(self) -> ConformanceFailure | None:
        return self._broken

    # ---- the test's side -------------------------------------------------------------------------------------
    @property
    def history(self) -> list[Any]:
        """Every message received so far, consumed or not."""
        with self._cond:
            return list(self._history)

    @property
    def pending(self) -> list[Any]:
        with self._cond:
            return list(self._pending)

    def drain(self) -> list[Any]:
        """Remove and return every pending message."""
        with self._cond:
            out, self._pending = self._pending, []
            return out

    def await_message(
        self, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> Any:
        """The first pending or future message matching ``predicate`` (removed from the inbox).

        Raises:
            ConformanceFailure: nothing matched within ``timeout`` seconds (default: the notification
                timeout), or the channel broke (the failure says why).
        """
        return self.await_messages(1, predicate, timeout, description)[0]

    def await_messages(
        self, count: int, predicate: Predicate = None, timeout: float | None = None, description: str | None = None
    ) -> list[Any]:
        """``count`` matching messages, in arrival order, within one ``timeout``."""
        label = description or describe(predicate)
        if count > 1:
            label = f"{count} × {label}"
        test = matcher(predicate)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        found: list[Any] = []
        with step(f"await notification: {label}"):
            with self._cond:
                while True:
                    for message in list(self._pending):
                        if len(found) < count and _safe(test, message):
                            self._pending.remove(message)
                            found.append(message)
                    if len(found) >= count:
                        break
                    if self._broken is not None:
                        self._pending[:0] = found
                        raise self._not_received(label, limit, found, count, broken=self._broken)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._pending[:0] = found
                        raise self._not_received(label, limit, found, count)
                    self._cond.wait(remaining)
            for i, message in enumerate(found, 1):
                attach(
                    json.dumps(redact_json(message), indent=2, ensure_ascii=False),
                    "notification" if count == 1 else f"notification {i}",
                )
        return found

    def expect_none(self, predicate: Predicate = None, quiet_for: float = 1.0, description: str | None = None) -> None:
        """Fail if a matching message is pending or arrives within ``quiet_for`` seconds.

        Raises:
            ConformanceFailure: an unexpected message (attached).
        """
        label = description or describe(predicate)
        test = matcher(predicate)
        deadline = time.monotonic() + quiet_for
        with step(f"expect no notification for {quiet_for:g} s: {label}"), self._cond:
            while True:
                hit = next((m for m in self._pending if _safe(test, m)), None)
                if hit is not None:
                    text = json.dumps(redact_json(hit), ensure_ascii=False)
                    attach(json.dumps(redact_json(hit), indent=2, ensure_ascii=False), "unexpected notification")
                    raise ConformanceFailure(
                        f"unexpected {self.transport} notification ({label}): {text[:500]}",
                        title="Unexpected notification",
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def _not_received(
        self, label: str, limit: float, found: list[Any], count: int, broken: ConformanceFailure | None = None
    ) -> ConformanceFailure:
        seen = [_compact(m) for m in self._pending[-5:]]
        got = f" (got {len(found)} of {count})" if count > 1 else ""
        others = f"; pending meanwhile: {'; '.join(seen)}" if seen else "; nothing else was received"
        if broken is not None:
            failure = type(broken)(
                f"no {self.transport} notification {label}{got}: the channel broke: {broken.message}",
                rule=broken.rule,
                title=broken.title,
            )
            return failure
        return ConformanceFailure(
            f"no {self.transport} notification {label} within {limit:g} s{got}{others}",
            title="Notification not received",
        )


def _safe(test: Callable[[Any], bool], message: Any) -> bool:
    try:
        return bool(test(message))
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


def _compact(message: Any, limit: int = 600) -> str:
    """A redacted one-line view of a message for failure texts (long URIs shortened to their last segment)."""

    def shorten(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: shorten(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shorten(v) for v in value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return "…/" + value.rstrip("/").rsplit("/", 1)[-1]
        return value

    text = json.dumps(shorten(redact_json(message)), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "…"
