"""Events the suite cannot cause through the API under test: an external call ringing an agent, the remote
party answering or hanging up, the voice service (T-Server) going down or up.

Why a source with fallbacks: on the mock the control API causes them; a vendor can supply a driver command
for its lab; a person can cause them by hand; otherwise the test is reported *not run* — never passed.
Sources, in order of preference:

1. ``events.control_url`` — the mock's control API (``POST /gws/calls``, ``POST /gws/calls/{id}/answer|hangup``,
   ``PUT /gws/services/voice``);
2. ``events.driver_command`` — e.g. ``./driver {event} {args_json}``: split like a shell command (no shell
   runs), ``{event}`` and ``{args_json}`` replaced in each word; exit 0 with optional JSON on stdout
   (``{"callId": "…"}``) means done, exit 3 means "this event is not supported here" (not run), anything
   else is a kit error;
3. ``events.manual_events`` — print the instruction on the console and wait (up to ``manual_timeout``) for
   the condition the test gives (``expect=``);
4. else :class:`~conformance.outcomes.NotRunnable`.

"Agent B dials agent A" needs none of them: :meth:`EventSource.internal_call` does it through GWS itself.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.config import TargetConfig
from conformance.errors import VoicekitError
from conformance.evidence import step
from conformance.failures import ConformanceFailure
from conformance.gws import GwsAgent
from conformance.outcomes import NotRunnable
from conformance.transport.http import HttpClient

__all__ = ["DRIVER_UNSUPPORTED", "EVENTS", "EventFailed", "EventSource", "ExternalCall", "InternalCall"]

#: The events a test may declare with ``@pytest.mark.needs_event(name)``.
EVENTS = ("inbound-call", "remote-answer", "remote-hangup", "voice-service", "internal-call")
DRIVER_UNSUPPORTED = 3

Expect = Callable[[float], Any]


class EventFailed(VoicekitError):
    """The event source refused or failed (control API error, driver crash): the kit could not cause it."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class ExternalCall:
    """An external call the source created; ``call_id`` is the source's handle for remote actions."""

    caller: str
    to: str
    call_id: str | None
    source: str
    data: dict[str, Any] = field(default_factory=dict)
    observed: Any = None


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
    """Causes events on the target.

    Args:
        config: The target configuration (event sources and timeouts).
        announce: How manual instructions reach the person (the plugin writes to the terminal, bypassing
            capture); default: print.
    """

    def __init__(self, config: TargetConfig, *, announce: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.announce = announce or (lambda text: print(text, flush=True))
        self._control: HttpClient | None = None

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

    # ---- external events -------------------------------------------------------------------------------------
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
        source = self.require("inbound-call")
        with step(f"event inbound-call from {caller} to {to} ({source})"):
            if source == "control":
                data = self._control_call("POST", "/gws/calls", args)
            elif source == "driver":
                data = self._driver("inbound-call", args)
            else:
                observed = self._manual(
                    f"Make an external call from {caller} to {to}"
                    + (f" through queue {queue}" if queue else "")
                    + (f" with user data {json.dumps(user_data)}" if user_data else ""),
                    expect,
                )
                return ExternalCall(caller, to, None, source, {}, observed)
            call = ExternalCall(caller, to, _call_id(data), source, data)
            if expect is not None:
                call.observed = expect(self.config.timeouts.notification)
        return call

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
        source = self.require("voice-service")
        with step(f"event voice-service {state} ({source})"):
            if source == "control":
                self._control_call("PUT", "/gws/services/voice", {"state": state})
            elif source == "driver":
                self._driver("voice-service", {"state": state})
            else:
                return self._manual(f"Set the voice service (T-Server link) {state}", expect)
            return expect(self.config.timeouts.notification) if expect else None

    def _remote(self, event: str, action: str, call: ExternalCall | str, expect: Expect | None) -> Any:
        call_id = call if isinstance(call, str) else call.call_id
        source = self.require(event)
        with step(f"event {event} on {call_id} ({source})"):
            if source == "control":
                if not call_id:
                    raise EventFailed(f"{event}: the call has no control-API id")
                self._control_call("POST", f"/gws/calls/{call_id}/{action}", None)
            elif source == "driver":
                self._driver(event, {"callId": call_id})
            else:
                who = call.caller if isinstance(call, ExternalCall) else "the remote party"
                return self._manual(f"On the remote phone ({who}), {action} the call", expect)
            return expect(self.config.timeouts.notification) if expect else None

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

    # ---- the sources -----------------------------------------------------------------------------------------
    def _control_client(self) -> HttpClient:
        if self._control is None:
            events = self.config.events
            assert events.control_url
            self._control = HttpClient(
                events.control_url,
                token=events.control_token,
                csrf="off",
                timeout=self.config.timeouts.request,
                verify=self.config.ssl_verify(),
                name="control API",
            )
        return self._control

    def _control_call(self, method: str, path: str, body: Any) -> dict[str, Any]:
        response = self._control_client().request(method, path, json=body)
        data = response.json_or_none()
        if response.status // 100 != 2:
            message = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise EventFailed(
                f"the control API refused {method} {path}: {response.status} {message}",
                status=response.status,
                body=data,
            )
        return data if isinstance(data, dict) else {}

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
        if self._control is not None:
            self._control.close()
            self._control = None


def _call_id(data: dict[str, Any]) -> str | None:
    value = data.get("callId") or data.get("id")
    return str(value) if value else None
