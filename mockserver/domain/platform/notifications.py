"""Notification channels and their topics (E421). The WebSocket itself is the adapter's; here are the channels,
who may manage them, which topics exist, and the expiry that ends with v2.system.socket_closing.

A channel belongs to the principal of the token that created it (the token's user, or the OAuth client of a
client-credentials token); another principal gets 404, as if it did not exist. Its id is the key of the socket.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from mockserver.domain.platform import errors
from mockserver.domain.platform.model import Channel, Token
from mockserver.domain.platform.world import SOCKET_CLOSING, PlatformWorld

TOPICS = (
    re.compile(r"^v2\.users\.(?P<user>[^.]+)\.conversations\.calls$"),
    re.compile(r"^v2\.users\.(?P<user>[^.]+)\.presence$"),
)


def _principal(user_id: str | None, client_id: str) -> str:
    return f"user:{user_id}" if user_id is not None else f"client:{client_id}"


def create_channel(world: PlatformWorld, token: Token) -> Channel:
    with world.lock:
        now = world.wall()
        lifetime = world.settings.channel_lifetime
        channel = Channel(
            id=f"streaming-0-{secrets.token_hex(13)}",
            token=token.value,
            client_id=token.client_id,
            user_id=token.user_id,
            created=now,
            expires=now + lifetime,
        )
        channel.timer = world.scheduler.call_later(lifetime, lambda: expire(world, channel.id))
        world.channels[channel.id] = channel
        return channel


def channels_of(world: PlatformWorld, token: Token, include: str = "token") -> list[Channel]:
    """includechannels=token: this token's channels; oauthclient: those of this user (or client) and client."""
    with world.lock:
        mine = [c for c in world.channels.values() if not c.closed]
        if include == "oauthclient":
            return [c for c in mine if c.client_id == token.client_id and c.user_id == token.user_id]
        return [c for c in mine if c.token == token.value]


def channel_of(world: PlatformWorld, token: Token, channel_id: str) -> Channel:
    with world.lock:
        channel = world.channels.get(channel_id)
        if (
            channel is None
            or channel.closed
            or _principal(channel.user_id, channel.client_id) != _principal(token.user_id, token.client_id)
        ):
            raise errors.NotFound(f"Channel {channel_id} not found", params={"channelId": channel_id})
        return channel


def is_open(world: PlatformWorld, channel_id: str) -> bool:
    with world.lock:
        channel = world.channels.get(channel_id)
        return channel is not None and not channel.closed


def topic_problem(world: PlatformWorld, topic: Any) -> str | None:
    if not isinstance(topic, str):
        return "the topic id must be a string"
    for pattern in TOPICS:
        match = pattern.match(topic)
        if match:
            return None if match.group("user") in world.users else f"no user {match.group('user')}"
    return "unknown topic (the mock serves v2.users.{id}.conversations.calls and v2.users.{id}.presence)"


def _accept(
    world: PlatformWorld, channel: Channel, items: list[dict[str, Any]], ignore_errors: bool, *, replace: bool
) -> list[dict[str, Any]]:
    rejected: list[dict[str, Any]] = []
    accepted: list[str] = []
    for item in items:
        topic = item.get("id")
        problem = topic_problem(world, topic)
        if problem is None:
            accepted.append(str(topic))
        elif ignore_errors:
            rejected.append({"id": str(topic), "state": "Rejected", "rejectionReason": problem})
        else:
            raise errors.BadRequest(f"Invalid topic {topic!r}: {problem}", field="id")
    topics = {} if replace else dict(channel.topics)
    topics.update(dict.fromkeys(accepted))
    if len(topics) > world.settings.max_topics:
        raise errors.BadRequest(f"A channel holds at most {world.settings.max_topics} topics")
    channel.topics = topics
    return listing(channel) + rejected


def listing(channel: Channel) -> list[dict[str, Any]]:
    return [{"id": topic, "state": "Permitted"} for topic in channel.topics]


def subscribe(
    world: PlatformWorld,
    token: Token,
    channel_id: str,
    items: list[dict[str, Any]],
    ignore_errors: bool = False,
    *,
    replace: bool = False,
) -> list[dict[str, Any]]:
    """POST adds topics, PUT (replace=True) replaces them; invalid topics are 400 unless ignoreErrors."""
    with world.lock:
        return _accept(world, channel_of(world, token, channel_id), items, ignore_errors, replace=replace)


def unsubscribe_all(world: PlatformWorld, token: Token, channel_id: str) -> None:
    with world.lock:
        channel_of(world, token, channel_id).topics.clear()


def subscribers(world: PlatformWorld, topic: str) -> list[str]:
    """Ids of the open channels subscribed to a topic (the socket hub asks, for each message)."""
    with world.lock:
        return [c.id for c in world.channels.values() if not c.closed and topic in c.topics]


def expire(world: PlatformWorld, channel_id: str) -> None:
    """The channel's time is up (or the control API says so): v2.system.socket_closing, then it is gone."""
    with world.lock:
        channel = world.channels.get(channel_id)
        if channel is None or channel.closed:
            return
        channel.closed = True
        if channel.timer is not None:
            channel.timer.cancel()
        world.publish(SOCKET_CLOSING, {"message": "Socket closing"}, channel_id)
