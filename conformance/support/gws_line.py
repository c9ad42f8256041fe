"""A GWS agent as one test drives it: :class:`Line`, the ordered notification waits, and calls between agents.

Why a view of its own rather than :attr:`GwsAgent.cometd`: an agent *plus the notification session one test
judges*. A family test opens a fresh CometD session per test (owned by the test's scope, so it is disconnected even
when the test fails, and nothing a previous test caused is left in it), on the channels the test chooses; the waits
(``call_message``, ``device_message``, ``no_call_messages``, :func:`await_in_order`) read that session and say whose
notifications they judge. Requests go through the agent; the view adds no state but the session. The replay, which
drives one agent across many fixtures, keeps the agent's own long-lived session instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.advisory import advise
from conformance.checks import ConformanceFailure, expect_notification
from conformance.support.cleanup import release_calls
from conformance.support.gws import CALLS, DEVICES, GwsAgent
from conformance.support.gws_checks import expect_ok
from conformance.transport.cometd import CometdClient
from conformance.transport.http import HttpResponse

__all__ = [
    "Line",
    "await_in_order",
    "call_predicate",
    "connect",
    "establish",
    "open_line",
    "restore",
    "summary",
]


# ---- an agent with the notifications a test judges ------------------------------------------------------------
@dataclass
class Line:
    """An agent and the CometD session (``/v2/me/*``) of one test: the unit every call test drives."""

    agent: GwsAgent
    cometd: CometdClient

    @property
    def name(self) -> str:
        return self.agent.label

    @property
    def number(self) -> str:
        return self.agent.phone_number

    @property
    def device_id(self) -> str:
        return self.agent.device_id

    def drain(self) -> list[dict[str, Any]]:
        return self.cometd.drain()

    # -- requests (the agent's)
    def op(self, call_id: str, operation: str, **members: Any) -> HttpResponse:
        return self.agent.call_operation(call_id, operation, **members)

    def device_op(self, operation: str, **members: Any) -> HttpResponse:
        return self.agent.device_operation(operation, **members)

    def agent_state(self, operation: str) -> HttpResponse:
        return self.agent.agent_state(operation)

    def calls(self) -> list[dict[str, Any]]:
        return self.agent.calls()

    def call(self, call_id: str) -> dict[str, Any]:
        return self.agent.call(call_id)

    def device(self) -> dict[str, Any]:
        """The agent's device as ``GET /api/v2/me/devices?fields=*`` shows it now."""
        body = expect_ok(self.agent.get("/api/v2/me/devices", params={"fields": "*"}))
        for device in body.get("devices") or []:
            if isinstance(device, dict) and str(device.get("id")) == self.device_id:
                return device
        raise ConformanceFailure(
            f"{self.name}: device {self.device_id} not in /api/v2/me/devices", title="Device missing"
        )

    # -- notifications
    def call_message(
        self,
        call_id: str | None = None,
        state: str | None = None,
        notification_type: str | None = None,
        *,
        timeout: float | None = None,
        validate: bool = True,
    ) -> dict[str, Any]:
        """The next CallStateChangeMessage matching; returns ``data.call`` (schema-checked)."""
        message = self.cometd.await_message(
            call_predicate(call_id, state, notification_type),
            timeout,
            description=f"{self.name}: " + describe_call(call_id, state, notification_type),
        )
        if validate:
            expect_notification(message, system="gws")
        call: dict[str, Any] = message["data"]["call"]
        return call

    def device_message(
        self,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        description: str = "DeviceStateChangeMessage",
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The next DeviceStateChangeMessage whose device of this agent matches; returns that device."""

        def match(message: dict[str, Any]) -> bool:
            if message.get("channel") != DEVICES or message["data"].get("messageType") != "DeviceStateChangeMessage":
                return False
            return any(self._mine(d) and (predicate is None or predicate(d)) for d in message["data"]["devices"])

        message = self.cometd.await_message(match, timeout, description=f"{self.name}: {description}")
        expect_notification(message, system="gws")
        return next(d for d in message["data"]["devices"] if self._mine(d) and (predicate is None or predicate(d)))

    def _mine(self, device: Any) -> bool:
        return isinstance(device, dict) and str(device.get("id")) == self.device_id

    def no_call_messages(self, quiet_for: float = 0.5, description: str = "no call notification") -> None:
        self.cometd.expect_none(lambda m: m.get("channel") == CALLS, quiet_for, f"{self.name}: {description}")

    def no_device_messages(self, quiet_for: float = 0.5, description: str = "no device notification") -> None:
        self.cometd.expect_none(lambda m: m.get("channel") == DEVICES, quiet_for, f"{self.name}: {description}")


def call_predicate(
    call_id: str | None = None, state: str | None = None, notification_type: str | None = None
) -> Callable[[dict[str, Any]], bool]:
    def match(message: dict[str, Any]) -> bool:
        if message.get("channel") != CALLS:
            return False
        data = message["data"]
        if data.get("messageType") != "CallStateChangeMessage":
            return False
        call = data["call"]
        return (
            (call_id is None or str(call.get("id")) == str(call_id))
            and (state is None or call.get("state") == state)
            and (notification_type is None or data.get("notificationType") == notification_type)
        )

    match.__name__ = describe_call(call_id, state, notification_type)
    return match


def describe_call(call_id: str | None, state: str | None, notification_type: str | None) -> str:
    parts = [notification_type or "CallStateChangeMessage"]
    if call_id:
        parts.append(f"call {call_id}")
    if state:
        parts.append(f"state {state}")
    return " ".join(parts)


def summary(message: Mapping[str, Any]) -> str:
    """One line for order evidence: ``StatusChange 0071…a01 Held``."""
    data = message.get("data") or {}
    call = data.get("call") or {}
    if call:
        return f"{data.get('notificationType')} {call.get('id')} {call.get('state')}"
    return str(data.get("messageType"))


def await_in_order(
    line: Line,
    expected: Sequence[tuple[str, Callable[[dict[str, Any]], bool]]],
    *,
    channel: str = CALLS,
    timeout: float | None = None,
    rule: str | None = None,
    order_basis: str | None = None,
) -> list[dict[str, Any]]:
    """Wait for every ``expected`` message on ``channel`` and check they arrived in that order (when
    ``order_basis`` says why the documents leave the order open, another order is an advisory finding).

    Messages of the channel are taken in arrival order; each expected one is the first not yet used that
    matches. Returns the matched messages in the expected order.

    Raises:
        ConformanceFailure: one was not received in time, or they came in another order.
    """
    limit = line.cometd.inbox.timeout if timeout is None else timeout
    deadline = time.monotonic() + limit
    arrived: list[dict[str, Any]] = []
    found: list[int | None] = [None] * len(expected)

    def assign() -> None:
        used = {i for i in found if i is not None}
        for k, (_, test) in enumerate(expected):
            if found[k] is None:
                found[k] = next((i for i, m in enumerate(arrived) if i not in used and _safe(test, m)), None)
                if found[k] is not None:
                    used.add(found[k])  # type: ignore[arg-type]

    while None in found:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            arrived.append(
                line.cometd.await_message(
                    lambda m: m.get("channel") == channel,
                    remaining,
                    description=f"{line.name}: next message on {channel}",
                )
            )
        except (TimeoutError, ConformanceFailure):
            missing = [expected[k][0] for k, i in enumerate(found) if i is None]
            raise ConformanceFailure(
                f"{line.name}: no {', '.join(missing)} within {limit:g} s; received in order: "
                f"{[summary(m) for m in arrived] or 'nothing'}",
                rule=rule,
                title="Notification not received",
            ) from None
        assign()
    indices = [i for i in found if i is not None]
    if indices != sorted(indices) and order_basis is not None:
        advise(
            f"{line.name}: received {[summary(arrived[i]) for i in sorted(indices)]}, the reference mock sends "
            f"{' then '.join(d for d, _ in expected)}",
            rule=rule,
            basis=order_basis,
        )
    elif indices != sorted(indices):
        raise ConformanceFailure(
            f"{line.name}: expected {' then '.join(d for d, _ in expected)}; received in order: "
            f"{[summary(m) for m in arrived]}",
            rule=rule,
            title="Notifications out of order",
        )
    messages = [arrived[i] for i in indices]
    for message in messages:
        expect_notification(message, system="gws")
    return messages


def _safe(test: Callable[[dict[str, Any]], bool], message: dict[str, Any]) -> bool:
    try:
        return bool(test(message))
    except (KeyError, TypeError, AttributeError, IndexError):
        return False


# ---- calls between agents -------------------------------------------------------------------------------------
def connect(caller: Line, callee: Line, **dial_members: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``caller`` dials ``callee``; returns (caller's Dialing call, callee's Ringing call) as notified."""
    expect_ok(caller.agent.dial(callee.number, **dial_members))
    dialing = caller.call_message(state="Dialing", notification_type="StatusChange")
    ringing = callee.call_message(state="Ringing", notification_type="StatusChange")
    return dialing, ringing


def establish(caller: Line, callee: Line, **dial_members: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A call from ``caller`` answered by ``callee``; returns both Established calls as notified."""
    dialing, ringing = connect(caller, callee, **dial_members)
    expect_ok(callee.op(ringing["id"], "Answer"))
    answered = callee.call_message(ringing["id"], "Established")
    connected = caller.call_message(dialing["id"], "Established")
    return connected, answered


def restore(line: Line, operation: str = "NotReady") -> None:
    """Cleanup: the agent state every test starts from (the mock's agents start NotReady)."""
    line.agent_state(operation)


def open_line(
    agent: GwsAgent,
    gws_notifications: Callable[..., CometdClient],
    vk_cleanup: Any,
    channels: Sequence[str] = ("/v2/me/*",),
) -> Line:
    """A :class:`Line` whose calls are released after the test (the cleanup is registered before the session
    opens, so it runs after the test's own undo actions)."""
    vk_cleanup(release_calls, [agent], description=f"hang up every call of {agent.role}")
    return Line(agent, gws_notifications(agent, channels))
