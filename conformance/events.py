"""Events the suite cannot cause through the API under test, for all three systems: an external call ringing an
agent, the remote party answering or hanging up, the voice service (T-Server) going down or up (GWS); an external
caller, the far end, the person at the phone, phone and organization settings, logins, OAuth clients and tokens,
callbacks, channel expiry (Platform); an incoming call, the far end hanging up, a state set by a supervisor
(Connect).

Why a source with fallbacks: on the mock the control API causes them; a vendor can supply a driver command
for its lab; a person can cause them by hand; otherwise the test is reported *not run* — never passed.
Sources, in order of preference:

1. ``events.control_url`` — the mock's control API (``specs/control.openapi.yaml``, through
   :class:`~conformance.control.ControlClient`);
2. ``events.driver_command`` — e.g. ``./driver {event} {args_json}``: split like a shell command (no shell
   runs), ``{event}`` and ``{args_json}`` replaced in each word; exit 0 with optional JSON on stdout means
   done, exit 3 means "this event is not supported here" (not run), anything else is a kit error;
3. ``events.manual_events`` — print the instruction on the console and wait (up to ``manual_timeout``) for
   the condition the test gives (``expect=``); without one the test is not run;
4. else :class:`~conformance.outcomes.NotRunnable`.

The driver's events (``{event}``), their arguments (``{args_json}``) and, after "→", the JSON the driver prints
when the test needs a value back (README.md "Event sources" has the same list):

- GWS: ``inbound-call`` ``{from, to, userData?, queue?}`` → ``{callId}``; ``remote-answer`` and
  ``remote-hangup`` ``{callId}``; ``voice-service`` ``{state: Active|Inactive}``.
- Platform: ``platform-inbound-call`` ``{userId, from}`` → ``{conversationId, participantId}``;
  ``platform-remote-answer`` and ``platform-remote-hangup`` ``{conversationId}``; ``platform-phone-answer``
  ``{userId}`` (the person at the phone picks it up); ``platform-phone`` ``{userId, type,
  persistentConnection?, allowPlacingCalls?, active}``; ``platform-settings`` ``{<setting>: value, …}``;
  ``platform-login`` ``{user}`` (who logs in on the next authorization page); ``platform-client`` ``{name,
  secret?, grants, redirectUris?, scopes?}`` → ``{id}``; ``platform-token`` ``{clientId, userId?, scopes?,
  expiresIn?}`` → ``{access_token}``; ``platform-callback`` ``{userId, numbers}`` → ``{conversationId}``;
  ``platform-channel-expire`` ``{channelId}``.
- Connect: ``connect-incoming-call`` ``{agent, from, to?, queue?, connectionId?, contactId?}`` →
  ``{contact: {connectionId}}``; ``connect-remote-hangup`` ``{agent}``; ``connect-agent-state`` ``{agent,
  label?, code?, type?, ReasonCodeId?}`` (as a supervisor sets it).
- ``reset`` ``{}``: after a test whose events changed the lab, undo them (exit 3: nothing to undo).

Values the test needs back (a call id, a conversation id) come from stdout; when the driver prints none, the
actions that need them are not possible and report so. "Agent B dials agent A" needs no source:
:meth:`EventSource.internal_call` does it through GWS itself.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.config import TargetConfig
from conformance.control import ControlClient, present
from conformance.errors import EventFailed, VoicekitError
from conformance.evidence import step
from conformance.failures import ConformanceFailure
from conformance.outcomes import NotRunnable
from conformance.support.gws import GwsAgent

__all__ = [
    "CONNECT_EVENTS",
    "DRIVER_UNSUPPORTED",
    "EVENTS",
    "GWS_EVENTS",
    "PLATFORM_EVENTS",
    "EventFailed",
    "EventSource",
    "ExternalCall",
    "InternalCall",
]

GWS_EVENTS = ("inbound-call", "remote-answer", "remote-hangup", "voice-service", "internal-call")
PLATFORM_EVENTS = (
    "platform-inbound-call",
    "platform-remote-answer",
    "platform-remote-hangup",
    "platform-phone-answer",
    "platform-phone",
    "platform-settings",
    "platform-login",
    "platform-client",
    "platform-token",
    "platform-callback",
    "platform-channel-expire",
)
CONNECT_EVENTS = ("connect-incoming-call", "connect-remote-hangup", "connect-agent-state")
#: The events a test may declare with ``@pytest.mark.vk_needs_event(name)``.
EVENTS = (*GWS_EVENTS, *PLATFORM_EVENTS, *CONNECT_EVENTS)
DRIVER_UNSUPPORTED = 3

Expect = Callable[[float], Any]


@dataclass
class ExternalCall:
    """An external call the source created; ``call_id`` is the source's handle for remote actions (GWS: the call
    id; Platform: the conversation id, with the user's alerting ``participant_id``; Connect: the connection id)."""

    caller: str
    to: str
    call_id: str | None
    source: str
    data: dict[str, Any] = field(default_factory=dict)
    observed: Any = None
    participant_id: str | None = None


@dataclass
class InternalCall:
    """A call between two agents: each side's call id, as each agent sees it."""

    caller_call: dict[str, Any]
    callee_call: dict[str, Any]

    @property
    def caller_call_id(self) -> str:
        return str(self.caller_call["id"])

    @property
    def callee_call_id(self) -> str:
        return str(self.callee_call["id"])


class EventSource:
    """Causes events on the target, for GWS, Platform and Connect alike.

    Args:
        config: The target configuration (event sources and timeouts).
        announce: How manual instructions reach the person (the plugin writes to the terminal, bypassing
            capture); default: print.
        control: A control client to share (the replay's driver has one); default: one opened on first use.
    """

    def __init__(
        self,
        config: TargetConfig,
        *,
        announce: Callable[[str], None] | None = None,
        control: ControlClient | None = None,
    ) -> None:
        self.config = config
        self.announce = announce or (lambda text: print(text, flush=True))
        self._control = control
        self._owns_control = control is None
        self._changed = False  # an event of a driver or the control API since the last restore()

    # ---- which source ----------------------------------------------------------------------------------------
    def source_for(self, event: str) -> str | None:
        """``control``, ``driver``, ``manual``, ``gws`` (internal calls) or None."""
        if event not in EVENTS:
            raise VoicekitError(f"unknown event {event!r} (known: {', '.join(EVENTS)})")
        if event == "internal-call":
            return "gws" if len(self.config.gws.agents) >= 2 and self.config.gws.url else None
        if self.config.events.control_url:
            return "control"
        if self.config.events.driver_command:
            return "driver"
        if self.config.events.manual_events:
            return "manual"
        return None

    def automated(self, event: str) -> bool:
        """Whether ``event`` happens without a person (control API or driver): optional set-up is done only then."""
        return self.source_for(event) in ("control", "driver")

    @property
    def changed(self) -> bool:
        """Whether an event (or a direct request through :attr:`control`) may have changed the target since the
        last :meth:`restore`."""
        return self._changed or (self._control is not None and self._control.changed)

    def require(self, event: str) -> str:
        """The source for ``event``.

        Raises:
            NotRunnable: none is configured.
        """
        source = self.source_for(event)
        if source is None:
            if event == "internal-call":
                raise NotRunnable("internal calls need two GWS agents (gws.agents)")
            raise NotRunnable(
                f"no event source for {event}: configure events.control_url, "
                "events.driver_command or events.manual_events"
            )
        return source

    @property
    def control(self) -> ControlClient:
        """The control API's client (``events.control_url``), opened on first use.

        Raises:
            VoicekitError: no control API is configured.
        """
        if self._control is None:
            self._control = ControlClient.for_target(self.config)
        return self._control

    def _cause(
        self,
        event: str,
        args: dict[str, Any],
        control: Callable[[ControlClient], dict[str, Any]],
        instruction: str,
        expect: Expect | None,
    ) -> tuple[str, dict[str, Any], Any]:
        """One event through the configured source: (source, what it answered, what ``expect`` observed)."""
        source = self.require(event)
        with step(f"event {event} {_brief(args)} ({source})"):
            if source == "manual":
                return source, {}, self._manual(instruction, expect)
            self._changed = True
            data = control(self.control) if source == "control" else self._driver(event, args)
            return source, data, expect(self.config.timeouts.notification) if expect else None

    # ---- GWS ---------------------------------------------------------------------------------------------------
    def inbound_call(
        self,
        to: str,
        caller: str = "+15551230100",
        *,
        user_data: dict[str, Any] | None = None,
        queue: str | None = None,
        expect: Expect | None = None,
    ) -> ExternalCall:
        """An external call from ``caller`` rings ``to`` (a phone number), or waits in ``queue``.

        Args:
            to: The number (or device) that must ring.
            caller: The caller's number (ANI).
            user_data: Attached data the call arrives with.
            queue: Deliver through this queue instead of directly.
            expect: ``expect(timeout)`` — what shows the event happened (e.g. awaiting the Ringing
                notification); required for manual events, run after the others too when given.
        """
        args: dict[str, Any] = {"from": caller, "to": to}
        if user_data:
            args["userData"] = user_data
        if queue:
            args["queue"] = queue
        instruction = (
            f"Make an external call from {caller} to {to}"
            + (f" through queue {queue}" if queue else "")
            + (f" with user data {json.dumps(user_data)}" if user_data else "")
        )
        source, data, observed = self._cause(
            "inbound-call",
            args,
            lambda c: c.gws_inbound_call(caller, to=to, queue=queue, user_data=user_data),
            instruction,
            expect,
        )
        return ExternalCall(caller, to, _first(data, "callId", "id"), source, data, observed)

    def remote_answer(self, call: ExternalCall | str, *, expect: Expect | None = None) -> Any:
        """The remote party (the external caller, or the called party of an outbound call) answers."""
        return self._remote("remote-answer", "answer", call, expect)

    def remote_hangup(self, call: ExternalCall | str, *, expect: Expect | None = None) -> Any:
        """The remote party hangs up."""
        return self._remote("remote-hangup", "hangup", call, expect)

    def voice_service(self, state: str, *, expect: Expect | None = None) -> Any:
        """Take the voice service (T-Server) down (``Inactive``) or bring it back (``Active``)."""
        if state not in ("Active", "Inactive"):
            raise VoicekitError("the voice service state is Active or Inactive")
        return self._cause(
            "voice-service",
            {"state": state},
            lambda c: c.gws_voice_service(state),
            f"Set the voice service (T-Server link) {state}",
            expect,
        )[2]

    def _remote(self, event: str, action: str, call: ExternalCall | str, expect: Expect | None) -> Any:
        call_id = call if isinstance(call, str) else call.call_id
        who = call.caller if isinstance(call, ExternalCall) else "the remote party"
        return self._cause(
            event,
            {"callId": call_id},
            lambda c: c.gws_remote(_known(call_id, event, "call"), action),
            f"On the remote phone ({who}), {action} the call",
            expect,
        )[2]

    # ---- Platform ----------------------------------------------------------------------------------------------
    def platform_inbound_call(
        self, user_id: str, caller: str = "+15551230100", *, expect: Expect | None = None
    ) -> ExternalCall:
        """An external caller rings the user directly; ``call_id`` is the conversation, ``participant_id`` the
        user's alerting leg."""
        source, data, observed = self._cause(
            "platform-inbound-call",
            {"userId": user_id, "from": caller},
            lambda c: c.platform_inbound_call(user_id, caller),
            f"Call Platform user {user_id} directly from {caller}",
            expect,
        )
        return ExternalCall(
            caller, user_id, _first(data, "conversationId"), source, data, observed, _first(data, "participantId")
        )

    def platform_remote_answer(self, conversation: ExternalCall | str, *, expect: Expect | None = None) -> Any:
        """The far end of the conversation (an external number the user called) answers."""
        return self._platform_remote("platform-remote-answer", "answer", conversation, expect)

    def platform_remote_hangup(self, conversation: ExternalCall | str, *, expect: Expect | None = None) -> Any:
        """The far end of the conversation hangs up."""
        return self._platform_remote("platform-remote-hangup", "hangup", conversation, expect)

    def _platform_remote(self, event: str, action: str, conversation: ExternalCall | str, expect: Expect | None) -> Any:
        conversation_id = conversation if isinstance(conversation, str) else conversation.call_id
        return self._cause(
            event,
            {"conversationId": conversation_id},
            lambda c: c.platform_remote(_known(conversation_id, event, "conversation"), action),
            f"On the far end of conversation {conversation_id}, {action} the call",
            expect,
        )[2]

    def platform_phone_answer(self, user_id: str, *, expect: Expect | None = None) -> Any:
        """The person at the user's ringing phone picks it up by hand (000 l.212)."""
        return self._cause(
            "platform-phone-answer",
            {"userId": user_id},
            lambda c: c.platform_phone_action(user_id, "answer"),
            f"Pick up the ringing phone of Platform user {user_id} by hand",
            expect,
        )[2]

    def platform_phone(
        self,
        user_id: str,
        kind: str,
        *,
        persistent: bool | None = None,
        allow_placing: bool | None = None,
        active: bool = False,
        expect: Expect | None = None,
    ) -> dict[str, Any]:
        """Give the user ``kind`` of phone with these settings; ``active`` opens (or drops) its persistent
        connection (000 l.141-160). The user as the source describes it ({} from a driver that prints nothing)."""
        phone: dict[str, Any] = {"type": kind}
        if persistent is not None:
            phone["persistentConnection"] = persistent
        if allow_placing is not None:
            phone["allowPlacingCalls"] = allow_placing

        def by_control(control: ControlClient) -> dict[str, Any]:
            control.platform_phone(user_id, phone)
            return control.platform_persistent_connection(user_id, active)

        return self._cause(
            "platform-phone",
            {"userId": user_id, **phone, "active": active},
            by_control,
            f"Give Platform user {user_id} a {kind} phone {json.dumps(phone)}, persistent connection "
            f"{'active' if active else 'inactive'}",
            expect,
        )[1]

    def platform_settings(self, values: Mapping[str, Any], *, expect: Expect | None = None) -> dict[str, Any]:
        """Change the organization's settings (timers, rate limit); the settings as the source reports them."""
        return self._cause(
            "platform-settings",
            dict(values),
            lambda c: c.platform_settings(values),
            f"Change the Platform settings to {json.dumps(dict(values))}",
            expect,
        )[1]

    def platform_login(self, user: str, *, expect: Expect | None = None) -> None:
        """``user`` logs in on the next authorization page the suite opens (E457)."""
        self._cause(
            "platform-login",
            {"user": user},
            lambda c: c.platform_login(user),
            f"Log in as {user} on the next Platform authorization page",
            expect,
        )

    def platform_client(self, body: Mapping[str, Any], *, expect: Expect | None = None) -> dict[str, Any]:
        """An OAuth client with chosen grants and scopes: ``{id, …}``.

        Raises:
            EventFailed: the source did not say the client's id.
        """
        data = self._cause(
            "platform-client",
            dict(body),
            lambda c: c.platform_client(body),
            f"Create an OAuth client {json.dumps({k: v for k, v in body.items() if k != 'secret'})}",
            expect,
        )[1]
        _known(_first(data, "id"), "platform-client", "client")
        return data

    def platform_token(
        self,
        client_id: str,
        *,
        user_id: str | None = None,
        scopes: Sequence[str] | None = None,
        expires_in: float | None = None,
    ) -> str:
        """An access token of ``client_id`` (for ``user_id``), minted without the OAuth dance.

        Raises:
            EventFailed: the source answered no ``access_token``.
            NotRunnable: only a person could mint it (no condition to wait for).
        """
        listed = list(scopes) if scopes is not None else None
        args = {"clientId": client_id, **present(userId=user_id, scopes=listed, expiresIn=expires_in)}
        data = self._cause(
            "platform-token",
            args,
            lambda c: c.platform_token(client_id, user_id=user_id, scopes=scopes, expires_in=expires_in),
            f"Mint an access token of client {client_id}" + (f" for user {user_id}" if user_id else ""),
            None,
        )[1]
        return _known(_first(data, "access_token"), "platform-token", "access token")

    def platform_callback(self, user_id: str, numbers: Sequence[str], *, expect: Expect | None = None) -> str | None:
        """A callback conversation to ``numbers`` for the user; its id (None when a person caused it)."""
        source, data, _ = self._cause(
            "platform-callback",
            {"userId": user_id, "numbers": list(numbers)},
            lambda c: c.platform_callback(user_id, numbers),
            f"Create a callback to {', '.join(numbers)} for Platform user {user_id}",
            expect,
        )
        conversation_id = _first(data, "conversationId")
        return conversation_id if source == "manual" else _known(conversation_id, "platform-callback", "conversation")

    def platform_expire_channel(self, channel_id: str, *, expect: Expect | None = None) -> Any:
        """The notification channel's ``v2.system.socket_closing`` now (channels live 24 h)."""
        return self._cause(
            "platform-channel-expire",
            {"channelId": channel_id},
            lambda c: c.platform_expire_channel(channel_id),
            f"Expire the Platform notification channel {channel_id}",
            expect,
        )[2]

    # ---- Connect -----------------------------------------------------------------------------------------------
    def connect_incoming_call(
        self,
        agent: str,
        caller: str = "+15551230100",
        dialled: str | None = None,
        *,
        expect: Expect | None = None,
        **extra: Any,
    ) -> ExternalCall:
        """A call from ``caller`` to ``dialled`` is offered on the agent's bus (``extra``: ``queue``,
        ``connectionId``, ``contactId``); ``call_id`` is the connection id. Through the control API the offer is
        never missed while the test runs (``ringTimeout`` null unless given)."""
        args: dict[str, Any] = {"agent": agent, "from": caller, **({"to": dialled} if dialled else {}), **extra}
        body = {"ringTimeout": None, **({"to": dialled} if dialled else {}), **extra}
        source, data, observed = self._cause(
            "connect-incoming-call",
            args,
            lambda c: c.connect_incoming_call(agent, caller, **body),
            f"Make an external call from {caller}"
            + (f" to {dialled}" if dialled else "")
            + f" offered to agent {agent}",
            expect,
        )
        contact: dict[str, Any] = data["contact"] if isinstance(data.get("contact"), dict) else data
        return ExternalCall(caller, dialled or agent, _first(contact, "connectionId"), source, data, observed)

    def connect_remote_hangup(self, agent: str, *, expect: Expect | None = None) -> Any:
        """The far end of the agent's current call hangs up."""
        return self._cause(
            "connect-remote-hangup",
            {"agent": agent},
            lambda c: c.connect_remote_hangup(agent),
            f"On the far end of agent {agent}'s call, hang up",
            expect,
        )[2]

    def connect_agent_state(self, agent: str, selector: Mapping[str, Any], *, expect: Expect | None = None) -> Any:
        """The agent's state is set from outside (as a supervisor does): ``label``, ``code``, ``type`` or
        ``ReasonCodeId``; the agent's bus gets the change."""
        return self._cause(
            "connect-agent-state",
            {"agent": agent, **selector},
            lambda c: c.connect_set_state(agent, selector),
            f"Set agent {agent}'s state to {json.dumps(dict(selector))} (as a supervisor would)",
            expect,
        )[2]

    # ---- internal calls (any GWS) ----------------------------------------------------------------------------
    def internal_call(
        self, caller: GwsAgent, callee: GwsAgent, *, timeout: float | None = None, **dial_members: Any
    ) -> InternalCall:
        """``caller`` dials ``callee``'s number through GWS; returns both sides' calls once the callee's
        call rings (found by polling ``GET /api/v2/me/calls``, so no CometD is needed).

        Raises:
            ConformanceFailure: the Dial was refused, or no call appeared in time.
        """
        limit = self.config.timeouts.notification if timeout is None else timeout
        with step(f"{caller.role or caller.username} dials {callee.role or callee.username}"):
            before = {str(c.get("id")) for c in callee.calls()}
            response = caller.dial(callee.phone_number, **dial_members)
            if response.status // 100 != 2:
                raise ConformanceFailure(
                    f"Dial from {caller.username} to {callee.phone_number} answered "
                    f"{response.status}: {response.text[:200]!r}",
                    title="Dial refused",
                )
            ringing = callee.wait_for_call(
                lambda c: str(c.get("id")) not in before and c.get("state") == "Ringing", limit
            )
            dialing = caller.wait_for_call(lambda c: c.get("state") in ("Dialing", "Established"), limit)
        return InternalCall(dialing, ringing)

    # ---- undo --------------------------------------------------------------------------------------------------
    def restore(self) -> None:
        """Undo what this source's events changed: the control API's reset, or the driver's ``reset`` event
        (exit 3: the lab has nothing to undo). A person's changes are theirs to undo."""
        if not self.changed:
            return
        self._changed = False
        if self.config.events.control_url:
            with step("undo the events: reset through the control API"):
                self.control.reset()
        elif self.config.events.driver_command:
            with step("undo the events: the driver's reset"), contextlib.suppress(NotRunnable):
                self._driver("reset", {})

    # ---- the sources -----------------------------------------------------------------------------------------
    def _driver(self, event: str, args: dict[str, Any]) -> dict[str, Any]:
        template = self.config.events.driver_command or ""
        payload = json.dumps(args)
        argv = [word.replace("{event}", event).replace("{args_json}", payload) for word in shlex.split(template)]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.config.events.manual_timeout, check=False
            )
        except FileNotFoundError:
            raise EventFailed(f"the event driver {argv[0]!r} was not found") from None
        except subprocess.TimeoutExpired:
            raise EventFailed(
                f"the event driver did not finish {event} within {self.config.events.manual_timeout:g} s"
            ) from None
        if done.returncode == DRIVER_UNSUPPORTED:
            raise NotRunnable(f"the event driver cannot cause {event}: {done.stderr.strip()[:200]}")
        if done.returncode != 0:
            raise EventFailed(
                f"the event driver failed on {event} (exit {done.returncode}): {done.stderr.strip()[:300]}"
            )
        out = done.stdout.strip()
        if not out:
            return {}
        try:
            data = json.loads(out)
        except ValueError:
            raise EventFailed(f"the event driver printed something that is not JSON: {out[:200]!r}") from None
        return data if isinstance(data, dict) else {"result": data}

    def _manual(self, instruction: str, expect: Expect | None) -> Any:
        if expect is None:
            raise NotRunnable(f"manual event without a condition to wait for: {instruction}")
        timeout = self.config.events.manual_timeout
        self.announce(f"\n>>> voicekit needs you: {instruction} (waiting up to {timeout:g} s)")
        return expect(timeout)

    def close(self) -> None:
        if self._control is not None and self._owns_control:
            self._control.close()
            self._control = None


def _first(data: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` that ``data`` has, as text."""
    for key in keys:
        value = data.get(key)
        if value:
            return str(value)
    return None


def _known(value: str | None, event: str, what: str) -> str:
    """``value``, which the source had to give.

    Raises:
        EventFailed: it did not (a driver that printed nothing, a call a person made).
    """
    if not value:
        raise EventFailed(f"{event}: the event source did not say which {what} (a driver prints it as JSON)")
    return value


def _brief(args: Mapping[str, Any]) -> str:
    """The event's arguments for a step title (short; secrets are redacted by the step)."""
    text = json.dumps(dict(args), ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
