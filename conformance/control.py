"""The voicekit mock's control API (``specs/control.openapi.yaml``), as the kit calls it: one client.

Why one client: the event source, the replay's driver, the plugin's reset between tests and the Platform and
Connect harnesses all drive the same API. Built on :class:`~conformance.transport.http.HttpClient`, every call
is evidence (redacted: the control token, minted tokens and client secrets), honours ``target.tls_verify``, the
request deadline (``timeouts.request``) and the response-size cap (``limits.max_response_bytes``). A refusal is
the kit's problem (:class:`ControlRefused`, an :class:`~conformance.errors.EventFailed`), never the target
failing a rule: the control API is not part of any documented system.

Only the mock has a control API (``events.control_url``); for a vendor's lab the same events come from a driver
command or a person (:class:`conformance.events.EventSource`).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from conformance.config import TargetConfig
from conformance.errors import EventFailed, VoicekitError
from conformance.transport.http import HttpClient

__all__ = ["ControlClient", "ControlRefused", "present"]


class ControlRefused(EventFailed):
    """The control API answered an error (``ControlError {error, status}``)."""


def present(**values: Any) -> dict[str, Any]:
    """The members that are set (the control API reads an absent member and null alike)."""
    return {key: value for key, value in values.items() if value is not None}


class ControlClient:
    """One connection to a control API.

    Args:
        url: The control API's root (``http://localhost:8080/control``).
        token: The mock's ``--control-token`` (sent as ``Authorization: Bearer``), if it has one.
        timeout: Seconds for one request (a deadline for the whole exchange).
        verify: TLS verification (``TargetConfig.ssl_verify()``).
        record: Record exchanges as evidence of the current test (off for the plugin's reset between tests).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        verify: bool | ssl.SSLContext = True,
        record: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.http = HttpClient(
            self.url, token=token, csrf="off", timeout=timeout, verify=verify, name="control API", record=record
        )
        self.changed = False  # whether a request may have changed the target since the last reset

    @classmethod
    def for_target(cls, config: TargetConfig, *, record: bool = True) -> ControlClient:
        """The control API of ``config`` (``events.control_url``, token, timeouts and TLS verification).

        Raises:
            VoicekitError: no control API is configured.
        """
        events = config.events
        if not events.control_url:
            raise VoicekitError("no control API is configured (events.control_url)")
        return cls(
            events.control_url,
            token=events.control_token,
            timeout=config.timeouts.request,
            verify=config.ssl_verify(),
            record=record,
        )

    # ---- any route -------------------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None, *, ok: Sequence[int] = ()) -> dict[str, Any]:
        """``method path`` with a JSON ``body``; the JSON object answered ({} for anything else).

        Args:
            ok: Error statuses that are an answer here, not a refusal (e.g. 409 "no call to hang up").

        Raises:
            ControlRefused: any other status outside 2xx.
            TargetUnreachable: no answer within the deadline (the transport's reading).
        """
        if method.upper() != "GET":
            self.changed = True
        response = self.http.request(method, path, json=body)
        data = response.json_or_none()
        if response.status // 100 != 2 and response.status not in ok:
            message = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise ControlRefused(
                f"the control API refused {method.upper()} {path}: {response.status} {message}",
                status=response.status,
                body=data,
            )
        return data if isinstance(data, dict) else {}

    # ---- the whole mock --------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Every system back to its seed (``POST /reset``)."""
        self.call("POST", "/reset")
        self.changed = False

    def state(self) -> dict[str, Any]:
        """The GWS world's snapshot (``GET /state``)."""
        return self.call("GET", "/state")

    def variants(self) -> dict[str, Any]:
        return self.call("GET", "/variants")

    def set_variants(self, names: Sequence[str]) -> dict[str, Any]:
        return self.call("PUT", "/variants", {"variants": list(names)})

    def target_config(self) -> dict[str, Any]:
        """The configuration tree the mock publishes for the kit (``GET /target-config``)."""
        return self.call("GET", "/target-config")

    def journal_count(self, **filters: Any) -> int:
        return int(self.call("POST", "/journal/count", filters).get("count", 0))

    # ---- GWS --------------------------------------------------------------------------------------------------
    def gws_inbound_call(
        self,
        caller: str,
        *,
        to: str | None = None,
        queue: str | None = None,
        dnis: str | None = None,
        user_data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An external call from ``caller`` rings ``to`` or waits in ``queue``: ``{callId, callUuid}``."""
        body = present(to=to, queue=queue, dnis=dnis, userData=dict(user_data) if user_data else None)
        return self.call("POST", "/gws/calls", {"from": caller, **body})

    def gws_remote(self, call_id: str, action: str) -> dict[str, Any]:
        """The external party of ``call_id`` answers (``answer``) or hangs up (``hangup``)."""
        return self.call("POST", f"/gws/calls/{call_id}/{action}")

    def gws_voice_service(self, state: str) -> dict[str, Any]:
        """T-Server goes away (``Inactive``) or comes back (``Active``): ``{state}``."""
        return self.call("PUT", "/gws/services/voice", {"state": state})

    def gws_fault(
        self,
        *,
        kind: str = "error",
        operation: str | None = None,
        user: str | None = None,
        message: str | None = None,
        delay_ms: float | None = None,
    ) -> None:
        """The next matching operation is refused by T-Server (``error``) or delayed (``latency``)."""
        body = present(kind=kind, operation=operation, user=user, message=message, delayMs=delay_ms)
        self.call("POST", "/gws/faults", body)

    def gws_push_outbox(self, user_id: str) -> list[dict[str, Any]]:
        """Push notifications that went to the user's mobile device."""
        messages = self.call("GET", f"/gws/push/{user_id}").get("messages")
        return [m for m in messages or [] if isinstance(m, dict)]

    # ---- Platform ---------------------------------------------------------------------------------------------
    def platform_settings(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Change settings (``persistentConnectionTimeoutSeconds``, ``rateLimit`` …); the settings now."""
        return self.call("PUT", "/platform/settings", dict(values))

    def platform_login(self, user: str | None) -> dict[str, Any]:
        """Who logs in on /oauth/authorize next (E457); None: the client's own login user."""
        return self.call("PUT", "/platform/login", {"user": user})

    def platform_client(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """An OAuth client (``grants``, ``secret``, ``redirectUris``, ``scopes`` …): ``{id, name, grants …}``."""
        return self.call("POST", "/platform/clients", dict(body))

    def platform_token(
        self,
        client_id: str,
        *,
        user_id: str | None = None,
        scopes: Sequence[str] | None = None,
        expires_in: float | None = None,
    ) -> dict[str, Any]:
        """A token minted without the OAuth dance: ``{access_token, token_type, expires_in, userId}``."""
        body = present(userId=user_id, scopes=list(scopes) if scopes is not None else None, expiresIn=expires_in)
        return self.call("POST", "/platform/tokens", {"clientId": client_id, **body})

    def platform_phone(self, user_id: str, phone: Mapping[str, Any]) -> dict[str, Any]:
        """The user's phone type and settings (``type``, ``persistentConnection``, ``allowPlacingCalls``)."""
        return self.call("PUT", f"/platform/users/{user_id}/phone", dict(phone))

    def platform_persistent_connection(self, user_id: str, active: bool) -> dict[str, Any]:
        """Open (idling toward its timeout) or drop the user's persistent connection."""
        return self.call("PUT", f"/platform/users/{user_id}/persistent-connection", {"active": active})

    def platform_presence(self, user_id: str, **presence: Any) -> dict[str, Any]:
        """``systemPresence`` or ``presenceDefinitionId`` (and ``message``), published."""
        return self.call("PUT", f"/platform/users/{user_id}/presence", presence)

    def platform_inbound_call(self, user_id: str, caller: str, **extra: Any) -> dict[str, Any]:
        """An external caller rings the user directly: ``{conversationId, participantId, conversation, call}``."""
        return self.call("POST", f"/platform/users/{user_id}/calls", {"from": caller, **present(**extra)})

    def platform_queue_call(self, queue_id: str, caller: str, **extra: Any) -> dict[str, Any]:
        """An ACD call through ``queue_id`` (``userId`` to offer it to one member)."""
        return self.call("POST", f"/platform/queues/{queue_id}/calls", {"from": caller, **present(**extra)})

    def platform_phone_action(self, user_id: str, action: str) -> dict[str, Any]:
        """The person at the user's phone picks up (``answer``) or hangs up (``hangup``)."""
        return self.call("POST", f"/platform/users/{user_id}/phone/{action}")

    def platform_remote(self, conversation_id: str, action: str, participant_id: str | None = None) -> dict[str, Any]:
        """The far end (or the named participant's phone) answers or hangs up."""
        body = present(participantId=participant_id) or None
        return self.call("POST", f"/platform/conversations/{conversation_id}/remote/{action}", body)

    def platform_callback(self, user_id: str, numbers: Sequence[str], name: str | None = None) -> dict[str, Any]:
        """A callback conversation to ``numbers`` connected to the user: ``{conversationId …}``."""
        return self.call(
            "POST", f"/platform/users/{user_id}/callbacks", {"numbers": list(numbers), **present(name=name)}
        )

    def platform_conversation(self, conversation_id: str) -> dict[str, Any]:
        return self.call("GET", f"/platform/conversations/{conversation_id}")

    def platform_expire_channel(self, channel_id: str) -> dict[str, Any]:
        """``v2.system.socket_closing`` on the notification channel now."""
        return self.call("POST", f"/platform/channels/{channel_id}/expire")

    # ---- Connect ----------------------------------------------------------------------------------------------
    def connect_incoming_call(self, agent: str, caller: str, **extra: Any) -> dict[str, Any]:
        """A call from ``caller`` offered on the agent's bus (``to``, ``queue``, ``connectionId``, ``contactId``,
        ``ringTimeout`` — null: never missed); the agent's view with its ``contact``."""
        return self.call("POST", f"/connect/agents/{agent}/calls", {"from": caller, **extra})

    def connect_remote_hangup(self, agent: str, *, missing_ok: bool = False) -> dict[str, Any]:
        """The far end of the agent's current call hangs up (``Dropped``); ``missing_ok``: no call is no error."""
        return self.call("POST", f"/connect/agents/{agent}/calls/current/hangup", ok=(404, 409) if missing_ok else ())

    def connect_set_state(self, agent: str, selector: Mapping[str, Any], *, ok: Sequence[int] = ()) -> dict[str, Any]:
        """A configured state (``label``, ``code``, ``type`` or ``ReasonCodeId``), as a supervisor sets it."""
        return self.call("PUT", f"/connect/agents/{agent}/state", dict(selector), ok=ok)

    def connect_reset_agent(self, agent: str, state: Mapping[str, Any]) -> None:
        """No contact, then ``state`` (a hang-up of whatever call is left first; a refused state is left)."""
        self.connect_remote_hangup(agent, missing_ok=True)
        self.connect_set_state(agent, state, ok=(409,))

    # ---- lifetime ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ControlClient {self.url}>"
