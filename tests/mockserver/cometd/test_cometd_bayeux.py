"""Unit tests of the pure Bayeux engine (mockserver.cometd.bayeux) with a fake clock."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from mockserver.cometd import BayeuxServer, Reply, channel_matches

ADVICE = {"reconnect": "retry", "interval": 0, "timeout": 30000}
UNKNOWN = {
    "successful": False,
    "error": "402::Unknown client",
    "advice": {"reconnect": "handshake", "interval": 0},
}


@dataclass(frozen=True)
class Login:
    user_id: str
    session: str = "s1"


ALICE = Login("alice")
BOB = Login("bob")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> BayeuxServer:
    return BayeuxServer(clock=clock)


class Conversation:
    """Drives one Bayeux client against the engine, numbering message ids like the JS client."""

    def __init__(self, server: BayeuxServer, principal: Login) -> None:
        self.server = server
        self.principal = principal
        self.client_id = ""
        self._next = 0

    def mid(self) -> str:
        self._next += 1
        return str(self._next)

    def send(self, *messages: dict[str, Any], transport: str = "long-polling") -> Reply:
        return self.server.handle(self.principal, list(messages), transport=transport)

    def now(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        reply = self.send(*messages)
        assert not reply.held, "expected an immediate reply"
        return self.server.complete(reply)

    def handshake(self) -> dict[str, Any]:
        [reply] = self.now(
            {
                "id": self.mid(),
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling", "callback-polling"],
                "advice": {"timeout": 60000, "interval": 0},
            }
        )
        self.client_id = reply.get("clientId", "")
        return reply

    def msg(self, channel: str, **fields: Any) -> dict[str, Any]:
        return {"id": self.mid(), "channel": channel, "clientId": self.client_id, **fields}

    def connect_msg(self, timeout: int | None = None) -> dict[str, Any]:
        extra: dict[str, Any] = {"connectionType": "long-polling"}
        if timeout is not None:
            extra["advice"] = {"timeout": timeout}
        return self.msg("/meta/connect", **extra)

    def connect(self, timeout: int | None = None) -> Reply:
        return self.send(self.connect_msg(timeout))

    def subscribe(self, subscription: Any) -> dict[str, Any]:
        [reply] = self.now(self.msg("/meta/subscribe", subscription=subscription))
        return reply

    def unsubscribe(self, subscription: Any) -> dict[str, Any]:
        [reply] = self.now(self.msg("/meta/unsubscribe", subscription=subscription))
        return reply

    def establish(self, *subscriptions: str) -> None:
        """Handshake, subscribe and the immediate first connect: the state of a running client."""
        self.handshake()
        for subscription in subscriptions:
            assert self.subscribe(subscription)["successful"] is True
        first = self.connect(timeout=0)
        assert not first.held

    def poll(self) -> list[dict[str, Any]]:
        """A connect with advice.timeout 0: the queued events, then the connect reply."""
        return self.now(self.connect_msg(timeout=0))


def events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if not m["channel"].startswith("/meta/")]


def strip_ids(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(m["channel"], m["data"]) for m in messages]


@pytest.fixture
def alice(server: BayeuxServer) -> Conversation:
    return Conversation(server, ALICE)


@pytest.fixture
def bob(server: BayeuxServer) -> Conversation:
    return Conversation(server, BOB)


# ---------------------------------------------------------------------- handshake


def test_handshake_reply_has_exactly_the_bayeux_fields(alice: Conversation, meta_reply_validator: Any) -> None:
    reply = alice.handshake()
    meta_reply_validator.validate(reply)
    assert reply == {
        "channel": "/meta/handshake",
        "version": "1.0",
        "supportedConnectionTypes": ["long-polling", "callback-polling"],
        "clientId": reply["clientId"],
        "successful": True,
        "advice": ADVICE,
        "id": "1",
    }
    assert re.fullmatch(r"[0-9a-f]{40}", reply["clientId"])


def test_client_ids_are_unique_and_unguessable(server: BayeuxServer) -> None:
    ids = [Conversation(server, ALICE).handshake()["clientId"] for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"[0-9a-f]{40}", cid) for cid in ids)  # 160 random bits each
    assert len(server.sessions_of("alice")) == 200


def test_handshake_request_id_is_echoed_or_omitted(server: BayeuxServer) -> None:
    [with_id] = server.complete(
        server.handle(ALICE, [{"channel": "/meta/handshake", "id": "abc"}], transport="long-polling")
    )
    [without_id] = server.complete(
        server.handle(ALICE, [{"channel": "/meta/handshake", "version": "1.0"}], transport="long-polling")
    )
    [odd_id] = server.complete(
        server.handle(ALICE, [{"channel": "/meta/handshake", "id": {"n": 1}}], transport="long-polling")
    )
    assert with_id["id"] == "abc"
    assert "id" not in without_id
    assert "id" not in odd_id  # Bayeux ids are strings: a malformed one is not echoed into the reply


def test_other_messages_in_a_handshake_request_are_ignored(alice: Conversation) -> None:
    reply = alice.send(
        {"id": "1", "channel": "/meta/handshake", "version": "1.0"},
        {"id": "2", "channel": "/meta/subscribe", "clientId": "whatever", "subscription": "/v2/me/calls"},
    )
    [handshake] = alice.server.complete(reply)
    assert handshake["channel"] == "/meta/handshake"
    assert handshake["successful"] is True


def test_handshake_denied_when_the_host_says_so(clock: FakeClock, meta_reply_validator: Any) -> None:
    server = BayeuxServer(clock=clock, authenticate_ok=lambda principal: principal.user_id != "bob")
    assert Conversation(server, ALICE).handshake()["successful"] is True
    denied = Conversation(server, BOB).handshake()
    meta_reply_validator.validate(denied)
    assert denied["successful"] is False
    assert denied["error"] == "403::Handshake denied"
    assert denied["advice"] == {"reconnect": "none", "interval": 0}
    assert "clientId" not in denied
    assert server.sessions_of("bob") == []


def test_handshake_without_a_common_connection_type_fails(alice: Conversation, meta_reply_validator: Any) -> None:
    [reply] = alice.now({"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]})
    meta_reply_validator.validate(reply)
    assert reply["successful"] is False
    assert reply["error"].startswith("400::")
    assert reply["supportedConnectionTypes"] == ["long-polling", "callback-polling"]


def test_unknown_transport_is_a_programming_error(server: BayeuxServer) -> None:
    with pytest.raises(ValueError):
        server.handle(ALICE, [{"channel": "/meta/handshake"}], transport="websocket")


# ---------------------------------------------------------------------- connect


def test_first_connect_is_answered_at_once_then_connects_are_held(
    alice: Conversation, clock: FakeClock, meta_reply_validator: Any
) -> None:
    alice.handshake()
    first = alice.connect()  # no advice: still the first connect
    assert not first.held
    [reply] = alice.server.complete(first)
    meta_reply_validator.validate(reply)
    assert reply == {
        "channel": "/meta/connect",
        "successful": True,
        "clientId": alice.client_id,
        "advice": ADVICE,
        "id": "2",
    }
    second = alice.connect()
    assert second.held
    assert second.client_id == alice.client_id
    assert second.deadline == clock.now + 30.0
    assert second.messages == []


def test_connect_with_advice_timeout_zero_is_never_held(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    for _ in range(3):
        reply = alice.connect(timeout=0)
        assert not reply.held
        assert alice.server.complete(reply)[0]["successful"] is True


def test_client_timeout_advice_is_honoured_up_to_the_server_timeout(alice: Conversation, clock: FakeClock) -> None:
    alice.establish()
    shorter = alice.connect(timeout=5000)
    assert shorter.deadline == clock.now + 5.0
    longer = alice.connect(timeout=60000)
    assert longer.deadline == clock.now + 30.0


def test_queued_events_make_the_connect_answer_at_once_ahead_of_the_reply(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    assert alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice") == 1
    reply = alice.connect()
    assert not reply.held
    messages = alice.server.complete(reply)
    assert messages == [
        {"channel": "/v2/me/calls", "data": {"n": 1}, "id": "1"},
        {
            "channel": "/meta/connect",
            "successful": True,
            "clientId": alice.client_id,
            "advice": ADVICE,
            "id": messages[1]["id"],
        },
    ]


def test_publish_wakes_the_held_connect_which_carries_the_event(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    assert held.held and held.hold is not None
    assert not held.hold.woken
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    assert held.hold.woken
    messages = alice.server.complete(held)
    assert [m["channel"] for m in messages] == ["/v2/me/calls", "/meta/connect"]
    assert messages[1]["successful"] is True
    assert messages[1]["id"] == "4"
    assert alice.server.complete(held) is messages  # idempotent: the transport may call it twice


def test_held_connect_answers_empty_at_its_deadline(alice: Conversation, clock: FakeClock) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    clock.advance(30.0)
    assert held.hold is not None and not held.hold.woken
    [reply] = alice.server.complete(held)
    assert reply["channel"] == "/meta/connect"
    assert reply["successful"] is True


def test_two_connects_in_one_batch_are_refused(alice: Conversation, meta_reply_validator: Any) -> None:
    alice.establish()
    replies = alice.now(alice.connect_msg(timeout=0), alice.connect_msg(timeout=0))
    assert [r["successful"] for r in replies] == [True, False]
    meta_reply_validator.validate(replies[1])
    assert replies[1]["error"].startswith("400::")


# ---------------------------------------------------------------------- subscriptions


@pytest.mark.parametrize(
    ("pattern", "channel", "matches"),
    [
        ("/v2/me/calls", "/v2/me/calls", True),
        ("/v2/me/calls", "/v2/me/callsx", False),
        ("/v2/me/*", "/v2/me/calls", True),
        ("/v2/me/*", "/v2/me/devices", True),
        ("/v2/me/*", "/v2/me", False),
        ("/v2/me/*", "/v2/me/calls/x", False),
        ("/v2/me/*", "/v2/mex/calls", False),
        ("/v2/me/**", "/v2/me/calls", True),
        ("/v2/me/**", "/v2/me/calls/x/y", True),
        ("/v2/me/**", "/v2/me", False),
        ("/v2/**", "/v2x/a", False),
        ("/*", "/v2", True),
        ("/*", "/v2/me", False),
        ("/**", "/notifications/services", True),
        ("/**", "/v2/me/calls", True),
    ],
)
def test_channel_globbing(pattern: str, channel: str, matches: bool) -> None:
    assert channel_matches(pattern, channel) is matches


def test_wildcard_subscription_receives_every_matching_channel_only(alice: Conversation) -> None:
    alice.establish("/v2/me/*")
    server = alice.server
    server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    server.publish("/notifications/services", {"n": 2}, audience=None)
    server.publish("/v2/me/devices", {"n": 3}, audience="alice")
    server.publish("/v2/me/calls/deeper", {"n": 4}, audience="alice")
    assert strip_ids(events(alice.poll())) == [("/v2/me/calls", {"n": 1}), ("/v2/me/devices", {"n": 3})]


def test_double_star_subscription_receives_everything(alice: Conversation) -> None:
    alice.establish("/**")
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    alice.server.publish("/notifications/services", {"n": 2}, audience=None)
    alice.server.publish("/v2/me/calls/deeper", {"n": 3}, audience="alice")
    assert [e["data"]["n"] for e in events(alice.poll())] == [1, 2, 3]


def test_overlapping_subscriptions_deliver_a_message_once(alice: Conversation) -> None:
    alice.establish("/v2/me/*", "/v2/me/calls", "/**")
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    assert len(events(alice.poll())) == 1


def test_subscribe_reply_echoes_subscription_and_id(alice: Conversation, meta_reply_validator: Any) -> None:
    alice.handshake()
    single = alice.subscribe("/v2/me/calls")
    several = alice.subscribe(["/v2/me/devices", "/notifications/services"])
    for reply in (single, several):
        meta_reply_validator.validate(reply)
    assert single == {
        "channel": "/meta/subscribe",
        "clientId": alice.client_id,
        "subscription": "/v2/me/calls",
        "successful": True,
        "id": "2",
    }
    assert several["subscription"] == ["/v2/me/devices", "/notifications/services"]
    [session] = alice.server.sessions_of("alice")
    assert session.subscriptions == {"/v2/me/calls", "/v2/me/devices", "/notifications/services"}


def test_unsubscribe_stops_delivery(alice: Conversation, meta_reply_validator: Any) -> None:
    alice.establish("/v2/me/calls", "/v2/me/devices")
    reply = alice.unsubscribe("/v2/me/calls")
    meta_reply_validator.validate(reply)
    assert reply["successful"] is True and reply["subscription"] == "/v2/me/calls"
    assert alice.unsubscribe(["/not/subscribed"])["successful"] is True
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    alice.server.publish("/v2/me/devices", {"n": 2}, audience="alice")
    assert [e["data"]["n"] for e in events(alice.poll())] == [2]


@pytest.mark.parametrize(
    ("subscription", "error"),
    [
        (None, "400::channel_missing"),
        ("", "400::channel_missing"),
        ([], "400::channel_missing"),
        ("v2/me/calls", "400::channel_invalid"),
        ("/v2/*/calls", "400::channel_invalid"),
        ("/v2/**/calls", "400::channel_invalid"),
        ("/v2/me/", "400::channel_invalid"),
        (42, "400::channel_invalid"),
        (["/v2/me/calls", 7], "400::channel_invalid"),
        ("/meta/connect", "405::Cannot subscribe to meta channels"),
        ("/meta/*", "405::Cannot subscribe to meta channels"),
        (["/v2/me/calls", "/meta/**"], "405::Cannot subscribe to meta channels"),
        ("/secret/channel", "403::Subscription denied"),
        (["/v2/me/calls", "/secret/channel"], "403::Subscription denied"),
    ],
)
def test_subscribe_errors(clock: FakeClock, subscription: Any, error: str, meta_reply_validator: Any) -> None:
    server = BayeuxServer(clock=clock, can_subscribe=lambda _p, channel: not channel.startswith("/secret/"))
    alice = Conversation(server, ALICE)
    alice.handshake()
    fields = {} if subscription is None else {"subscription": subscription}
    [reply] = alice.now(alice.msg("/meta/subscribe", **fields))
    echoes_strings = isinstance(subscription, str) or (
        isinstance(subscription, list) and all(isinstance(s, str) for s in subscription)
    )
    meta_reply_validator.validate(reply)  # also for a malformed request: the reply is always well-formed Bayeux
    assert reply["channel"] == "/meta/subscribe"
    assert reply["successful"] is False
    assert reply["error"] == error
    assert reply["id"] == "2"
    if echoes_strings:
        assert reply["subscription"] == subscription
    else:  # a subscription that is not a channel name (or a list of them) is not echoed
        assert "subscription" not in reply
    assert server.sessions_of("alice")[0].subscriptions == frozenset()  # all or nothing


def test_can_subscribe_sees_the_principal_and_each_channel(clock: FakeClock) -> None:
    seen: list[tuple[Login, str]] = []

    def can_subscribe(principal: Login, channel: str) -> bool:
        seen.append((principal, channel))
        return True

    alice = Conversation(BayeuxServer(clock=clock, can_subscribe=can_subscribe), ALICE)
    alice.handshake()
    alice.subscribe(["/v2/me/*", "/notifications/services"])
    assert seen == [(ALICE, "/v2/me/*"), (ALICE, "/notifications/services")]


def test_service_channel_subscription_is_acknowledged_but_not_recorded(alice: Conversation) -> None:
    alice.handshake()
    assert alice.subscribe("/service/echo")["successful"] is True
    assert alice.server.sessions_of("alice")[0].subscriptions == frozenset()


# ---------------------------------------------------------------------- batching


def test_a_batch_is_processed_in_order_with_every_id_echoed(alice: Conversation) -> None:
    alice.establish()
    replies = alice.now(
        alice.msg("/meta/subscribe", subscription="/v2/me/calls"),
        alice.msg("/meta/subscribe", subscription="/v2/me/devices"),
        alice.msg("/meta/unsubscribe", subscription="/v2/me/calls"),
        alice.connect_msg(timeout=0),
    )
    assert [(r["channel"], r["id"], r["successful"]) for r in replies] == [
        ("/meta/subscribe", "3", True),
        ("/meta/subscribe", "4", True),
        ("/meta/unsubscribe", "5", True),
        ("/meta/connect", "6", True),
    ]
    assert alice.server.sessions_of("alice")[0].subscriptions == {"/v2/me/devices"}


def test_a_held_batch_answers_every_message_when_released(alice: Conversation) -> None:
    alice.establish()
    reply = alice.send(alice.msg("/meta/subscribe", subscription="/v2/me/calls"), alice.connect_msg())
    assert reply.held
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")  # the subscribe already counts
    messages = alice.server.complete(reply)
    assert [m["channel"] for m in messages] == ["/v2/me/calls", "/meta/subscribe", "/meta/connect"]
    assert [m.get("id") for m in messages[1:]] == ["3", "4"]


def test_non_object_and_channel_less_messages_get_an_error_each(alice: Conversation) -> None:
    alice.establish()
    replies = alice.now("junk", {"id": "x"}, alice.connect_msg(timeout=0))  # type: ignore[arg-type]
    assert replies[0] == {"successful": False, "error": "400::Bad request"}
    assert replies[1] == {"successful": False, "error": "400::channel_missing", "id": "x"}
    assert replies[2]["channel"] == "/meta/connect" and replies[2]["successful"] is True


def test_unknown_meta_channel(alice: Conversation, meta_reply_validator: Any) -> None:
    alice.handshake()
    [reply] = alice.now(alice.msg("/meta/bogus"))
    meta_reply_validator.validate(reply)
    assert reply == {
        "channel": "/meta/bogus",
        "successful": False,
        "error": "404::Unknown channel",
        "id": "2",
    }


def test_clients_may_not_publish(alice: Conversation, bob: Conversation) -> None:
    alice.establish("/v2/me/calls")
    bob.establish("/v2/me/calls")
    for channel in ("/v2/me/calls", "/service/anything"):
        [reply] = bob.now(bob.msg(channel, data={"x": 1}))
        assert reply == {
            "channel": channel,
            "successful": False,
            "error": "403::Publish denied",
            "id": reply["id"],
        }
    assert events(alice.poll()) == []


# ---------------------------------------------------------------------- audience


def test_per_audience_delivery_never_crosses_users(alice: Conversation, bob: Conversation) -> None:
    alice.establish("/v2/me/calls", "/notifications/services")
    bob.establish("/v2/me/calls", "/notifications/services")
    server = alice.server
    assert server.publish("/v2/me/calls", {"for": "alice"}, audience="alice") == 1
    assert server.publish("/v2/me/calls", {"for": "bob"}, audience="bob") == 1
    assert server.publish("/v2/me/calls", {"for": "carol"}, audience="carol") == 0
    assert server.publish("/notifications/services", {"for": "all"}, audience=None) == 2
    assert [e["data"] for e in events(alice.poll())] == [{"for": "alice"}, {"for": "all"}]
    assert [e["data"] for e in events(bob.poll())] == [{"for": "bob"}, {"for": "all"}]


def test_every_session_of_the_audience_receives_it(server: BayeuxServer) -> None:
    tabs = [Conversation(server, ALICE), Conversation(server, ALICE)]
    for tab in tabs:
        tab.establish("/v2/me/calls")
    assert server.publish("/v2/me/calls", {"n": 1}, audience="alice") == 2
    assert all(strip_ids(events(tab.poll())) == [("/v2/me/calls", {"n": 1})] for tab in tabs)


@pytest.mark.parametrize("channel", ["/v2/me/*", "/v2/**", "/meta/connect", "v2/me/calls", "", "/v2//calls"])
def test_publish_rejects_patterns_meta_and_invalid_channels(server: BayeuxServer, channel: str) -> None:
    with pytest.raises(ValueError):
        server.publish(channel, {}, audience=None)


def test_published_data_is_copied(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    data = {"call": {"state": "Ringing"}}
    alice.server.publish("/v2/me/calls", data, audience="alice")
    data["call"]["state"] = "Established"
    assert events(alice.poll())[0]["data"] == {"call": {"state": "Ringing"}}


# ---------------------------------------------------------------------- unknown, foreign, expired


@pytest.mark.parametrize(
    "channel",
    [
        "/meta/connect",
        "/meta/subscribe",
        "/meta/unsubscribe",
        "/meta/disconnect",
        "/meta/bogus",
        "/v2/me/calls",
    ],
)
@pytest.mark.parametrize("client_id", [None, "0123456789abcdef0123456789abcdef01234567", 12])
def test_unknown_or_missing_client_id_gets_402_handshake(
    alice: Conversation, channel: str, client_id: Any, meta_reply_validator: Any
) -> None:
    message: dict[str, Any] = {"id": "7", "channel": channel, "subscription": "/v2/me/calls"}
    if client_id is not None:
        message["clientId"] = client_id
    [reply] = alice.now(message)
    if channel.startswith("/meta/"):
        meta_reply_validator.validate(reply)
    assert reply == {"channel": channel, **UNKNOWN, "id": "7"}


def test_a_client_id_of_another_user_is_unknown_and_left_alone(alice: Conversation, bob: Conversation) -> None:
    alice.establish("/v2/me/calls")
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    bob.handshake()
    bob.client_id = alice.client_id  # bob learned alice's clientId
    for message in (
        bob.connect_msg(timeout=0),
        bob.msg("/meta/subscribe", subscription="/**"),
        bob.msg("/meta/unsubscribe", subscription="/v2/me/calls"),
        bob.msg("/meta/disconnect"),
    ):
        [reply] = bob.now(message)
        assert {k: reply[k] for k in UNKNOWN} == UNKNOWN
    [session] = alice.server.sessions_of("alice")
    assert session.subscriptions == {"/v2/me/calls"} and session.queued == 1
    assert strip_ids(events(alice.poll())) == [("/v2/me/calls", {"n": 1})]


def test_a_client_id_of_another_login_of_the_same_user_is_unknown(server: BayeuxServer) -> None:
    first = Conversation(server, Login("alice", "s1"))
    first.establish()
    other = Conversation(server, Login("alice", "s2"))
    other.client_id = first.client_id
    [reply] = other.now(other.connect_msg(timeout=0))
    assert reply["error"] == "402::Unknown client"


def test_client_expires_after_max_interval_without_connect(alice: Conversation, clock: FakeClock) -> None:
    alice.establish("/v2/me/calls")
    clock.advance(10.0)  # exactly max_interval: still alive
    [reply] = alice.now(alice.connect_msg(timeout=0))
    assert reply["successful"] is True
    clock.advance(10.001)
    [reply] = alice.now(alice.connect_msg(timeout=0))
    assert {k: reply[k] for k in UNKNOWN} == UNKNOWN
    assert alice.server.sessions_of("alice") == []


def test_sweep_drops_idle_clients(server: BayeuxServer, clock: FakeClock) -> None:
    idle, busy = Conversation(server, ALICE), Conversation(server, BOB)
    idle.establish()
    busy.establish()
    clock.advance(6)
    busy.poll()
    clock.advance(6)
    assert server.sweep() == 1
    assert server.sessions_of("alice") == []
    assert len(server.sessions_of("bob")) == 1


def test_a_held_connect_keeps_its_client_alive(alice: Conversation, clock: FakeClock) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    clock.advance(25)  # > max_interval, < timeout
    assert alice.server.sweep() == 0
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    assert strip_ids(events(alice.server.complete(held))) == [("/v2/me/calls", {"n": 1})]


def test_a_hold_nobody_completes_ends_at_its_deadline(alice: Conversation, clock: FakeClock) -> None:
    alice.establish()
    alice.connect()  # the transport died with this request
    clock.advance(30 + 10)
    assert alice.server.sweep() == 0
    clock.advance(0.01)
    assert alice.server.sweep() == 1


# ---------------------------------------------------------------------- disconnect and release


def test_disconnect_releases_the_held_connect(alice: Conversation, meta_reply_validator: Any) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    [reply] = alice.now(alice.msg("/meta/disconnect"))
    meta_reply_validator.validate(reply)
    assert reply == {
        "channel": "/meta/disconnect",
        "successful": True,
        "clientId": alice.client_id,
        "id": "5",
    }
    assert held.hold is not None and held.hold.woken
    [connect_reply] = alice.server.complete(held)
    meta_reply_validator.validate(connect_reply)
    assert connect_reply["successful"] is True
    assert connect_reply["advice"] == {"reconnect": "none", "interval": 0}
    assert connect_reply["id"] == "4"
    [after] = alice.now(alice.connect_msg(timeout=0))
    assert after["error"] == "402::Unknown client"


def test_events_pending_at_disconnect_go_out_with_the_released_connect(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")  # woken, not yet answered...
    alice.now(alice.msg("/meta/disconnect"))  # ...when the disconnect arrives
    messages = alice.server.complete(held)
    assert [(m["channel"], m.get("data")) for m in messages] == [
        ("/v2/me/calls", {"n": 1}),
        ("/meta/connect", None),
    ]
    assert messages[1]["advice"] == {"reconnect": "none", "interval": 0}


def test_connect_and_disconnect_in_one_batch(alice: Conversation) -> None:
    alice.establish()
    reply = alice.send(alice.connect_msg(), alice.msg("/meta/disconnect"))
    messages = alice.server.complete(reply)
    assert [(m["channel"], m["successful"]) for m in messages] == [
        ("/meta/connect", True),
        ("/meta/disconnect", True),
    ]
    assert messages[0]["advice"]["reconnect"] == "none"


def test_a_new_connect_supersedes_the_held_one(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    first = alice.connect()
    second = alice.connect()
    assert first.hold is not None and first.hold.woken
    assert second.held and second.hold is not None and not second.hold.woken
    [superseded] = alice.server.complete(first)
    assert superseded["successful"] is True and superseded["id"] == first.hold._request["id"]
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    assert strip_ids(events(alice.server.complete(second))) == [("/v2/me/calls", {"n": 1})]


def test_no_loss_and_no_duplicate_across_a_dropped_connect(alice: Conversation) -> None:
    server = alice.server
    alice.establish("/v2/me/*")
    dropped = alice.connect()  # the client's TCP connection dies while this is held
    server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    server.publish("/v2/me/devices", {"n": 2}, audience="alice")
    reconnect = alice.connect()  # same clientId, within max_interval
    assert not reconnect.held
    received = events(server.complete(reconnect))
    assert events(server.complete(dropped)) == []  # the late answer to the dead request carries nothing
    held = alice.connect()
    assert held.held
    server.publish("/v2/me/calls", {"n": 3}, audience="alice")
    received += events(server.complete(held))
    assert [(e["id"], e["data"]["n"]) for e in received] == [("1", 1), ("2", 2), ("3", 3)]


def test_abandoned_hold_keeps_its_events_for_the_next_connect(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    alice.server.publish("/v2/me/calls", {"n": 1}, audience="alice")
    alice.server.abandon(held)  # the transport saw the client hang up
    assert strip_ids(events(alice.poll())) == [("/v2/me/calls", {"n": 1})]


def test_queue_order_is_preserved(alice: Conversation) -> None:
    alice.establish("/v2/me/*")
    for n in range(50):
        alice.server.publish("/v2/me/calls" if n % 2 else "/v2/me/devices", {"n": n}, audience="alice")
    received = events(alice.poll())
    assert [e["data"]["n"] for e in received] == list(range(50))
    assert [int(e["id"]) for e in received] == list(range(1, 51))
    assert events(alice.poll()) == []  # handed out once


def test_queue_overflow_ends_the_session_instead_of_losing_silently(clock: FakeClock) -> None:
    server = BayeuxServer(clock=clock, max_queue=3)
    alice = Conversation(server, ALICE)
    alice.establish("/v2/me/calls")
    assert [server.publish("/v2/me/calls", {"n": n}, audience="alice") for n in range(4)] == [1, 1, 1, 0]
    [reply] = alice.now(alice.connect_msg(timeout=0))
    assert reply["error"] == "402::Unknown client"


def test_drop_user_ends_every_session_of_that_user_only(server: BayeuxServer) -> None:
    tab1, tab2, other = Conversation(server, ALICE), Conversation(server, ALICE), Conversation(server, BOB)
    for conversation in (tab1, tab2, other):
        conversation.establish("/v2/me/calls")
    held = tab1.connect()
    assert [s.held for s in server.sessions_of("alice")].count(True) == 1
    assert server.drop_user("alice") == 2
    assert server.sessions_of("alice") == []
    assert held.hold is not None and held.hold.woken
    [reply] = server.complete(held)
    assert {k: reply[k] for k in UNKNOWN} == UNKNOWN
    assert len(server.sessions_of("bob")) == 1
    assert server.drop_user("alice") == 0


def test_close_releases_every_held_connect(server: BayeuxServer) -> None:
    conversations = [Conversation(server, ALICE), Conversation(server, BOB)]
    holds = []
    for conversation in conversations:
        conversation.establish()
        holds.append(conversation.connect())
    assert server.stats()["held"] == 2
    server.close()
    assert all(h.hold is not None and h.hold.woken for h in holds)
    assert all(server.complete(h)[0]["error"] == "402::Unknown client" for h in holds)
    assert server.stats() == {"clients": 0, "held": 0, "queued": 0}


def test_wake_callbacks(alice: Conversation) -> None:
    alice.establish("/v2/me/calls")
    held = alice.connect()
    assert held.hold is not None
    calls: list[str] = []
    held.hold.add_wake_callback(lambda: calls.append("kept"))
    removed = lambda: calls.append("removed")  # noqa: E731
    held.hold.add_wake_callback(removed)
    held.hold.remove_wake_callback(removed)
    alice.server.publish("/v2/me/calls", {}, audience="alice")
    alice.server.publish("/v2/me/calls", {}, audience="alice")
    assert calls == ["kept"]
    held.hold.add_wake_callback(lambda: calls.append("late"))  # already woken: called at once
    assert calls == ["kept", "late"]


# ---------------------------------------------------------------------- threads


def test_concurrent_publishers_and_a_long_polling_consumer_lose_and_duplicate_nothing() -> None:
    server = BayeuxServer(timeout_ms=2000)  # real clock, real waits
    alice = Conversation(server, ALICE)
    alice.establish("/v2/me/*")
    publishers, per_publisher = 4, 250
    received: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def publish(worker: int) -> None:
        try:
            for n in range(per_publisher):
                server.publish(f"/v2/me/w{worker}", {"w": worker, "n": n}, audience="alice")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def consume() -> None:
        try:
            while len(received) < publishers * per_publisher:
                reply = alice.connect()
                if reply.hold is not None:
                    reply.hold.wait(max(0.0, reply.hold.deadline - server.clock()))
                received.extend(events(server.complete(reply)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    threads = [threading.Thread(target=publish, args=(w,)) for w in range(publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    consumer.join(timeout=30)
    assert not consumer.is_alive() and errors == []
    assert len(received) == publishers * per_publisher
    assert len({e["id"] for e in received}) == len(received)
    for worker in range(publishers):
        assert [e["data"]["n"] for e in received if e["data"]["w"] == worker] == list(range(per_publisher))
    assert [int(e["id"]) for e in received] == sorted(int(e["id"]) for e in received)
