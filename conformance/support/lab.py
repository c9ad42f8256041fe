"""The families' events, as thin test-facing adapters over :class:`conformance.events.EventSource`.

Why adapters: the family tests speak of "the lab" (give a user a phone, ring an agent) and keep their call sites;
every event goes through the kit's one event source, so a vendor can supply it through the control API
(``events.control_url``), a driver command (``events.driver_command``) or a person (``events.manual_events``) —
the driver's events and their arguments are listed in :mod:`conformance.events`. The labs never wait for a
person's event (they give no condition to wait for), so a person alone makes such a test *not run*, with the
reason. Without any source the reason says how to provide one.

Only an agent's reset (:meth:`ConnectLab.reset_agent`) is control-API-only: a mock-only shortcut, with a reset over
the bus as the fallback (:func:`conformance.support.connect.clean_agent`).
"""

from __future__ import annotations

from typing import Any, NoReturn

from conformance.config import TargetConfig
from conformance.errors import EventFailed
from conformance.events import EventSource
from conformance.evidence import step
from conformance.outcomes import NotRunnable, not_run

__all__ = [
    "BROADSOFT",
    "CALLER",
    "GENERIC_SIP",
    "MANAGED",
    "PHONE_NAMES",
    "REMOTE",
    "WEBRTC",
    "ConnectLab",
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


class _Lab:
    """One system's events through an :class:`EventSource`; ``event`` names the family's typical event."""

    event = ""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self.events = EventSource(config)

    @property
    def available(self) -> bool:
        """Whether the events happen without a person (control API or driver): optional set-up is done only then."""
        return self.events.automated(self.event)

    @property
    def changed(self) -> bool:
        """Whether an event may have changed the target (since the last restore)."""
        return self.events.changed

    def require(self, what: str, event: str | None = None) -> None:
        """Not run unless ``event`` (default: the family's typical one) can happen without a person."""
        name = event or self.event
        try:
            source = self.events.require(name)
        except NotRunnable as reason:
            not_run(f"{what}: {reason.reason}")
        if source == "manual":
            not_run(
                f"{what}: {name} only has a person as its source (events.manual_events) and this test has no "
                "condition to wait for; configure events.control_url or events.driver_command"
            )

    def close(self) -> None:
        self.events.close()


class PlatformLab(_Lab):
    """Platform events no Platform client can cause; :meth:`close` undoes them when the test changed the target."""

    event = "platform-phone"

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
        self.require(f"giving the user {PHONE_NAMES.get(kind, kind)}", "platform-phone")
        return self.events.platform_phone(
            user_id, kind, persistent=persistent, allow_placing=allow_placing, active=active
        )

    def settings(self, **values: Any) -> dict[str, Any]:
        self.require(f"setting {', '.join(values)}", "platform-settings")
        return self.events.platform_settings(values)

    def login_as(self, user: str) -> None:
        """Who logs in on /oauth/authorize next (E457)."""
        self.require("logging a user in without a password", "platform-login")
        self.events.platform_login(user)

    def add_client(self, **body: Any) -> dict[str, Any]:
        self.require("an OAuth client with chosen grants and scopes", "platform-client")
        return self.events.platform_client(body)

    def inbound_call(self, user_id: str, caller: str = CALLER) -> tuple[str, str]:
        """An external caller rings the user directly; (conversation id, the user's alerting participant id)."""
        self.require("an external caller", "platform-inbound-call")
        call = self.events.platform_inbound_call(user_id, caller)
        if not call.call_id or not call.participant_id:
            _unknown("platform-inbound-call", "conversationId and participantId")
        return str(call.call_id), str(call.participant_id)

    def phone_answer(self, user_id: str) -> None:
        """The person picks up the ringing phone by hand (000 l.212)."""
        self.require("answering a phone by hand", "platform-phone-answer")
        self.events.platform_phone_answer(user_id)

    def remote_answer(self, conversation_id: str) -> None:
        self.require("the far end answering", "platform-remote-answer")
        self.events.platform_remote_answer(conversation_id)

    def remote_hangup(self, conversation_id: str) -> None:
        self.require("the far end hanging up", "platform-remote-hangup")
        self.events.platform_remote_hangup(conversation_id)

    def callback(self, user_id: str, numbers: list[str]) -> str:
        self.require("a callback", "platform-callback")
        return str(self.events.platform_callback(user_id, numbers))

    def expire_channel(self, channel_id: str) -> None:
        self.require("expiring a notification channel", "platform-channel-expire")
        self.events.platform_expire_channel(channel_id)

    def close(self) -> None:
        """Undo every change (the control API's reset or the driver's ``reset``), then close."""
        try:
            self.events.restore()
        finally:
            super().close()


class ConnectLab(_Lab):
    """Connect events no bus client can cause: incoming calls, far-end hang-ups, and (control API only) agent
    resets."""

    event = "connect-incoming-call"

    @property
    def resettable(self) -> bool:
        """Whether :meth:`reset_agent` can work (the mock's control API); else the bus resets the agent."""
        return bool(self.config.events.control_url)

    def incoming_call(
        self, agent: str, caller: str = CALLER, dialled: str | None = DIALLED, **extra: Any
    ) -> dict[str, Any]:
        """An external call from ``caller`` to ``dialled`` is offered to ``agent`` (never missed while the test
        runs, through the control API); returns the source's view of the contact (``contact.connectionId``)."""
        self.require("an incoming call", "connect-incoming-call")
        return self.events.connect_incoming_call(agent, caller, dialled, **extra).data

    def remote_hangup(self, agent: str) -> None:
        """The far end of the agent's current call hangs up."""
        self.require("a remote hang-up", "connect-remote-hangup")
        self.events.connect_remote_hangup(agent)

    def reset_agent(self, agent: str) -> None:
        """No contact, state Available (a hang-up of whatever call is left, then the state): the mock's control
        API only (:attr:`resettable`)."""
        with step(f"lab: reset Connect agent {agent}"):
            self.events.control.connect_reset_agent(agent, {"code": AVAILABLE_CODE})


def _unknown(event: str, what: str) -> NoReturn:
    """The source did not say ``what`` (a driver that printed nothing)."""
    raise EventFailed(f"{event}: the event source did not say the {what} (a driver prints them as JSON)")
