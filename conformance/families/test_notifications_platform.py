"""Platform notifications (profile ``platform-notifications``): the channel, its WebSocket, the subscriptions and the
messages a call-control client lives on — E421 of specs/errata/platform.yaml (no seed prints them: the SDK
purecloudplatformclientv2 269.0.0 and the field notes define them; E459 the channel's lifetime and topics).

Why these tests: 000's answer request is only *accepted* (E418: 202); the client learns what became of it from
``v2.users.{id}.conversations.calls``. A client also follows presence (001 l.185 "use the Presence API") on
``v2.users.{id}.presence``, keeps the socket alive with ``{"message": "ping"}``, watches the ``channel.metadata``
heartbeat and reconnects on ``v2.system.socket_closing``. Every message received is validated against its message
of specs/platform.asyncapi.yaml, and the envelope ``{topicName, version, eventBody, metadata}`` is required of
topic messages.

Heartbeats come every 30 s on the real service: on the mock the interval is shortened through the control API;
elsewhere the test waits up to the notification timeout and is not run when none arrives by then. Expiring a
channel needs the control API too (channels live 24 h).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import expect
from conformance.failures import ConformanceFailure
from conformance.outcomes import not_run
from conformance.support.lab import MANAGED
from conformance.support.platform import leg, state_of, summary, validated_message
from conformance.support.platform_kit import Actor, PlatformKit, Watcher

PROFILE = "platform-notifications"
ENVELOPE = ("topicName", "version", "eventBody", "metadata")
TITLE = "(E421)"


def envelope(message: dict[str, Any]) -> dict[str, Any]:
    """A topic message carries the whole envelope (E421), ``metadata.CorrelationId`` included."""
    missing = [k for k in ENVELOPE if k not in message]
    metadata = message.get("metadata")
    if not missing and not (isinstance(metadata, dict) and metadata.get("CorrelationId")):
        missing.append("metadata.CorrelationId")
    if missing:
        raise ConformanceFailure(
            f"the {message.get('topicName')} message lacks {', '.join(missing)} (E421: "
            "{topicName, version, eventBody, metadata})",
            title="Notification envelope",
        )
    return message


def subscriptions(actor: Actor, watcher: Watcher) -> set[str]:
    body = expect(actor.client.get(f"/api/v2/notifications/channels/{watcher.channel_id}/subscriptions"), status=200)
    return {str(t.get("id")) for t in body.get("entities") or []}


def other_presence(actor: Actor) -> tuple[str, str, str]:
    """(current definition id, a different one, its systemPresence) among Busy/Away/Available."""
    definitions = actor.presence_definitions()
    current = actor.presence()
    for name in ("Busy", "Away", "Available"):
        if name in definitions and definitions[name] != current:
            return current, definitions[name], name
    not_run("the organization has no Busy, Away or Available presence definition to switch to")


# ---- the channel -----------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "PLATFORM-NOTIF-001", title=f"A notification channel is {{id, connectUri, expires}} and its WebSocket opens {TITLE}"
)
@pytest.mark.vk_operations("platform.postNotificationsChannels", "platform.getNotificationsChannels")
def test_channel_is_created_and_its_socket_opens(plat: PlatformKit) -> None:
    a = plat.user(0)
    watcher = plat.watcher(a, topics=[])  # POST /api/v2/notifications/channels (schema Channel), then the socket
    channel = watcher.channel
    problems = []
    if not str(channel.get("connectUri", "")).startswith(("ws://", "wss://")):
        problems.append(f"connectUri {channel.get('connectUri')!r} is not a ws:// or wss:// URI")
    if not str(channel.get("connectUri", "")).rstrip("/").endswith(str(channel.get("id"))):
        problems.append("connectUri does not end with the channel id (/channels/{channelId})")
    if not channel.get("expires"):
        problems.append("expires is missing")
    if problems:
        raise ConformanceFailure("POST /api/v2/notifications/channels: " + "; ".join(problems))
    listed = expect(a.client.get("/api/v2/notifications/channels"), status=200)
    if channel["id"] not in {c.get("id") for c in listed.get("entities") or []}:
        raise ConformanceFailure("GET /api/v2/notifications/channels does not list the token's new channel")
    if watcher.ws.closed:
        raise ConformanceFailure("the server closed the channel's WebSocket at once")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "PLATFORM-NOTIF-002", title=f"Subscriptions: PUT replaces, POST adds, GET lists, DELETE clears {TITLE}"
)
@pytest.mark.vk_operations(
    "platform.putNotificationsChannelSubscriptions",
    "platform.postNotificationsChannelSubscriptions",
    "platform.getNotificationsChannelSubscriptions",
    "platform.deleteNotificationsChannelSubscriptions",
    "platform.patchUserPresencesPurecloud",
    "platform.ws.userPresence",
)
def test_subscriptions_put_post_get_delete(plat: PlatformKit) -> None:
    a = plat.user(0)
    watcher = plat.watcher(a, topics=[])
    both = {a.calls_topic, a.presence_topic}
    answered: set[Any] = {t.get("id") for t in watcher.subscribe(sorted(both), "PUT")}  # ids as the target sent them
    if not both <= answered or subscriptions(a, watcher) != both:
        raise ConformanceFailure(
            f"PUT of {sorted(both)} answered {sorted(answered)}; GET lists {sorted(subscriptions(a, watcher))}"
        )
    watcher.subscribe([a.calls_topic], "PUT")
    if subscriptions(a, watcher) != {a.calls_topic}:
        raise ConformanceFailure(f"PUT must replace the topics: GET lists {sorted(subscriptions(a, watcher))}")
    watcher.subscribe([a.presence_topic], "POST")
    if subscriptions(a, watcher) != both:
        raise ConformanceFailure(f"POST must add a topic: GET lists {sorted(subscriptions(a, watcher))}")
    deleted = a.client.delete(f"/api/v2/notifications/channels/{watcher.channel_id}/subscriptions")
    expect(deleted, status=(200, 202, 204))
    if subscriptions(a, watcher):
        raise ConformanceFailure(f"DELETE must clear the topics: GET lists {sorted(subscriptions(a, watcher))}")
    current, changed, _ = other_presence(a)
    plat.undo(lambda: a.set_presence(current))
    a.set_presence(changed)
    watcher.ws.expect_none(
        lambda m: m["topicName"] == a.presence_topic, 1.0, "no presence message on a channel without subscriptions"
    )
    watcher.subscribe([a.presence_topic], "POST")  # the other direction: subscribed again, the change arrives
    a.set_presence(current)
    watcher.await_topic(
        a.presence_topic,
        lambda body: body["presenceDefinition"]["id"] == current,
        "the presence change, subscribed again",
        message="UserPresenceEvent",
    )


# ---- the messages ----------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "PLATFORM-NOTIF-003",
    title=f"Every participant change of a call is notified on v2.users.{{id}}.conversations.calls {TITLE}",
)
@pytest.mark.vk_operations(
    "platform.ws.conversationsCalls", "platform.patchConversationsCallParticipant", "platform.getConversationsCall"
)
def test_participant_changes_are_notified(plat: PlatformKit) -> None:
    a = plat.user(0)
    if plat.lab.available:
        plat.lab.phone(a.user_id, MANAGED)  # so that the answer connects (000 l.201-203)
    watcher = a.watch()
    conversation_id, participant_id = plat.ringing_call(a)  # awaited: alerting
    alerting = next(
        m
        for m in reversed(watcher.ws.messages)
        if m.get("topicName") == a.calls_topic and m.get("eventBody", {}).get("id") == conversation_id
    )
    envelope(alerting)
    states = ["alerting"]
    if plat.lab.available:
        a.answer(conversation_id, participant_id)
        message = watcher.await_topic(
            a.calls_topic,
            lambda b: b["id"] == conversation_id and state_of(b, pid=participant_id) == "connected",
            "the answer: connected",
        )
        envelope(message)
        states.append("connected")
    a.hang_up(conversation_id, participant_id)
    message = watcher.await_topic(
        a.calls_topic,
        lambda b: b["id"] == conversation_id and state_of(b, pid=participant_id) == "disconnected",
        "the hang-up: disconnected",
    )
    envelope(message)
    rest = a.call(conversation_id)
    notified = {p.get("id"): p.get("state") for p in message["eventBody"]["participants"]}
    read = {p.get("id"): p.get("state") for p in rest.get("participants") or []}
    if notified != read:
        raise ConformanceFailure(
            f"the last notification ({summary(message['eventBody'])}) and GET "
            f"({summary(rest)}) disagree after {' → '.join(states)} → disconnected"
        )
    if leg(message["eventBody"], pid=participant_id) is None:
        raise ConformanceFailure("the notification does not carry the user's participant")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule("PLATFORM-NOTIF-004", title=f"A presence change is notified on v2.users.{{id}}.presence {TITLE}")
@pytest.mark.vk_operations(
    "platform.ws.userPresence", "platform.patchUserPresencesPurecloud", "platform.getPresenceDefinitions"
)
def test_presence_change_is_notified(plat: PlatformKit) -> None:
    a = plat.user(0)
    watcher = a.watch()
    current, changed, name = other_presence(a)
    plat.undo(lambda: a.set_presence(current))
    a.set_presence(changed)
    message = watcher.await_topic(
        a.presence_topic,
        lambda body: body["presenceDefinition"]["id"] == changed,
        f"presence {name}",
        message="UserPresenceEvent",
    )
    envelope(message)
    system = message["eventBody"]["presenceDefinition"].get("systemPresence")
    if system is not None and system != name:
        raise ConformanceFailure(f"the presence message says {system!r}, the definition set is {name!r}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "PLATFORM-NOTIF-005", title=f'{{"message": "ping"}} is answered with a channel.metadata pong {TITLE}'
)
@pytest.mark.vk_operations("platform.ws.ping")
def test_ping_is_answered_with_pong(plat: PlatformKit) -> None:
    watcher = plat.watcher(plat.user(0), topics=[])
    validated_message({"message": "ping"}, "Ping")
    watcher.ws.send({"message": "ping"})
    pong = watcher.ws.await_message(
        lambda m: m["topicName"] == "channel.metadata" and m["eventBody"]["message"] == "pong", description="pong"
    )
    validated_message(pong, "Pong")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule("PLATFORM-NOTIF-006", title=f"The socket carries channel.metadata heartbeats {TITLE}")
@pytest.mark.vk_operations("platform.ws.heartbeat")
def test_heartbeat_arrives(plat: PlatformKit) -> None:
    timeout = plat.config.timeouts.notification
    if plat.lab.available:
        plat.lab.settings(heartbeatSeconds=0.5)  # 30 s on the real service
        timeout = min(timeout, 5.0)
    watcher = plat.watcher(plat.user(0), topics=[])
    try:
        beat = watcher.ws.await_message(
            lambda m: m["topicName"] == "channel.metadata" and m["eventBody"]["message"] != "pong",
            timeout,
            "a heartbeat",
        )
    except ConformanceFailure:
        if plat.lab.available:
            raise
        not_run(
            f"no heartbeat within the notification timeout ({timeout:g} s); the real service sends one every "
            "30 s — raise timeouts.notification above that to certify it"
        )
    validated_message(beat, "Heartbeat")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "PLATFORM-NOTIF-007", title=f"An expiring channel sends v2.system.socket_closing, then closes {TITLE}"
)
@pytest.mark.vk_operations("platform.ws.socketClosing")
def test_expiring_channel_says_socket_closing(plat: PlatformKit) -> None:
    plat.lab.require("expiring a notification channel (they live 24 h)")
    watcher = plat.watcher(plat.user(0), topics=[])
    plat.lab.expire_channel(watcher.channel_id)
    closing = watcher.ws.await_message(
        lambda m: m["topicName"] == "v2.system.socket_closing", description="v2.system.socket_closing"
    )
    validated_message(closing, "SocketClosing")
    watcher.ws.await_close()
