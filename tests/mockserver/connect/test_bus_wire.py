"""The Connect bus over a real WebSocket, against ``python -m mockserver.serve`` (gevent, monkey-patched).

Every message received is validated against the AsyncAPI payload schemas (``Bus.recv``), and against
the specific message it must be when the test knows it. "Nothing else arrived" is shown without sleeping:
a sentinel frame only the socket itself is answered for must be the next thing the socket receives.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

ANSWER = {"channel": "Amazon", "topic": "InboundCall", "subtopic": "Answer", "source": "myapp"}


# ---- the call --------------------------------------------------------------------------------------
def test_incoming_call_then_answer(server, check_message, enabled_buttons):
    with server.bus("jsmith", check_message) as bus:
        view = server.offer("jsmith", **{"from": "+15551234567", "to": "+16013261548", "queue": "Sales"})
        assert view["status"] == "PendingBusy"
        connecting = bus.call("connecting", "InboundCallConnecting")
        assert connecting["CallVariables"] == {"ANI": "+15551234567", "DNIS": "+16013261548"}
        assert connecting["ResponseFields"]["DN"] == "Sales"
        assert enabled_buttons(connecting) == {"answer", "reject"}
        assert server.agent("jsmith")["status"] == "PendingBusy"

        bus.send(ANSWER)
        connected = bus.call("connected", "InboundCallConnected")
        assert connected["id"] == connecting["id"] == view["contact"]["connectionId"]
        assert connected["ResponseActual"]["previousStatus"] == "connecting"
        assert server.agent("jsmith")["status"] == "Busy"
        assert bus.sentinel()  # exactly one answer per Answer (E501)


def test_answer_without_an_incoming_call_fails(server, check_message):
    with server.bus("jsmith", check_message) as bus:
        bus.send(ANSWER)
        failure = bus.recv("AnswerCallFailed")
        assert failure == {
            "channel": "Amazon",
            "topic": "InboundCall",
            "subtopic": "AnswerFailed",
            "message": {
                "errorType": "ANSWER_CALL_FAILED",
                "code": "ANSWER_CALL_FAILED",
                "message": "Answering call failed.",
                "description": "Amazon Connect Failure Error Message.",
            },
        }
        assert server.agent("jsmith")["status"] == "Available"


def test_answer_twice_fails_the_second_time(server, check_message):
    with server.bus("jsmith", check_message) as bus:
        server.offer("jsmith")
        bus.call("connecting", "InboundCallConnecting")
        bus.send(ANSWER)
        bus.call("connected", "InboundCallConnected")
        bus.send(ANSWER)
        bus.recv("AnswerCallFailed")
        assert server.agent("jsmith")["contact"]["status"] == "connected"


def test_hold_resume_disconnect(server, check_message, enabled_buttons):
    with server.bus("jsmith", check_message) as bus:
        connection = server.offer("jsmith")["contact"]["connectionId"]
        bus.call("connecting", "InboundCallConnecting")
        bus.request("InboundCall", "Answer")
        bus.call("connected", "InboundCallConnected")

        bus.request("InboundCall", "Hold", connection)
        held = bus.call("hold", "InboundCallOnHold")
        assert enabled_buttons(held) == {"resume", "disconnect"}
        bus.request("InboundCall", "Resume")
        resumed = bus.call("connected", "InboundCallConnected")
        assert resumed["ResponseActual"]["previousStatus"] == "hold"
        bus.request("InboundCall", "Disconnect")
        ended = bus.call("ACW", "InboundCallAfterCallWork")
        assert ended["ResponseActual"]["status"] == "disconnected"
        assert enabled_buttons(ended) == {"clearContact"}
        assert server.agent("jsmith")["status"] == "AfterCallWork"


def test_hold_resume_disconnect_failures(server, check_message):
    with server.bus("jsmith", check_message) as bus:
        # nothing to act on
        bus.request("InboundCall", "Hold", "1233dc5f-6d09-4752-85a0-cfca6fc445e7")
        assert bus.recv("HoldCallFailed")["subtopic"] == "HoldFailed"
        bus.request("InboundCall", "Resume")
        assert bus.recv("ResumeCallFailed")["subtopic"] == "ResumeFailed"
        bus.request("InboundCall", "Disconnect")
        assert bus.recv("DisconnectCallFailed")["subtopic"] == "DisconnectFailed"

        connection = server.offer("jsmith")["contact"]["connectionId"]
        bus.call("connecting", "InboundCallConnecting")
        bus.request("InboundCall", "Hold", connection)  # ringing, not connected
        bus.recv("HoldCallFailed")
        bus.request("InboundCall", "Disconnect")  # ringing: nothing to disconnect
        bus.recv("DisconnectCallFailed")
        bus.request("InboundCall", "Answer")
        bus.call("connected", "InboundCallConnected")
        bus.request("InboundCall", "Hold", "not-" + connection)  # wrong connection id
        bus.recv("HoldCallFailed")
        bus.request("InboundCall", "Resume")  # not on hold
        bus.recv("ResumeCallFailed")
        bus.request("InboundCall", "Hold", connection)
        bus.call("hold", "InboundCallOnHold")
        bus.request("InboundCall", "Hold", connection)  # already on hold
        bus.recv("HoldCallFailed")
        assert server.agent("jsmith")["contact"]["status"] == "hold"


def test_remote_hangup_drops_the_call(server, check_message, enabled_buttons):
    with server.bus("jsmith", check_message) as bus:
        server.offer("jsmith")
        bus.call("connecting", "InboundCallConnecting")
        bus.send(ANSWER)
        bus.call("connected", "InboundCallConnected")
        response = server.control("POST", "/connect/agents/jsmith/calls/current/hangup")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "AfterCallWork"
        dropped = bus.call("Dropped", "InboundCallDropped")
        assert dropped["ResponseActual"]["status"] == "disconnected"
        assert enabled_buttons(dropped) == {"clearContact"}
        bus.request("InboundCall", "Disconnect")  # already ended
        bus.recv("DisconnectCallFailed")


def test_unanswered_call_is_missed(server, check_message, enabled_buttons):
    with server.bus("jsmith", check_message) as bus:
        server.offer("jsmith", ringTimeout=0.2)
        bus.call("connecting", "InboundCallConnecting")
        missed = bus.call("missed", "InboundCallMissed")  # waits for the mock's ring timer, not a sleep
        assert enabled_buttons(missed) == set()
        assert server.agent("jsmith")["status"] == "Available"
        bus.send(ANSWER)
        bus.recv("AnswerCallFailed")


# ---- agent state -------------------------------------------------------------------------------------
def test_set_not_ready_and_update(server, check_message):
    with server.bus("jsmith", check_message) as bus:
        bus.request("Agent", "SetNotReady", {"ReasonCodeId": "3"})
        lunch = {"label": "Lunch", "code": "Lunch", "type": "Not Routable"}
        assert bus.recv("SetAgentState")["message"] == lunch
        assert server.agent("jsmith")["status"] == "NotReady"
        bus.request("Agent", "SetNotReady", {"ReasonCodeId": 2})
        assert bus.recv("SetAgentState")["message"]["code"] == "Break"
        bus.request("Agent", "Update", {"label": "Available", "code": "Available", "type": "Routable"})
        assert bus.recv("SetAgentState")["message"] == {"label": "Available", "code": "Available", "type": "Routable"}
        assert server.agent("jsmith")["status"] == "Available"


def test_agent_state_not_found(server, check_message):
    with server.bus("jsmith", check_message) as bus:
        bus.request("Agent", "SetNotReady", {"ReasonCodeId": "42"})
        failure = bus.recv("AgentStateNotFound")
        assert (failure["subtopic"], failure["message"]["errorType"]) == ("SetNotReadyFailed", "AGENT_STATE_NOT_FOUND")
        bus.request("Agent", "Update", {"label": "Coffee", "code": "Coffee", "type": "Not Routable"})
        failure = bus.recv("AgentStateNotFound")
        assert (failure["subtopic"], failure["message"]["message"]) == (
            "UpdateFailed",
            "Specified Agent State not found.",
        )
        assert server.agent("jsmith")["state"]["code"] == "Available"


def test_state_change_refused_during_a_call(server, check_message):
    with server.bus("jsmith", check_message) as bus:
        server.offer("jsmith")
        bus.call("connecting", "InboundCallConnecting")
        bus.request("Agent", "Update", {"label": "Offline", "code": "Offline", "type": "Offline"})
        failure = bus.recv("UpdateAgentStateFailed")
        assert (failure["subtopic"], failure["message"]["errorType"]) == ("UpdateFailed", "UPDATE_AGENT_STATE_FAILED")
        assert server.agent("jsmith")["status"] == "PendingBusy"


# ---- broadcast ---------------------------------------------------------------------------------------
def test_every_socket_of_the_agent_gets_the_events_and_no_other_agent_does(server, check_message):
    with (
        server.bus("jsmith", check_message) as app1,
        server.bus("jsmith", check_message) as app2,
        server.bus("pdatsyuk", check_message) as other,
    ):
        assert server.agent("jsmith")["sockets"] == 2
        server.offer("jsmith")
        first = app1.call("connecting", "InboundCallConnecting")
        assert app2.call("connecting", "InboundCallConnecting") == first
        app2.send(ANSWER)  # one app answers; both hear the outcome
        connected = app1.call("connected", "InboundCallConnected")
        assert app2.call("connected", "InboundCallConnected") == connected
        app1.request("Agent", "SetNotReady", {"ReasonCodeId": "1"})  # refused: on a call; both hear it
        assert app1.recv("UpdateAgentStateFailed") == app2.recv("UpdateAgentStateFailed")
        # voicekit's own error goes to the sender only
        app1.send("[1, 2")
        assert app1.recv("VoicekitError")["subtopic"] == "MalformedMessage"
        assert app2.sentinel()["message"]["received"] == "sentinel, not JSON"
        # the other agent's bus heard nothing of this
        assert other.sentinel()["message"]["received"] == "sentinel, not JSON"


def test_many_apps_on_one_bus(server, check_message):
    buses = [server.bus("pdatsyuk", check_message) for _ in range(20)]
    for bus in buses:
        bus.__enter__()
    try:
        assert server.agent("pdatsyuk")["sockets"] == 20
        server.offer("pdatsyuk")
        calls = [bus.call("connecting", "InboundCallConnecting") for bus in buses]
        assert all(call == calls[0] for call in calls)
    finally:
        for bus in buses:
            bus.__exit__(None, None, None)
    assert server.agent("pdatsyuk")["sockets"] == 0


def test_a_closed_socket_leaves_the_others_working(server, check_message):
    with server.bus("jsmith", check_message) as staying:
        with server.bus("jsmith", check_message):
            pass
        server.offer("jsmith")
        staying.call("connecting", "InboundCallConnecting")
        assert server.agent("jsmith")["sockets"] == 1


# ---- the negative sweep ------------------------------------------------------------------------------
ENVELOPE = {"channel": "Amazon", "topic": "InboundCall", "subtopic": "Answer", "source": "myapp"}


def _with(**changes: Any) -> str:
    message = dict(ENVELOPE)
    for key, value in changes.items():
        if value is _DROP:
            message.pop(key)
        else:
            message[key] = value
    return json.dumps(message)


_DROP = object()

NEGATIVE = [
    ("not-json", "hello", "MalformedMessage"),
    ("truncated", '{"channel": "Amazon",', "MalformedMessage"),
    ("empty", "", "MalformedMessage"),
    ("nan", '{"channel": NaN}', "MalformedMessage"),
    ("infinite", '{"channel": 1e400}', "MalformedMessage"),
    ("too-deep", "[" * 100_000, "MalformedMessage"),
    ("binary", b"\x00\xff\x10", "MalformedMessage"),
    ("binary-json", json.dumps(ENVELOPE).encode(), "MalformedMessage"),
    ("null", "null", "MalformedMessage"),
    ("array", json.dumps([ENVELOPE]), "MalformedMessage"),
    ("number", "42", "MalformedMessage"),
    ("string", '"Answer"', "MalformedMessage"),
    ("huge", json.dumps({**ENVELOPE, "source": "x" * 2_000_000}), "MalformedMessage"),
    ("empty-object", "{}", "InvalidMessage"),
    ("wrong-channel", _with(channel="Genesys"), "InvalidMessage"),
    ("channel-case", _with(channel="amazon"), "InvalidMessage"),
    ("voicekit-channel", _with(channel="voicekit"), "InvalidMessage"),
    ("no-channel", _with(channel=_DROP), "InvalidMessage"),
    ("no-source", _with(source=_DROP), "InvalidMessage"),
    ("empty-source", _with(source=""), "InvalidMessage"),
    ("source-number", _with(source=7), "InvalidMessage"),
    ("topic-number", _with(topic=1), "InvalidMessage"),
    ("subtopic-null", _with(subtopic=None), "InvalidMessage"),
    (
        "event-shape",
        json.dumps({"channel": "Amazon", "topic": "InboundCall", "subtopic": "InboundCallStateChange", "message": {}}),
        "InvalidMessage",
    ),
    ("unknown-topic", _with(topic="OutboundCall"), "UnknownMessage"),
    ("unknown-subtopic", _with(subtopic="Transfer"), "UnknownMessage"),
    ("subtopic-case", _with(subtopic="answer"), "UnknownMessage"),
    ("event-as-request", _with(subtopic="InboundCallStateChange"), "UnknownMessage"),
    ("lone-surrogate", _with(topic="\ud800"), "UnknownMessage"),
    ("hold-no-data", _with(subtopic="Hold"), "InvalidMessage"),
    ("hold-data-number", _with(subtopic="Hold", data=12), "InvalidMessage"),
    ("hold-data-empty", _with(subtopic="Hold", data=""), "InvalidMessage"),
    ("not-ready-no-data", _with(topic="Agent", subtopic="SetNotReady"), "InvalidMessage"),
    ("not-ready-data-string", _with(topic="Agent", subtopic="SetNotReady", data="2"), "InvalidMessage"),
    ("not-ready-no-reason", _with(topic="Agent", subtopic="SetNotReady", data={}), "InvalidMessage"),
    (
        "not-ready-reason-float",
        _with(topic="Agent", subtopic="SetNotReady", data={"ReasonCodeId": 2.5}),
        "InvalidMessage",
    ),
    (
        "not-ready-reason-bool",
        _with(topic="Agent", subtopic="SetNotReady", data={"ReasonCodeId": True}),
        "InvalidMessage",
    ),
    (
        "update-no-type",
        _with(topic="Agent", subtopic="Update", data={"label": "Available", "code": "Available"}),
        "InvalidMessage",
    ),
    (
        "update-label-number",
        _with(topic="Agent", subtopic="Update", data={"label": 1, "code": "A", "type": "B"}),
        "InvalidMessage",
    ),
    ("update-data-list", _with(topic="Agent", subtopic="Update", data=["Available"]), "InvalidMessage"),
]


@pytest.mark.parametrize(("frame", "subtopic"), [(f, s) for _, f, s in NEGATIVE], ids=[n for n, _, _ in NEGATIVE])
def test_negative_frame_gets_the_voicekit_error_and_the_socket_stays_open(server, check_message, frame, subtopic):
    with server.bus("jsmith", check_message) as bus:
        bus.send(frame)
        error = bus.recv("VoicekitError")
        assert error["channel"] == "voicekit"
        assert error["subtopic"] == subtopic, error
        if isinstance(frame, str) and len(frame) <= 1024 and subtopic != "MalformedMessage":
            assert error["message"]["received"] == json.loads(frame)
        if "received" in error["message"] and isinstance(error["message"]["received"], str):
            assert len(error["message"]["received"]) <= 1024
        if subtopic == "InvalidMessage":
            assert error["message"]["errors"]
        # still open, still working, and the frame changed nothing
        bus.send(ANSWER)
        bus.recv("AnswerCallFailed")
        assert server.agent("jsmith")["status"] == "Available"


def test_negative_sweep_on_one_socket(server, check_message):
    """All of the above, back to back on one socket, in the middle of a call that must survive them."""
    with server.bus("jsmith", check_message) as bus:
        server.offer("jsmith")
        bus.call("connecting", "InboundCallConnecting")
        for name, frame, subtopic in NEGATIVE:
            bus.send(frame)
            error = bus.recv("VoicekitError")
            assert error["subtopic"] == subtopic, name
        assert server.agent("jsmith")["status"] == "PendingBusy"
        bus.send(ANSWER)
        bus.call("connected", "InboundCallConnected")


def test_server_ends_the_tcp_connection_after_the_closing_handshake(server):
    """Under gevent, pywsgi keeps the client socket after the handler; the adapter must release it, or a
    client waits out its close timeout. Here the EOF must follow the close frame (recv times out else)."""
    address = urlsplit(server.base)
    client = WSConnection(ConnectionType.CLIENT)
    with socket.create_connection((address.hostname, address.port), timeout=5) as raw:
        raw.sendall(
            client.send(
                Request(
                    host=address.netloc,
                    target="/connect/agents/jsmith/bus",
                    extra_headers=[(b"authorization", b"Bearer jsmith-bus-token")],
                )
            )
        )
        events = _until(raw, client, AcceptConnection)
        raw.sendall(client.send(CloseConnection(code=1000)))
        events = _until(raw, client, CloseConnection)
        assert events[-1].code == 1000
        assert raw.recv(4096) == b""  # the server closed its side


def _until(raw: socket.socket, client: WSConnection, kind: type) -> list[Any]:
    seen: list[Any] = []
    while not any(isinstance(e, kind) for e in seen):
        data = raw.recv(65536)
        assert data, f"connection closed before {kind.__name__}"
        client.receive_data(data)
        seen.extend(client.events())
    return seen


# ---- handshake and HTTP side -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers, query, status",
    [
        ({}, "", 401),
        ({"Authorization": "Bearer wrong"}, "", 401),
        ({"Authorization": "Bearer jsmith-bus-tokén"}, "", 401),
        ({}, "?access_token=pdatsyuk-bus-token", 401),  # another agent's credential
        ({"Authorization": "Bearer jsmith-bus-token", "Origin": "https://attacker.example"}, "", 403),
    ],
)
def test_the_bus_needs_the_agents_credential_and_an_allowed_origin(server, headers, query, status):
    """E516: refused before any WebSocket exists, and nothing changes for the agent."""
    before = server.agent("jsmith")
    with pytest.raises(InvalidStatus) as info:
        connect(f"{server.ws_base}/connect/agents/jsmith/bus{query}", open_timeout=10, additional_headers=headers)
    assert info.value.response.status_code == status
    assert server.agent("jsmith") == before


@pytest.mark.parametrize(
    "headers, query",
    [
        ({"Authorization": "Bearer jsmith-bus-token"}, ""),
        ({}, "?access_token=jsmith-bus-token"),
        ({"Authorization": "Bearer jsmith-bus-token", "Origin": "https://cloud.genhtcc.com"}, ""),
    ],
)
def test_the_agents_own_application_is_admitted(server, headers, query):
    with connect(
        f"{server.ws_base}/connect/agents/jsmith/bus{query}", open_timeout=10, additional_headers=headers
    ) as socket:
        socket.send(
            json.dumps(
                {
                    "channel": "Amazon",
                    "topic": "Agent",
                    "subtopic": "SetNotReady",
                    "source": "t",
                    "data": {"ReasonCodeId": "1"},
                }
            )
        )
        assert json.loads(socket.recv(timeout=10))["topic"] == "Agent"


def test_unknown_agent_is_refused_at_the_handshake(server):
    with pytest.raises(InvalidStatus) as info:
        connect(f"{server.ws_base}/connect/agents/nobody/bus", open_timeout=10)
    assert info.value.response.status_code == 404


def test_agent_view(server):
    response = requests.get(f"{server.base}/connect/agents/hzetterberg", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "id": "hzetterberg",
        "name": "Henrik Zetterberg",
        "status": "NotReady",
        "state": {"label": "Not Ready", "code": "Not Ready", "type": "Not Routable"},
        "contact": None,
        "sockets": 0,
    }
    missing = requests.get(f"{server.base}/connect/agents/nobody", timeout=10)
    assert (missing.status_code, missing.json()["status"]) == (404, 404)
    listing = requests.get(f"{server.base}/connect/agents", timeout=10).json()["agents"]
    assert len(listing) >= 3


# ---- control API ---------------------------------------------------------------------------------------
def test_control_create_agent_then_use_its_bus(server, check_message):
    created = server.control("POST", "/connect/agents", {"id": "newbie", "name": "New Bie", "state": "Available"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "Available"
    with server.bus("newbie", check_message) as bus:
        server.offer("newbie")
        bus.call("connecting", "InboundCallConnecting")
    assert server.control("POST", "/connect/agents", {"id": "newbie"}).status_code == 409
    server.reset()
    assert requests.get(f"{server.base}/connect/agents/newbie", timeout=10).status_code == 404


def test_control_set_state_is_announced(server, check_message):
    with server.bus("hzetterberg", check_message) as bus:
        response = server.control("PUT", "/connect/agents/hzetterberg/state", {"code": "Available"})
        assert response.status_code == 200, response.text
        assert bus.recv("SetAgentState")["message"]["code"] == "Available"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/connect/agents/nobody/calls", {"from": "+1555"}, 404),
        ("POST", "/connect/agents/jsmith/calls", {}, 400),
        ("POST", "/connect/agents/jsmith/calls", {"from": 5}, 400),
        ("POST", "/connect/agents/jsmith/calls", ["+1555"], 400),
        ("POST", "/connect/agents/jsmith/calls", {"from": "+1555", "ringTimeout": -1}, 400),
        ("POST", "/connect/agents/hzetterberg/calls", {"from": "+1555"}, 409),  # Not Ready
        ("POST", "/connect/agents/jsmith/calls/current/hangup", None, 409),  # no call
        ("POST", "/connect/agents/nobody/calls/current/hangup", None, 404),
        ("PUT", "/connect/agents/jsmith/state", {"code": "Coffee"}, 404),
        ("PUT", "/connect/agents/jsmith/state", {}, 400),
        ("PUT", "/connect/agents/nobody/state", {"code": "Available"}, 404),
        ("POST", "/connect/agents", {"id": "jsmith"}, 409),
        ("POST", "/connect/agents", {"name": "no id"}, 400),
        ("POST", "/connect/agents", {"id": "x", "state": 3}, 400),
        ("POST", "/connect/agents", {"id": "x", "state": "Coffee"}, 400),
    ],
)
def test_control_errors(server, method, path, body, status):
    response = server.control(method, path, body)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status
    assert isinstance(response.json()["error"], str)


def test_control_refuses_a_second_call_and_a_busy_state_change(server):
    server.offer("jsmith")
    assert server.control("POST", "/connect/agents/jsmith/calls", {"from": "+1555"}).status_code == 409
    assert server.control("PUT", "/connect/agents/jsmith/state", {"code": "Break"}).status_code == 409


def test_reset_ends_calls_and_restores_states(server, check_message):
    server.offer("jsmith")
    server.control("PUT", "/connect/agents/pdatsyuk/state", {"code": "Offline"})
    server.reset()
    assert server.agent("jsmith")["contact"] is None
    assert server.agent("pdatsyuk")["status"] == "Available"
