"""Every call the families make to the voicekit control API (``events.control_url``), in one place.

Why a place of its own: the control API causes what no client of the system can — an external caller, the far
end answering or hanging up, a phone's type, a login page's user, an agent's reset — and only the mock has one.
Without it, a test that needs it is not run, with the reason. Keeping every endpoint here (one object per system,
one method per event) lets the suite switch to another control client or event source in one file.

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
from conformance.events import EventFailed
from conformance.evidence import step
from conformance.outcomes import not_run
from conformance.transport.http import HttpClient

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
    """The control API of one system (``prefix``: ``/platform``, ``/connect``), opened on first use; every method
    requires it (without one the test is not run, with the reason)."""

    prefix = ""
    missing = "the voicekit control API (events.control_url)"

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self.changed = False
        self._client: HttpClient | None = None

    @property
    def available(self) -> bool:
        return bool(self.config.events.control_url)

    def require(self, what: str) -> None:
        """Not run when there is no control API to cause ``what``."""
        if not self.available:
            not_run(f"{what} needs {self.missing}")

    def client(self) -> HttpClient:
        if self._client is None:
            events = self.config.events
            assert events.control_url
            self._client = HttpClient(
                events.control_url,
                token=events.control_token,
                csrf="off",
                timeout=self.config.timeouts.request,
                verify=self.config.ssl_verify(),
                name="control API",
            )
        return self._client

    def call(
        self, method: str, path: str, body: Any = None, *, what: str = "", ok: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        """``method prefix+path`` with ``body``; the answer's object ({} when none).

        Raises:
            EventFailed: the control API refused (a status other than 2xx or ``ok``).
        """
        self.require(what or f"{method} {self.prefix}{path}")
        if method != "GET":
            self.changed = True
        response = self.client().request(method, f"{self.prefix}{path}", json=body)
        data = response.json_or_none()
        if response.status // 100 != 2 and response.status not in ok:
            message = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise EventFailed(
                f"the control API refused {method} {self.prefix}{path}: {response.status} {message}",
                status=response.status,
                body=data,
            )
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.changed = False


class PlatformLab(ControlApi):
    """Platform events no Platform client can cause; :meth:`close` resets the target when the test changed it."""

    prefix = "/platform"
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
            self.call("PUT", f"/users/{user_id}/phone", body, what=what)
            return self.call("PUT", f"/users/{user_id}/persistent-connection", {"active": active}, what=what)

    def settings(self, **values: Any) -> dict[str, Any]:
        with step(f"lab: settings {values}"):
            return self.call("PUT", "/settings", values, what=f"setting {', '.join(values)}")

    def login_as(self, user: str) -> None:
        """Who logs in on /oauth/authorize next (E457)."""
        self.call("PUT", "/login", {"user": user}, what="logging a user in without a password")

    def add_client(self, **body: Any) -> dict[str, Any]:
        return self.call("POST", "/clients", body, what="an OAuth client with chosen grants and scopes")

    def inbound_call(self, user_id: str, caller: str = CALLER) -> tuple[str, str]:
        """An external caller rings the user directly; (conversation id, the user's alerting participant id)."""
        with step(f"lab: {caller} calls user {user_id}"):
            data = self.call("POST", f"/users/{user_id}/calls", {"from": caller}, what="an external caller")
        return str(data["conversationId"]), str(data["participantId"])

    def phone_answer(self, user_id: str) -> None:
        """The person picks up the ringing phone by hand (000 l.212)."""
        with step(f"lab: user {user_id} answers the phone by hand"):
            self.call("POST", f"/users/{user_id}/phone/answer", what="answering a phone by hand")

    def remote_answer(self, conversation_id: str) -> None:
        with step(f"lab: the far end of {conversation_id} answers"):
            self.call("POST", f"/conversations/{conversation_id}/remote/answer", what="the far end answering")

    def remote_hangup(self, conversation_id: str) -> None:
        with step(f"lab: the far end of {conversation_id} hangs up"):
            self.call("POST", f"/conversations/{conversation_id}/remote/hangup", what="the far end hanging up")

    def callback(self, user_id: str, numbers: list[str]) -> str:
        with step(f"lab: a callback to {numbers} for user {user_id}"):
            data = self.call("POST", f"/users/{user_id}/callbacks", {"numbers": numbers}, what="a callback")
        return str(data["conversationId"])

    def expire_channel(self, channel_id: str) -> None:
        self.call("POST", f"/channels/{channel_id}/expire", what="expiring a notification channel")

    def close(self) -> None:
        """Undo every change: the control API restores the target's seed."""
        try:
            if self._client is not None and self.changed:
                response = self._client.request("POST", "/reset")
                if response.status // 100 != 2:
                    raise EventFailed(f"the control API refused POST /reset: {response.status}")
        finally:
            super().close()


class ConnectLab(ControlApi):
    """Connect events no bus client can cause: incoming calls, far-end hang-ups and agent resets
    (:class:`~conformance.events.EventSource` has no Connect events)."""

    prefix = "/connect"

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
        body: dict[str, Any] = {"from": caller, "ringTimeout": None, **extra}
        if dialled:
            body["to"] = dialled
        return self.call("POST", f"/agents/{agent}/calls", body, what="incoming call")

    def remote_hangup(self, agent: str) -> None:
        """The far end of the agent's current call hangs up."""
        self.call("POST", f"/agents/{agent}/calls/current/hangup", what="remote hang-up")

    def reset_agent(self, agent: str) -> None:
        """No contact, state Available (a hang-up of whatever call is left, then the state)."""
        self.call("POST", f"/agents/{agent}/calls/current/hangup", what="an agent reset", ok=(404, 409))
        self.call("PUT", f"/agents/{agent}/state", {"code": AVAILABLE_CODE}, what="an agent reset", ok=(409,))
