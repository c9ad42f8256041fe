"""Connect bus rules: one test per documented rule of the Amazon Connect CTI bus (seed 004, the "Answer Call"
page, and the family behaviour voicekit decided in specs/errata/connect.yaml E500-E514), profile ``connect-bus``.

Why these tests talk only to the bus: a client of the bus sees nothing else. Each test opens the agent's bus
(``bus`` fixture), sends requests ``{channel: "Amazon", topic, subtopic, source, data?}`` and awaits the answer by
content (E501: the bus has no request ids): the call event of the offered connection, or the failure
``<subtopic>Failed`` (E502). Every message received is checked against the AsyncAPI contract.

External events — an incoming call, the far end hanging up — cannot be caused over the bus:
:class:`~conformance.support.lab.ConnectLab` asks the infrastructure's :class:`~conformance.events.EventSource`
(the control API ``events.control_url``, a driver command ``events.driver_command``, or a person); without one those
tests are not run, with the reason. Each test starts from a clean agent (no contact, state Available), restored
through the mock's control API when there is one, else over the bus (fixtures ``agent_a``, ``agent_b``, ``bus_a`` in
``conftest.py``).

Rules that need a state the documents name (Available, Not Ready reason code 1) use 004's example data (E500) and
the mock's seed; a target that knows no such state gets AGENT_STATE_NOT_FOUND, and the test is not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conformance.failures import ConformanceFailure
from conformance.outcomes import not_run
from conformance.support.connect import (
    AMAZON,
    APP,
    AVAILABLE,
    INBOUND,
    NOT_FOUND,
    NOT_READY_REASON,
    Bus,
    answer,
    button_problems,
    call_event,
    call_of,
    connection_of,
    expect_failure,
    failure_of,
    offer,
    refused,
    request,
    short,
)
from conformance.support.lab import ConnectLab
from conformance.target import RunningTarget
from conformance.transport.ws import WsClient

DOC = "004_2c8d8f76980482e0.txt"


# ---- InboundCall Answer (004) --------------------------------------------------------------------------------------
@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "CONNECT-ANSWER-001",
    document=DOC,
    lines=(98, 110),
    title="Answer without an incoming call (agent not PendingBusy) fails with ANSWER_CALL_FAILED "
    '"Answering call failed." (prerequisite l.14-16; E508)',
)
@pytest.mark.vk_operations("connect.InboundCall.Answer")
@pytest.mark.vk_fixture_id("connect.inboundcall.answer-call-failed")
def test_answer_without_incoming_call_fails(bus_a: Bus) -> None:
    refused(bus_a, "Answer", success=call_event("connected"))


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E514",
    title="An incoming call is announced with InboundCallStateChange event connecting "
    "(the agent becomes PendingBusy; 004 l.14-16, field notes)",
)
@pytest.mark.vk_operations("connect.InboundCallStateChange")
@pytest.mark.vk_needs_event("inbound-call")
def test_incoming_call_is_announced_connecting(bus_a: Bus, connect_events: ConnectLab) -> None:
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


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "CONNECT-ANSWER-002",
    document=DOC,
    lines=(121, 195),
    title="Answer of an incoming call is answered by InboundCallStateChange event connected for that call (E501)",
)
@pytest.mark.vk_operations("connect.InboundCall.Answer", "connect.InboundCallStateChange")
@pytest.mark.vk_fixture_id("connect.inboundcall.answer-sample")
@pytest.mark.vk_needs_event("inbound-call")
def test_answer_incoming_call_connects(bus_a: Bus, connect_events: ConnectLab) -> None:
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


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E508", title="Answer of a call that is already connected fails with ANSWER_CALL_FAILED and changes nothing"
)
@pytest.mark.vk_operations("connect.InboundCall.Answer")
@pytest.mark.vk_needs_event("inbound-call")
def test_answer_of_connected_call_fails(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    refused(bus_a, "Answer", success=call_event("connected"))


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "CONNECT-ANSWER-003",
    document=DOC,
    lines=(129, 167),
    title="ButtonStates is consistent: every item Enable or Hide, count = number of items, "
    "ResponseActual.buttonStates true exactly for Enable (E504)",
)
@pytest.mark.vk_operations("connect.InboundCallStateChange")
@pytest.mark.vk_needs_event("inbound-call")
def test_button_states_are_consistent(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, connecting = offer(connect_events, bus_a)
    connected = answer(bus_a, connection)
    for label, event in (("connecting", connecting), ("connected", connected)):
        problems = button_problems(call_of(event))
        if problems:
            raise ConformanceFailure(f"ButtonStates of the {label} event of {connection}: " + "; ".join(problems))


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "CONNECT-ANSWER-004",
    document=DOC,
    lines=(170, 173),
    title="CallVariables carries the call's ANI and DNIS as delivered (E505, E506)",
)
@pytest.mark.vk_operations("connect.InboundCallStateChange")
@pytest.mark.vk_needs_event("inbound-call")
def test_call_variables_as_delivered(bus_a: Bus, connect_events: ConnectLab) -> None:
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
@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E510", title="Hold with the connection id of a connected call is answered by InboundCallStateChange event hold"
)
@pytest.mark.vk_operations("connect.InboundCall.Hold")
@pytest.mark.vk_needs_event("inbound-call")
def test_hold_connected_call(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    reply = bus_a.ask(request(INBOUND, "Hold", connection), call_event("hold", connection), failure_of(INBOUND, "Hold"))
    if not call_event("hold", connection)(reply):
        raise ConformanceFailure(f"Hold of the connected call {connection} was refused: {short(reply)}")


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule("E510", title='Hold without a connected call fails with HOLD_CALL_FAILED "Call hold failed."')
@pytest.mark.vk_operations("connect.InboundCall.Hold")
@pytest.mark.vk_needs_event("inbound-call")
def test_hold_fails_without_connected_call(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, _ = offer(connect_events, bus_a)  # offered, still connecting: not holdable
    refused(bus_a, "Hold", connection)
    answer(bus_a, connection)
    bus_a.ask(request(INBOUND, "Hold", connection), call_event("hold", connection), failure_of(INBOUND, "Hold"))
    refused(bus_a, "Hold", connection)  # already on hold


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule("E510", title="Resume of the held call is answered by InboundCallStateChange event connected")
@pytest.mark.vk_operations("connect.InboundCall.Resume")
@pytest.mark.vk_needs_event("inbound-call")
def test_resume_held_call(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    held = bus_a.ask(request(INBOUND, "Hold", connection), call_event("hold", connection), failure_of(INBOUND, "Hold"))
    if not call_event("hold", connection)(held):
        raise ConformanceFailure(f"Hold was refused, Resume cannot be tried: {short(held)}")
    reply = bus_a.ask(request(INBOUND, "Resume"), call_event("connected", connection), failure_of(INBOUND, "Resume"))
    if not call_event("connected", connection)(reply):
        raise ConformanceFailure(f"Resume of the held call {connection} was refused: {short(reply)}")


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule("E510", title='Resume without a held call fails with RESUME_CALL_FAILED "Resuming call failed."')
@pytest.mark.vk_operations("connect.InboundCall.Resume")
@pytest.mark.vk_needs_event("inbound-call")
def test_resume_fails_without_held_call(bus_a: Bus, connect_events: ConnectLab) -> None:
    refused(bus_a, "Resume")  # no call at all
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    refused(bus_a, "Resume")  # connected, not held


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E510", title="Disconnect of the connected call is answered by InboundCallStateChange event ACW (Dropped accepted)"
)
@pytest.mark.vk_operations("connect.InboundCall.Disconnect")
@pytest.mark.vk_needs_event("inbound-call")
def test_disconnect_call(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    reply = bus_a.ask(
        request(INBOUND, "Disconnect"), call_event(("ACW", "Dropped"), connection), failure_of(INBOUND, "Disconnect")
    )
    if failure_of(INBOUND, "Disconnect")(reply):
        raise ConformanceFailure(f"Disconnect of the connected call {connection} was refused: {short(reply)}")


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E510", title='Disconnect without a call fails with DISCONNECT_CALL_FAILED "Disconnecting call failed."'
)
@pytest.mark.vk_operations("connect.InboundCall.Disconnect")
def test_disconnect_fails_without_call(bus_a: Bus) -> None:
    refused(bus_a, "Disconnect")


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule("E510", title="The far end hanging up ends the call with InboundCallStateChange event Dropped")
@pytest.mark.vk_operations("connect.InboundCallStateChange")
@pytest.mark.vk_needs_event("inbound-call")
@pytest.mark.vk_needs_event("remote-hangup")
def test_remote_hangup_drops_call(bus_a: Bus, connect_events: ConnectLab) -> None:
    connection, _ = offer(connect_events, bus_a)
    answer(bus_a, connection)
    connect_events.remote_hangup(bus_a.agent)
    bus_a.await_(call_event("Dropped", connection), "InboundCallStateChange Dropped")
    refused(bus_a, "Hold", connection)  # nothing left to hold


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


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E510", title="Agent SetNotReady {ReasonCodeId} is answered by SetAgentState with a Not Routable state"
)
@pytest.mark.vk_operations("connect.Agent.SetNotReady", "connect.SetAgentState")
def test_set_not_ready_answers_set_agent_state(bus_a: Bus) -> None:
    reply = _agent_answer(bus_a, "SetNotReady", {"ReasonCodeId": NOT_READY_REASON})
    state = _state_of(reply, "SetNotReady", f"with ReasonCodeId {NOT_READY_REASON}")
    if state["type"] != "Not Routable":
        raise ConformanceFailure(
            f"SetNotReady answered a state of type {state['type']!r}, expected 'Not Routable' "
            f"(004 l.90-96): {short(reply)}"
        )


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "CONNECT-AGENT-001",
    document=DOC,
    lines=(64, 96),
    title="Agent Update {label, code, type} is answered by SetAgentState with that state (E500, E510)",
)
@pytest.mark.vk_operations("connect.Agent.Update", "connect.SetAgentState")
@pytest.mark.vk_fixture_id("connect.agent.message-parameters")
def test_update_answers_set_agent_state(bus_a: Bus) -> None:
    reply = _agent_answer(bus_a, "SetNotReady", {"ReasonCodeId": NOT_READY_REASON})  # from another state first
    _state_of(reply, "SetNotReady", f"with ReasonCodeId {NOT_READY_REASON}")
    reply = _agent_answer(bus_a, "Update", dict(AVAILABLE))
    state = _state_of(reply, "Update", json.dumps(AVAILABLE))
    if {k: state[k] for k in AVAILABLE} != AVAILABLE:
        raise ConformanceFailure(f"Update to {AVAILABLE} answered SetAgentState {state}")


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E510",
    title="An unknown agent state (Update) or reason code (SetNotReady) fails with "
    'AGENT_STATE_NOT_FOUND "Specified Agent State not found."',
)
@pytest.mark.vk_operations("connect.Agent.Update", "connect.Agent.SetNotReady")
def test_unknown_agent_state_is_not_found(bus_a: Bus) -> None:
    unknown = {"label": "voicekit-no-such-state", "code": "voicekit-no-such-state", "type": "Not Routable"}
    for subtopic, data in (("Update", unknown), ("SetNotReady", {"ReasonCodeId": "voicekit-no-such-reason"})):
        reply = _agent_answer(bus_a, subtopic, data)
        if reply.get("subtopic") == "SetAgentState":
            raise ConformanceFailure(f"Agent {subtopic} with an unknown state succeeded: {short(reply)}")
        expect_failure(reply, "Agent", subtopic, *NOT_FOUND)


# ---- the bus itself ------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "E513", title="Malformed and unknown frames are answered (voicekit's error message) and the socket stays open"
)
@pytest.mark.vk_operations("connect.voicekit.Error")
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


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule(
    "CONNECT-BUS-001",
    title="Events of one agent never reach another agent's bus (one bus per "
    "agent: specs/connect.asyncapi.yaml channel bus)",
)
@pytest.mark.vk_operations("connect.InboundCallStateChange", "connect.SetAgentState")
@pytest.mark.vk_needs_event("inbound-call")
def test_events_stay_on_their_agents_bus(
    bus_a: Bus, agent_b: str, vk_bus: Callable[..., WsClient], connect_events: ConnectLab
) -> None:
    other = Bus(vk_bus(agent_b), agent_b)
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


@pytest.mark.vk_profile("connect-bus")
@pytest.mark.vk_rule("CONNECT-BUS-002", title="Every message the bus delivers matches specs/connect.asyncapi.yaml")
@pytest.mark.vk_operations("connect.InboundCallStateChange", "connect.SetAgentState")
@pytest.mark.vk_needs_event("inbound-call")
def test_every_message_matches_the_contract(bus_a: Bus, connect_events: ConnectLab) -> None:
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
