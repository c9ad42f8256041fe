"""The Platform world: one lock around every record, the scheduler for timed behaviour and the EventBus
for notifications. Operations live in oauth.py, calls.py, presence.py and notifications.py; each takes
the lock itself (an RLock, so they compose)."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mockserver.domain.clock import Scheduler
from mockserver.domain.events import EventBus, Notification
from mockserver.domain.platform import errors
from mockserver.domain.platform.model import (
    AuthorizationCode,
    Channel,
    Conversation,
    Flow,
    OAuthClient,
    PresenceDefinition,
    Queue,
    RefreshToken,
    Settings,
    Token,
    User,
)
from mockserver.domain.platform.phones import PersistentConnections
from mockserver.domain.platform.ratelimit import RateLimiter
from mockserver.domain.throttle import FailureThrottle

SYSTEM = "platform"
SOCKET_CLOSING = "v2.system.socket_closing"


class PlatformWorld:
    """State of the simulated organization. Build it with :func:`mockserver.domain.platform.seed.build`."""

    def __init__(self, scheduler: Scheduler, bus: EventBus, settings: Settings | None = None) -> None:
        self.lock = threading.RLock()
        self.scheduler = scheduler
        self.bus = bus
        self.base_settings = settings or Settings()
        self.settings = replace(self.base_settings)
        self.org: dict[str, str] = {"id": str(uuid.uuid4()), "name": "voicekit", "divisionId": str(uuid.uuid4())}
        self.presences: dict[str, PresenceDefinition] = {}
        self.users: dict[str, User] = {}
        self.queues: dict[str, Queue] = {}
        self.flows: dict[str, Flow] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.tokens: dict[str, Token] = {}  # oldest issued first
        self.max_tokens = 0  # set from MockConfig.max_tokens (0: no cap)
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.conversations: dict[str, Conversation] = {}
        self.channels: dict[str, Channel] = {}
        self.login_user: str | None = None
        self.default_login: str | None = None
        self.rate_limiter = RateLimiter(scheduler)
        self.auth_failures = FailureThrottle()  # wrong client secrets per client id (off unless configured)
        self.persistent = PersistentConnections(self)
        self.seed: dict[str, Any] = {}
        self.populate: Callable[[PlatformWorld, dict[str, Any]], None] | None = None

    # ---- time ----------------------------------------------------------------------------------
    def now(self) -> float:
        return self.scheduler.now()

    def wall(self) -> float:
        return self.scheduler.wall()

    # ---- lookups -------------------------------------------------------------------------------
    def user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise errors.NotFound(f"User {user_id} not found", params={"userId": user_id})
        return user

    def find_user(self, key: str) -> User | None:
        """By id, email or name (the control API and the login hint accept any)."""
        if key in self.users:
            return self.users[key]
        lowered = key.lower()
        return next((u for u in self.users.values() if lowered in (u.email.lower(), u.name.lower())), None)

    def conversation(self, conversation_id: str) -> Conversation:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            raise errors.NotFound(
                f"Conversation {conversation_id} not found", params={"conversationId": conversation_id}
            )
        return conversation

    def presence_of(self, user: User) -> PresenceDefinition:
        return self.presences[user.presence_id]

    def presence_by_system(self, system_presence: str) -> PresenceDefinition | None:
        wanted = system_presence.replace(" ", "").lower()
        return next(
            (
                p
                for p in self.presences.values()
                if p.system_presence.lower() == wanted or p.name.replace(" ", "").lower() == wanted
            ),
            None,
        )

    # ---- notifications -------------------------------------------------------------------------
    def publish(self, topic: str, body: dict[str, Any], audience: str | None) -> None:
        """One v2 notification message {topicName, version, eventBody, metadata} (platform.asyncapi.yaml)."""
        message = {
            "topicName": topic,
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": str(uuid.uuid4())},
        }
        self.bus.publish(Notification(SYSTEM, topic, message, audience))

    # ---- reset ---------------------------------------------------------------------------------
    def clear(self) -> None:
        """Drop every record and cancel every timer (before a reset rebuilds from the seed)."""
        with self.lock:
            for conversation in self.conversations.values():
                for handle in conversation.timers:
                    handle.cancel()
            for user in self.users.values():
                if user.phone.drop_timer is not None:
                    user.phone.drop_timer.cancel()
            for channel in self.channels.values():
                if channel.timer is not None:
                    channel.timer.cancel()
            for store in (
                self.presences,
                self.users,
                self.queues,
                self.flows,
                self.clients,
                self.tokens,
                self.refresh_tokens,
                self.codes,
                self.conversations,
                self.channels,
            ):
                store.clear()
            self.settings = replace(self.base_settings)
            self.rate_limiter.clear()
            self.login_user = None

    def forget_ended(self, keep: int) -> int:
        """Keep the newest ``keep`` ended conversations (they stay readable for a while after the end); the
        older ones are forgotten (housekeeping; 0 keeps all). Returns how many were dropped."""
        if keep <= 0:
            return 0
        with self.lock:
            ended = sorted((c for c in self.conversations.values() if not c.active), key=lambda c: c.end_time or 0.0)
            dropped = ended[:-keep] if len(ended) > keep else []
            for conversation in dropped:
                del self.conversations[conversation.id]
        return len(dropped)

    def reset(self) -> None:
        """Back to the seed: every record dropped, then the seed's rebuilt by the populate function the builder
        gave (mockserver.domain.platform.seed.build), so this module needs no seed import."""
        with self.lock:
            self.clear()
            if self.populate is not None:
                self.populate(self, copy.deepcopy(self.seed))
