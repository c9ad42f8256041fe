"""Rule family: the Bayeux 1.0 protocol of the GWS notifications endpoint (profile ``gws-notifications``).

003 l.1505-1518 says GWS delivers its notifications with CometD and makes "a basic understanding of CometD" a
prerequisite; l.1520-1567 lists the topics a client subscribes to (``/v2/me/devices``, ``/v2/me/calls``,
``/notifications/services``) and the sample of l.690-728 handshakes, subscribes ``/v2/me/*`` and re-subscribes
on every handshake. The protocol rules themselves are Bayeux 1.0's (the CometD project's ``bayeux.adoc``; summary
in the field notes): what is a MUST there is required here, what is CometD practice or a SHOULD is advisory.

Required (Bayeux MUST):

* replies to ``/meta/*`` messages carry the request's ``id`` (Bayeux 1.0 §"id": "Messages sent in response to
  messages delivered to /meta/** channels MUST use the same message id as the request message");
* a successful handshake reply carries ``channel, version, supportedConnectionTypes, clientId, successful``;
  a connect reply ``channel, successful, clientId``; a subscribe/unsubscribe reply ``channel, successful,
  clientId, subscription``; an ``advice`` present has the Bayeux shape (reconnect retry|handshake|none,
  interval/timeout non-negative numbers) — its values are the server's choice;
* a ``clientId`` the server did not issue, or ended, identifies no session: a connect or subscribe with it is
  not successful, and the reply does not tell the client to go on with it (``advice.reconnect`` handshake, or
  — CometD's reading — the ``402`` error that clients answer with a handshake). The exact ``402::Unknown
  client`` and the advice both present are CometD practice: advisory when one is missing;
* after such a refusal a client that handshakes and subscribes again gets its notifications again, and none
  twice;
* the documented topics can be subscribed; whatever a client subscribes to, it never receives another user's
  ``/v2/me/*`` messages (``me`` is the logged-in user, l.1524-1553); one client's notifications arrive in the
  order they happened (clients drive their UI from each event's state and capabilities, l.1060-1062, so a late
  older event would leave them showing a stale state).

Accepted either way (the documents leave it open): events in the same array as the connect reply or not, any
``interval``/``timeout``, refusing or accepting a wildcard subscription beyond the documented topics.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import pytest

from conformance.advisory import advise
from conformance.support.gws import DEVICES, SERVICES, GwsAgent
from conformance.support.gws_checks import DOC, expect_ok, require
from conformance.transport.cometd import CometdClient

PROFILE = "gws-notifications"
OPS = ("gws.bayeux", "gws.cometd.handshake")
BAYEUX = "Bayeux 1.0 (bayeux.adoc)"
RECONNECT = ("retry", "handshake", "none")
VOICE = "/api/v2/me/channels/voice"
TOPICS = ("/v2/me/devices", "/v2/me/calls", "/v2/me/*", SERVICES)  # l.1524-1567 and the sample's l.707
Message = dict[str, Any]


# ---- a session driven message by message -----------------------------------------------------------------------
class Session:
    """A Bayeux session without the background connect loop: each request is sent by the test and every reply
    is kept, so the rules can look at the raw messages (ids, members) that the client library tolerates."""

    def __init__(self, cometd: CometdClient) -> None:
        self.cometd = cometd
        self.client_id: str | None = None
        self.data: list[Message] = []
        self._ids = itertools.count(1)
        self._tag = secrets.token_hex(3)

    def next_id(self) -> str:
        return f"vk-{self._tag}-{next(self._ids)}"

    def exchange(self, messages: Sequence[Message], path: str = "") -> list[Message]:
        """Send ``messages`` (each given an ``id`` unless it has one); the reply array. Data messages are kept."""
        batch = [{"id": self.next_id(), **m} for m in messages]
        for sent, original in zip(batch, messages, strict=True):
            original.setdefault("id", sent["id"])  # the caller sees the id that went out
        replies = self.cometd.send(batch, path=path)
        self.data += [m for m in replies if _is_data(m)]
        return replies

    def request(self, message: Message, path: str = "") -> Message:
        """One message; its reply (same channel, same id when echoed)."""
        replies = self.exchange([message], path)
        return reply_for(replies, message)

    def handshake(self) -> Message:
        reply = self.request(
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "advice": {"timeout": 60000, "interval": 0},
            },
            "handshake",
        )
        require(
            reply.get("successful") is True and isinstance(reply.get("clientId"), str),
            f"the handshake was refused: {reply}",
        )
        self.client_id = str(reply["clientId"])
        return reply

    def connect(self, client_id: str | None = None) -> Message:
        """A connect answered at once (``advice.timeout`` 0, as the official client's first connect)."""
        return self.request(
            {
                "channel": "/meta/connect",
                "clientId": client_id or self.client_id,
                "connectionType": "long-polling",
                "advice": {"timeout": 0},
            },
            "connect",
        )

    def subscribe(self, *channels: str, client_id: str | None = None) -> list[Message]:
        messages = [
            {"channel": "/meta/subscribe", "clientId": client_id or self.client_id, "subscription": c} for c in channels
        ]
        replies = self.exchange(messages)
        return [reply_for(replies, m) for m in messages]

    def unsubscribe(self, channel: str) -> Message:
        return self.request({"channel": "/meta/unsubscribe", "clientId": self.client_id, "subscription": channel})

    def disconnect(self) -> Message:
        return self.request({"channel": "/meta/disconnect", "clientId": self.client_id}, "disconnect")

    def poll(self, enough: Callable[[list[Message]], bool], timeout: float) -> list[Message]:
        """Connect (timeout 0) until ``enough(self.data)`` or ``timeout`` seconds; the data received."""
        deadline = time.monotonic() + timeout
        while not enough(self.data) and time.monotonic() < deadline:
            reply = self.connect()
            require(reply.get("successful") is True, f"a connect of a live session was refused: {reply}")
            if not enough(self.data):
                time.sleep(0.1)
        return self.data


def _is_data(message: Mapping[str, Any]) -> bool:
    return not str(message.get("channel", "")).startswith("/meta/") and "data" in message


def reply_for(replies: list[Message], message: Mapping[str, Any]) -> Message:
    """The reply to ``message``: the one of its channel with its id, else (ids not echoed) the only one of its
    channel and, for subscriptions, of its subscription."""
    same = [r for r in replies if r.get("channel") == message["channel"]]
    by_id = [r for r in same if str(r.get("id")) == str(message.get("id"))]
    if by_id:
        return by_id[0]
    if "subscription" in message:
        same = [r for r in same if r.get("subscription") in (None, message["subscription"])] or same
    require(bool(same), f"no {message['channel']} reply to {message} in {replies}", title="Bayeux reply missing")
    return same[0]


def check_advice(reply: Mapping[str, Any], what: str) -> None:
    """Bayeux 1.0 "advice": reconnect is retry, handshake or none; interval/timeout are non-negative numbers."""
    advice = reply.get("advice")
    if advice is None:
        return
    require(isinstance(advice, dict), f"{what}: advice is {advice!r}, not an object ({BAYEUX})")
    assert isinstance(advice, dict)
    if "reconnect" in advice:
        require(
            advice["reconnect"] in RECONNECT,
            f"{what}: advice.reconnect {advice['reconnect']!r} is not one of {RECONNECT} ({BAYEUX})",
        )
    for key in ("interval", "timeout"):
        if key in advice:
            value = advice[key]
            require(
                isinstance(value, int | float) and not isinstance(value, bool) and value >= 0,
                f"{what}: advice.{key} {value!r} is not a non-negative number of milliseconds ({BAYEUX})",
            )


def check_members(reply: Mapping[str, Any], channel: str, members: Sequence[str], what: str) -> None:
    missing = [m for m in members if m not in reply]
    require(
        reply.get("channel") == channel and not missing,
        f"{what}: the {channel} reply lacks {missing or 'its channel'} ({BAYEUX} requires "
        f"{', '.join(members)}): {reply}",
        title="Bayeux reply incomplete",
    )


def device_states(messages: Sequence[Message]) -> list[str]:
    """The userState of each /v2/me/devices message, in delivery order."""
    states = []
    for message in messages:
        if message.get("channel") == DEVICES:
            for device in (message.get("data") or {}).get("devices") or []:
                state = (device.get("userState") or {}).get("state") if isinstance(device, dict) else None
                if state:
                    states.append(str(state))
    return states


def agent_state(agent: GwsAgent, operation: str) -> None:
    expect_ok(agent.post(VOICE, json={"operationName": operation}))


def back_to_not_ready(agent: GwsAgent, vk_cleanup: Any) -> None:
    vk_cleanup(agent.post, VOICE, json={"operationName": "NotReady"}, description=f"{agent.username} NotReady")


@pytest.fixture
def session(vk_gws_agent: GwsAgent, vk_gws_notifications: Any) -> Session:
    """Agent A's CometD identity (Basic, session cookie, CSRF) without a session yet."""
    return Session(vk_gws_notifications(vk_gws_agent, open=False))


# ---- replies ------------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-001",
    document=DOC,
    lines=(1505, 1518),
    title="Every /meta/* reply carries the request's id (Bayeux 1.0 MUST)",
)
@pytest.mark.vk_operations(*OPS)
def test_meta_replies_echo_the_request_id(session: Session) -> None:
    sent: list[Message] = []
    handshake = {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
    sent.append(handshake)
    replies = [reply_for(session.exchange([handshake], "handshake"), handshake)]
    session.client_id = str(replies[0].get("clientId"))
    connect = {
        "channel": "/meta/connect",
        "clientId": session.client_id,
        "connectionType": "long-polling",
        "advice": {"timeout": 0},
    }
    subscribes = [
        {"channel": "/meta/subscribe", "clientId": session.client_id, "subscription": c}
        for c in ("/v2/me/devices", "/v2/me/calls")
    ]  # two in one batch: each keeps its own id
    unsubscribe = {"channel": "/meta/unsubscribe", "clientId": session.client_id, "subscription": "/v2/me/calls"}
    disconnect = {"channel": "/meta/disconnect", "clientId": session.client_id}
    for batch, path in (([connect], "connect"), (subscribes, ""), ([unsubscribe], ""), ([disconnect], "disconnect")):
        answer = session.exchange(batch, path)
        sent += batch
        replies += [reply_for(answer, m) for m in batch]
    wrong = [
        f"{m['channel']} id {m['id']!r} answered with id {r.get('id')!r}"
        for m, r in zip(sent, replies, strict=True)
        if str(r.get("id")) != str(m["id"])
    ]
    require(
        not wrong,
        f"replies that do not echo the request id ({BAYEUX}: responses to /meta/** messages MUST "
        f"use the request's id): {'; '.join(wrong)}",
        title="Request id not echoed",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-002",
    document=DOC,
    lines=(1505, 1518),
    title="A successful handshake reply has channel, version, supportedConnectionTypes (with "
    "long-polling), clientId and successful",
)
@pytest.mark.vk_operations(*OPS)
def test_handshake_reply_members(session: Session) -> None:
    """l.716-717: the documented client keeps only long-polling, so the server must offer it. A second handshake
    opens a second session: its clientId differs (the server generates a unique one)."""
    reply = session.handshake()
    check_members(
        reply, "/meta/handshake", ("version", "supportedConnectionTypes", "clientId", "successful"), "handshake"
    )
    types = reply.get("supportedConnectionTypes")
    require(
        isinstance(types, list) and "long-polling" in types,
        f"the handshake offers {types!r}; the documented client (l.716-717) uses long-polling only",
    )
    require(isinstance(reply.get("version"), str) and bool(reply["version"]), f"version is {reply.get('version')!r}")
    if isinstance(types, list) and "callback-polling" not in types:
        advise(
            f"the handshake offers {types}, without callback-polling",
            basis="Bayeux 1.0: callback-polling is a SHOULD; the GWS sample unregisters it (l.717)",
        )
    check_advice(reply, "handshake")
    first = session.client_id
    again = session.handshake()
    require(again.get("clientId") != first, f"two handshakes got the same clientId {first!r}")
    session.disconnect()
    session.client_id = first
    session.disconnect()


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-003",
    document=DOC,
    lines=(1505, 1518),
    title="A connect reply has channel, successful and the client's clientId; advice is well-formed",
)
@pytest.mark.vk_operations(*OPS)
def test_connect_reply_members(session: Session) -> None:
    session.handshake()
    reply = session.connect()
    check_members(reply, "/meta/connect", ("successful", "clientId"), "connect")
    require(reply.get("successful") is True, f"the first connect of a fresh session was refused: {reply}")
    require(
        reply.get("clientId") == session.client_id,
        f"the connect reply names clientId {reply.get('clientId')!r}, not the session's {session.client_id!r}",
    )
    check_advice(reply, "connect")
    session.disconnect()


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-004",
    document=DOC,
    lines=(1520, 1567),
    title="A subscribe reply has channel, successful, clientId and the subscription",
)
@pytest.mark.vk_operations(*OPS)
def test_subscribe_reply_members(session: Session) -> None:
    session.handshake()
    session.connect()
    wanted = ("/v2/me/devices", "/v2/me/calls")
    for channel, reply in zip(wanted, session.subscribe(*wanted), strict=True):
        check_members(reply, "/meta/subscribe", ("successful", "clientId", "subscription"), f"subscribe {channel}")
        require(reply.get("successful") is True, f"subscribing to the documented {channel} was refused: {reply}")
        require(
            reply.get("subscription") in (channel, [channel]),
            f"the reply to the subscription {channel} names {reply.get('subscription')!r}",
        )
        check_advice(reply, f"subscribe {channel}")
    session.disconnect()


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-005",
    document=DOC,
    lines=(1520, 1540),
    title="Unsubscribe is answered (channel, successful, clientId, subscription) and stops the channel's messages",
)
@pytest.mark.vk_operations(*OPS, "gws.Ready", "gws.cometd.DeviceStateChangeMessage")
def test_unsubscribe_stops_delivery(
    vk_gws_agent: GwsAgent, vk_gws_notifications: Any, session: Session, vk_cleanup: Any
) -> None:
    """A second session that keeps the subscription shows the change was notified; the unsubscribed one, polled
    afterwards, must not get it."""
    witness: CometdClient = vk_gws_notifications(vk_gws_agent, channels=(DEVICES,))
    session.handshake()
    session.connect()
    session.subscribe(DEVICES)
    reply = session.unsubscribe(DEVICES)
    check_members(reply, "/meta/unsubscribe", ("successful", "clientId", "subscription"), "unsubscribe")
    require(
        reply.get("successful") is True and reply.get("subscription") in (DEVICES, [DEVICES]),
        f"unsubscribing from {DEVICES} was not acknowledged: {reply}",
    )
    back_to_not_ready(vk_gws_agent, vk_cleanup)
    agent_state(vk_gws_agent, "Ready")
    witness.await_message(
        lambda m: "Ready" in device_states([m]), description="the Ready change, on the session still subscribed"
    )
    late = session.poll(lambda data: bool(device_states(data)), timeout=1.5)
    require(
        not device_states(late),
        f"after unsubscribing from {DEVICES} the session still got {late}",
        title="Unsubscribe ignored",
    )
    session.disconnect()


# ---- unknown clients and recovery --------------------------------------------------------------------------------
def check_refused_as_unknown(reply: Mapping[str, Any], what: str) -> None:
    """Not successful, and not told to carry on with the dead clientId; the CometD form is advisory."""
    require(
        reply.get("successful") is False,
        f"{what} was answered successful: {dict(reply)} — a clientId the server did not issue (or ended) "
        "identifies no session, so the client would wait forever for notifications that never come",
        title="Unknown client accepted",
    )
    advice = cast(dict[str, Any], reply.get("advice")) if isinstance(reply.get("advice"), dict) else {}
    reconnect = advice.get("reconnect")
    error = str(reply.get("error") or "")
    require(
        reconnect in (None, "handshake") and (reconnect == "handshake" or error.startswith("402")),
        f"{what} was refused with advice {advice or None} and error {error!r}: nothing tells the client to "
        "handshake again (advice.reconnect handshake, or CometD's 402)",
        title="Unknown client not re-handshaken",
    )
    if not error.startswith("402::"):
        advise(
            f"{what}: error {error!r}; CometD answers '402::Unknown client'",
            basis="field notes (CometD practice); Bayeux 1.0 fixes the code:args:message form, not the code",
        )
    if reconnect != "handshake":
        advise(
            f"{what}: no advice.reconnect 'handshake'; the official CometD JavaScript client re-handshakes by "
            "itself only with it",
            basis="field notes; Bayeux 1.0 defines the advice, the 402 reply is practice",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-006",
    document=DOC,
    lines=(1505, 1522),
    title="Connect and subscribe with an unknown or ended clientId are refused, telling the client "
    "to handshake (402::Unknown client, advice reconnect handshake)",
)
@pytest.mark.vk_operations(*OPS)
def test_unknown_client_is_refused(session: Session) -> None:
    bogus = f"vk-unknown-{secrets.token_hex(8)}"
    check_refused_as_unknown(session.connect(bogus), "a connect with an unknown clientId")
    check_refused_as_unknown(session.subscribe(DEVICES, client_id=bogus)[0], "a subscribe with an unknown clientId")
    session.handshake()
    session.connect()
    ended = session.client_id
    session.disconnect()
    check_refused_as_unknown(session.connect(ended), "a connect with a clientId after its disconnect")
    check_refused_as_unknown(
        session.subscribe(DEVICES, client_id=ended)[0], "a subscribe with a clientId after its disconnect"
    )


def expired_session(agent: GwsAgent, gws_notifications: Any) -> CometdClient:
    """A client subscribed to /v2/me/* whose session the server then ends (a disconnect behind its back); its
    connect loop starts with that clientId, as a client whose session expired while it was away."""
    cometd: CometdClient = gws_notifications(agent, open=False)
    raw = Session(cometd)
    raw.handshake()
    raw.connect()
    require(all(r.get("successful") is True for r in raw.subscribe("/v2/me/*")), "subscribing /v2/me/* failed")
    raw.disconnect()
    cometd.client_id = raw.client_id
    cometd.channels = ["/v2/me/*"]
    cometd.start()
    recovered = cometd.wait_until(lambda: cometd.rehandshakes >= 1 and "/v2/me/*" in cometd.channels)
    require(
        recovered,
        f"the client was not told to handshake again after its session ended (re-handshakes: "
        f"{cometd.rehandshakes}, advice {cometd.advice})",
        title="No recovery from an unknown client",
    )
    return cometd


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-007",
    document=DOC,
    lines=(690, 708),
    title="After 402 the client re-handshakes, re-subscribes and gets its notifications again",
)
@pytest.mark.vk_operations(*OPS, "gws.Ready", "gws.cometd.DeviceStateChangeMessage")
def test_recovery_after_unknown_client(vk_gws_agent: GwsAgent, vk_gws_notifications: Any, vk_cleanup: Any) -> None:
    """l.690-708: the documented client subscribes again in its handshake listener — the recovery the protocol
    expects."""
    cometd = expired_session(vk_gws_agent, vk_gws_notifications)
    back_to_not_ready(vk_gws_agent, vk_cleanup)
    agent_state(vk_gws_agent, "Ready")
    cometd.await_message(
        lambda m: "Ready" in device_states([m]), description="the Ready change on the re-established session"
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-008", document=DOC, lines=(1569, 1628), title="No notification is delivered twice across a re-handshake"
)
@pytest.mark.vk_operations(*OPS, "gws.Ready", "gws.NotReady", "gws.cometd.DeviceStateChangeMessage")
def test_no_duplicates_across_a_reconnect(vk_gws_agent: GwsAgent, vk_gws_notifications: Any, vk_cleanup: Any) -> None:
    """The Ready change is delivered to the first session; the new session (after the 402 and re-handshake) must
    not get that same message again, and gets the next change once."""
    first: CometdClient = vk_gws_notifications(vk_gws_agent)
    back_to_not_ready(vk_gws_agent, vk_cleanup)
    agent_state(vk_gws_agent, "Ready")
    ready = first.await_message(lambda m: "Ready" in device_states([m]), description="the Ready change")
    first.close()
    cometd = expired_session(vk_gws_agent, vk_gws_notifications)
    agent_state(vk_gws_agent, "NotReady")
    cometd.await_message(lambda m: "NotReady" in device_states([m]), description="the NotReady change")
    cometd.expect_none(
        lambda m: m.get("channel") == DEVICES and m.get("data") == ready.get("data"),
        quiet_for=1.0,
        description="the Ready change, delivered before the re-handshake, again",
    )
    states = device_states(cometd.messages)
    require(
        states.count("NotReady") == 1,
        f"one NotReady change was delivered {states.count('NotReady')} times on the new session ({states})",
        title="Duplicate notification",
    )


# ---- channels ------------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-009",
    document=DOC,
    lines=(1520, 1567),
    title="The documented topics (/v2/me/devices, /v2/me/calls, /v2/me/*, /notifications/services) can be subscribed",
)
@pytest.mark.vk_operations(*OPS)
def test_documented_topics_can_be_subscribed(session: Session) -> None:
    session.handshake()
    session.connect()
    refused = []
    for channel in TOPICS:  # one request each: a refusal of one must not hide another
        reply = session.subscribe(channel)[0]
        if reply.get("successful") is not True:
            refused.append(f"{channel}: {reply.get('error') or reply}")
    require(not refused, f"documented topics refused: {'; '.join(refused)}", title="Subscription denied")
    session.disconnect()


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-010",
    document=DOC,
    lines=(1524, 1553),
    title="A client never receives another user's /v2/me/* messages, whatever it subscribes to",
)
@pytest.mark.vk_operations(*OPS, "gws.Ready", "gws.cometd.DeviceStateChangeMessage")
def test_no_other_users_messages(
    vk_gws_agent: GwsAgent, vk_gws_agent_b: GwsAgent, vk_gws_notifications: Any, session: Session, vk_cleanup: Any
) -> None:
    """Subscriptions beyond the documented topics (``/**``, ``/v2/**``) may be refused or accepted; either way
    agent B's device change must not reach agent A."""
    witness: CometdClient = vk_gws_notifications(vk_gws_agent_b, channels=(DEVICES,))
    session.handshake()
    session.connect()
    session.subscribe("/v2/me/*")
    for wide in ("/**", "/v2/**"):
        session.subscribe(wide)
    back_to_not_ready(vk_gws_agent_b, vk_cleanup)
    agent_state(vk_gws_agent_b, "Ready")
    witness.await_message(lambda m: "Ready" in device_states([m]), description="agent B's Ready change")
    received = session.poll(lambda data: False, timeout=1.5)
    mine = vk_gws_agent.device_id
    foreign = [
        m
        for m in received
        if str(m.get("channel", "")).startswith("/v2/me/")
        and any(isinstance(d, dict) and d.get("id") != mine for d in (m.get("data") or {}).get("devices") or [])
    ]
    require(not foreign, f"agent A received agent B's notifications: {foreign[:2]}", title="Foreign notification")
    session.disconnect()


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-BAYEUX-011",
    document=DOC,
    lines=(1569, 1628),
    title="A client's notifications arrive in the order the changes happened",
)
@pytest.mark.vk_operations(*OPS, "gws.Ready", "gws.NotReady", "gws.cometd.DeviceStateChangeMessage")
def test_notifications_in_order(vk_gws_agent: GwsAgent, session: Session, vk_cleanup: Any) -> None:
    """Two changes made while no connect is held are delivered together or over several connects; either
    way in the order they were made."""
    session.handshake()
    session.connect()
    session.subscribe(DEVICES)
    back_to_not_ready(vk_gws_agent, vk_cleanup)
    wanted = ["Ready", "NotReady"]
    for operation in wanted:
        agent_state(vk_gws_agent, operation)
    data = session.poll(lambda d: len(device_states(d)) >= len(wanted), timeout=5.0)
    states = [s for s in device_states(data) if s in ("Ready", "NotReady")]
    require(len(states) >= len(wanted), f"expected {len(wanted)} device changes, got {states}")
    require(
        states[-len(wanted) :] == wanted,
        f"the changes {wanted} were notified as {states}",
        title="Notifications out of order",
    )
    session.disconnect()
