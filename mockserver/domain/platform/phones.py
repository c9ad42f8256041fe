"""What each phone type allows (000 "Support by Phone Type", E412, E419) and the persistent connection.

The rules, in one place:

- answer via API (PATCH participant state=connected): managed SIP and Broadsoft-capable generic SIP phones
  always (000 l.201-204); WebRTC only with "Maintain Persistent Connection" enabled AND a persistent connection
  active (l.184-186); remote and generic SIP phones only during an active persistent connection (l.209-211).
  Otherwise the request is accepted and not processed: the leg keeps alerting (E412).
- make call: the agent's leg connects by itself, except on remote and generic SIP phones without an active
  persistent connection, where it alerts until the phone is answered by hand (l.212, E412, E451), and on WebRTC
  phones without "placing calls with another app", where it never connects (l.171-180, E419).
- a persistent connection opens when a leg of a phone with the setting connects, survives the end of the call,
  and drops after the idle timeout unless a new conversation arrives first (l.147-153, E410).
"""

from __future__ import annotations

from typing import Any, Protocol

from mockserver.domain.platform.errors import BadRequest
from mockserver.domain.platform.model import (
    BROADSOFT,
    GENERIC_SIP,
    MANAGED,
    REMOTE,
    WEBRTC,
    Phone,
    User,
)


class PhoneWorld(Protocol):
    """What the persistent connections read of the world (a Protocol, so this module needs no world import)."""

    lock: Any
    settings: Any
    scheduler: Any
    conversations: dict[str, Any]


CONNECT = "connect"  # the agent's leg connects by itself
ALERT = "alert"  # the phone rings; a person must answer it (control API: the phone answers)
FAIL = "fail"  # the leg never connects (E419)


def can_answer_remotely(phone: Phone) -> bool:
    """Whether an answer request via the Platform API is carried out on this phone now."""
    if phone.type in (MANAGED, BROADSOFT):
        return True
    if phone.type == WEBRTC:
        return phone.persistent_connection and phone.persistent_active
    if phone.type in (REMOTE, GENERIC_SIP):
        return phone.persistent_active
    return False


def make_call_leg(phone: Phone) -> str:
    """How the caller's own leg behaves when a call is placed via the Platform API."""
    if phone.type == WEBRTC and not phone.allow_placing_calls:
        return FAIL
    if phone.type in (REMOTE, GENERIC_SIP) and not phone.persistent_active:
        return ALERT
    return CONNECT


def refusal_reason(phone: Phone) -> str:
    """Why an answer request was not processed (logged and shown by the control API)."""
    if phone.type == WEBRTC and not phone.persistent_connection:
        return "WebRTC phone without 'Maintain Persistent Connection': answer via API is not possible"
    if phone.type == WEBRTC:
        return "WebRTC phone without an active persistent connection"
    return f"{phone.type} phone without an active persistent connection cannot answer remotely"


class PersistentConnections:
    """Opens, keeps and drops the persistent connection of each user's phone (needs the world's lock held)."""

    def __init__(self, world: PhoneWorld) -> None:
        self.world = world
        self._generation: dict[str, object] = {}

    def leg_started(self, user: User) -> None:
        """A new conversation reaches the phone: an idle connection stops counting down (000 l.153)."""
        self._cancel(user.phone)

    def leg_connected(self, user: User) -> None:
        phone = user.phone
        self._cancel(phone)
        if phone.persistent_connection:
            phone.persistent_active = True

    def leg_ended(self, user: User, still_busy: bool) -> None:
        """The user's leg ended; with no other leg the connection idles until the timeout."""
        phone = user.phone
        if still_busy or not phone.persistent_active:
            return
        self._cancel(phone)
        generation = object()
        self._generation[user.id] = generation
        timeout = self.world.settings.persistent_connection_timeout
        phone.drop_timer = self.world.scheduler.call_later(timeout, lambda: self._expire(user, generation))

    def open(self, user: User) -> None:
        """Control API: a connection is up (as after a call), idling toward its timeout."""
        if not user.phone.persistent_connection:
            raise BadRequest(f"The phone of {user.name} does not maintain persistent connections")
        user.phone.persistent_active = True
        self.leg_ended(user, still_busy=self._busy(user))

    def drop(self, user: User) -> None:
        self._cancel(user.phone)
        user.phone.persistent_active = False

    def _expire(self, user: User, generation: object) -> None:
        with self.world.lock:
            if self._generation.get(user.id) is not generation or user.phone.drop_timer is None:
                return
            user.phone.drop_timer = None
            if not self._busy(user):
                user.phone.persistent_active = False

    def _busy(self, user: User) -> bool:
        conversations = self.world.conversations.values()
        return any(p.user_id == user.id and p.active for c in conversations for p in c.participants)

    @staticmethod
    def _cancel(phone: Phone) -> None:
        if phone.drop_timer is not None:
            phone.drop_timer.cancel()
            phone.drop_timer = None
