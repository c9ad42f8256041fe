"""Shared helpers of the GWS rule families and the stateful family — no tests live here.

Why a module of its own: every rule family drives the same things — an agent with its CometD session, calls
set up between two configured agents, capability sets of the errata, ordered notification waits and a
cleanup that leaves no call behind — and the families must read the same way. (It is named like a family
module only because the families directory has no shared-helper module yet; it collects no tests.)

Capability sets: 003 shows them per state and context; the errata fix them as sets (E208, E209, E311, E312,
E207, E211, E330). Notifications are awaited on the agent's own CometD session (``/v2/me/*``), the way a
desktop sees them (003 l.1497-1503).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.advisory import advise
from conformance.checks import DEFAULT_GWS_CHECKS, ConformanceFailure, expect, expect_notification
from conformance.config import TargetConfig
from conformance.gws import GwsAgent
from conformance.outcomes import not_run
from conformance.transport.cometd import CometdClient
from conformance.transport.http import HttpResponse

__all__ = [
    "CALLS",
    "DEVICES",
    "DOC",
    "SERVICES",
    "Line",
    "await_in_order",
    "call_caps",
    "check_capabilities",
    "connect",
    "establish",
    "expect_ok",
    "expect_refused",
    "hang_up_everything",
    "line_a",
    "line_b",
    "line_c",
]

DOC = "003_ca6f4272dc604134.txt"
CALLS = "/v2/me/calls"
DEVICES = "/v2/me/devices"
SERVICES = "/notifications/services"

# ---- capability sets (003 samples, as the errata read them) --------------------------------------------------
USER_DATA_OPS = frozenset({"AttachUserData", "UpdateUserData", "DeleteUserData", "DeleteUserDataPair"})
RINGING = USER_DATA_OPS | {"Answer"}  # l.1206-1214
DIALING = USER_DATA_OPS | {"Hangup", "SendDtmf"}  # l.4937-4946
ESTABLISHED = USER_DATA_OPS | {
    "Hangup",
    "Hold",
    "SendDtmf",
    "InitiateConference",
    "InitiateTransfer",
    "SingleStepConference",
    "SingleStepTransfer",
}  # l.1264-1277, 5125-5139
HELD = USER_DATA_OPS | {
    "Retrieve",
    "Hangup",
    "InitiateConference",
    "InitiateTransfer",
    "SingleStepConference",
    "SingleStepTransfer",
}  # l.5302-5315
SECOND_CALL = {
    "Dialing": frozenset({"SwapCalls", "CompleteTransfer"}),  # E312, l.6382-6392
    "Established": frozenset({"SwapCalls", "CompleteTransfer", "CompleteConference"}),  # E312
    "Held": frozenset({"SwapCalls", "CompleteTransfer", "CompleteConference"}),
}  # E311
AGENT_STATE_OPERATIONS = frozenset({"Ready", "NotReady", "AuxWork", "AfterCallWork", "Offline"})


def call_caps(
    state: str,
    *,
    public: bool = False,
    via_queue: bool = False,
    conference: bool = False,
    muted: bool = False,
    second_call: bool = False,
    consult: str | None = None,
) -> frozenset[str]:
    """The capability set of a call, by the errata's table (E209, E207, E211, E311, E312).

    Args:
        state: The call's state as the agent sees it.
        public: The agent's device is on the Public network (no Answer, l.5061-5064).
        via_queue: The ringing call was delivered through a queue (Reject, l.5159-5162).
        conference: Three or more parties are on the call (RemoveParticipantFromConference, MuteCall).
        muted: The agent muted the conference call (UnmuteCall instead of MuteCall, E211).
        second_call: The agent's other call makes a pair (one held, this one active; or this one held).
        consult: ``conference`` for the consult call of InitiateConference (CompleteConference, E207).
    """
    if state == "Released":
        return frozenset()
    if state == "Ringing":
        caps = set(USER_DATA_OPS)
        if not public:
            caps.add("Answer")
        if via_queue:
            caps.add("Reject")
        return frozenset(caps)
    base = {"Dialing": DIALING, "Established": ESTABLISHED, "Held": HELD}.get(state)
    if base is None:
        raise ValueError(f"no capability set for state {state!r}")
    caps = set(base)
    if state == "Established" and conference:
        caps |= {"RemoveParticipantFromConference", "UnmuteCall" if muted else "MuteCall"}
    if second_call:
        caps |= SECOND_CALL[state]
        if state == "Dialing" and consult == "conference":
            caps.add("CompleteConference")
    return frozenset(caps)


#: Members whose presence the documents leave open, with why: a difference in them is advisory, never a failure.
DND_ON_OPTIONAL = (
    "003 l.9218-9221, 9290-9293, 9363-9366, 1932-1935 and 2043-2046 print a device with "
    "doNotDisturb Off without DoNotDisturbOn; l.1095-1100 and 9663-9671 with it (E105, E303)"
)
MUTE_OPTIONAL = (
    "the MuteCall sample mutes call e014 (003 l.5625-5629), whose printed capabilities lack MuteCall "
    "(l.5574-5588); no text restricts muting to conferences, and UnmuteCall is in no printed list (E211)"
)


def optional_members(resource: Mapping[str, Any]) -> dict[str, str]:
    """The capabilities of ``resource`` the documents neither require nor exclude, each with its basis."""
    if "doNotDisturb" in resource:  # a device
        return {"DoNotDisturbOn": DND_ON_OPTIONAL} if resource.get("doNotDisturb") == "Off" else {}
    if resource.get("state") == "Established" and len(resource.get("participants") or []) < 2:
        return {"MuteCall": MUTE_OPTIONAL, "UnmuteCall": MUTE_OPTIONAL}
    return {}


def check_capabilities(
    resource: Mapping[str, Any],
    expected: Iterable[str],
    what: str,
    *,
    rule: str | None = None,
    present: Iterable[str] = (),
    absent: Iterable[str] = (),
) -> None:
    """``resource["capabilities"]`` is ``expected`` as a set without duplicates (E330); or, when ``expected``
    is empty and ``present``/``absent`` are given, holds/lacks those members. A difference only in members the
    documents leave open (:func:`optional_members`) is an advisory finding.

    Raises:
        ConformanceFailure: the set differs (missing and extra members listed).
    """
    actual = resource.get("capabilities")
    if not isinstance(actual, list):
        raise ConformanceFailure(
            f"{what}: capabilities is not an array ({actual!r})", rule=rule, title="Capabilities missing"
        )
    if len(actual) != len(set(actual)):
        dupes = sorted({c for c in actual if actual.count(c) > 1})
        raise ConformanceFailure(
            f"{what}: capabilities list {dupes} more than once (E330: a set)", rule=rule, title="Duplicate capabilities"
        )
    want = set(expected)
    have = set(actual)
    optional = set(optional_members(resource))
    exact = (want or not (present or absent)) and have != want
    missing, unexpected = (want - have, have - want) if exact else (set(), set())
    present_missing, listed_absent = set(present) - have, set(absent) & have
    for member in sorted((missing | unexpected | present_missing | listed_absent) & optional):
        listed = member in have
        advise(
            f"{what}: {'lists' if listed else 'does not list'} {member}",
            rule=rule,
            basis=optional_members(resource)[member],
        )
    missing, unexpected = missing - optional, unexpected - optional
    present_missing, listed_absent = present_missing - optional, listed_absent - optional
    problems = []
    if missing or unexpected:
        problems.append(f"missing {sorted(missing)}, unexpected {sorted(unexpected)}")
    if present_missing:
        problems.append(f"missing {sorted(present_missing)}")
    if listed_absent:
        problems.append(f"must not list {sorted(listed_absent)}")
    if problems:
        raise ConformanceFailure(
            f"{what} (state {resource.get('state', '?')}): capabilities "
            + "; ".join(problems)
            + f" (got {sorted(have)})",
            rule=rule,
            title="Wrong capabilities",
        )


# ---- responses --------------------------------------------------------------------------------------------------
def expect_ok(response: HttpResponse) -> Any:
    """HTTP 200 with ``statusCode`` 0 (l.1857-1864, 3542), schema-checked; returns the body."""
    body = expect(response, status=200)
    if not isinstance(body, dict) or body.get("statusCode") != 0:
        raise ConformanceFailure(
            f"{response.method} {response.path}: HTTP 200 but statusCode "
            f"{body.get('statusCode') if isinstance(body, dict) else body!r}, not 0",
            title="Request not accepted",
        )
    return body


def expect_refused(response: HttpResponse, codes: int | Iterable[int], http: int | Iterable[int] | str) -> Any:
    """An error answer: the HTTP status of E001 and one of ``codes`` as statusCode (l.3539-3576); the body is
    exactly ``{statusCode, statusMessage}`` (checked by ``gws_envelope``). Returns the body."""
    wanted = {codes} if isinstance(codes, int) else set(codes)
    statuses = list(http) if isinstance(http, list | tuple | set | frozenset) else http
    server_side = any(int(str(s)[0]) == 5 for s in (statuses if isinstance(statuses, list) else [statuses]))
    names = [n for n in DEFAULT_GWS_CHECKS if not (server_side and n == "not_server_error")]
    body = expect(response, *names, status=statuses)
    code = body.get("statusCode") if isinstance(body, dict) else None
    if code not in wanted:
        raise ConformanceFailure(
            f"{response.method} {response.path} → {response.status}: statusCode {code!r}, "
            f"expected {' or '.join(str(c) for c in sorted(wanted))} "
            f"({(body or {}).get('statusMessage')!r})",
            title="Wrong statusCode",
        )
    return body


# ---- an agent with its notifications ------------------------------------------------------------------------
@dataclass
class Line:
    """An agent and its CometD session (``/v2/me/*``): the unit every call test drives."""

    agent: GwsAgent
    cometd: CometdClient

    @property
    def name(self) -> str:
        return self.agent.role or self.agent.username

    @property
    def number(self) -> str:
        return self.agent.phone_number

    @property
    def device_id(self) -> str:
        return self.agent.device_id

    def drain(self) -> list[dict[str, Any]]:
        return self.cometd.drain()

    # -- requests
    def op(self, call_id: str, operation: str, **members: Any) -> HttpResponse:
        return self.agent.call_operation(call_id, operation, **members)

    def device_op(self, operation: str, **members: Any) -> HttpResponse:
        return self.agent.post(f"/api/v2/me/devices/{self.device_id}", json={"operationName": operation, **members})

    def agent_state(self, operation: str) -> HttpResponse:
        return self.agent.post("/api/v2/me/channels/voice", json={"operationName": operation})

    def calls(self) -> list[dict[str, Any]]:
        return self.agent.calls()

    def call(self, call_id: str) -> dict[str, Any]:
        """``GET /api/v2/me/calls/{id}``: the singular ``call`` member (E329)."""
        body = expect_ok(self.agent.get(f"/api/v2/me/calls/{call_id}"))
        call = body.get("call")
        if not isinstance(call, dict):
            raise ConformanceFailure(f"GET /api/v2/me/calls/{call_id}: no call object", title="No call")
        return call

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


def hang_up_everything(agents: Iterable[GwsAgent], rounds: int = 4) -> None:
    """Best effort: no call left on any of ``agents`` (cleanup). A ringing call has no Hangup (l.1206-1214),
    so it goes when its caller hangs up; when only ringing calls are left (their caller gone), one is answered
    and then hung up. Several rounds cover calls that change hands meanwhile."""
    agents = list(agents)
    for _ in range(rounds):
        left: list[tuple[GwsAgent, dict[str, Any]]] = []
        hung = 0
        for agent in agents:
            for call in agent.calls():
                if call.get("state") in (None, "Released"):
                    continue
                left.append((agent, call))
                if "Hangup" in (call.get("capabilities") or []) or call.get("state") != "Ringing":
                    agent.call_operation(str(call["id"]), "Hangup")
                    hung += 1
        if not left:
            return
        if not hung:
            agent, call = left[0]
            if "Answer" in (call.get("capabilities") or []):
                agent.call_operation(str(call["id"]), "Answer")


def restore(line: Line, operation: str = "NotReady") -> None:
    """Cleanup: the agent state every test starts from (the mock's agents start NotReady)."""
    line.agent_state(operation)


# ---- fixtures the families import ------------------------------------------------------------------------------
def open_line(
    agent: GwsAgent,
    gws_notifications: Callable[..., CometdClient],
    vk_cleanup: Any,
    channels: Sequence[str] = ("/v2/me/*",),
) -> Line:
    """A :class:`Line` whose calls are hung up after the test (registered before the session opens, so it
    runs after the test's own undo actions)."""
    vk_cleanup(hang_up_everything, [agent], description=f"hang up every call of {agent.role}")
    return Line(agent, gws_notifications(agent, channels))


@pytest.fixture
def line_a(gws_agent: GwsAgent, gws_notifications: Any, vk_cleanup: Any) -> Line:
    """Agent A with its notifications."""
    return open_line(gws_agent, gws_notifications, vk_cleanup)


@pytest.fixture
def line_b(gws_agent_b: GwsAgent, gws_notifications: Any, vk_cleanup: Any) -> Line:
    """Agent B with its notifications."""
    return open_line(gws_agent_b, gws_notifications, vk_cleanup)


@pytest.fixture
def line_c(vk_config: TargetConfig, gws_client: Any, gws_notifications: Any, vk_cleanup: Any) -> Line:
    """Agent C (``gws.agents[2]``): the third party of transfers and conferences; not run without one."""
    if len(vk_config.gws.agents) < 3:
        not_run("transfers and conferences need a third GWS agent (gws.agents[2])")
    return open_line(gws_client(vk_config.gws.agents[2], "agent C"), gws_notifications, vk_cleanup)


def other_party_numbers(call: Mapping[str, Any]) -> set[str]:
    return {str(p) for p in call.get("participants") or []}


def require(condition: bool, message: str, *, title: str = "Rule violated", rule: str | None = None) -> None:
    """Raise a :class:`ConformanceFailure` unless ``condition``."""
    if not condition:
        raise ConformanceFailure(message, rule=rule, title=title)


# ---- settings (destructive tests change them and put them back) ---------------------------------------------
def read_group(admin: GwsAgent, group: str) -> dict[str, Any]:
    """``GET /api/v2/settings/{group}`` as the administrator (l.2143-2220)."""
    body: dict[str, Any] = expect_ok(admin.get(f"/api/v2/settings/{group}"))
    return body


def find_setting(admin: GwsAgent, group: str, key_name: str, key_value: str) -> dict[str, Any] | None:
    """The setting of ``group`` whose ``key_name`` is ``key_value``, or None."""
    settings = read_group(admin, group).get("settings")
    for setting in settings if isinstance(settings, list) else []:
        if isinstance(setting, dict) and setting.get(key_name) == key_value:
            return setting
    return None


def put_setting(admin: GwsAgent, group: str, setting: dict[str, Any], key_name: str, vk_cleanup: Any) -> None:
    """Create or update a setting and register the undo: the original back, or the new one deleted."""
    key_value = setting[key_name]
    original = find_setting(admin, group, key_name, key_value)
    if original is None:
        vk_cleanup(
            admin.delete,
            f"/api/v2/settings/{group}",
            json={key_name: key_value},
            description=f"delete the setting {key_value} of {group}",
        )
        expect_ok(admin.post(f"/api/v2/settings/{group}", json=setting))
    else:
        vk_cleanup(
            admin.put,
            f"/api/v2/settings/{group}",
            json=original,
            description=f"restore the setting {key_value} of {group}",
        )
        expect_ok(admin.put(f"/api/v2/settings/{group}", json=setting))
