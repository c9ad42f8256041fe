"""Every call the families make to the voicekit control API (``events.control_url``), in one place.

Why a place of its own: the control API causes what no client of the system can — an external caller, the far
end answering or hanging up, a phone's type, a login page's user, an agent's reset — and only the mock has one.
Without it, a test that needs it is not run, with the reason. The requests go through the kit's one control client
(:class:`conformance.control.ControlClient`); keeping every event the families cause here (one object per system,
one method per event) lets them move to :class:`conformance.events.EventSource` (which also offers a driver
command or a person for Platform and Connect events) in one file.

GWS events go through :class:`conformance.events.EventSource` (control API, driver command or a person).

Endpoints (relative to ``events.control_url``):

* Platform (:class:`PlatformLab`): ``PUT /platform/users/{id}/phone`` ``{type, persistentConnection?,
  allowPlacingCalls?}``; ``PUT /platform/users/{id}/persistent-connection`` ``{active}``; ``PUT /platform/settings``
  ``{heartbeatSeconds?, rateLimit?, rateLimitWindowSeconds?, persistentConnectionTimeoutSeconds?,
  forceDisconnectSilenceSeconds?}``; ``PUT /platform/login`` ``{user}``;
  ``POST /platform/clients`` ``{name, secret, grants, redirectUris?, scopes?}`` → ``{id}``;
  ``POST /platform/users/{id}/calls`` ``{from}`` → ``{conversationId, participantId}``;
  ``POST /platform/users/{id}/phone/answer``; ``POST /platform/conversations/{id}/remote/answer``;
  ``POST /platform/conversations/{id}/remote/hangup``; ``POST /platform/users/{id}/callbacks`` ``{numbers}`` →
  ``{conversationId}``; ``POST /platform/channels/{id}/expire``; and ``POST /reset`` when the test changed anything.
* Connect (:class:`ConnectLab`): ``POST /connect/agents/{id}/calls`` ``{from, to?, ringTimeout: null,
  connectionId?, contactId?, queue?}`` → ``{contact: {connectionId}}``;
  ``POST /connect/agents/{id}/calls/current/hangup`` (404/409 accepted in a reset);
  ``PUT /connect/agents/{id}/state`` ``{code}`` (409 accepted in a reset).
"""

from __future__ import annotations

from typing import Any

from conformance.config import TargetConfig
from conformance.control import ControlClient
from conformance.evidence import step
from conformance.outcomes import not_run

__all__ = [
    "BROADSOFT",
    "CALLER",
    "GENERIC_SIP",
    "MANAGED",
    "PHONE_NAMES",
    "REMOTE",
    "WEBRTC",
    "ConnectLab",
    "ControlApi",
    "PlatformLab",
]

CALLER = "+15551230100"  # an external caller for inbound calls
DIALLED = "+16013261548"  # the number a Connect caller dialled (004's example)
AVAILABLE_CODE = "Available"  # 004 l.80-96 (E500)

# Phone types of the control API (000 "Support by Phone Type").
WEBRTC, MANAGED, BROADSOFT, GENERIC_SIP, REMOTE = "webrtc", "managed", "generic-sip-broadsoft", "generic-sip", "remote"
PHONE_NAMES = {
    WEBRTC: "a Genesys Cloud WebRTC phone",
    MANAGED: "a managed SIP phone",
    BROADSOFT: "a generic SIP phone with Broadsoft talk events",
    GENERIC_SIP: "a generic SIP phone without remote answer",
    REMOTE: "a remote phone",
}


class ControlApi:
    """The control API for one system's events, through the kit's one control client
    (:class:`~conformance.control.ControlClient`, opened on first use); every event requires it (without one
    the test is not run, with the reason)."""

    missing = "the voicekit control API (events.control_url)"

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self._control: ControlClient | None = None

    @property
    def available(self) -> bool:
        return bool(self.config.events.control_url)

    @property
    def changed(self) -> bool:
        """Whether a request may have changed the target (since it was opened)."""
        return self._control is not None and self._control.changed

    def require(self, what: str) -> None:
        """Not run when there is no control API to cause ``what``."""
        if not self.available:
            not_run(f"{what} needs {self.missing}")

    def control(self, what: str) -> ControlClient:
        """The control client, once ``what`` is known to be possible here."""
        self.require(what)
        if self._control is None:
            self._control = ControlClient.for_target(self.config)
        return self._control

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None


class PlatformLab(ControlApi):
    """Platform events no Platform client can cause; :meth:`close` resets the target when the test changed it."""

    missing = (
        "the voicekit control API (events.control_url): the suite cannot configure phones, persistent "
        "connections or callers of a vendor's system"
    )

    def phone(
        self,
        user_id: str,
        kind: str,
        *,
        persistent: bool | None = None,
        allow_placing: bool | None = None,
        active: bool = False,
    ) -> dict[str, Any]:
        """Give the user ``kind`` of phone with these settings; ``active`` opens (or drops) its persistent
        connection (000 l.141-160)."""
        what = f"giving the user {PHONE_NAMES.get(kind, kind)}"
        body: dict[str, Any] = {"type": kind}
        if persistent is not None:
            body["persistentConnection"] = persistent
        if allow_placing is not None:
            body["allowPlacingCalls"] = allow_placing
        with step(
            f"lab: user {user_id} gets {PHONE_NAMES.get(kind, kind)} {body}, persistent connection "
            f"{'active' if active else 'inactive'}"
        ):
            control = self.control(what)
            control.platform_phone(user_id, body)
            return control.platform_persistent_connection(user_id, active)

    def settings(self, **values: Any) -> dict[str, Any]:
        with step(f"lab: settings {values}"):
            return self.control(f"setting {', '.join(values)}").platform_settings(values)

    def login_as(self, user: str) -> None:
        """Who logs in on /oauth/authorize next (E457)."""
        self.control("logging a user in without a password").platform_login(user)

    def add_client(self, **body: Any) -> dict[str, Any]:
        return self.control("an OAuth client with chosen grants and scopes").platform_client(body)

    def inbound_call(self, user_id: str, caller: str = CALLER) -> tuple[str, str]:
        """An external caller rings the user directly; (conversation id, the user's alerting participant id)."""
        with step(f"lab: {caller} calls user {user_id}"):
            data = self.control("an external caller").platform_inbound_call(user_id, caller)
        return str(data["conversationId"]), str(data["participantId"])

    def phone_answer(self, user_id: str) -> None:
        """The person picks up the ringing phone by hand (000 l.212)."""
        with step(f"lab: user {user_id} answers the phone by hand"):
            self.control("answering a phone by hand").platform_phone_action(user_id, "answer")

    def remote_answer(self, conversation_id: str) -> None:
        with step(f"lab: the far end of {conversation_id} answers"):
            self.control("the far end answering").platform_remote(conversation_id, "answer")

    def remote_hangup(self, conversation_id: str) -> None:
        with step(f"lab: the far end of {conversation_id} hangs up"):
            self.control("the far end hanging up").platform_remote(conversation_id, "hangup")

    def callback(self, user_id: str, numbers: list[str]) -> str:
        with step(f"lab: a callback to {numbers} for user {user_id}"):
            data = self.control("a callback").platform_callback(user_id, numbers)
        return str(data["conversationId"])

    def expire_channel(self, channel_id: str) -> None:
        self.control("expiring a notification channel").platform_expire_channel(channel_id)

    def close(self) -> None:
        """Undo every change: the control API restores the target's seed."""
        try:
            if self._control is not None and self.changed:
                self._control.reset()
        finally:
            super().close()


class ConnectLab(ControlApi):
    """Connect events no bus client can cause: incoming calls, far-end hang-ups and agent resets (through the
    control API only, as before :class:`~conformance.events.EventSource` offered Connect events)."""

    def require(self, what: str) -> None:
        if not self.available:
            not_run(
                f"no event source for Connect {what}: configure events.control_url (the voicekit "
                "control API; Connect events have no driver or manual source)"
            )

    def incoming_call(
        self, agent: str, caller: str = CALLER, dialled: str | None = DIALLED, **extra: Any
    ) -> dict[str, Any]:
        """An external call from ``caller`` to ``dialled`` is offered to ``agent`` (never missed while the test
        runs); returns the control API's view of the contact (``contact.connectionId``)."""
        body: dict[str, Any] = {"ringTimeout": None, **extra}
        if dialled:
            body["to"] = dialled
        return self.control("incoming call").connect_incoming_call(agent, caller, **body)

    def remote_hangup(self, agent: str) -> None:
        """The far end of the agent's current call hangs up."""
        self.control("remote hang-up").connect_remote_hangup(agent)

    def reset_agent(self, agent: str) -> None:
        """No contact, state Available (a hang-up of whatever call is left, then the state)."""
        self.control("an agent reset").connect_reset_agent(agent, {"code": AVAILABLE_CODE})
