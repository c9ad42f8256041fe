"""The GWS documented-sample replay: every GWS fixture, over the wire, against any GWS implementation.

For one fixture (:meth:`GwsReplayer.replay`):

1. **plan** it (``plan.py``): documented actor, partners, calls, exchanges after the errata's replay rules;
2. **cast** it: configured users play the documented actor and partners; their numbers and devices are
   bound to the documented ones (``voicekit/replay/bindings.py``);
3. establish the **precondition** the operation needs (``recipes.py``) through the documented API, partner
   agents, and — for what no client can cause — the event source (the mock's control API);
4. send each documented request (bindings substituted), check the response (documented status, else the
   E001 mapping; the body by its match mode) and await the documented notifications **in order** within the
   notification timeout, comparing each with the one engine (``voicekit.replay``: GWS strategy, the fixture's
   ``alternatives`` accepted too); after the last one, a short quiet period must bring
   no further notification of a documented kind for the same call or device;
5. **clean up** — also on failure: undo what the recipe changed, hang up every call, restore agent states.

The result is passed, failed (with every mismatch named) or not run (with the reason, never passed).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from conformance.errors import EventFailed
from conformance.failures import ConformanceFailure
from conformance.outcomes import NotRunnable as SuiteNotRunnable
from conformance.replay import recipes
from conformance.replay.driver import GwsDriver
from conformance.replay.errors import NotRunnable, SetupFailed
from conformance.replay.plan import Plan, Step, build_plan
from conformance.support.cleanup import release_calls
from conformance.support.gws import GwsAgent
from conformance.transport.cometd import CometdClient
from conformance.transport.http import HttpClient, HttpResponse
from voicekit.corpus import Corpus, Fixture
from voicekit.replay.bindings import Bindings
from voicekit.replay.compare import Mismatch, describe_mismatches
from voicekit.replay.forms import compare_forms, forms_of
from voicekit.replay.strategies import GWS
from voicekit.tables import gws_http_status

__all__ = [
    "FAILED",
    "NOT_RUN",
    "PASSED",
    "Cast",
    "GwsReplayer",
    "NotRunnable",
    "ReplayResult",
    "Run",
    "SetupFailed",
    "http_status_for",
]

PASSED, FAILED, NOT_RUN = "passed", "failed", "not-run"


def http_status_for(status_code: int, voice_down: bool = False) -> int:
    """E001: the HTTP status that goes with a GWS statusCode (the table in specs/tables, shared with the mock)."""
    return gws_http_status(status_code, unavailable=voice_down)


@dataclass
class ReplayResult:
    fixture_id: str
    status: str
    reason: str = ""
    mismatches: list[Mismatch] = field(default_factory=list)
    errata: list[str] = field(default_factory=list)
    bindings: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def describe(self) -> str:
        if self.status == NOT_RUN:
            return f"{self.fixture_id}: not run — {self.reason}"
        if self.status == PASSED:
            return f"{self.fixture_id}: passed"
        text = f"{self.fixture_id}: failed — {self.reason}" if self.reason else f"{self.fixture_id}: failed"
        if self.mismatches:
            text += "\n" + describe_mismatches(self.mismatches)
        return text


@dataclass
class Cast:
    """Configured users in the documented roles."""

    actor: GwsAgent | None
    sender: HttpClient
    partners: dict[str, GwsAgent] = field(default_factory=dict)  # documented number → session
    devices: dict[str, GwsAgent] = field(default_factory=dict)  # documented device id → session

    def partner(self, number: str) -> GwsAgent:
        try:
            return self.partners[number]
        except KeyError:
            raise NotRunnable(f"the documented party {number} has no configured user") from None

    @property
    def involved(self) -> list[GwsAgent]:
        out = [self.actor] if self.actor else []
        for session in [*self.partners.values(), *self.devices.values()]:
            if session not in out:
                out.append(session)
        return out


class GwsReplayer:
    """Replays GWS fixtures against the target behind ``driver``."""

    def __init__(self, driver: GwsDriver, corpus: Corpus | None = None) -> None:
        self.driver = driver
        self.corpus = corpus or Corpus()
        self._agent_states: list[dict[str, Any]] | None = None

    def plan(self, fixture: Fixture) -> Plan:
        return build_plan(fixture, self.corpus.errata)

    def replay(self, fixture: Fixture) -> ReplayResult:
        started = time.monotonic()
        plan = self.plan(fixture)
        if plan.not_run:
            return ReplayResult(fixture.id, NOT_RUN, plan.not_run, errata=plan.rules.errata)
        run = Run(self, plan)
        result = run.execute()
        result.seconds = time.monotonic() - started
        return result

    def replay_all(self, fixtures: Iterable[Fixture]) -> list[ReplayResult]:
        return [self.replay(f) for f in fixtures]

    def agent_states(self, session: GwsAgent) -> list[dict[str, Any]]:
        """The agent-state operations (GET /api/v2/me/settings/agent-states), cached per run."""
        if self._agent_states is None:
            body = session.get("/api/v2/me/settings/agent-states").json_or_none() or {}
            settings = body.get("settings") if isinstance(body, Mapping) else None
            self._agent_states = [cast(dict[str, Any], s) for s in settings or [] if isinstance(s, Mapping)]
        return self._agent_states

    def forget_agent_states(self) -> None:
        self._agent_states = None


class Run:
    """One fixture being replayed: its cast, bindings, undo actions and findings."""

    def __init__(self, replayer: GwsReplayer, plan: Plan) -> None:
        self.replayer = replayer
        self.driver = replayer.driver
        self.plan = plan
        self.bindings = Bindings()
        self.bindings.base_url = self.driver.base_url
        self.mismatches: list[Mismatch] = []
        self.notes: list[str] = []
        self.undo: list[tuple[str, Callable[[], object]]] = []
        self.cause: Callable[[], object] | None = None  # triggers the documented messages of a notification fixture
        self.cast: Cast | None = None
        self.baseline: dict[str, dict[str, Any]] = {}
        self.extra_sessions: list[GwsAgent] = []
        self.checks = 0  # responses and messages compared: a replay that compared nothing is not a pass
        self.rewrite: Callable[[Any], Any] | None = None  # a recipe's last word on the request body
        self.on_response: list[Callable[[HttpResponse], None]] = []
        self.listing_cometd: CometdClient | None = None

    # ---- the run --------------------------------------------------------------------------------------------------
    def execute(self) -> ReplayResult:
        plan = self.plan
        status, reason = PASSED, ""
        try:
            self.cast = self._cast()
            self._record_baseline()
            recipes.prepare(self)
            for step in plan.steps:
                self.exchange(step)
        except (NotRunnable, SuiteNotRunnable) as exc:
            status, reason = NOT_RUN, str(getattr(exc, "reason", exc))
        except SetupFailed as exc:
            status, reason = FAILED, f"precondition not established: {exc}"
        except ConformanceFailure as exc:
            status, reason = FAILED, str(exc)
        finally:
            try:
                self.cleanup()
            except Exception as exc:  # cleanup must never hide the result
                self.notes.append(f"cleanup: {exc!r}")
        if status == PASSED and not self.mismatches and self.checks == 0:
            status, reason = NOT_RUN, "nothing was sent or awaited: the fixture documents no exchange to replay"
        if status == PASSED and self.mismatches:
            status = FAILED
            reason = f"{len(self.mismatches)} difference(s) from the documented exchange"
        if status == NOT_RUN and self.mismatches:
            # An earlier exchange already differed (a refused create leaves a later {placeholder} unbound):
            # that is the verdict, not the step the difference made impossible.
            status = FAILED
            reason = (
                f"{len(self.mismatches)} difference(s) from the documented exchange; the rest could not run: {reason}"
            )
        errata = sorted({*plan.rules.errata, *plan.given_errata})
        return ReplayResult(
            plan.id, status, reason, list(self.mismatches), errata, list(self.bindings.items()), list(self.notes)
        )

    # ---- casting ------------------------------------------------------------------------------------------------
    def _cast(self) -> Cast:
        plan, driver = self.plan, self.driver
        role = plan.actor_role
        agents = driver.agents
        actor: GwsAgent | None
        if role == "supervisor":
            actor = driver.supervisor
            if actor is None:
                raise NotRunnable("the documented actor is a supervisor and no supervisor is configured")
        elif role == "admin":
            actor = driver.admin
            if actor is None:
                raise NotRunnable("the request needs an administrator and none is configured (gws.admin)")
        elif role == "anonymous":
            actor = None
        else:
            actor = None
        free = [a for a in agents if a is not actor]
        chosen: dict[str, GwsAgent] = {}
        # Documented numbers that are configured numbers keep them (identity is easiest to read that way).
        if role == "agent" and plan.actor_number:
            actor = next((a for a in free if a.number == plan.actor_number), None)
        if role == "agent" and actor is None and plan.actor_device:
            actor = next(
                (a for a in free if a.found_device_id == plan.actor_device and a.number not in plan.partner_numbers),
                None,
            )
        for number in plan.partner_numbers:
            match = next((a for a in free if a.number == number and a is not actor and a not in chosen.values()), None)
            if match is not None:
                chosen[number] = match
        if role == "agent" and actor is None:
            spare = [a for a in free if a not in chosen.values()]
            preferred = [a for a in spare if a.number not in plan.partner_numbers]
            actor = preferred[0] if preferred else spare[0] if spare else None
            if actor is None:
                raise NotRunnable("no GWS agent is configured (gws.agents)")
        for number in plan.partner_numbers:
            if number in chosen:
                continue
            spare = [a for a in free if a is not actor and a not in chosen.values()]
            if not spare:
                raise NotRunnable(
                    f"the fixture needs {len(plan.partner_numbers)} partner agent(s) besides the actor; "
                    f"only {len([a for a in free if a is not actor])} configured"
                )
            chosen[number] = spare[0]
        devices: dict[str, GwsAgent] = {}
        for device_id in plan.other_devices:
            taken = [*chosen.values(), *devices.values()]
            same = [a for a in free if a.found_device_id == device_id and a is not actor and a not in taken]
            spare = same or [a for a in free if a is not actor and a not in taken] or [a for a in chosen.values()]
            if not spare:
                raise NotRunnable("the fixture names another agent's device and no other agent is configured")
            devices[device_id] = spare[0]
        sender: HttpClient
        if role == "anonymous":
            sender = driver.anonymous
        elif role == "admin" and actor is not None:
            sender = actor
        else:
            assert actor is not None
            sender = actor
        cast = Cast(actor, sender, chosen, devices)
        self._seed_bindings(cast)
        return cast

    def _seed_bindings(self, cast: Cast) -> None:
        plan, b = self.plan, self.bindings
        if cast.actor is not None and plan.actor_role in ("agent", "supervisor"):
            if plan.actor_number and cast.actor.number:
                b.bind("number", plan.actor_number, cast.actor.number)
            if plan.actor_device and cast.actor.found_device_id:
                b.bind("device", plan.actor_device, cast.actor.found_device_id)
        for number, session in cast.partners.items():
            if session.number:
                b.bind("number", number, session.number)
        for device_id, session in cast.devices.items():
            if session.found_device_id and b.get("device", device_id) is None:
                b.bind("device", device_id, session.found_device_id)

    # ---- baseline and cleanup ------------------------------------------------------------------------------------
    def _record_baseline(self) -> None:
        assert self.cast is not None
        for session in self.cast.involved:
            self.remember(session)
            if session.found_device_id:
                session.cometd.drain()  # subscribed before anything happens; nothing left from before

    def remember(self, session: GwsAgent) -> None:
        """Record a session's device state once, so cleanup can restore it (and hang up its calls)."""
        if self.cast is not None and session not in self.cast.involved and session not in self.extra_sessions:
            self.extra_sessions.append(session)
        if session.username in self.baseline or not session.found_device_id:
            return
        view = session.device_view() or {}
        self.baseline[session.username] = {"session": session, "view": view}

    def cleanup(self) -> None:
        errors: list[str] = []
        for label, action in reversed(self.undo):
            try:
                action()
            except Exception as exc:
                errors.append(f"{label}: {exc}")
        self.undo.clear()
        self.hangup_everything()
        for entry in self.baseline.values():
            try:
                self.restore_device(entry["session"], entry["view"])
            except Exception as exc:
                errors.append(f"restore {entry['session'].label}: {exc}")
        if self.listing_cometd is not None:
            self.listing_cometd.close()
        sessions = self.sessions_in_play()
        self.driver.settle_inboxes([s for s in sessions if s.has_cometd])
        if errors:
            self.notes.append("cleanup: " + "; ".join(errors))

    def sessions_in_play(self) -> list[GwsAgent]:
        out = list(self.cast.involved) if self.cast else []
        for session in self.extra_sessions:
            if session not in out:
                out.append(session)
        return out

    def hangup_everything(self) -> None:
        """No call left on the sessions in play (:func:`~conformance.support.cleanup.release_calls`; a call none of
        them can release is hung up remotely through the control API); the last resort is a reset of the target."""
        sessions = [s for s in self.sessions_in_play() if s.found_device_id]
        events = self.driver.events

        def remote_hangup(_session: GwsAgent, call: dict[str, Any]) -> None:
            if events is not None:
                with contextlib.suppress(EventFailed):
                    events.gws_remote(str(call["id"]), "hangup")

        left = release_calls(sessions, fallback=remote_hangup if events is not None else None)
        if left and events is not None:
            self.notes.append("calls were left after cleanup; the target was reset through its control API")
            self.driver.reset_target()
            self.replayer.forget_agent_states()

    def restore_device(self, session: GwsAgent, view: Mapping[str, Any]) -> None:
        now = session.device_view() or {}
        device_id = session.found_device_id
        if not device_id or not now:
            return
        path = f"/api/v2/me/devices/{device_id}"
        if now.get("supervisorMonitoringState") and not view.get("supervisorMonitoringState"):
            session.post(path, json={"operationName": "CancelSupervisorMonitoring"})
        if now.get("forwardTo") != view.get("forwardTo"):
            if view.get("forwardTo"):
                session.post(path, json={"operationName": "ForwardCallsOn", "destination": view["forwardTo"]})
            else:
                session.post(path, json={"operationName": "ForwardCallsOff"})
        if now.get("doNotDisturb") != view.get("doNotDisturb") and view.get("doNotDisturb") in ("On", "Off"):
            session.post(
                path, json={"operationName": "DoNotDisturbOn" if view["doNotDisturb"] == "On" else "DoNotDisturbOff"}
            )
        if _state_key(now.get("userState")) != _state_key(view.get("userState")):
            op = self.agent_state_operation(session, view.get("userState") or {})
            if op:
                session.post("/api/v2/me/channels/voice", json={"operationName": op})

    def agent_state_operation(self, session: GwsAgent, user_state: Mapping[str, Any]) -> str | None:
        """The operationName that puts a device in ``user_state`` (003 l.1475-1492 matching rules)."""
        wanted = "Logout" if user_state.get("state") == "LoggedOut" else user_state.get("state")
        ops = self.replayer.agent_states(session)
        for op in ops:
            if user_state.get("displayName") and op.get("displayName") == user_state.get("displayName"):
                return str(op.get("operationName"))
        for op in ops:
            if (
                op.get("state") == wanted
                and op.get("workMode") == user_state.get("workMode")
                and op.get("reason") == user_state.get("reason")
            ):
                return str(op.get("operationName"))
        return {"Ready": "Ready", "NotReady": "NotReady", "Logout": "Offline"}.get(str(wanted))

    # ---- requests used by recipes -----------------------------------------------------------------------------
    def ok(self, response: HttpResponse, what: str) -> HttpResponse:
        body = response.json_or_none()
        code = body.get("statusCode") if isinstance(body, Mapping) else None
        if response.status != 200 or code not in (0, None):
            raise SetupFailed(
                f"{what}: {response.method} {response.path} answered HTTP {response.status} {response.text[:200]}"
            )
        return response

    def post(self, session: GwsAgent, path: str, body: Any, what: str) -> HttpResponse:
        return self.ok(session.post(path, json=body), what)

    def await_message(
        self,
        session: GwsAgent,
        what: str,
        *,
        channel: str | None = None,
        message_type: str | None = None,
        call_id: str | None = None,
        state: str | None = None,
        notification_type: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The next message on ``session`` matching the given members (recipes: not compared, only awaited)."""

        def wanted(message: Any) -> bool:
            data = message.get("data") or {}
            call = data.get("call") or {}
            return (
                (channel is None or message.get("channel") == channel)
                and (message_type is None or data.get("messageType") == message_type)
                and (call_id is None or call.get("id") == call_id)
                and (state is None or call.get("state") == state)
                and (notification_type is None or data.get("notificationType") == notification_type)
            )

        try:
            return dict(session.cometd.await_message(wanted, timeout, description=what))
        except ConformanceFailure as exc:
            raise SetupFailed(f"{what}: {exc.message}") from None

    # ---- the exchanges ----------------------------------------------------------------------------------------
    def exchange(self, step: Step) -> None:
        cast = self.cast
        assert cast is not None
        if step.trigger:
            recipes.trigger(self, step)
        elif self.cause is not None:
            cause, self.cause = self.cause, None
            cause()
        if step.request:
            self.send(step)
        self.await_notifications(step)

    def send(self, step: Step) -> None:
        assert self.cast is not None and step.request is not None
        if str(step.request.get("path", "")).startswith("/api/v2/notifications"):
            self.bayeux(step)
            return
        try:
            request = self.bindings.substitute_request(step.request)
        except KeyError as exc:
            raise NotRunnable(f"the request's placeholder {{{exc.args[0]}}} cannot be established") from None
        method = str(request["method"])
        kwargs: dict[str, Any] = {}
        if request.get("query"):
            kwargs["params"] = dict(request["query"])
        if "body" in request:
            kwargs["json"] = self.rewrite(request["body"]) if self.rewrite else request["body"]
        response = self.cast.sender.request(method, str(request["path"]), **kwargs)
        for hook in self.on_response:
            hook(response)
        self.check_response(step, response, where=f"{step.label} response")
        for alternative in step.also_paths:
            other = self.cast.sender.request(method, alternative, **kwargs)
            self.check_response(step, other, where=f"{step.label} response of {alternative}")

    def bayeux(self, step: Step) -> None:
        """A code listing's CometD request (handshake, subscribe, disconnect), sent the way the official client
        sends it, with the listing's identity (session cookie and CSRF header of the HTTP client)."""
        assert self.cast is not None and step.request is not None
        body = step.request.get("body")
        message = body[0] if isinstance(body, list) and body and isinstance(body[0], Mapping) else {}
        channel = message.get("channel")
        if self.listing_cometd is None:
            self.listing_cometd = CometdClient(
                f"{self.driver.base_url}/api/v2/notifications", http=self.cast.sender, name="code listing"
            )
        client = self.listing_cometd
        if channel == "/meta/handshake":
            reply = client.handshake(check=False)
        elif channel == "/meta/subscribe":
            reply = client.subscribe(str(message.get("subscription")), check=False)[0]
        elif channel == "/meta/disconnect":
            reply = client.disconnect() or {}
        else:
            raise NotRunnable(f"the listing sends {channel}, which the replay does not know how to send")
        self.checks += 1
        if reply.get("successful") is not True:
            self.mismatches.append(
                Mismatch(
                    "successful",
                    True,
                    reply.get("successful"),
                    "Bayeux (003 l.1494-1567)",
                    f"{channel} was refused: {reply.get('error')}",
                    f"{step.label} reply",
                )
            )

    def check_response(self, step: Step, response: HttpResponse, *, where: str) -> None:
        self.checks += 1
        documented = step.response or {}
        body = response.json_or_none()
        expected_body = documented.get("body")
        if documented.get("status") is not None:
            expected_status = int(documented["status"])
        else:
            code = expected_body.get("statusCode") if isinstance(expected_body, Mapping) else 0
            expected_status = http_status_for(code if isinstance(code, int) else 0)
        found: list[Mismatch] = []
        if response.status != expected_status:
            found.append(
                Mismatch(
                    "status",
                    expected_status,
                    response.status,
                    "E001 HTTP status",
                    f"{response.method} {response.path} answered {response.status}: {response.text[:160]}",
                )
            )
        if expected_body is not None:
            actual = body
            if step.unwrap is not None:
                member, erratum = step.unwrap
                if not isinstance(body, Mapping) or member not in body:
                    found.append(
                        Mismatch(
                            f"body.{member}",
                            "(the singular resource)",
                            body,
                            f"unwrap ({erratum})",
                            "the response has no such member",
                        )
                    )
                    actual = None
                else:
                    if body.get("statusCode") != 0:
                        found.append(Mismatch("body.statusCode", 0, body.get("statusCode"), "E001"))
                    actual = body[member]
            if actual is not None or step.unwrap is None:
                body_found, _form = compare_forms(
                    forms_of(documented, "body"),
                    actual,
                    match=str(documented.get("match") or "exact"),
                    bindings=self.bindings,
                    rules=step.rules,
                    root="body",
                    strategy=GWS,
                )
                found += body_found
        elif not (isinstance(body, Mapping) and body.get("statusCode") == 0):
            found.append(
                Mismatch(
                    "body.statusCode",
                    0,
                    body.get("statusCode") if isinstance(body, Mapping) else body,
                    "E001",
                    "the documented request must be accepted (statusCode 0)",
                )
            )
        for name, value in (documented.get("headers") or {}).items():
            if name.lower() not in ("x-csrf-header", "x-csrf-token"):
                continue
            got = response.headers.get(name)
            if got is None:
                found.append(Mismatch(f"headers.{name}", value, None, "E125 CSRF", "header missing"))
            elif name.lower() == "x-csrf-header" and not str(value).startswith("{") and got != value:
                found.append(Mismatch(f"headers.{name}", value, got, "value"))
        self.mismatches += [m.located(where) for m in found]

    def await_notifications(self, step: Step) -> None:
        assert self.cast is not None
        session = self.cast.actor
        timeout = self.driver.config.timeouts.notification
        received: list[tuple[dict[str, Any], dict[str, Any]]] = []
        matched: list[int] = []  # documented notifications already matched (any_order)
        missing = False
        for number, note in enumerate(step.notifications, 1):
            where = f"{step.label} notification {number}"
            if note.get("transport") == "push":
                self.await_push(step, note, where)
                continue
            if session is None:
                raise NotRunnable("the fixture's notifications need a user session")
            message = note["message"]
            channel = note.get("channel") or message.get("channel")
            data = message.get("data") if isinstance(message.get("data"), Mapping) else {}
            message_type = data.get("messageType")

            def wanted(m: Any, channel: Any = channel, message_type: Any = message_type) -> bool:
                return m.get("channel") == channel and (
                    message_type is None or (m.get("data") or {}).get("messageType") == message_type
                )

            try:
                actual = session.cometd.await_message(
                    wanted, 0.2 if missing else timeout, description=f"{where}: {channel} {message_type}"
                )
            except ConformanceFailure:
                missing = True
                self.mismatches.append(
                    Mismatch(
                        "(message)",
                        _summary(message),
                        None,
                        "notification missing",
                        f"no {message_type or 'message'} on {channel} within {timeout:g} s",
                        where,
                    )
                )
                continue
            mode = str(note.get("match") or "exact")
            self.checks += 1
            if step.any_order:
                note = self._unmatched_counterpart(step, matched, note, actual)
                matched.append(id(note))
                mode = str(note.get("match") or "exact")
            # Identities learned from a message that does not match are not trusted for what follows.
            found, _form = compare_forms(
                forms_of(note, "message"), actual, match=mode, bindings=self.bindings, rules=step.rules, strategy=GWS
            )
            if found:
                self.mismatches += [m.located(where) for m in found]
                if not step.any_order:
                    self._diagnose_order(step, number, actual)
            received.append((message, actual))
        if received:
            self.quiet(step, received)
        if session is not None and session.has_cometd:
            session.drain()  # what is left is not the sample's (the quiet period judged what matters)

    def _unmatched_counterpart(
        self, step: Step, matched: list[int], note: dict[str, Any], actual: Mapping[str, Any]
    ) -> dict[str, Any]:
        """With ``any_order``: the first documented notification not yet matched that ``actual`` matches (trial
        bindings, so a failed trial teaches nothing); else the positional one, whose differences are reported."""
        for candidate in step.notifications:
            if id(candidate) in matched or candidate.get("transport") == "push":
                continue
            trial = Bindings()
            trial.restore(self.bindings.snapshot())
            if not compare_forms(
                forms_of(candidate, "message"),
                actual,
                match=str(candidate.get("match") or "exact"),
                bindings=trial,
                rules=step.rules,
                strategy=GWS,
            )[0]:
                return candidate
        return note

    def _diagnose_order(self, step: Step, number: int, actual: Mapping[str, Any]) -> None:
        for other, note in enumerate(step.notifications, 1):
            if other == number or note.get("transport") == "push":
                continue
            trial = Bindings()
            trial.restore(self.bindings.snapshot())
            if not compare_forms(
                forms_of(note, "message"),
                actual,
                match=str(note.get("match") or "exact"),
                bindings=trial,
                rules=step.rules,
                strategy=GWS,
            )[0]:
                self.mismatches.append(
                    Mismatch(
                        "(order)",
                        f"notification {number}",
                        f"notification {other}",
                        "order",
                        f"received where notification {number} is documented; it is documented notification {other}",
                        f"{step.label} notification {number}",
                    )
                )
                return

    def quiet(self, step: Step, received: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """No further message of a documented kind for the same call/device within the quiet period."""
        assert self.cast is not None and self.cast.actor is not None
        time.sleep(self.driver.quiet)
        kinds = {(m.get("channel"), (m.get("data") or {}).get("messageType")) for m, _ in received}
        subjects = {_subject(a) for _, a in received} - {None}
        for message in self.cast.actor.cometd.inbox.pending:
            kind = (message.get("channel"), (message.get("data") or {}).get("messageType"))
            if kind in kinds and _subject(message) in subjects:
                self.mismatches.append(
                    Mismatch(
                        "(message)",
                        None,
                        _summary(message),
                        "extra notification",
                        f"an undocumented {kind[1]} followed within {self.driver.quiet:g} s",
                        f"{step.label} after the last notification",
                    )
                )

    def await_push(self, step: Step, note: dict[str, Any], where: str) -> None:
        """Push messages are read from the mock's outbox (GET /control/gws/push/{userId})."""
        events, actor = self.driver.events, self.cast.actor if self.cast else None
        if events is None or actor is None or not actor.user_id:
            raise NotRunnable("push notifications can only be observed through the mock's control API")
        deadline = time.monotonic() + self.driver.config.timeouts.notification
        index = sum(1 for n in step.notifications[: step.notifications.index(note)] if n.get("transport") == "push")
        messages: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            messages = events.gws_push_outbox(actor.user_id)
            if len(messages) > index:
                break
            time.sleep(0.05)
        if len(messages) <= index:
            self.mismatches.append(
                Mismatch(
                    "(push)", note["message"], None, "notification missing", "no push message was delivered", where
                )
            )
            return
        self.checks += 1
        found, _form = compare_forms(
            forms_of(note, "message"),
            messages[index],
            match=str(note.get("match") or "exact"),
            bindings=self.bindings,
            rules=step.rules,
            strategy=GWS,
        )
        self.mismatches += [m.located(where) for m in found]


def _state_key(user_state: Any) -> tuple[Any, ...]:
    if not isinstance(user_state, Mapping):
        return ()
    return (user_state.get("state"), user_state.get("workMode"), user_state.get("reason"))


def _subject(message: Mapping[str, Any]) -> str | None:
    data = message.get("data") or {}
    if isinstance(data.get("call"), Mapping):
        return f"call:{data['call'].get('id')}"
    devices = data.get("devices")
    if isinstance(devices, list) and devices and isinstance(devices[0], Mapping):
        return f"device:{devices[0].get('id')}"
    if isinstance(data.get("service"), Mapping):
        return f"service:{data['service'].get('id')}"
    if data.get("messageType") == "ErrorMessage":
        return f"error:{data.get('deviceUri')}"
    return None


def _summary(message: Any) -> Any:
    if not isinstance(message, Mapping):
        return message
    out = copy.deepcopy(dict(message))
    data = out.get("data")
    if isinstance(data, dict) and isinstance(data.get("call"), dict):
        call = data["call"]
        data["call"] = {k: call[k] for k in ("id", "state") if k in call}
    return out
