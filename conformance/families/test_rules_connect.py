"""Connect bus rules: one test per documented rule of the Amazon Connect CTI bus (seed 004, the "Answer Call"
page, and the family behaviour voicekit decided in specs/errata/connect.yaml E500-E514), profile ``connect-bus``.

Why these tests talk only to the bus: a client of the bus sees nothing else. Each test opens the agent's bus
(``bus`` fixture), sends requests ``{channel: "Amazon", topic, subtopic, source, data?}`` and awaits the answer by
content (E501: the bus has no request ids): the call event of the offered connection, or the failure
``<subtopic>Failed`` (E502). Every message received is checked against the AsyncAPI contract.

External events — an incoming call, the far end hanging up — cannot be caused over the bus. The infrastructure's
:class:`~conformance.events.EventSource` has no Connect events (its control calls are GWS's), so
:class:`ConnectEvents` here uses the same control API (``events.control_url``: ``/connect/agents/{id}/calls``,
``…/calls/current/hangup``, ``…/state``); without a control URL those tests are not run. Each test starts from a
clean agent (no contact, state Available), restored through the control API when there is one, else over the bus.

Rules that need a state the documents name (Available, Not Ready reason code 1) use 004's example data (E500) and
the mock's seed; a target that knows no such state gets AGENT_STATE_NOT_FOUND, and the test is not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest

from conformance.advisory import advise
from conformance.checks import expect_notification
from conformance.config import TargetConfig
from conformance.events import EventFailed
from conformance.failures import ConformanceFailure
from conformance.outcomes import NotRunnable, not_run
from conformance.target import RunningTarget
from conformance.transport.http import HttpClient
from conformance.transport.ws import WsClient

DOC = "004_2c8d8f76980482e0.txt"
APP = "voicekit"
AMAZON = "Amazon"
INBOUND = "InboundCall"
STATE_CHANGE = "InboundCallStateChange"
CALLER = "+15551230100"
DIALLED = "+16013261548"
AVAILABLE = {"label": "Available", "code": "Available", "type": "Routable"}  # 004 l.80-96, paired (E500)
NOT_READY_REASON = "1"
BUTTONS = (
    "answer",
    "reject",
    "disconnect",
    "hold",
    "resume",
    "clearContact",
    "consult",
    "numberpad",
    "swap",
    "transfer",
    "conference",
)
FAILURES = {  # request subtopic → (error type, message): 004 l.106-110 and the field notes (E502, E510)
    "Answer": ("ANSWER_CALL_FAILED", "Answering call failed."),
    "Hold": ("HOLD_CALL_FAILED", "Call hold failed."),
    "Resume": ("RESUME_CALL_FAILED", "Resuming call failed."),
    "Disconnect": ("DISCONNECT_CALL_FAILED", "Disconnecting call failed."),
}
NOT_FOUND = ("AGENT_STATE_NOT_FOUND", "Specified Agent State not found.")

__all__ = [
    "AMAZON",
    "Bus",
    "ConnectEvents",
    "button_problems",
    "call_event",
    "connection_id",
    "either",
    "failure_of",
    "request",
    "short",
    "validated",
]


# ---- messages ------------------------------------------------------------------------------------------------------
def request(topic: str, subtopic: str, data: Any = None, *, source: str = APP) -> dict[str, Any]:
    """A request as 004 l.24-42 and l.112-119 show it (``data`` only when given)."""
    message: dict[str, Any] = {"channel": AMAZON, "topic": topic, "subtopic": subtopic, "source": source}
    if data is not None:
        message["data"] = data
    return message


def call_of(message: Any) -> dict[str, Any]:
    call = message.get("message", {}).get("call") if isinstance(message, dict) else None
    return call if isinstance(call, dict) else {}


def connection_of(message: Any) -> str | None:
    call = call_of(message)
    actual = cast(dict[str, Any], call.get("ResponseActual")) if isinstance(call.get("ResponseActual"), dict) else {}
    value = call.get("id") or actual.get("connectionId")
    return str(value) if value else None


def call_event(event: str | tuple[str, ...], connection: str | None = None) -> Callable[[Any], bool]:
    """Matches InboundCallStateChange with ``event`` (one or several), for ``connection`` when given (E501)."""
    events = (event,) if isinstance(event, str) else event

    def match(message: Any) -> bool:
        return (
            message.get("topic") == INBOUND
            and message.get("subtopic") == STATE_CHANGE
            and call_of(message).get("event") in events
            and (connection is None or connection_of(message) == connection)
        )

    match.__name__ = f"InboundCallStateChange {'/'.join(events)}" + (f" for {connection}" if connection else "")
    return match


def failure_of(topic: str, subtopic: str) -> Callable[[Any], bool]:
    """Matches the failure of a request: ``<subtopic>Failed`` on the request's topic (E502)."""

    def match(message: Any) -> bool:
        matched: bool = message.get("topic") == topic and message.get("subtopic") == f"{subtopic}Failed"
        return matched

    match.__name__ = f"{topic}/{subtopic}Failed"
    return match


def either(*predicates: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def match(message: Any) -> bool:
        return any(p(message) for p in predicates)

    match.__name__ = " or ".join(getattr(p, "__name__", "?") for p in predicates)
    return match


def validated(message: Any) -> Any:
    """The message, once it matches a message of specs/connect.asyncapi.yaml (raises ConformanceFailure)."""
    expect_notification(message, system="connect")
    return message


def short(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False)[:300]


def expect_failure(message: Any, topic: str, subtopic: str, error_type: str, text: str) -> None:
    """The failure envelope of E502 with the documented error type and message (the members E502 requires from
    every target: topic, subtopic, message.errorType, message.message)."""
    body = message.get("message") if isinstance(message.get("message"), dict) else {}
    problems = []
    if message.get("topic") != topic or message.get("subtopic") != f"{subtopic}Failed":
        problems.append(
            f"topic/subtopic {message.get('topic')}/{message.get('subtopic')}, expected {topic}/{subtopic}Failed"
        )
    if body.get("errorType") != error_type:
        problems.append(f"errorType {body.get('errorType')!r}, expected {error_type!r}")
    if not isinstance(body.get("message"), str):
        problems.append(f"message {body.get('message')!r} is not a text")
    elif body.get("message") != text:  # human-readable: the documents' wording is advisory
        advise(
            f"{topic} {subtopic} failure: message {body.get('message')!r}, the documents word it {text!r}",
            basis="004 l.98-110 list the failure texts as human-readable messages; errorType identifies the "
            "failure (E502)",
        )
    if problems:
        raise ConformanceFailure(f"{topic} {subtopic} failure: " + "; ".join(problems) + f" — {short(message)}")
    validated(message)


# ---- external events: the control API ------------------------------------------------------------------------------
@dataclass
class ConnectEvents:
    """Incoming calls, far-end hang-ups and agent resets through the target's control API
    (``events.control_url``), which :class:`~conformance.events.EventSource` does not cover for Connect."""

    config: TargetConfig
    _client: HttpClient | None = None

    @property
    def available(self) -> bool:
        return bool(self.config.events.control_url)

    def require(self, event: str) -> None:
        """Raises NotRunnable when there is no control API to cause ``event``."""
        if not self.available:
            raise NotRunnable(
                f"no event source for Connect {event}: configure events.control_url (the voicekit "
                "control API; Connect events have no driver or manual source)"
            )

    def client(self) -> HttpClient:
        if self._client is None:
            events = self.config.events
            assert events.control_url
            self._client = HttpClient(
                events.control_url,
                token=events.control_token,
                csrf="off",
                timeout=self.config.timeouts.request,
                verify=self.config.ssl_verify(),
                name="control API",
            )
        return self._client

    def _call(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = ()) -> dict[str, Any]:
        response = self.client().request(method, f"/connect{path}", json=body)
        data = response.json_or_none()
        if response.status // 100 != 2 and response.status not in ok:
            message = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise EventFailed(
                f"the control API refused {method} /connect{path}: {response.status} {message}",
                status=response.status,
                body=data,
            )
        return data if isinstance(data, dict) else {}

    def incoming_call(
        self, agent: str, caller: str = CALLER, dialled: str | None = DIALLED, **extra: Any
    ) -> dict[str, Any]:
        """An external call from ``caller`` to ``dialled`` is offered to ``agent`` (never missed while the test
        runs); returns the control API's view of the contact (``contact.connectionId``)."""
        self.require("incoming call")
        body: dict[str, Any] = {"from": caller, "ringTimeout": None, **extra}
        if dialled:
            body["to"] = dialled
        return self._call("POST", f"/agents/{agent}/calls", body)

    def remote_hangup(self, agent: str) -> None:
        """The far end of the agent's current call hangs up."""
        self.require("remote hang-up")
        self._call("POST", f"/agents/{agent}/calls/current/hangup")

    def reset_agent(self, agent: str) -> None:
        """No contact, state Available (a hang-up of whatever call is left, then the state)."""
        self._call("POST", f"/agents/{agent}/calls/current/hangup", ok=(404, 409))
        self._call("PUT", f"/agents/{agent}/state", {"code": AVAILABLE["code"]}, ok=(409,))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def connection_id(view: dict[str, Any]) -> str:
    contact = cast(dict[str, Any], view.get("contact")) if isinstance(view.get("contact"), dict) else view
    value = contact.get("connectionId")
    if not value:
        raise EventFailed(f"the control API did not say which connection it offered: {short(view)}")
    return str(value)


# ---- the bus, as a test uses it ------------------------------------------------------------------------------------
class Bus:
    """One agent's bus: send a request, await its answer by content; every message received is validated."""

    def __init__(self, client: WsClient, agent: str) -> None:
        self.client = client
        self.agent = agent

    def send(self, message: Any) -> None:
        self.client.send(message)

    def await_(self, predicate: Callable[[Any], bool], description: str | None = None) -> Any:
        return validated(self.client.await_message(predicate, description=description))

    def ask(self, message: dict[str, Any], *answers: Callable[[Any], bool]) -> Any:
        """Send ``message``; the first message matching one of ``answers``."""
        self.send(message)
        wanted = either(*answers)
        return self.await_(wanted, f"answer to {message['topic']}/{message['subtopic']} ({wanted.__name__})")

    def received(self) -> list[Any]:
        return self.client.messages

    def validate_all(self) -> None:
        """Every message received so far matches the contract (the first that does not fails)."""
        for message in self.received():
            validated(message)


@pytest.fixture
def connect_events(vk_config: TargetConfig, vk_cleanup: Any) -> ConnectEvents:
    """The control-API helper; closed after the test's resets (cleanups run last-in, first-out)."""
    events = ConnectEvents(vk_config)
    vk_cleanup(events.close, description="close the control API client")
    return events


def _agent(config: TargetConfig, index: int) -> str:
    if len(config.connect.agents) <= index:
        not_run(f"this rule needs connect.agents[{index}] in the configuration")
    return config.connect.agents[index]


def _reset_over_bus(bus: Callable[..., WsClient], agent: str) -> None:
    """Without a control API: end any call and go Available with the bus's own requests (answers ignored)."""
    client = bus(agent)
    try:
        client.send(request(INBOUND, "Disconnect"))
        client.send(request("Agent", "Update", dict(AVAILABLE)))
        client.await_message(lambda m: m.get("topic") == "Agent", description="answer to Agent/Update (reset)")
    except ConformanceFailure:
        pass
    finally:
        client.close()


@pytest.fixture
def agent_a(
    vk_config: TargetConfig, connect_events: ConnectEvents, bus: Callable[..., WsClient], vk_cleanup: Any
) -> str:
    """Agent A (``connect.agents[0]``), clean at the start of the test and afterwards."""
    agent = _agent(vk_config, 0)
    _clean(agent, connect_events, bus)
    vk_cleanup(_clean, agent, connect_events, bus, description=f"reset Connect agent {agent}")
    return agent


@pytest.fixture
def agent_b(
    vk_config: TargetConfig, connect_events: ConnectEvents, bus: Callable[..., WsClient], vk_cleanup: Any
) -> str:
    """Agent B (``connect.agents[1]``), clean like agent A."""
    agent = _agent(vk_config, 1)
    _clean(agent, connect_events, bus)
    vk_cleanup(_clean, agent, connect_events, bus, description=f"reset Connect agent {agent}")
    return agent


def _clean(agent: str, events: ConnectEvents, bus: Callable[..., WsClient]) -> None:
    if events.available:
        events.reset_agent(agent)
    else:
        _reset_over_bus(bus, agent)


@pytest.fixture
def bus_a(agent_a: str, bus: Callable[..., WsClient]) -> Bus:
    return Bus(bus(agent_a), agent_a)


def offer(events: ConnectEvents, bus: Bus, caller: str = CALLER, dialled: str | None = DIALLED) -> tuple[str, Any]:
    """An incoming call to the bus's agent; returns its connection id and the connecting event."""
    connection = connection_id(events.incoming_call(bus.agent, caller, dialled))
    event = bus.await_(call_event("connecting", connection), "InboundCallStateChange connecting")
    return connection, event


def answer(bus: Bus, connection: str) -> Any:
    """Answer the offered call; the connected event (fails on AnswerFailed)."""
    reply = bus.ask(request(INBOUND, "Answer"), call_event("connected", connection), failure_of(INBOUND, "Answer"))
    if not call_event("connected", connection)(reply):
        raise ConformanceFailure(
            f"Answer of the offered call {connection} was refused: {short(reply)}", rule="CONNECT-ANSWER-002"
        )
    return reply


def _refused(
    bus: Bus, subtopic: str, data: Any = None, *, topic: str = INBOUND, success: Callable[[Any], bool] | None = None
) -> None:
    """``subtopic`` must fail with its documented error (E502, E510) and nothing must succeed."""
    error_type, text = FAILURES[subtopic]
    success = success or call_event(("connected", "hold", "ACW", "Dropped"))
    reply = bus.ask(request(topic, subtopic, data), failure_of(topic, subtopic), success)
    if success(reply):
        raise ConformanceFailure(
            f"{topic} {subtopic} succeeded although its precondition does not hold: {short(reply)}"
        )
    expect_failure(reply, topic, subtopic, error_type, text)
    late = [m for m in bus.client.inbox.pending if success(m)]
    if late:
        raise ConformanceFailure(f"{topic} {subtopic} was refused and yet succeeded: {short(late[0])}")


# ---- InboundCall Answer (004) --------------------------------------------------------------------------------------
@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "CONNECT-ANSWER-001",
    document=DOC,
    lines=(98, 110),
    title="Answer without an incoming call (agent not PendingBusy) fails with ANSWER_CALL_FAILED "
    '"Answering call failed." (prerequisite l.14-16; E508)',
)
@pytest.mark.operations("connect.InboundCall.Answer")
@pytest.mark.fixture_id("connect.inboundcall.answer-call-failed")
def test_answer_without_incoming_call_fails(bus_a: Bus) -> None:
    _refused(bus_a, "Answer", success=call_event("connected"))


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E514",
    title="An incoming call is announced with InboundCallStateChange event connecting "
    "(the agent becomes PendingBusy; 004 l.14-16, field notes)",
)
@pytest.mark.operations("connect.InboundCallStateChange")
@pytest.mark.needs_event("inbound-call")
def test_incoming_call_is_announced_connecting(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, event = offer(connect_events, bus_a)
    call = call_of(event)
    actual = call.get("ResponseActual") or {}
    problems = []
    if actual.get("status") != "connecting":
        problems.append(f"ResponseActual.status {actual.get('status')!r}, expected 'connecting'")
    if event.get("message", {}).get("source") != "event":
        problems.append(f"message.source {event.get('message', {}).get('source')!r}, expected 'event' (E511)")
    if problems:
        raise ConformanceFailure(f"the connecting event of {connection}: " + "; ".join(problems))


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "CONNECT-ANSWER-002",
    document=DOC,
    lines=(121, 195),
    title="Answer of an incoming call is answered by InboundCallStateChange event connected for that call (E501)",
)
@pytest.mark.operations("connect.InboundCall.Answer", "connect.InboundCallStateChange")
@pytest.mark.fixture_id("connect.inboundcall.answer-sample")
@pytest.mark.needs_event("inbound-call")
def test_answer_incoming_call_connects(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    reply = answer(bus_a, connection)
    call = call_of(reply)
    actual = call.get("ResponseActual") or {}
    problems = []
    for name, value, expected in (
        ("ResponseActual.status", actual.get("status"), "connected"),
        ("ResponseActual.previousStatus", actual.get("previousStatus"), "connecting"),
        ("ResponseFields.CallState", (call.get("ResponseFields") or {}).get("CallState"), "connected"),
        ("message.source", reply.get("message", {}).get("source"), "event"),
    ):
        if value != expected:
            problems.append(f"{name} {value!r}, expected {expected!r}")
    if problems:
        raise ConformanceFailure(f"the connected event of {connection}: " + "; ".join(problems))


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E508", title="Answer of a call that is already connected fails with ANSWER_CALL_FAILED and changes nothing"
)
@pytest.mark.operations("connect.InboundCall.Answer")
@pytest.mark.needs_event("inbound-call")
def test_answer_of_connected_call_fails(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    _refused(bus_a, "Answer", success=call_event("connected"))


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "CONNECT-ANSWER-003",
    document=DOC,
    lines=(129, 167),
    title="ButtonStates is consistent: every item Enable or Hide, count = number of items, "
    "ResponseActual.buttonStates true exactly for Enable (E504)",
)
@pytest.mark.operations("connect.InboundCallStateChange")
@pytest.mark.needs_event("inbound-call")
def test_button_states_are_consistent(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, connecting = offer(connect_events, bus_a)
    connected = answer(bus_a, connection)
    for label, event in (("connecting", connecting), ("connected", connected)):
        problems = button_problems(call_of(event))
        if problems:
            raise ConformanceFailure(f"ButtonStates of the {label} event of {connection}: " + "; ".join(problems))


def button_problems(call: dict[str, Any]) -> list[str]:
    """E504's rules for ButtonStates and ResponseActual.buttonStates (values are the target's to choose)."""
    states = cast(dict[str, Any], call.get("ButtonStates")) if isinstance(call.get("ButtonStates"), dict) else {}
    items = states.get("items") if isinstance(states.get("items"), dict) else None
    actual = cast(dict[str, Any], call.get("ResponseActual")) if isinstance(call.get("ResponseActual"), dict) else {}
    flags = actual.get("buttonStates") if isinstance(actual.get("buttonStates"), dict) else None
    if items is None or flags is None:
        return ["ButtonStates.items or ResponseActual.buttonStates is missing"]
    problems = []
    odd = {k: v for k, v in items.items() if v not in ("Enable", "Hide")}
    if odd:
        problems.append(f"items other than Enable/Hide: {odd}")
    if states.get("count") != len(items):
        problems.append(f"count {states.get('count')!r} but {len(items)} items")
    missing = [b for b in BUTTONS if b not in items]
    if missing:
        problems.append(f"items without {missing}")
    if set(flags) != set(items):
        problems.append(f"buttonStates keys {sorted(flags)} differ from the items {sorted(items)}")
    mismatched = [k for k in items if k in flags and flags[k] is not (items[k] == "Enable")]
    if mismatched:
        problems.append(f"buttonStates do not mirror Enable/Hide for {mismatched}")
    return problems


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "CONNECT-ANSWER-004",
    document=DOC,
    lines=(170, 173),
    title="CallVariables carries the call's ANI and DNIS as delivered (E505, E506)",
)
@pytest.mark.operations("connect.InboundCallStateChange")
@pytest.mark.needs_event("inbound-call")
def test_call_variables_as_delivered(bus_a: Bus, connect_events: ConnectEvents) -> None:
    caller, dialled = "+15551230177", "+16013261548"
    connection, connecting = offer(connect_events, bus_a, caller, dialled)
    connected = answer(bus_a, connection)
    for label, event in (("connecting", connecting), ("connected", connected)):
        variables = call_of(event).get("CallVariables") or {}
        if variables.get("ANI") != caller or variables.get("DNIS") != dialled:
            raise ConformanceFailure(
                f"CallVariables of the {label} event are {variables}, expected ANI {caller} "
                f"and DNIS {dialled} as the call was delivered"
            )


# ---- InboundCall Hold / Resume / Disconnect (family: E509, E510) ------------------------------------------------
@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E510", title="Hold with the connection id of a connected call is answered by InboundCallStateChange event hold"
)
@pytest.mark.operations("connect.InboundCall.Hold")
@pytest.mark.needs_event("inbound-call")
def test_hold_connected_call(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    reply = bus_a.ask(request(INBOUND, "Hold", connection), call_event("hold", connection), failure_of(INBOUND, "Hold"))
    if not call_event("hold", connection)(reply):
        raise ConformanceFailure(f"Hold of the connected call {connection} was refused: {short(reply)}")


@pytest.mark.profile("connect-bus")
@pytest.mark.rule("E510", title='Hold without a connected call fails with HOLD_CALL_FAILED "Call hold failed."')
@pytest.mark.operations("connect.InboundCall.Hold")
@pytest.mark.needs_event("inbound-call")
def test_hold_fails_without_connected_call(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)  # offered, still connecting: not holdable
    _refused(bus_a, "Hold", connection)
    answer(bus_a, connection)
    bus_a.ask(request(INBOUND, "Hold", connection), call_event("hold", connection), failure_of(INBOUND, "Hold"))
    _refused(bus_a, "Hold", connection)  # already on hold


@pytest.mark.profile("connect-bus")
@pytest.mark.rule("E510", title="Resume of the held call is answered by InboundCallStateChange event connected")
@pytest.mark.operations("connect.InboundCall.Resume")
@pytest.mark.needs_event("inbound-call")
def test_resume_held_call(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    held = bus_a.ask(request(INBOUND, "Hold", connection), call_event("hold", connection), failure_of(INBOUND, "Hold"))
    if not call_event("hold", connection)(held):
        raise ConformanceFailure(f"Hold was refused, Resume cannot be tried: {short(held)}")
    reply = bus_a.ask(request(INBOUND, "Resume"), call_event("connected", connection), failure_of(INBOUND, "Resume"))
    if not call_event("connected", connection)(reply):
        raise ConformanceFailure(f"Resume of the held call {connection} was refused: {short(reply)}")


@pytest.mark.profile("connect-bus")
@pytest.mark.rule("E510", title='Resume without a held call fails with RESUME_CALL_FAILED "Resuming call failed."')
@pytest.mark.operations("connect.InboundCall.Resume")
@pytest.mark.needs_event("inbound-call")
def test_resume_fails_without_held_call(bus_a: Bus, connect_events: ConnectEvents) -> None:
    _refused(bus_a, "Resume")  # no call at all
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    _refused(bus_a, "Resume")  # connected, not held


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E510", title="Disconnect of the connected call is answered by InboundCallStateChange event ACW (Dropped accepted)"
)
@pytest.mark.operations("connect.InboundCall.Disconnect")
@pytest.mark.needs_event("inbound-call")
def test_disconnect_call(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    reply = bus_a.ask(
        request(INBOUND, "Disconnect"), call_event(("ACW", "Dropped"), connection), failure_of(INBOUND, "Disconnect")
    )
    if failure_of(INBOUND, "Disconnect")(reply):
        raise ConformanceFailure(f"Disconnect of the connected call {connection} was refused: {short(reply)}")


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E510", title='Disconnect without a call fails with DISCONNECT_CALL_FAILED "Disconnecting call failed."'
)
@pytest.mark.operations("connect.InboundCall.Disconnect")
def test_disconnect_fails_without_call(bus_a: Bus) -> None:
    _refused(bus_a, "Disconnect")


@pytest.mark.profile("connect-bus")
@pytest.mark.rule("E510", title="The far end hanging up ends the call with InboundCallStateChange event Dropped")
@pytest.mark.operations("connect.InboundCallStateChange")
@pytest.mark.needs_event("inbound-call")
@pytest.mark.needs_event("remote-hangup")
def test_remote_hangup_drops_call(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    connect_events.remote_hangup(bus_a.agent)
    bus_a.await_(call_event("Dropped", connection), "InboundCallStateChange Dropped")
    _refused(bus_a, "Hold", connection)  # nothing left to hold


# ---- Agent state (family: E500, E510) ---------------------------------------------------------------------------
def _agent_answer(bus: Bus, subtopic: str, data: Any) -> Any:
    return bus.ask(
        request("Agent", subtopic, data),
        lambda m: m.get("topic") == "Agent" and m.get("subtopic") in ("SetAgentState", f"{subtopic}Failed"),
    )


def _state_of(reply: Any, subtopic: str, wanted: str) -> dict[str, Any]:
    if reply.get("subtopic") != "SetAgentState":
        body = reply.get("message") or {}
        if body.get("errorType") == NOT_FOUND[0]:
            not_run(
                f"the target knows no agent state {wanted} (AGENT_STATE_NOT_FOUND); the rule is checked with "
                "004's example states (E500)"
            )
        raise ConformanceFailure(f"Agent {subtopic} was refused: {short(reply)}")
    state = reply.get("message")
    if not isinstance(state, dict) or not all(isinstance(state.get(k), str) for k in ("label", "code", "type")):
        raise ConformanceFailure(f"SetAgentState does not carry {{label, code, type}}: {short(reply)}")
    return state


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E510", title="Agent SetNotReady {ReasonCodeId} is answered by SetAgentState with a Not Routable state"
)
@pytest.mark.operations("connect.Agent.SetNotReady", "connect.SetAgentState")
def test_set_not_ready_answers_set_agent_state(bus_a: Bus) -> None:
    reply = _agent_answer(bus_a, "SetNotReady", {"ReasonCodeId": NOT_READY_REASON})
    state = _state_of(reply, "SetNotReady", f"with ReasonCodeId {NOT_READY_REASON}")
    if state["type"] != "Not Routable":
        raise ConformanceFailure(
            f"SetNotReady answered a state of type {state['type']!r}, expected 'Not Routable' "
            f"(004 l.90-96): {short(reply)}"
        )


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "CONNECT-AGENT-001",
    document=DOC,
    lines=(64, 96),
    title="Agent Update {label, code, type} is answered by SetAgentState with that state (E500, E510)",
)
@pytest.mark.operations("connect.Agent.Update", "connect.SetAgentState")
@pytest.mark.fixture_id("connect.agent.message-parameters")
def test_update_answers_set_agent_state(bus_a: Bus) -> None:
    reply = _agent_answer(bus_a, "SetNotReady", {"ReasonCodeId": NOT_READY_REASON})  # from another state first
    _state_of(reply, "SetNotReady", f"with ReasonCodeId {NOT_READY_REASON}")
    reply = _agent_answer(bus_a, "Update", dict(AVAILABLE))
    state = _state_of(reply, "Update", json.dumps(AVAILABLE))
    if {k: state[k] for k in AVAILABLE} != AVAILABLE:
        raise ConformanceFailure(f"Update to {AVAILABLE} answered SetAgentState {state}")


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E510",
    title="An unknown agent state (Update) or reason code (SetNotReady) fails with "
    'AGENT_STATE_NOT_FOUND "Specified Agent State not found."',
)
@pytest.mark.operations("connect.Agent.Update", "connect.Agent.SetNotReady")
def test_unknown_agent_state_is_not_found(bus_a: Bus) -> None:
    unknown = {"label": "voicekit-no-such-state", "code": "voicekit-no-such-state", "type": "Not Routable"}
    for subtopic, data in (("Update", unknown), ("SetNotReady", {"ReasonCodeId": "voicekit-no-such-reason"})):
        reply = _agent_answer(bus_a, subtopic, data)
        if reply.get("subtopic") == "SetAgentState":
            raise ConformanceFailure(f"Agent {subtopic} with an unknown state succeeded: {short(reply)}")
        expect_failure(reply, "Agent", subtopic, *NOT_FOUND)


# ---- the bus itself ------------------------------------------------------------------------------------------------
@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "E513", title="Malformed and unknown frames are answered (voicekit's error message) and the socket stays open"
)
@pytest.mark.operations("connect.voicekit.Error")
def test_malformed_frames_keep_the_socket_open(bus_a: Bus, vk_target: RunningTarget) -> None:
    frames: list[Any] = [
        '{"channel": "Amazon",',
        "[1, 2]",
        request(INBOUND, "Transfer"),
        {"channel": "Other", "topic": INBOUND, "subtopic": "Answer", "source": APP},
        request(INBOUND, "Hold"),
    ]  # Hold without data
    for frame in frames:
        bus_a.send(frame)
        if vk_target.is_mock:  # E513: only the voicekit mock is bound to answer with its own error message
            bus_a.await_(
                lambda m: m.get("channel") == "voicekit" and m.get("topic") == "Error",
                f"voicekit error for {str(frame)[:60]}",
            )
    reply = _agent_answer(bus_a, "Update", dict(AVAILABLE))  # the socket still serves requests
    _state_of(reply, "Update", json.dumps(AVAILABLE))
    if bus_a.client.closed:
        raise ConformanceFailure(f"the bus closed the socket (code {bus_a.client.close_code}) after bad frames")


@pytest.mark.profile("connect-bus")
@pytest.mark.rule(
    "CONNECT-BUS-001",
    title="Events of one agent never reach another agent's bus (one bus per "
    "agent: specs/connect.asyncapi.yaml channel bus)",
)
@pytest.mark.operations("connect.InboundCallStateChange", "connect.SetAgentState")
@pytest.mark.needs_event("inbound-call")
def test_events_stay_on_their_agents_bus(
    bus_a: Bus, agent_b: str, bus: Callable[..., WsClient], connect_events: ConnectEvents
) -> None:
    other = Bus(bus(agent_b), agent_b)
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    _agent_answer(bus_a, "Update", dict(AVAILABLE))  # an agent event of A too (refused or not, it is A's)
    # B's own request is answered on B's bus after everything above was delivered on A's: a barrier, no sleep.
    _agent_answer(other, "Update", dict(AVAILABLE))
    leaked = [
        m
        for m in other.received()
        if connection_of(m) == connection or (m.get("topic") == INBOUND and m.get("channel") == AMAZON)
    ]
    if leaked:
        raise ConformanceFailure(f"agent {agent_b}'s bus received agent {bus_a.agent}'s call event: {short(leaked[0])}")
    answers = [m for m in other.received() if m.get("topic") == "Agent"]
    if len(answers) != 1:
        raise ConformanceFailure(
            f"agent {agent_b}'s bus received {len(answers)} Agent messages for its single "
            f"request (agent {bus_a.agent}'s leaked?): {[short(m) for m in answers]}"
        )


@pytest.mark.profile("connect-bus")
@pytest.mark.rule("CONNECT-BUS-002", title="Every message the bus delivers matches specs/connect.asyncapi.yaml")
@pytest.mark.operations("connect.InboundCallStateChange", "connect.SetAgentState")
@pytest.mark.needs_event("inbound-call")
def test_every_message_matches_the_contract(bus_a: Bus, connect_events: ConnectEvents) -> None:
    connection, _ = offer(connect_events, bus_a)
    for message, answers in (
        (request(INBOUND, "Answer"), (call_event("connected", connection),)),
        (request(INBOUND, "Hold", connection), (call_event("hold", connection),)),
        (request(INBOUND, "Hold", connection), ()),
        (request(INBOUND, "Resume"), (call_event("connected", connection),)),
        (request(INBOUND, "Disconnect"), (call_event(("ACW", "Dropped"), connection),)),
        (request(INBOUND, "Resume"), ()),
        (request("Agent", "Update", dict(AVAILABLE)), ()),
    ):
        topic, subtopic = message["topic"], message["subtopic"]
        other_answer = (lambda m: m.get("topic") == "Agent") if topic == "Agent" else failure_of(topic, subtopic)
        bus_a.ask(message, *answers, other_answer)
    bus_a.validate_all()
