"""The Connect bus state machine on its own: every precondition allowed and refused, with the exact
failure type, every event checked against the AsyncAPI message it must be, and refusals changing nothing.

Time is a ManualScheduler, so the ring timeout is driven by hand.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver.domain.clock import ManualScheduler
from mockserver.domain.connect import REQUESTS, ConnectCenter
from mockserver.domain.connect.errors import (
    AgentStateNotFound,
    AnswerCallFailed,
    BusRefusal,
    Conflict,
    DisconnectCallFailed,
    HoldCallFailed,
    InvalidArgument,
    ResumeCallFailed,
    UnknownAgent,
    UnknownState,
    UpdateAgentStateFailed,
)
from mockserver.domain.connect.messages import iso
from mockserver.domain.connect.seed import parse
from mockserver.domain.events import EventBus, Notification

SEED: dict[str, Any] = {
    "ringTimeoutSeconds": 20,
    "defaultDnis": "+16013261548",
    "defaultQueue": "InboundTest",
    "agentStates": [
        {"label": "Available", "code": "Available", "type": "Routable"},
        {"label": "Not Ready", "code": "Not Ready", "type": "Not Routable", "reasonCodeId": "1"},
        {"label": "Break", "code": "Break", "type": "Not Routable", "reasonCodeId": "2"},
        {"label": "Offline", "code": "Offline", "type": "Offline"},
    ],
    "agents": [
        {"id": "a1", "name": "Agent One", "state": "Available"},
        {"id": "a2", "name": "Agent Two", "state": "Available"},
        {"id": "nr", "name": "Not Ready Agent", "state": "Not Ready"},
        {"id": "off", "name": "Offline Agent", "state": "Offline"},
    ],
}

AVAILABLE = {"label": "Available", "code": "Available", "type": "Routable"}
BREAK = {"label": "Break", "code": "Break", "type": "Not Routable"}


class World:
    """A center with a manual clock and a record of what it published."""

    def __init__(self, seed: dict[str, Any] = SEED) -> None:
        self.clock = ManualScheduler(wall_start=1_586_423_692.0)  # 2020-04-09T09:14:52Z, the 004 day
        self.bus = EventBus()
        self.published: list[Notification] = []
        self.bus.subscribe(self.published.append)
        ids = iter(f"id-{n}" for n in range(1, 10_000))
        self.center = ConnectCenter(copy.deepcopy(seed), self.clock, self.bus, new_id=lambda: next(ids))

    def take(self) -> list[dict[str, Any]]:
        """Messages published since the last take (all must be for a connect bus)."""
        out = [n.data for n in self.published]
        assert all(n.system == "connect" and n.channel == "bus" for n in self.published)
        self.published.clear()
        return out

    def snapshot(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.center.views())

    def ring(self, agent_id: str = "a1") -> str:
        view = self.center.offer_call(agent_id, "+15551230001")
        self.take()
        return view["contact"]["connectionId"]

    def connected(self, agent_id: str = "a1") -> str:
        connection = self.ring(agent_id)
        self.center.answer(agent_id)
        self.take()
        return connection

    def held(self, agent_id: str = "a1") -> str:
        connection = self.connected(agent_id)
        self.center.hold(agent_id, connection)
        self.take()
        return connection

    def in_acw(self, agent_id: str = "a1") -> str:
        connection = self.connected(agent_id)
        self.center.disconnect(agent_id)
        self.take()
        return connection


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def refused(world: World) -> Callable[..., BusRefusal]:
    """Run an operation that must be refused with exactly ``kind``; it must change and publish nothing."""

    def run(kind: type[Exception], operation: Callable[[], Any]) -> Any:
        before = world.snapshot()
        world.take()
        with pytest.raises(kind) as info:
            operation()
        assert type(info.value) is kind
        assert world.snapshot() == before
        assert world.take() == []
        return info.value

    return run


def only(messages: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(messages) == 1, messages
    return messages[0]


# ---- incoming call ------------------------------------------------------------------------------
def test_incoming_call_makes_the_agent_pending_busy_and_announces_connecting(
    world, check_message, button_rules, enabled_buttons
):
    view = world.center.offer_call("a1", "+15551230001")
    assert view["status"] == "PendingBusy"
    assert view["contact"]["status"] == "connecting"
    message = check_message(only(world.take()), "InboundCallConnecting")
    call = message["message"]["call"]
    assert call["ResponseActual"]["status"] == "connecting"
    assert call["ResponseActual"]["previousStatus"] == "init"
    assert call["CallVariables"] == {"ANI": "+15551230001", "DNIS": "+16013261548"}
    fields = call["ResponseFields"]
    assert fields["DN"] == fields["MediaProperties"]["queueName"] == "InboundTest"
    assert call["id"] == call["ResponseActual"]["connectionId"] == view["contact"]["connectionId"]
    assert call["ResponseActual"]["statusTimestamp"] == "2020-04-09T09:14:52.000Z"
    assert button_rules(call) == []
    assert enabled_buttons(call) == {"answer", "reject"}


@pytest.mark.parametrize(
    ("agent_id", "prepare", "kind"),
    [
        ("nr", None, Conflict),  # Not Routable agents are not offered calls
        ("off", None, Conflict),  # nor Offline ones
        ("a1", "ring", Conflict),  # one contact at a time
        ("a1", "connected", Conflict),
        ("a1", "in_acw", Conflict),  # after-call work still holds the contact
        ("ghost", None, UnknownAgent),
    ],
)
def test_incoming_call_refused(world, refused, agent_id, prepare, kind):
    if prepare:
        getattr(world, prepare)(agent_id)
    refused(kind, lambda: world.center.offer_call(agent_id, "+15551230002"))


@pytest.mark.parametrize(
    "arguments",
    [
        {"ani": ""},
        {"ani": None},
        {"ani": 5},
        {"ani": "+1", "dnis": 7},
        {"ani": "+1", "queue": ""},
        {"ani": "+1", "connection_id": ""},
        {"ani": "+1", "ring_timeout": 0},
        {"ani": "+1", "ring_timeout": "5"},
        {"ani": "+1", "ring_timeout": True},
    ],
)
def test_incoming_call_with_bad_arguments(world, refused, arguments):
    refused(InvalidArgument, lambda: world.center.offer_call("a1", **arguments))


def test_incoming_call_keeps_the_given_ids_and_numbers(world, check_message):
    world.center.offer_call(
        "a1",
        "+161081111",
        "+16013261548",
        "InboundTest",
        connection_id="1233dc5f-6d09-4752-85a0-cfca6fc445e7",
        contact_id="836c56f3-07c2-418f-99e7-2565b75b575c",
    )
    call = check_message(only(world.take()), "InboundCallConnecting")["message"]["call"]
    assert call["ResponseActual"]["connectionId"] == "1233dc5f-6d09-4752-85a0-cfca6fc445e7"
    assert call["ResponseActual"]["contactId"] == "836c56f3-07c2-418f-99e7-2565b75b575c"
    assert call["CallVariables"]["ANI"] == "+161081111"


# ---- Answer -------------------------------------------------------------------------------------
def test_answer_connects_the_offered_call(world, check_message, button_rules, enabled_buttons):
    connection = world.ring()
    world.clock.advance(6.955)
    world.center.answer("a1")
    call = check_message(only(world.take()), "InboundCallConnected")["message"]["call"]
    assert call["event"] == "connected"
    assert call["ResponseActual"]["status"] == "connected"
    assert call["ResponseActual"]["previousStatus"] == "connecting"
    assert call["ResponseActual"]["statusTimestamp"] == "2020-04-09T09:14:58.955Z"
    assert call["ResponseFields"]["MediaProperties"]["queueTimestamp"] == "2020-04-09T09:14:52.000Z"
    assert call["id"] == connection
    assert button_rules(call) == []
    assert enabled_buttons(call) == {"disconnect", "hold", "consult", "numberpad"}
    assert world.center.status("a1") == "Busy"


@pytest.mark.parametrize(
    ("agent_id", "prepare"),
    [
        ("a1", None),  # Available, no call
        ("nr", None),  # Not Ready, no call
        ("off", None),  # Offline
        ("a1", "connected"),  # already answered
        ("a1", "held"),
        ("a1", "in_acw"),
        ("ghost", None),  # no such agent
    ],
)
def test_answer_refused_without_an_incoming_call(world, refused, agent_id, prepare):
    if prepare:
        getattr(world, prepare)(agent_id)
    error = refused(AnswerCallFailed, lambda: world.center.answer(agent_id))
    assert error.body() == {
        "errorType": "ANSWER_CALL_FAILED",
        "code": "ANSWER_CALL_FAILED",
        "message": "Answering call failed.",
        "description": "Amazon Connect Failure Error Message.",
    }


def test_answer_on_another_agents_call_is_refused(world, refused):
    world.ring("a2")
    refused(AnswerCallFailed, lambda: world.center.answer("a1"))
    assert world.center.status("a2") == "PendingBusy"


# ---- Hold / Resume ------------------------------------------------------------------------------
def test_hold_puts_the_connected_call_on_hold(world, check_message, button_rules, enabled_buttons):
    connection = world.connected()
    world.center.hold("a1", connection)
    call = check_message(only(world.take()), "InboundCallOnHold")["message"]["call"]
    assert (call["event"], call["ResponseActual"]["status"], call["ResponseActual"]["previousStatus"]) == (
        "hold",
        "hold",
        "connected",
    )
    assert button_rules(call) == []
    assert enabled_buttons(call) == {"resume", "disconnect"}
    assert world.center.status("a1") == "Busy"


@pytest.mark.parametrize(
    ("prepare", "connection"),
    [
        ("connected", "wrong-id"),  # wrong connection id
        ("connected", ""),
        (None, "id-2"),  # no call at all
        ("ring", None),  # ringing, not connected (None: use the right id)
        ("held", None),  # already on hold
        ("in_acw", None),  # ended
    ],
)
def test_hold_refused(world, refused, prepare, connection):
    right = getattr(world, prepare)() if prepare else None
    target = right if connection is None else connection
    error = refused(HoldCallFailed, lambda: world.center.hold("a1", target))
    assert error.body()["message"] == "Call hold failed."


def test_hold_on_unknown_agent_is_refused(world, refused):
    refused(HoldCallFailed, lambda: world.center.hold("ghost", "id-2"))


def test_resume_reconnects_the_held_call(world, check_message, enabled_buttons):
    connection = world.held()
    world.center.resume("a1")
    call = check_message(only(world.take()), "InboundCallConnected")["message"]["call"]
    assert (call["event"], call["ResponseActual"]["status"], call["ResponseActual"]["previousStatus"]) == (
        "connected",
        "connected",
        "hold",
    )
    assert call["id"] == connection
    assert enabled_buttons(call) == {"disconnect", "hold", "consult", "numberpad"}


def test_resume_accepts_the_right_connection_id_as_data(world, check_message):
    connection = world.held()
    world.center.resume("a1", connection)
    check_message(only(world.take()), "InboundCallConnected")


@pytest.mark.parametrize(
    ("prepare", "connection"),
    [
        (None, None),
        ("ring", None),
        ("connected", None),
        ("in_acw", None),
        ("held", "wrong-id"),
    ],
)
def test_resume_refused(world, refused, prepare, connection):
    if prepare:
        getattr(world, prepare)()
    error = refused(ResumeCallFailed, lambda: world.center.resume("a1", connection))
    assert error.body()["errorType"] == "RESUME_CALL_FAILED"


# ---- Disconnect ---------------------------------------------------------------------------------
@pytest.mark.parametrize("prepare", ["connected", "held"])
def test_disconnect_ends_the_call_into_after_call_work(world, check_message, enabled_buttons, prepare):
    connection = getattr(world, prepare)()
    previous = "connected" if prepare == "connected" else "hold"
    world.center.disconnect("a1", connection)
    call = check_message(only(world.take()), "InboundCallAfterCallWork")["message"]["call"]
    assert (call["event"], call["ResponseActual"]["status"], call["ResponseActual"]["previousStatus"]) == (
        "ACW",
        "disconnected",
        previous,
    )
    assert enabled_buttons(call) == {"clearContact"}
    assert world.center.status("a1") == "AfterCallWork"


@pytest.mark.parametrize(
    ("prepare", "connection"),
    [
        (None, None),
        ("ring", None),
        ("in_acw", None),
        ("connected", "wrong-id"),
    ],
)
def test_disconnect_refused(world, refused, prepare, connection):
    if prepare:
        getattr(world, prepare)()
    error = refused(DisconnectCallFailed, lambda: world.center.disconnect("a1", connection))
    assert error.body()["message"] == "Disconnecting call failed."


# ---- agent state --------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["2", 2])
def test_set_not_ready_by_reason_code(world, check_message, reason):
    state = world.center.set_not_ready("a1", reason)
    assert state.wire() == BREAK
    assert check_message(only(world.take()), "SetAgentState")["message"] == BREAK
    assert world.center.status("a1") == "NotReady"


@pytest.mark.parametrize("reason", ["99", 99, None, True, 2.0, {"id": "2"}, ""])
def test_set_not_ready_with_unknown_reason(world, refused, reason):
    error = refused(AgentStateNotFound, lambda: world.center.set_not_ready("a1", reason))
    assert error.body()["message"] == "Specified Agent State not found."


def test_update_to_each_configured_state(world, check_message):
    for state in SEED["agentStates"]:
        wire = {k: state[k] for k in ("label", "code", "type")}
        world.center.update_state("a1", wire["label"], wire["code"], wire["type"])
        assert check_message(only(world.take()), "SetAgentState")["message"] == wire
        assert world.center.view("a1")["state"] == wire


@pytest.mark.parametrize(
    "given",
    [
        ("Available", "Available", "Not Routable"),  # no such combination
        ("available", "Available", "Routable"),  # case counts
        ("Lunch", "Lunch", "Not Routable"),
        (None, None, None),
        ("Available", "Available", None),
    ],
)
def test_update_to_unknown_state(world, refused, given):
    refused(AgentStateNotFound, lambda: world.center.update_state("a1", *given))


@pytest.mark.parametrize("prepare", ["ring", "connected", "held"])
def test_state_changes_refused_during_a_call(world, refused, prepare):
    getattr(world, prepare)()
    error = refused(UpdateAgentStateFailed, lambda: world.center.update_state("a1", *BREAK.values()))
    assert error.body()["message"] == "Agent state change failed."
    refused(UpdateAgentStateFailed, lambda: world.center.set_not_ready("a1", "1"))


def test_unknown_state_is_reported_before_the_busy_refusal(world, refused):
    world.connected()
    refused(AgentStateNotFound, lambda: world.center.update_state("a1", "Lunch", "Lunch", "Not Routable"))


def test_state_change_for_unknown_agent(world, refused):
    refused(UpdateAgentStateFailed, lambda: world.center.update_state("ghost", *AVAILABLE.values()))
    refused(UpdateAgentStateFailed, lambda: world.center.set_not_ready("ghost", "1"))


def test_state_change_in_after_call_work_clears_the_contact(world, check_message):
    world.in_acw()
    world.center.update_state("a1", *AVAILABLE.values())
    check_message(only(world.take()), "SetAgentState")
    view = world.center.view("a1")
    assert (view["status"], view["contact"]) == ("Available", None)
    world.center.offer_call("a1", "+15551230003")  # routable again: a new call can be offered
    assert world.center.status("a1") == "PendingBusy"


# ---- the bus dispatcher -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("topic", "subtopic", "data", "message", "failure_subtopic"),
    [
        ("InboundCall", "Answer", None, "AnswerCallFailed", "AnswerFailed"),
        ("InboundCall", "Hold", "nope", "HoldCallFailed", "HoldFailed"),
        ("InboundCall", "Hold", 42, "HoldCallFailed", "HoldFailed"),
        ("InboundCall", "Resume", None, "ResumeCallFailed", "ResumeFailed"),
        ("InboundCall", "Disconnect", None, "DisconnectCallFailed", "DisconnectFailed"),
        ("Agent", "SetNotReady", {"ReasonCodeId": "404"}, "AgentStateNotFound", "SetNotReadyFailed"),
        ("Agent", "Update", {"label": "x", "code": "x", "type": "x"}, "AgentStateNotFound", "UpdateFailed"),
        ("Agent", "Update", "not an object", "AgentStateNotFound", "UpdateFailed"),
    ],
)
def test_request_refusal_publishes_the_failure_event(
    world, check_message, topic, subtopic, data, message, failure_subtopic
):
    refusal = world.center.request("a1", topic, subtopic, data)
    assert refusal is not None
    failure = check_message(only(world.take()), message)
    assert failure["topic"] == topic
    assert failure["subtopic"] == failure_subtopic
    assert failure["message"] == refusal.body()


def test_request_refused_while_busy_publishes_update_agent_state_failed(world, check_message):
    world.connected()
    world.center.request("a1", "Agent", "SetNotReady", {"ReasonCodeId": "1"})
    failure = check_message(only(world.take()), "UpdateAgentStateFailed")
    assert (failure["subtopic"], failure["message"]["errorType"]) == ("SetNotReadyFailed", "UPDATE_AGENT_STATE_FAILED")


def test_request_runs_the_whole_call(world, check_message):
    world.ring()
    steps = [
        (("InboundCall", "Answer", None), "InboundCallConnected"),
        (("InboundCall", "Hold", "id-2"), "InboundCallOnHold"),
        (("InboundCall", "Resume", None), "InboundCallConnected"),
        (("InboundCall", "Disconnect", None), "InboundCallAfterCallWork"),
        (("Agent", "Update", AVAILABLE), "SetAgentState"),
    ]
    for (topic, subtopic, data), name in steps:
        assert world.center.request("a1", topic, subtopic, data) is None
        check_message(only(world.take()), name)


def test_request_rejects_what_is_not_a_bus_request(world):
    with pytest.raises(ValueError):
        world.center.request("a1", "InboundCall", "Transfer")


# ---- unsolicited: ring timeout, remote hang-up ----------------------------------------------------
def test_unanswered_call_is_missed_after_the_ring_timeout(world, check_message, enabled_buttons, refused):
    world.ring()
    world.clock.advance(19.9)
    assert world.take() == []
    world.clock.advance(0.2)
    call = check_message(only(world.take()), "InboundCallMissed")["message"]["call"]
    assert (call["ResponseActual"]["status"], call["ResponseActual"]["previousStatus"]) == (
        "disconnected",
        "connecting",
    )
    assert enabled_buttons(call) == set()
    assert world.center.view("a1")["status"] == "Available"
    refused(AnswerCallFailed, lambda: world.center.answer("a1"))


def test_answered_call_is_never_missed(world):
    world.connected()
    world.clock.advance(3600)
    assert world.take() == []
    assert world.clock.pending == 0


def test_ring_timeout_can_be_turned_off_per_call(world):
    world.center.offer_call("a1", "+15551230004", ring_timeout=None)
    world.take()
    world.clock.advance(3600)
    assert world.take() == []
    assert world.center.status("a1") == "PendingBusy"


@pytest.mark.parametrize("prepare", ["connected", "held"])
def test_remote_hangup_of_a_call_that_is_up(world, check_message, enabled_buttons, prepare):
    getattr(world, prepare)()
    world.center.remote_hangup("a1")
    call = check_message(only(world.take()), "InboundCallDropped")["message"]["call"]
    assert call["ResponseActual"]["status"] == "disconnected"
    assert enabled_buttons(call) == {"clearContact"}
    assert world.center.status("a1") == "AfterCallWork"


def test_remote_hangup_while_ringing_abandons_the_call(world, check_message):
    world.ring()
    world.center.remote_hangup("a1")
    check_message(only(world.take()), "InboundCallDropped")
    assert world.center.view("a1")["contact"] is None
    world.clock.advance(3600)
    assert world.take() == []  # the ring timer went with the call


@pytest.mark.parametrize(
    ("agent_id", "prepare", "kind"),
    [
        ("a1", None, Conflict),
        ("a1", "in_acw", Conflict),
        ("ghost", None, UnknownAgent),
    ],
)
def test_remote_hangup_refused(world, refused, agent_id, prepare, kind):
    if prepare:
        getattr(world, prepare)(agent_id)
    refused(kind, lambda: world.center.remote_hangup(agent_id))


# ---- control: state, agents, reset ----------------------------------------------------------------
def test_set_state_directly(world, check_message):
    view = world.center.set_state("a1", {"ReasonCodeId": 2})
    assert view["state"] == BREAK
    assert check_message(only(world.take()), "SetAgentState")["message"] == BREAK
    assert world.center.set_state("a1", {"code": "Offline"})["status"] == "Offline"


@pytest.mark.parametrize(
    ("selector", "kind"),
    [
        ({}, InvalidArgument),
        ({"type": "Not Routable"}, InvalidArgument),  # names two states
        ({"code": "Lunch"}, UnknownState),
        ({"label": "Available", "type": "Offline"}, UnknownState),
    ],
)
def test_set_state_refused(world, refused, selector, kind):
    refused(kind, lambda: world.center.set_state("a1", selector))


def test_set_state_refused_during_a_call(world, refused):
    world.connected()
    refused(Conflict, lambda: world.center.set_state("a1", {"code": "Break"}))


def test_create_agent(world, refused):
    view = world.center.create_agent("new", "New Agent")
    assert (view["status"], view["state"]["code"], view["name"]) == ("Offline", "Offline", "New Agent")
    assert world.center.create_agent("newer", state_code="Available")["status"] == "Available"
    refused(Conflict, lambda: world.center.create_agent("new"))
    refused(InvalidArgument, lambda: world.center.create_agent("x", state_code="Lunch"))
    refused(InvalidArgument, lambda: world.center.create_agent(""))
    refused(InvalidArgument, lambda: world.center.create_agent("a/b"))


def test_reset_restores_the_seed_and_cancels_timers(world):
    world.ring("a1")
    world.center.create_agent("extra")
    world.center.set_state("a2", {"code": "Break"})
    world.center.reset()
    assert {v["id"] for v in world.center.views()} == {"a1", "a2", "nr", "off"}
    assert [v["status"] for v in world.center.views()] == ["Available", "Available", "NotReady", "Offline"]
    world.take()
    world.clock.advance(3600)
    assert world.take() == []


# ---- seed ----------------------------------------------------------------------------------------
def test_default_seed_has_the_agents_and_states_the_bus_needs():
    seed = yaml.safe_load((Path(__file__).resolve().parents[3] / "mockserver/seed/default.yaml").read_text())
    setup = parse(seed["connect"])
    assert len(setup.agents) >= 3
    wires = [s.wire() for s in setup.states]
    for row in (
        {"label": "Available", "code": "Available", "type": "Routable"},
        {"label": "Not Ready", "code": "Not Ready", "type": "Not Routable"},
        {"label": "Offline", "code": "Offline", "type": "Offline"},
    ):
        assert row in wires  # the three rows of 004 l.64-96 (E500)
    assert len([s for s in setup.states if s.reason_code_id]) >= 2
    assert "gws" in seed


def test_missing_section_gives_the_default_states():
    assert [s.code for s in parse(None).states] == ["Available", "Not Ready", "Offline"]


@pytest.mark.parametrize(
    "section",
    [
        {"agentStates": [{"label": "A", "code": "A"}]},
        {"agentStates": [{"label": "A", "code": "A", "type": "Busy"}]},
        {"agentStates": [{"label": "A", "code": "A", "type": "Routable", "reasonCodeId": "1"}]},
        {
            "agentStates": [
                {"label": "A", "code": "A", "type": "Routable"},
                {"label": "B", "code": "A", "type": "Offline"},
            ]
        },
        {"agents": [{"name": "no id"}]},
        {"agents": [{"id": "x", "state": "Nope"}]},
        {"agents": [{"id": "x"}, {"id": "x"}]},
        {"ringTimeoutSeconds": 0},
        {"ringTimeoutSeconds": "30"},
    ],
)
def test_bad_seed_is_refused_at_start(section):
    with pytest.raises(ValueError):
        parse(section)


# ---- atomicity, by random walk ------------------------------------------------------------------
OPERATIONS: list[tuple[str, Callable[[ConnectCenter, str, random.Random], Any]]] = [
    ("offer", lambda c, a, r: c.offer_call(a, "+15550000000", ring_timeout=r.choice([None, 5]))),
    ("answer", lambda c, a, r: c.answer(a)),
    ("hold", lambda c, a, r: c.hold(a, r.choice([_connection(c, a), "bogus"]))),
    ("resume", lambda c, a, r: c.resume(a, r.choice([None, _connection(c, a), "bogus"]))),
    ("disconnect", lambda c, a, r: c.disconnect(a, r.choice([None, _connection(c, a)]))),
    ("not-ready", lambda c, a, r: c.set_not_ready(a, r.choice(["1", "2", "9"]))),
    ("update", lambda c, a, r: c.update_state(a, *r.choice([AVAILABLE, BREAK, {"x": 1, "y": 2, "z": 3}]).values())),
    ("hangup", lambda c, a, r: c.remote_hangup(a)),
    ("set-state", lambda c, a, r: c.set_state(a, {"code": r.choice(["Available", "Break", "Lunch"])})),
    ("time", lambda c, a, r: c.scheduler.advance(r.choice([1, 6]))),  # type: ignore[attr-defined]
]


def _connection(center: ConnectCenter, agent_id: str) -> str:
    contact = center.view(agent_id)["contact"]
    return contact["connectionId"] if contact else "none"


@pytest.mark.parametrize("walk", range(8))
def test_random_walk_refusals_change_nothing_and_events_match_the_contract(walk, check_message, button_rules):
    world = World()
    rng = random.Random(walk)
    refusals = successes = 0
    for _ in range(300):
        agent_id = rng.choice(["a1", "a2", "nr"])
        name, operation = rng.choice(OPERATIONS)
        before = world.snapshot()
        world.take()
        try:
            operation(world.center, agent_id, rng)
        except (BusRefusal, Conflict, UnknownState) as refusal:
            refusals += 1
            assert world.snapshot() == before, f"{name} refused ({refusal}) but changed the state"
            assert world.take() == [], f"{name} refused but published"
            continue
        successes += 1
        for message in world.take():
            check_message(message)
            if message["topic"] == "InboundCall":
                assert button_rules(message["message"]["call"]) == []
        for view in world.center.views():  # one contact per agent, consistent with the availability
            contact = view["contact"]
            expected = {
                None: {"Available", "NotReady", "Offline"},
                "connecting": {"PendingBusy"},
                "connected": {"Busy"},
                "hold": {"Busy"},
                "disconnected": {"AfterCallWork"},
            }
            assert view["status"] in expected[contact and contact["status"]]
    assert refusals and successes


def test_requests_cover_the_contract():
    assert {
        ("InboundCall", "Answer"),
        ("InboundCall", "Hold"),
        ("InboundCall", "Resume"),
        ("InboundCall", "Disconnect"),
        ("Agent", "SetNotReady"),
        ("Agent", "Update"),
    } == set(REQUESTS)


def test_iso_timestamps_have_milliseconds():
    assert iso(1_586_423_698.955) == "2020-04-09T09:14:58.955Z"
