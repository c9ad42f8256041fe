"""The notification WebSocket against the real server (``python -m mockserver.serve``: gevent, monkey-patched):
channel, subscriptions, participant changes and presence on their topics, ping/pong, heartbeats at a short
configured interval, v2.system.socket_closing on expiry. Every message is validated against platform.asyncapi.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import platform_mock_helpers as h
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

RECV_TIMEOUT = 5.0  # seconds a test waits for a message before failing


class Socket:
    """A notification socket whose every message is checked against the AsyncAPI contract."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.heartbeats = 0

    def recv(self) -> dict[str, Any]:
        raw = self.ws.recv(timeout=RECV_TIMEOUT)
        assert isinstance(raw, str), "notifications are text frames"
        message = json.loads(raw)
        assert h.message_problems(message) == [], (h.message_problems(message), message)
        return message

    def next(self, accept: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """The next message that is not a heartbeat (and that ``accept`` takes, skipping others)."""
        while True:
            message = self.recv()
            if message == {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}:
                self.heartbeats += 1
                continue
            if accept is None or accept(message):
                return message

    def ping(self) -> dict[str, Any]:
        self.ws.send(json.dumps({"message": "ping"}))
        return self.next()


def open_channel(live: h.LiveServer, token: str, topics: list[str]) -> dict[str, Any]:
    channel = live.api("POST", "/api/v2/notifications/channels", token)
    assert channel.status_code == 200, channel.text
    body = channel.json()
    assert h.response_problems("POST", "/api/v2/notifications/channels", 200, body) == []
    assert body["connectUri"] == f"{live.host.replace('http', 'ws')}/channels/{body['id']}"
    response = live.api(
        "PUT", f"/api/v2/notifications/channels/{body['id']}/subscriptions", token, json=[{"id": t} for t in topics]
    )
    assert response.status_code == 200, response.text
    return body


def dial(uri: str) -> ClientConnection:
    return connect(uri, open_timeout=10, close_timeout=5)


def test_participant_changes_and_presence_arrive_on_their_topics(live):
    carol = live.token(h.CAROL)
    calls_topic, presence_topic = f"v2.users.{h.CAROL}.conversations.calls", f"v2.users.{h.CAROL}.presence"
    channel = open_channel(live, carol, [calls_topic, presence_topic])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        delivered = live.inbound(h.CAROL)
        alerting = wire.next()
        assert alerting["topicName"] == calls_topic and alerting["version"] == "2"
        assert alerting["metadata"]["CorrelationId"]
        mine = next(p for p in alerting["eventBody"]["participants"] if p.get("user", {}).get("id") == h.CAROL)
        assert (alerting["eventBody"]["id"], mine["id"], mine["state"]) == (
            delivered["conversationId"],
            delivered["participantId"],
            "alerting",
        )

        answered = live.api(
            "PATCH",
            f"/api/v2/conversations/calls/{delivered['conversationId']}/participants/{delivered['participantId']}",
            carol,
            json={"state": "connected"},
        )
        assert answered.status_code == 202
        connected = wire.next()
        assert {p["purpose"]: p["state"] for p in connected["eventBody"]["participants"]} == {
            "customer": "connected",
            "user": "connected",
        }

        live.control("POST", f"/platform/conversations/{delivered['conversationId']}/remote/hangup")
        ended = wire.next()
        assert {p["state"] for p in ended["eventBody"]["participants"]} == {"disconnected"}

        definitions = live.api("GET", "/api/v2/presence/definitions", carol).json()["entities"]
        busy = next(d["id"] for d in definitions if d["systemPresence"] == "Busy")
        live.api(
            "PATCH", f"/api/v2/users/{h.CAROL}/presences/purecloud", carol, json={"presenceDefinition": {"id": busy}}
        )
        changed = wire.next()
        assert changed["topicName"] == presence_topic
        assert changed["eventBody"]["presenceDefinition"] == {"id": busy, "systemPresence": "Busy"}


def test_unsubscribed_topics_are_not_delivered(live):
    carol = live.token(h.CAROL)
    channel = open_channel(live, carol, [f"v2.users.{h.CAROL}.presence"])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        live.inbound(h.DAVE)  # another user's call
        live.inbound(h.CAROL)  # Carol's call, but not a subscribed topic
        assert wire.ping() == {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}  # nothing before


def test_ping_is_answered_with_pong_and_other_frames_are_ignored(live):
    channel = open_channel(live, live.token(h.CAROL), [])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        ws.send("not json")
        ws.send(json.dumps({"message": "pong"}))
        ws.send(b"\x00binary")
        assert wire.ping() == {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}
        assert wire.ping()["eventBody"] == {"message": "pong"}


def test_heartbeat_at_the_configured_interval(live):
    live.settings(heartbeatSeconds=0.2)
    channel = open_channel(live, live.token(h.CAROL), [])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        beats = [wire.recv() for _ in range(2)]
    assert beats == [{"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}] * 2


def test_channel_expiry_sends_socket_closing_then_closes(live):
    live.settings(channelLifetimeSeconds=2)  # long enough to connect first, even on a busy machine
    carol = live.token(h.CAROL)
    channel = open_channel(live, carol, [f"v2.users.{h.CAROL}.presence"])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        closing = wire.next()
        assert closing["topicName"] == "v2.system.socket_closing"
        with pytest.raises(ConnectionClosed):
            wire.next()
    gone = live.api("GET", f"/api/v2/notifications/channels/{channel['id']}/subscriptions", carol)
    assert gone.status_code == 404
    with pytest.raises(InvalidStatus) as refused:
        connect(channel["connectUri"], open_timeout=10)
    assert refused.value.response.status_code == 404


def test_control_api_expires_a_channel_now(live):
    channel = open_channel(live, live.token(h.CAROL), [])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        assert wire.ping()["eventBody"]["message"] == "pong"  # the socket is attached
        expired = live.control("POST", f"/platform/channels/{channel['id']}/expire")
        assert expired.status_code == 200 and expired.json()["sockets"] == 1
        assert wire.next()["topicName"] == "v2.system.socket_closing"
        with pytest.raises(ConnectionClosed):
            wire.next()


def test_unknown_channel_is_refused_before_the_upgrade(live):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{live.host.replace('http', 'ws')}/channels/streaming-0-nope", open_timeout=10)
    assert refused.value.response.status_code == 404
    body = json.loads(refused.value.response.body)
    assert h.error_problems("/channels", body) == []


def test_force_disconnect_call_is_followed_on_the_socket(live):
    live.settings(forceDisconnectSilenceSeconds=0.3)
    alice = live.token(h.ALICE)
    channel = open_channel(live, alice, [f"v2.users.{h.ALICE}.conversations.calls"])
    with dial(channel["connectUri"]) as ws:
        wire = Socket(ws)
        created = live.api(
            "POST", "/api/v2/conversations/calls", alice, json={"phoneNumber": "ForceDisconnect@localhost"}
        )
        assert created.status_code == 200
        seen = []
        while not seen or {p["state"] for p in seen[-1]} != {"disconnected"}:
            seen.append(wire.next()["eventBody"]["participants"])
        assert [[(p["purpose"], p["state"]) for p in event] for event in seen] == [
            [("agent", "contacting")],
            [("agent", "connected"), ("ivr", "connected")],
            [("agent", "disconnected"), ("ivr", "disconnected")],
        ]
    assert live.user(h.ALICE)["phone"]["persistentActive"] is True
    assert live.api("GET", "/api/v2/conversations", alice).json()["entities"] == []
