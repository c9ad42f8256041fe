"""Precondition recipes: bringing the target into the state a documented sample starts from.

Why recipes and not a state import: the replay must work on any GWS, so every precondition is built with the
documented API (partner agents dial, answer, hold…), and only what no client can cause goes elsewhere: an
external caller, a queue delivery and a voice service outage to the suite's event source (control API, driver
command or a person), a T-Server refusal and push delivery to the mock's control API. Without them such
fixtures are not run, with the reason.

Each recipe reads what it needs from the fixture (the documented calls and devices, the request) and from
the errata's ``given`` decisions, binds the documented ids to the ones it creates, and registers undo
actions; :meth:`Run.cleanup` hangs up and restores agent states afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from conformance.failures import ConformanceFailure
from conformance.replay.errors import NotRunnable, SetupFailed
from conformance.replay.plan import DocCall, Step
from conformance.support.gws import GwsAgent
from voicekit.replay.bindings import is_placeholder_token

if TYPE_CHECKING:  # annotations only: the replayer calls the recipes, never the other way round
    from conformance.replay.gws import Run

__all__ = ["prepare", "trigger"]

DEVICES = "/v2/me/devices"
#: How long a preparation waits for the device notification of the state it set (positive signal, not a sleep).
DEVICE_SETTLE_SECONDS = 2.0
AGENT_STATE_OPERATIONS = {"Ready", "NotReady", "AuxWork", "AfterCallWork", "Offline", "CustomAgentState"}
ESTABLISHED_OPERATIONS = {
    "Hold",
    "Hangup",
    "SendDtmf",
    "SingleStepTransfer",
    "SingleStepConference",
    "InitiateTransfer",
    "InitiateConference",
    "AttachUserData",
    "UpdateUserData",
    "DeleteUserData",
    "DeleteUserDataPair",
    "getMyCall",
}
DEVICE_OPERATIONS = {
    "DoNotDisturbOn",
    "DoNotDisturbOff",
    "ForwardCallsOn",
    "ForwardCallsOff",
    "ListenIn",
    "Coach",
    "BargeIn",
    "CancelSupervisorMonitoring",
}
SUPERVISED_OPERATIONS = {
    "SwitchToBargeIn",
    "SwitchToListenIn",
    "MuteMonitoredUser",
    "UnmuteMonitoredUser",
    "SetCallDisposition",
}
SETTINGS_OPERATIONS = {
    "createSetting",
    "updateSetting",
    "deleteSetting",
    "createSettingsGroup",
    "deleteSettingsGroup",
    "getSettings",
    "listSettingsGroups",
    "getMyAgentStates",
}
#: Group deletions whose documented {id} is a sub-group ("Delete sub-group", 003 l.11437-11451).
SUB_GROUP_DELETIONS = frozenset({"gws.dispositions.delete-sub-group.example"})
GROUP_OPERATIONS = {
    "getGroup",
    "listGroupDispositions",
    "createGroupDisposition",
    "createSubGroup",
    "createGroup",
    "deleteGroup",
    "deleteGroupDisposition",
}


# ---- entry points -----------------------------------------------------------------------------------------
def prepare(run: Run) -> None:
    """Establish the fixture's precondition (or raise NotRunnable / SetupFailed)."""
    plan = run.plan
    op = plan.operation or ""
    kind = plan.kind
    if kind == "code-listing" and "steps" in plan.fixture.data:
        _csrf_walkthrough(run)
        return
    if _needs_csrf(run):
        _require_csrf(run)
    voice = plan.given.get("voice_service")
    if voice:
        _voice_service(run, str(voice))
    if kind == "scenario":
        first = plan.steps[0]
        body = (first.request or {}).get("body")
        op = "" if first.trigger or not isinstance(body, Mapping) else str(body.get("operationName") or "")
    handler = _HANDLERS.get(op)
    if kind in ("notification",) and not _has_request(plan.steps):
        _notification(run)
    elif handler is not None:
        handler(run)
    _placeholders(run)
    run.driver.settle_inboxes([s for s in run.sessions_in_play() if s.has_cometd])


def trigger(run: Run, step: Step) -> None:
    """A scenario step's event the client does not cause (inbound call, remote answer)."""
    event = dict(step.trigger or {})
    name = event.get("event")
    if name == "inbound-call":
        partner_doc = str(event.get("from"))
        _dial_actor(run, partner_doc, user_data=None, await_actor=False)
    elif name == "remote-answer":
        party = run.cast.partner(str(event.get("party"))) if run.cast else None
        if party is None:
            raise NotRunnable("remote-answer names no configured party")
        ringing = next((c for c in party.calls() if c.get("state") == "Ringing"), None)
        if ringing is None:
            raise SetupFailed(f"{party.label} has no ringing call to answer")
        run.post(
            party,
            f"/api/v2/me/calls/{ringing['id']}",
            {"operationName": "Answer"},
            f"{party.label} answers (trigger remote-answer)",
        )
    else:
        raise NotRunnable(f"unknown trigger event {name!r}")


# ---- small helpers ----------------------------------------------------------------------------------------
def _has_request(steps: list[Step]) -> bool:
    return any(s.request for s in steps)


def _actor(run: Run) -> GwsAgent:
    if run.cast is None or run.cast.actor is None:
        raise NotRunnable("the fixture needs a user session")
    return run.cast.actor


def _number(run: Run, documented: str) -> str:
    actual = run.bindings.get("number", documented)
    if actual is None:
        raise NotRunnable(f"the documented number {documented} is not played by a configured user")
    return actual


def _session_for_number(run: Run, actual_number: str) -> GwsAgent | None:
    candidates = list(run.sessions_in_play())
    for extra in [*run.driver.agents, run.driver.supervisor]:
        if extra is not None and extra not in candidates:
            candidates.append(extra)
    return next((s for s in candidates if s.number == actual_number), None)


def _first_body(run: Run) -> dict[str, Any]:
    for step in run.plan.steps:
        if step.request and isinstance(step.request.get("body"), Mapping):
            return dict(step.request["body"])
    return {}


def _destination(run: Run) -> str | None:
    body = _first_body(run)
    destination = body.get("destination")
    if isinstance(destination, Mapping) and destination.get("phoneNumber"):
        return str(destination["phoneNumber"])
    return None


def _direction(run: Run, call: DocCall | None) -> str:
    """``in`` when the partner dialed the actor, ``out`` when the actor dialed (the dnis is the partner's)."""
    return "in" if call is None else call.direction


def _call_id(message: Mapping[str, Any]) -> str:
    return str(message["data"]["call"]["id"])


def _bind_call(run: Run, documented: str | None, actual: str) -> None:
    if documented and run.bindings.get("call", documented) is None:
        run.bindings.bind("call", documented, actual)


# ---- call building blocks --------------------------------------------------------------------------------------
def _dial(
    run: Run, caller: GwsAgent, number: str, user_data: Mapping[str, Any] | None = None, *, await_callee: bool = True
) -> tuple[str, str | None, GwsAgent | None]:
    """``caller`` dials ``number``; returns (caller's call id, callee's call id, callee session)."""
    body: dict[str, Any] = {"operationName": "Dial", "destination": {"phoneNumber": number}}
    if user_data:
        body["userData"] = dict(user_data)
    callee = _session_for_number(run, number)
    if callee is not None and await_callee:
        run.remember(callee)
        _ = callee.cometd  # subscribed before the call rings
    run.post(caller, f"/api/v2/me/devices/{caller.device_id}/calls", body, f"{caller.label} dials {number}")
    dialing = run.await_message(
        caller, f"{caller.label}'s call to {number} is dialing", message_type="CallStateChangeMessage", state="Dialing"
    )
    callee_call = None
    if callee is not None and await_callee:
        ringing = run.await_message(
            callee,
            f"the call from {caller.label} rings on {callee.label}",
            message_type="CallStateChangeMessage",
            state="Ringing",
        )
        callee_call = _call_id(ringing)
    return _call_id(dialing), callee_call, callee


def _answer(run: Run, session: GwsAgent, call_id: str) -> None:
    run.post(session, f"/api/v2/me/calls/{call_id}", {"operationName": "Answer"}, f"{session.label} answers")
    run.await_message(
        session,
        f"{session.label}'s call is established",
        message_type="CallStateChangeMessage",
        call_id=call_id,
        state="Established",
    )


def _call_op(
    run: Run, session: GwsAgent, call_id: str, body: Mapping[str, Any], state: str | None, what: str
) -> dict[str, Any] | None:
    run.post(session, f"/api/v2/me/calls/{call_id}", dict(body), what)
    if state is None:
        return None
    return run.await_message(session, what, message_type="CallStateChangeMessage", call_id=call_id, state=state)


def _dial_actor(
    run: Run, partner_doc: str, user_data: Mapping[str, Any] | None, *, await_actor: bool = True
) -> str | None:
    """The documented partner calls the actor: an agent dials, an external number comes through the events."""
    actor = _actor(run)
    partner = run.cast.partners.get(partner_doc) if run.cast else None
    if partner is not None:
        caller_call, actor_call, _ = _dial(run, partner, str(actor.number), user_data, await_callee=await_actor)
        del caller_call
        return actor_call
    run.driver.event_source.inbound_call(str(actor.number), partner_doc, user_data=dict(user_data or {}) or None)
    if not await_actor:
        return None
    ringing = run.await_message(
        actor, "the external call rings", message_type="CallStateChangeMessage", state="Ringing"
    )
    return _call_id(ringing)


def _ringing(run: Run, documented: str | None, partner_doc: str, user_data: Mapping[str, Any] | None = None) -> str:
    actual = _dial_actor(run, partner_doc, user_data)
    assert actual is not None
    _bind_call(run, documented, actual)
    return actual


def _established(
    run: Run, documented: str | None, partner_doc: str, direction: str, user_data: Mapping[str, Any] | None = None
) -> str:
    """An established call between the actor and the documented partner, dialed in the documented direction."""
    actor = _actor(run)
    if direction == "in":
        actual = _ringing(run, documented, partner_doc, user_data)
        _answer(run, actor, actual)
        return actual
    partner = run.cast.partner(partner_doc) if run.cast else None
    assert partner is not None
    actual, callee_call, _ = _dial(run, actor, _number(run, partner_doc), user_data)
    _bind_call(run, documented, actual)
    if callee_call is None:
        raise SetupFailed(f"the call did not ring on {partner.label}")
    _answer(run, partner, callee_call)
    run.await_message(
        actor,
        "the actor's call is established",
        message_type="CallStateChangeMessage",
        call_id=actual,
        state="Established",
    )
    return actual


def _partners_of(run: Run, call: DocCall | None, exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    numbers = call.participants if call else []
    out = [n for n in numbers if n != run.plan.actor_number and n not in exclude]
    if not out:
        out = [n for n in run.plan.partner_numbers if n not in exclude]
    if not out:
        out = _spare_partner(run, exclude)
    return out


def _conference(run: Run, documented: str | None, first: str, second: str, direction: str) -> str:
    """A two-step conference owned by the actor: ``first`` on the call, ``second`` added (E214: no userData)."""
    actor = _actor(run)
    call = _established(run, documented, first, direction)
    _call_op(
        run,
        actor,
        call,
        {"operationName": "InitiateConference", "destination": {"phoneNumber": _number(run, second)}},
        "Held",
        "the actor initiates the conference",
    )
    consult = _call_id(
        run.await_message(actor, "the consult call dials", message_type="CallStateChangeMessage", state="Dialing")
    )
    partner = run.cast.partner(second) if run.cast else None
    assert partner is not None
    ringing = run.await_message(
        partner, "the consult call rings", message_type="CallStateChangeMessage", state="Ringing"
    )
    _answer(run, partner, _call_id(ringing))
    run.await_message(
        actor,
        "the consult call is established",
        message_type="CallStateChangeMessage",
        call_id=consult,
        state="Established",
    )
    _call_op(run, actor, consult, {"operationName": "CompleteConference"}, None, "the actor completes the conference")
    run.await_message(
        actor,
        "the conference is complete",
        message_type="CallStateChangeMessage",
        call_id=call,
        notification_type="ParticipantsUpdated",
    )
    return call


# ---- call recipes -------------------------------------------------------------------------------------------
def _url_call(run: Run) -> tuple[str | None, DocCall | None]:
    documented = run.plan.request_call_id()
    return documented, run.plan.call(documented)


def _before_user_data(run: Run, call: DocCall | None) -> dict[str, Any]:
    """The call data before the request: none, except what DeleteUserData(Pair) removes."""
    op = run.plan.operation
    if call is None:
        return {}
    after = dict(call.last.get("userData") or {})
    if op == "DeleteUserDataPair":
        key = str(_first_body(run).get("key"))
        after[key] = "voicekit-replay"
        return after
    if op == "DeleteUserData":
        return after or {"voicekitReplay": "present before DeleteUserData"}
    return {}


def _answer_recipe(run: Run) -> None:
    documented, call = _url_call(run)
    _ringing(run, documented, _partners_of(run, call)[0], call.user_data if call else None)


def _reject_recipe(run: Run) -> None:
    """E213: a call from the partner delivered through the queue whose DN is the documented dnis."""
    documented, call = _url_call(run)
    if call is None or not call.dnis:
        raise NotRunnable("the Reject fixture documents no queue")
    actor = _actor(run)
    partner_doc = _partners_of(run, call)[0]
    run.driver.event_source.inbound_call(str(actor.number), _number(run, partner_doc), queue=call.dnis)
    ringing = run.await_message(actor, "the queued call rings", message_type="CallStateChangeMessage", state="Ringing")
    _bind_call(run, documented, _call_id(ringing))


def _established_recipe(run: Run) -> None:
    documented, call = _url_call(run)
    placeholder = is_placeholder_token(documented)
    if placeholder is not None:
        partner = _partners_of(run, None)[0]
        actual = _established(run, None, partner, "out")
        run.bindings.bind_placeholder(placeholder, actual, "call")
        return
    exclude = {_destination(run) or ""}
    partner = _partners_of(run, call, exclude)[0]
    _established(run, documented, partner, _direction(run, call), _before_user_data(run, call))


def _spare_partner(run: Run, exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """A partner the document does not show: the first free agent plays itself (its number binds to itself)."""
    actor = _actor(run)
    taken = set(run.cast.partners.values()) if run.cast else set()
    for agent in run.driver.agents:
        if agent is not actor and agent.number and agent not in taken and agent.number not in exclude:
            run.bindings.check("number", agent.number, agent.number)
            if run.cast is not None:
                run.cast.partners[agent.number] = agent
            run.remember(agent)
            return [agent.number]
    raise NotRunnable("a second agent is needed for a call")


def _retrieve_recipe(run: Run) -> None:
    documented, call = _url_call(run)
    actual = _established(run, documented, _partners_of(run, call)[0], _direction(run, call))
    _call_op(run, _actor(run), actual, {"operationName": "Hold"}, "Held", "the actor holds the call")


def _dial_recipe(run: Run) -> None:
    destination = _destination(run)
    if destination:
        _number(run, destination)


def _complete_recipe(run: Run) -> None:
    """CompleteTransfer/CompleteConference: the parent held, the consult call dialing (E218)."""
    documented, consult = _url_call(run)
    if consult is None or consult.parent_id is None:
        raise NotRunnable("the fixture does not document the consult call and its parent")
    parent = run.plan.call(consult.parent_id)
    target = consult.dnis or _partners_of(run, consult)[0]
    parent_partner = _partners_of(run, parent, {target})[0]
    actor = _actor(run)
    parent_actual = _established(run, consult.parent_id, parent_partner, _direction(run, parent))
    kind = "InitiateConference" if run.plan.operation == "CompleteConference" else "InitiateTransfer"
    _call_op(
        run,
        actor,
        parent_actual,
        {"operationName": kind, "destination": {"phoneNumber": _number(run, target)}},
        "Held",
        f"the actor runs {kind}",
    )
    dialing = run.await_message(actor, "the consult call dials", message_type="CallStateChangeMessage", state="Dialing")
    _bind_call(run, documented, _call_id(dialing))
    partner = run.cast.partner(target) if run.cast else None
    if partner is not None:
        run.await_message(partner, "the consult call rings", message_type="CallStateChangeMessage", state="Ringing")


def _swap_pair(
    run: Run, held_doc: str | None, held: DocCall | None, active_doc: str | None, active: DocCall | None
) -> None:
    """One held call and one established call (E311/E312): the held one first, then the actor dials."""
    actor = _actor(run)
    used: set[str] = set()
    held_partner = _partners_of(run, held)[0]
    used.add(held_partner)
    held_actual = _established(run, held_doc, held_partner, _direction(run, held))
    _call_op(run, actor, held_actual, {"operationName": "Hold"}, "Held", "the actor holds the first call")
    active_partner = _partners_of(run, active, used)[0]
    _established(run, active_doc, active_partner, _direction(run, active))


def _swap_recipe(run: Run) -> None:
    documented, url_call = _url_call(run)
    body = _first_body(run)
    other_doc = str(body.get("otherCallUri", "")).rstrip("/").rsplit("/", 1)[-1] or None
    other = run.plan.call(other_doc)
    # The call in the URL ends Held, so it was the active one; the other ends Established, so it was held.
    _swap_pair(run, other_doc, other, documented, url_call)


def _merge_recipe(run: Run) -> None:
    """E314: the call in the URL is the established one, otherCallUri names the held one."""
    url_call = run.plan.call("{id}")
    other = run.plan.call("{other_id}")
    if url_call is None or other is None:
        raise NotRunnable("E314's decided notifications name no calls")
    _swap_pair_placeholders(run, other, url_call)


def _swap_pair_placeholders(run: Run, held: DocCall, active: DocCall) -> None:
    actor = _actor(run)
    held_partner = _partners_of(run, held)[0]
    held_actual = _established(run, None, held_partner, _direction(run, held))
    run.bindings.bind_placeholder("other_id", held_actual, "call")
    _call_op(run, actor, held_actual, {"operationName": "Hold"}, "Held", "the actor holds the first call")
    active_partner = _partners_of(run, active, {held_partner})[0]
    active_actual = _established(run, None, active_partner, _direction(run, active))
    run.bindings.bind_placeholder("id", active_actual, "call")


def _conference_recipe(run: Run) -> None:
    """MuteCall/UnmuteCall (E211) and RemoveParticipantFromConference (E315): the actor's own conference."""
    documented, call = _url_call(run)
    parties = [str(p) for p in run.plan.given.get("conference") or []]
    if len(parties) < 2:
        raise NotRunnable("no erratum decides which conference this sample starts from")
    direction = "in" if call is None else _direction(run, call)
    actual = _conference(run, documented, parties[0], parties[1], direction)
    if run.plan.given.get("mute") == "On":
        _call_op(run, _actor(run), actual, {"operationName": "MuteCall"}, "Established", "the actor mutes the call")


def _supervised_recipe(run: Run) -> None:
    """The supervisor monitors the documented call in the documented mode (E206, E304, E307, E309)."""
    plan = run.plan
    supervisor = _actor(run)
    documented = plan.request_call_id()
    body = _first_body(run)
    if documented is None and body.get("callUri"):
        documented = str(body["callUri"]).rstrip("/").rsplit("/", 1)[-1]
    call = plan.call(documented)
    if call is None or not call.dnis:
        raise NotRunnable("the fixture does not document the supervised call")
    agent_doc = call.dnis
    caller_doc = next((p for p in call.participants if p != agent_doc), None)
    if caller_doc is None:
        raise NotRunnable("the supervised call documents only one party")
    caps = set(call.first.get("capabilities") or [])
    op = plan.operation
    mode = str(plan.given.get("monitoring") or "")
    if not mode:
        if op == "SwitchToBargeIn":
            mode = "ListenIn"
        elif op == "SwitchToListenIn":
            mode = "BargeIn"
        else:
            mode = "BargeIn" if "SwitchToListenIn" in caps else "ListenIn"
    agent = run.cast.partner(agent_doc) if run.cast else None
    caller = run.cast.partner(caller_doc) if run.cast else None
    assert agent is not None and caller is not None
    device_path = f"/api/v2/me/devices/{supervisor.device_id}"
    target = f"{run.driver.base_url}/api/v2/devices/{agent.device_id}"
    run.post(supervisor, device_path, {"operationName": mode, "targetDeviceUri": target}, f"the supervisor {mode}")
    run.undo.append(
        (
            "cancel monitoring",
            lambda: supervisor.post(device_path, json={"operationName": "CancelSupervisorMonitoring"}),
        )
    )
    run.await_message(supervisor, "the supervisor's device shows the monitoring", channel=DEVICES)
    _caller_call, agent_call, _ = _dial(run, caller, str(agent.number))
    if agent_call is None:
        raise SetupFailed("the call to the monitored agent did not ring")
    _answer(run, agent, agent_call)
    joined = run.await_message(
        supervisor, "the supervisor joins the call", message_type="CallStateChangeMessage", state="Established"
    )
    actual = _call_id(joined)
    _bind_call(run, documented, actual)
    uuid = joined["data"]["call"].get("callUuid")
    if call.uuid and uuid:
        run.bindings.check("uuid", call.uuid, str(uuid))
    if op == "UnmuteMonitoredUser":
        run.post(
            supervisor,
            f"/api/v2/me/calls/{actual}",
            {"operationName": "MuteMonitoredUser"},
            "the supervisor mutes the agent",
        )
        run.await_message(
            supervisor, "the agent is muted", call_id=actual, notification_type="MonitoredUserMutedStateChange"
        )


# ---- device and agent state -----------------------------------------------------------------------------------
def _documented_device(run: Run) -> dict[str, Any] | None:
    for step in run.plan.steps:
        for note in step.notifications:
            devices = (note["message"].get("data") or {}).get("devices")
            if isinstance(devices, list) and devices:
                return dict(devices[0])
        body = (step.response or {}).get("body")
        if isinstance(body, Mapping):
            devices = body.get("devices") or ((body.get("user") or {}).get("devices"))
            if isinstance(devices, list) and devices and isinstance(devices[0], Mapping):
                return dict(devices[0])
    return None


def _set_device(
    run: Run,
    session: GwsAgent,
    *,
    user_state: Mapping[str, Any] | None = None,
    operation: str | None = None,
    dnd: str | None = None,
    forward_to: str | bool | None = False,
    monitoring: Mapping[str, Any] | bool | None = False,
) -> None:
    """Bring ``session``'s device to the given state; only changes are sent (duplicates are ignored by GWS).

    When something was sent, the device's notification of the final state is awaited (a positive signal): a
    notification still on its way would otherwise be taken for the sample's — a late one under load did that."""
    run.remember(session)
    view = session.device_view() or {}
    path = f"/api/v2/me/devices/{session.device_id}"
    sent: list[str] = []

    def post(body: dict[str, Any], what: str, to: str = path) -> None:
        run.post(session, to, body, what)
        sent.append(what)

    if monitoring is not False:
        current = view.get("supervisorMonitoringState")
        if monitoring is None and current:
            post({"operationName": "CancelSupervisorMonitoring"}, "cancel monitoring")
        elif isinstance(monitoring, Mapping):
            if current:
                post({"operationName": "CancelSupervisorMonitoring"}, "cancel monitoring")
            post(dict(monitoring), f"start {monitoring.get('operationName')}")
    if forward_to is not False and view.get("forwardTo") != forward_to:
        if forward_to:
            post({"operationName": "ForwardCallsOn", "destination": forward_to}, "forward calls")
        else:
            post({"operationName": "ForwardCallsOff"}, "stop forwarding")
    if dnd in ("On", "Off") and view.get("doNotDisturb") != dnd:
        post({"operationName": f"DoNotDisturb{dnd}"}, f"do-not-disturb {dnd}")
    if operation is None and user_state:
        operation = run.agent_state_operation(session, user_state)
    if operation:
        current_state = view.get("userState") or {}
        if not user_state or not _same_state(current_state, user_state):
            post({"operationName": operation}, f"agent state {operation}", "/api/v2/me/channels/voice")
    if sent and session.has_cometd:
        _await_device(session, forward_to=forward_to, dnd=dnd, user_state=user_state)


def _await_device(
    session: GwsAgent,
    *,
    forward_to: str | bool | None,
    dnd: str | None,
    user_state: Mapping[str, Any] | None,
) -> None:
    """Wait (briefly) for the DeviceStateChangeMessage showing the device as set. A target that does not notify
    some change is not failed here: the sample's own comparison judges notifications."""

    def settled(message: Any) -> bool:
        data = message.get("data") if isinstance(message, Mapping) else None
        devices = data.get("devices") if isinstance(data, Mapping) else None
        if not isinstance(devices, list) or not devices or not isinstance(devices[0], Mapping):
            return False
        device = devices[0]
        state = device.get("userState")
        state = state if isinstance(state, Mapping) else {}
        return (
            (forward_to is False or device.get("forwardTo") == (forward_to or None))
            and (dnd not in ("On", "Off") or device.get("doNotDisturb") == dnd)
            and (not user_state or state.get("state") == user_state.get("state"))
        )

    with contextlib.suppress(ConformanceFailure):
        session.cometd.await_message(settled, DEVICE_SETTLE_SECONDS, description="the device's new state")


def _same_state(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    if wanted.get("displayName") and current.get("displayName"):
        return bool(
            current.get("displayName") == wanted.get("displayName") and current.get("state") == wanted.get("state")
        )
    return bool(current.get("state") == wanted.get("state") and current.get("workMode") == wanted.get("workMode"))


def _other_state(documented: Mapping[str, Any]) -> str:
    """An agent-state operation different from the documented one, so the request changes something."""
    return "NotReady" if documented.get("state") == "Ready" else "Ready"


def _device_recipe(run: Run) -> None:
    """Device operations and agent-state operations: the documented device state before the request."""
    plan = run.plan
    actor = _actor(run)
    op = plan.operation or ""
    device = _documented_device(run) or {}
    user_state = device.get("userState") or {}
    dnd = device.get("doNotDisturb")
    forward: str | bool | None = False
    monitoring: Mapping[str, Any] | bool | None = None if op in ("ListenIn", "Coach", "BargeIn") else False
    if op in ("DoNotDisturbOn", "DoNotDisturbOff"):
        dnd = "Off" if op == "DoNotDisturbOn" else "On"
    if op == "ForwardCallsOn":
        forward = None
    elif op == "ForwardCallsOff":
        documented = plan.given.get("forwardTo")
        if not documented:
            raise NotRunnable("no erratum decides where the device forwards before ForwardCallsOff")
        forward = _number(run, str(documented))
    elif "forwardTo" in device:
        forward = _number(run, str(device["forwardTo"]))
    elif device:
        forward = None
    if op == "CancelSupervisorMonitoring":
        target = next(iter(run.cast.devices.values()), None) if run.cast else None
        if target is None:
            target = next((a for a in run.driver.agents if a is not actor), None)
        if target is None:
            raise NotRunnable("monitoring needs an agent to monitor")
        monitoring = {
            "operationName": "ListenIn",
            "targetDeviceUri": f"{run.driver.base_url}/api/v2/devices/{target.device_id}",
        }
    operation = None
    if op in AGENT_STATE_OPERATIONS:
        operation = _other_state(user_state)
        user_state = {
            "state": "Ready" if operation == "Ready" else "NotReady",
            "displayName": "Ready" if operation == "Ready" else "Not Ready",
        }
    _set_device(
        run,
        actor,
        user_state=user_state or None,
        operation=operation,
        dnd=dnd,
        forward_to=forward,
        monitoring=monitoring,
    )


def _notification(run: Run) -> None:
    """A message shown on its own: build the state before it and set :attr:`Run.cause` to what sends it."""
    plan = run.plan
    note = next((n for s in plan.steps for n in s.notifications), None)
    if note is None:
        raise NotRunnable("the fixture documents no message")
    if note.get("transport") == "push":
        _push(run, note)
        return
    data = note["message"].get("data") or {}
    kind = data.get("messageType")
    if kind == "CallStateChangeMessage":
        _call_notification(run, data)
    elif kind == "DeviceStateChangeMessage":
        _device_notification(run, dict((data.get("devices") or [{}])[0]))
    elif kind == "ErrorMessage":
        _error_notification(run, data)
    elif kind == "ServiceStateChangeMessage":
        _service_notification(run, data)
    else:
        raise NotRunnable(f"no recipe causes a {kind}")


def _call_notification(run: Run, data: Mapping[str, Any]) -> None:
    view = data.get("call") or {}
    documented = str(view.get("id"))
    call = run.plan.call(documented)
    actor = _actor(run)
    partner = _partners_of(run, call)[0]
    direction = _direction(run, call)
    user_data = dict(view.get("userData") or {})
    _configure_filters(run, view)
    state = view.get("state")
    if state == "Ringing":
        run.cause = lambda: _dial_actor(run, partner, user_data, await_actor=False) and None
        return
    if state == "Established" and direction == "in":
        actual = _ringing(run, documented, partner, user_data)
        run.cause = lambda: (
            run.post(actor, f"/api/v2/me/calls/{actual}", {"operationName": "Answer"}, "the actor answers") and None
        )
        return
    if state == "Established":
        partner_session = run.cast.partner(partner) if run.cast else None
        assert partner_session is not None
        actual, callee_call, _ = _dial(run, actor, _number(run, partner), user_data)
        _bind_call(run, documented, actual)
        if callee_call is None:
            raise SetupFailed("the call did not ring on the partner")
        run.cause = lambda: (
            run.post(
                partner_session, f"/api/v2/me/calls/{callee_call}", {"operationName": "Answer"}, "the partner answers"
            )
            and None
        )
        return
    raise NotRunnable(f"no recipe produces a {state} call on its own")


def _configure_filters(run: Run, view: Mapping[str, Any]) -> None:
    """toast/case members need the voice settings toast-filter/case-filter (003 l.2527-2790)."""
    for member, setting in (("toast", "toast-filter"), ("case", "case-filter")):
        entries = view.get(member)
        if isinstance(entries, list):
            value = [{"attachedDataKey": e.get("key"), "displayName": e.get("displayName")} for e in entries]
            _ensure_setting(run, "voice", {"name": setting, "value": value})


def _device_notification(run: Run, device: Mapping[str, Any]) -> None:
    actor = _actor(run)
    user_state = device.get("userState") or {}
    dnd = device.get("doNotDisturb")
    path = f"/api/v2/me/devices/{actor.device_id}"
    if dnd == "On":
        _set_device(run, actor, user_state=user_state, dnd="Off", forward_to=None)
        run.cause = lambda: run.post(actor, path, {"operationName": "DoNotDisturbOn"}, "do-not-disturb on") and None
        return
    target = run.agent_state_operation(actor, user_state)
    if not target:
        raise NotRunnable("the documented agent state has no operation")
    other = _other_state(user_state)
    _set_device(run, actor, operation=other, user_state={"state": other}, dnd=dnd, forward_to=None)
    run.cause = lambda: (
        run.post(actor, "/api/v2/me/channels/voice", {"operationName": target}, f"agent state {target}") and None
    )


def _error_notification(run: Run, data: Mapping[str, Any]) -> None:
    actor = _actor(run)
    if data.get("callUri"):
        events = run.driver.events
        if events is None:
            raise NotRunnable("a T-Server refusal of a call operation needs an event source (control API faults)")
        documented = str(data["callUri"]).rstrip("/").rsplit("/", 1)[-1]
        partner = _partners_of(run, None)[0]
        actual = _established(run, documented, partner, "out")
        events.gws_fault(
            kind="error",
            operation="Hold",
            user=actor.username,
            message=str(data.get("errorMessage") or "Incorrect object state"),
        )
        run.cause = lambda: (
            run.post(
                actor, f"/api/v2/me/calls/{actual}", {"operationName": "Hold"}, "the actor holds (T-Server refuses)"
            )
            and None
        )
        return
    unknown_dn = run.driver.config.gws.unknown_dn  # no device has it: T-Server refuses ("Invalid Called Dn")
    run.cause = lambda: (
        run.post(
            actor,
            f"/api/v2/me/devices/{actor.device_id}/calls",
            {"operationName": "Dial", "destination": {"phoneNumber": unknown_dn}},
            f"the actor dials the unknown DN {unknown_dn}",
        )
        and None
    )


def _service_notification(run: Run, data: Mapping[str, Any]) -> None:
    events = run.driver.event_source
    events.require("voice-service")
    state = str((data.get("service") or {}).get("state"))
    if state == "Active":
        _voice_service(run, "Inactive")
        run.cause = lambda: events.voice_service("Active")
    else:
        run.undo.append(("voice service back", lambda: events.voice_service("Active")))
        run.cause = lambda: events.voice_service(state)


def _voice_service(run: Run, state: str) -> None:
    events = run.driver.event_source
    events.require("voice-service")
    events.voice_service(state)
    run.undo.append(("voice service back", lambda: events.voice_service("Active")))


def _push(run: Run, note: Mapping[str, Any]) -> None:
    """Push delivery (003 l.10868-10945): a mobile session and no CometD session; observed on the mock only."""
    events = run.driver.events
    if events is None:
        raise NotRunnable("push notifications can only be observed through the mock's control API (E319)")
    actor = _actor(run)
    message = note["message"]
    run.post(
        actor,
        "/api/v2/me",
        {
            "operationName": "StartContactCenterSession",
            "channels": ["voice"],
            "mobileSession": {"mobileDeviceId": "voicekit-replay", "mobilePushType": "IOS"},
        },
        "start a session with a mobile session",
    )
    run.undo.append(
        ("end the mobile session", lambda: actor.post("/api/v2/me", json={"operationName": "EndContactCenterSession"}))
    )
    run.driver.settle_inboxes([actor])
    actor.close_cometd()
    if message.get("messageType") == "CallStateChangeMessage":
        partner = _partners_of(run, None)[0]
        run.cause = lambda: _dial_actor(run, partner, None, await_actor=False) and None
    else:
        device = str(message.get("deviceId"))
        run.bindings.bind("device", device, str(actor.device_id))
        path = f"/api/v2/me/devices/{actor.device_id}"
        run.cause = lambda: run.post(actor, path, {"operationName": "DoNotDisturbOn"}, "do-not-disturb on") and None


def _state_recipe(run: Run) -> None:
    """GETs that read the current state (recovering state, devices): the documented device state and calls."""
    actor = _actor(run)
    device = _documented_device(run)
    if device:
        _set_device(
            run,
            actor,
            user_state=device.get("userState") or None,
            dnd=device.get("doNotDisturb"),
            forward_to=_number(run, str(device["forwardTo"])) if device.get("forwardTo") else None,
        )
    used: set[str] = set()
    for documented, call in run.plan.calls.items():
        if call.last.get("state") != "Established":
            raise NotRunnable(f"no recipe builds a {call.last.get('state')} call for a state read")
        partner = _partners_of(run, call, used)[0]
        used.add(partner)
        _established(run, documented, partner, _direction(run, call), call.user_data)


# ---- sessions --------------------------------------------------------------------------------------------------
def _session_recipe(run: Run) -> None:
    actor = _actor(run)
    op = run.plan.operation
    if op == "EndContactCenterSession":
        run.post(
            actor,
            "/api/v2/me",
            {"operationName": "StartContactCenterSession", "channels": ["voice"]},
            "start the session to end",
        )
        return
    run.undo.append(
        ("end the session", lambda: actor.post("/api/v2/me", json={"operationName": "EndContactCenterSession"}))
    )


# ---- settings ----------------------------------------------------------------------------------------------------
def _admin(run: Run) -> GwsAgent:
    admin = run.driver.admin
    if admin is None:
        raise NotRunnable("configuring settings needs an administrator (gws.admin)")
    return admin


def _group_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) >= 4 and parts[:3] == ["api", "v2", "settings"]:
        return parts[3]
    return None


def _read_group(run: Run, group: str) -> tuple[str, list[dict[str, Any]]] | None:
    """(key, settings) of a settings group, or None when it does not exist."""
    response = _admin(run).get(f"/api/v2/settings/{group}")
    body = response.json_or_none()
    if response.status != 200 or not isinstance(body, Mapping):
        return None
    settings = body.get("settings")
    return str(body.get("key") or "name"), [dict(s) for s in settings] if isinstance(settings, list) else []


def _snapshot_group(run: Run, group: str) -> None:
    """Restore the group exactly (same settings, same order) after the replay."""
    before = _read_group(run, group)

    def restore() -> None:
        now = _read_group(run, group)
        if before is None:
            if now is not None:
                _admin(run).delete(f"/api/v2/settings/{group}")
            return
        key, settings = before
        if now is None:
            _admin(run).post("/api/v2/settings", json={"name": group, "displayName": group, "key": key})
            now = (key, [])
        if now[1] == settings:
            return
        admin = _admin(run)
        keep: list[dict[str, Any]] = []
        for setting in now[1]:
            response = admin.delete(f"/api/v2/settings/{group}", json={key: setting.get(key)})
            if response.status != 200:
                keep.append(setting)
        for setting in settings:
            match = next((s for s in keep if s.get(key) == setting.get(key)), None)
            if match is None:
                admin.post(f"/api/v2/settings/{group}", json=setting)
            elif match != setting:
                admin.put(f"/api/v2/settings/{group}", json=setting)

    run.undo.append((f"restore settings group {group}", restore))


def _ensure_setting(run: Run, group: str, setting: Mapping[str, Any]) -> None:
    admin = _admin(run)
    found = _read_group(run, group)
    if found is None:
        raise NotRunnable(f"the settings group {group} does not exist on the target")
    key, settings = found
    _snapshot_group(run, group)
    current = next((s for s in settings if s.get(key) == setting.get(key)), None)
    if current is None:
        run.ok(admin.post(f"/api/v2/settings/{group}", json=dict(setting)), f"create {group} {setting.get(key)}")
    elif current != dict(setting):
        run.ok(admin.put(f"/api/v2/settings/{group}", json=dict(setting)), f"update {group} {setting.get(key)}")


def _absent_setting(run: Run, group: str, key_value: str) -> None:
    admin = _admin(run)
    found = _read_group(run, group)
    if found is None:
        return
    key, settings = found
    _snapshot_group(run, group)
    if any(s.get(key) == key_value for s in settings):
        run.ok(admin.delete(f"/api/v2/settings/{group}", json={key: key_value}), f"delete {group} {key_value}")


def _documented_setting(run: Run, group: str, key: str, key_value: str) -> dict[str, Any]:
    """The corpus fixture that creates this setting (its ``given``), else a placeholder value."""
    for fixture in run.replayer.corpus.fixtures:
        request = fixture.data.get("request") or {}
        body = request.get("body")
        if (
            request.get("method") == "POST"
            and request.get("path") == f"/api/v2/settings/{group}"
            and isinstance(body, Mapping)
            and body.get(key) == key_value
        ):
            return dict(body)
    return {key: key_value, "value": "voicekit-replay"}


def _ensure_group(run: Run, group: str, key: str = "name", display: str | None = None) -> None:
    if _read_group(run, group) is not None:
        return
    admin = _admin(run)
    run.ok(
        admin.post("/api/v2/settings", json={"name": group, "displayName": display or group, "key": key}),
        f"create settings group {group}",
    )
    run.undo.append((f"delete settings group {group}", lambda: admin.delete(f"/api/v2/settings/{group}")))


def _settings_recipe(run: Run) -> None:
    step = run.plan.steps[0]
    request = step.request or {}
    method = str(request.get("method"))
    path = str(request.get("path"))
    body = request.get("body")
    group = _group_of(path)
    if path.rstrip("/") == "/api/v2/settings":
        if method == "POST" and isinstance(body, Mapping):  # createSettingsGroup: absent first
            name = str(body.get("name"))
            if _read_group(run, name) is not None:
                _snapshot_whole_group(run, name)
                run.ok(_admin(run).delete(f"/api/v2/settings/{name}"), f"delete settings group {name}")
            else:
                run.undo.append(
                    (f"delete settings group {name}", lambda: _admin(run).delete(f"/api/v2/settings/{name}"))
                )
        elif method == "GET":
            _ensure_listed_groups(run, step)
        return
    if group is None:
        return
    if _read_group(run, group) is None:
        _ensure_documented_group(run, group)
    found = _read_group(run, group)
    if found is None:
        raise NotRunnable(f"the settings group {group} does not exist on the target")
    key, _settings = found
    setting = _unwrap_setting(body)
    if method == "DELETE" and body is None:  # deleteSettingsGroup
        _snapshot_whole_group(run, group)
        return
    if method == "POST" and setting is not None:
        _absent_setting(run, group, str(setting.get(key)))
    elif method in ("PUT", "DELETE") and setting is not None:
        key_value = str(setting.get(key))
        if group == "access-control":
            _snapshot_group(run, group)
            return
        existing = next((s for s in (_read_group(run, group) or (key, []))[1] if s.get(key) == key_value), None)
        if existing is None:
            _ensure_setting(run, group, _documented_setting(run, group, key, key_value))
        else:
            _snapshot_group(run, group)
    elif method == "GET":
        _ensure_documented_settings(run, group, key, step)


def _ensure_documented_group(run: Run, group: str) -> None:
    """A custom group the sample uses: created as the corpus documents it (general/settings/group-create)."""
    for fixture in run.replayer.corpus.fixtures:
        request = fixture.data.get("request") or {}
        body = request.get("body")
        if (
            request.get("method") == "POST"
            and request.get("path") == "/api/v2/settings"
            and isinstance(body, Mapping)
            and body.get("name") == group
        ):
            _ensure_group(run, group, str(body.get("key") or "name"), str(body.get("displayName") or group))
            return


def _unwrap_setting(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, Mapping):
        return None
    if isinstance(body.get("settings"), Mapping) and "name" not in body:
        return dict(body["settings"])
    return dict(body)


def _snapshot_whole_group(run: Run, group: str) -> None:
    """Before deleting a whole group: recreate it with its settings afterwards."""
    found = _read_group(run, group)
    if found is None:
        return
    key, settings = found
    listing = _admin(run).get("/api/v2/settings").json_or_none() or {}
    entry: dict[str, Any] = next((g for g in listing.get("settings") or [] if g.get("name") == group), {})
    display = entry.get("displayName") or group

    def restore() -> None:
        admin = _admin(run)
        if _read_group(run, group) is None:
            admin.post("/api/v2/settings", json={"name": group, "displayName": display, "key": key})
        now = (_read_group(run, group) or (key, []))[1]
        for setting in settings:
            if setting not in now:
                admin.post(f"/api/v2/settings/{group}", json=setting)

    run.undo.append((f"restore settings group {group}", restore))


def _ensure_documented_settings(run: Run, group: str, key: str, step: Step) -> None:
    """A documented GET shows the group's settings: make them so (and remove others unless compared as subset)."""
    body = (step.response or {}).get("body")
    if not isinstance(body, Mapping) or not isinstance(body.get("settings"), list):
        return
    if group == "agent-states":
        return  # system operations are fixed; the custom one is created by the seed or create-custom's undo
    documented = [dict(s) for s in body["settings"] if isinstance(s, Mapping)]
    subset = (step.response or {}).get("match") in ("subset", "shape") or step.rules.subset_at(("body", "settings"))
    admin = _admin(run)
    _snapshot_group(run, group)
    current = (_read_group(run, group) or (key, []))[1]
    if not subset:
        for setting in current:
            if setting not in documented:
                admin.delete(f"/api/v2/settings/{group}", json={key: setting.get(key)})
        current = (_read_group(run, group) or (key, []))[1]
    for setting in documented:
        match = next((s for s in current if s.get(key) == setting.get(key)), None)
        if match is None:
            run.ok(admin.post(f"/api/v2/settings/{group}", json=setting), f"create {group} {setting.get(key)}")
        elif match != setting:
            run.ok(admin.put(f"/api/v2/settings/{group}", json=setting), f"update {group} {setting.get(key)}")


def _ensure_listed_groups(run: Run, step: Step) -> None:
    body = (step.response or {}).get("body")
    if not isinstance(body, Mapping):
        return
    for entry in body.get("settings") or []:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name") or str(entry.get("uri", "")).rstrip("/").rsplit("/", 1)[-1]
        if name and _read_group(run, str(name)) is None:
            _ensure_group(run, str(name), str(entry.get("key") or "name"), str(entry.get("displayName") or name))


# ---- provisioning ------------------------------------------------------------------------------------------------
def _create_users_recipe(run: Run) -> None:
    """createUser samples: the users the request creates are deleted afterwards, also when the test fails.

    post-create sends one user (E127), partial-success-create a list whose duplicate exists first (E116).
    A user of that name that existed before the test is the target's own and is left alone.
    """
    step = run.plan.steps[0]
    body = (step.request or {}).get("body")
    admin = _admin(run)
    if not isinstance(body, Mapping):
        return
    users = body["users"] if isinstance(body.get("users"), list) else [body]
    names = {str(u.get("userName")) for u in users if isinstance(u, Mapping) and u.get("userName")}
    existing = set(_user_ids(admin, names))
    run.undo.append(("delete the created users", lambda: _delete_users(admin, names - existing)))
    failed = [f.get("userName") for f in ((step.response or {}).get("body") or {}).get("failed") or []]
    for user in users:
        if isinstance(user, Mapping) and user.get("userName") in failed and user.get("userName") not in existing:
            payload = {"password": "voicekit-replay", **dict(user)}
            run.ok(admin.post("/api/v2/users", json=payload), f"create {user.get('userName')} first")


def _user_ids(admin: GwsAgent, names: Iterable[str]) -> dict[str, str]:
    """``userName → id`` of the target's users among ``names``."""
    wanted = set(names)
    listing = admin.get("/api/v2/users", params={"fields": "id,userName"}).json_or_none() or {}
    return {
        str(u["userName"]): str(u["id"])
        for u in listing.get("users") or []
        if isinstance(u, Mapping) and u.get("userName") in wanted and u.get("id")
    }


def _delete_users(admin: GwsAgent, names: Iterable[str]) -> list[str]:
    """Delete the users named ``names`` (one bulk DELETE); the ids deleted."""
    doomed = list(_user_ids(admin, names).values())
    if doomed:
        admin.delete("/api/v2/users", json={"uris": [f"/api/v2/users/{i}" for i in doomed]})
    return doomed


def _delete_users_recipe(run: Run) -> None:
    """partial-success-delete: uri1 and uri2 are users created for the purpose, uri3 names none (E115)."""
    admin = _admin(run)
    created = []
    for index in (1, 2):
        name = f"voicekit-replay-{index}@example.com"
        response = run.ok(
            admin.post(
                "/api/v2/users",
                json={
                    "userName": name,
                    "password": "voicekit-replay",
                    "firstName": "Replay",
                    "lastName": str(index),
                    "roles": ["ROLE_AGENT"],
                },
            ),
            f"create {name}",
        )
        created.append(str((response.json_or_none() or {}).get("uri")))
    tokens = {"uri1": created[0], "uri2": created[1], "uri3": "/users/voicekit-replay-missing"}
    run.rewrite = lambda body: _replace_tokens(body, tokens)


def _replace_tokens(value: Any, tokens: Mapping[str, str]) -> Any:
    """Template tokens of a documented body (``uri1``) replaced by the resources a recipe made for them."""
    if isinstance(value, Mapping):
        return {k: _replace_tokens(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_tokens(v, tokens) for v in value]
    return tokens.get(value, value) if isinstance(value, str) else value


def _placeholders(run: Run) -> None:
    """``{placeholders}`` of request paths that name existing resources: the target's own."""
    for step in run.plan.steps:
        if not step.request:
            continue
        for name in step.request.get("placeholders") or []:
            if run.bindings.placeholder(name) is not None:
                continue
            value = _resolve_placeholder(run, str(name), str(step.request["path"]))
            if value is not None:
                run.bindings.bind_placeholder(str(name), value)


def _resolve_placeholder(run: Run, name: str, path: str) -> str | None:
    admin = run.driver.admin
    reader = admin or (run.cast.actor if run.cast else None)
    if reader is None:
        return None
    if name == "queue_id":
        return _first_id(reader, "/api/v2/queues")
    if name == "service_id":
        return _first_id(reader, "/api/v2/services")
    if name == "user_id":
        for agent in run.driver.agents:
            body = reader.get(f"/api/v2/users/{agent.user_id}", params={"subresources": "*"}).json_or_none() or {}
            if (body.get("user") or {}).get("skills"):
                return agent.user_id
        return run.driver.agents[0].user_id if run.driver.agents else None
    if name in ("device_id", "id") and path.startswith("/api/v2/devices/"):
        agents = run.driver.agents
        return agents[0].device_id if agents else None
    return None


def _first_id(session: GwsAgent, path: str) -> str | None:
    body = session.get(path).json_or_none() or {}
    uris = body.get("uris") or []
    return str(uris[0]).rstrip("/").rsplit("/", 1)[-1] if uris else None


# ---- disposition groups (E322-E325) ------------------------------------------------------------------------
def _create_group(run: Run, name: str, parent: str | None = None) -> str:
    admin = _admin(run)
    path = f"/api/v2/groups/{parent}/groups" if parent else "/api/v2/groups"
    response = run.ok(admin.post(path, json={"name": name, "contains": "dispositions"}), f"create group {name}")
    group_id = str((response.json_or_none() or {}).get("id"))
    if parent is None:
        run.undo.append((f"delete group {name}", lambda: admin.delete(f"/api/v2/groups/{group_id}")))
    return group_id


def _create_disposition(run: Run, group_id: str, name: str, display: str) -> str:
    response = run.ok(
        _admin(run).post(f"/api/v2/groups/{group_id}/dispositions", json={"name": name, "displayName": display}),
        f"create disposition {name}",
    )
    return str((response.json_or_none() or {}).get("id") or name)


def _build_tree(run: Run, node: Mapping[str, Any], parent: str | None, fallback: str) -> str:
    name = str(node.get("name") or fallback)
    group_id = _create_group(run, name, parent)
    for disposition in node.get("dispositions") or []:
        if isinstance(disposition, Mapping) and disposition.get("name"):
            _create_disposition(
                run, group_id, str(disposition["name"]), str(disposition.get("displayName") or disposition["name"])
            )
    for index, child in enumerate(node.get("groups") or [], 1):
        if isinstance(child, Mapping):
            _build_tree(run, child, group_id, f"{name}-{index}")
    return group_id


def _groups_recipe(run: Run) -> None:
    plan = run.plan
    step = plan.steps[0]
    op = plan.operation
    body = (step.response or {}).get("body")
    if op in ("getGroup", "listGroupDispositions"):
        tree = body if isinstance(body, Mapping) else {}
        root = _build_tree(run, tree, None, "voicekit-replay")
        run.bindings.bind_placeholder("id", root, "id:groups")
    elif op in ("createGroupDisposition", "createSubGroup"):
        root = _create_group(run, "voicekit-replay")
        run.bindings.bind_placeholder("id", root, "id:groups")
    elif op == "createGroup":
        admin = _admin(run)

        def forget(response: Any) -> None:
            created = (response.json_or_none() or {}).get("id")
            if created:
                run.undo.append(("delete the created group", lambda: admin.delete(f"/api/v2/groups/{created}")))

        run.on_response.append(forget)
    elif op == "deleteGroupDisposition":
        root = _create_group(run, "voicekit-replay")
        run.bindings.bind_placeholder("id", root, "id:groups")
        disposition = _create_disposition(run, root, "voicekit-replay", "Replay")
        run.bindings.bind_placeholder("dispositionId", disposition, "id:dispositions")
    elif op == "deleteGroup":
        # A root group with a disposition and a sub-group (with one of its own); the documented {id} is the
        # sub-group in the sub-group example, the root otherwise.
        root = _create_group(run, "voicekit-replay")
        _create_disposition(run, root, "Disp1", "Dispo One")
        sub = _create_group(run, "Sub-group", root)
        _create_disposition(run, sub, "Disp4", "Dispo 4")
        target = sub if plan.id in SUB_GROUP_DELETIONS else root
        run.bindings.bind_placeholder("id", target, "id:groups")


# ---- CSRF -------------------------------------------------------------------------------------------------------
def _needs_csrf(run: Run) -> bool:
    """E125: the CSRF samples are replayed only where CSRF protection is on."""
    return run.plan.given.get("csrf") == "on"


def _csrf_on(run: Run) -> bool:
    session = run.cast.actor if run.cast and run.cast.actor else run.driver.admin
    if session is None:
        return False
    return bool(session.get("/api/v2/me").headers.get("X-CSRF-TOKEN"))


def _require_csrf(run: Run) -> None:
    if not _csrf_on(run):
        raise NotRunnable(
            "given: CSRF protection is enabled — the target answers GET /api/v2/me without "
            "X-CSRF-HEADER/X-CSRF-TOKEN (E125)"
        )


def _csrf_walkthrough(run: Run) -> None:
    """The CSRF code listings (JavaScript, Python) as request sequences; they need CSRF protection on."""
    _require_csrf(run)
    steps = run.plan.steps
    for step in steps:
        request = step.request
        if request and str(request.get("path", "")).startswith("/api/v2/users/{user_id}"):

            def bind_user(response: Any) -> None:
                created = (response.json_or_none() or {}).get("id")
                if created and run.bindings.placeholder("user_id") is None:
                    run.bindings.bind_placeholder("user_id", str(created))

            run.on_response.append(bind_user)
    admin = _admin(run)
    names = {
        str(((s.request or {}).get("body") or {}).get("userName"))
        for s in steps
        if isinstance((s.request or {}).get("body"), Mapping) and ((s.request or {}).get("body") or {}).get("userName")
    }
    existing = set(_user_ids(admin, names)) if names else set()  # the target's own users are left alone

    def delete_created() -> None:
        doomed = _delete_users(admin, names - existing)
        if (
            doomed
            and run.driver.events is not None
            and any("/devices" in str((s.request or {}).get("path")) for s in steps)
        ):
            # No documented request deletes a device: on the mock the created one goes with a reset.
            run.driver.reset_target()
            run.replayer.forget_agent_states()
            run.notes.append("the device the listing created was removed by resetting the mock")

    if names:
        run.undo.append(("delete the listing's user", delete_created))


# ---- dispatch ------------------------------------------------------------------------------------------------
_HANDLERS: dict[str, Callable[[Run], None]] = {
    "Answer": _answer_recipe,
    "Reject": _reject_recipe,
    "Retrieve": _retrieve_recipe,
    "Dial": _dial_recipe,
    "CompleteTransfer": _complete_recipe,
    "CompleteConference": _complete_recipe,
    "SwapCalls": _swap_recipe,
    "MergeWithOtherCall": _merge_recipe,
    "MuteCall": _conference_recipe,
    "UnmuteCall": _conference_recipe,
    "RemoveParticipantFromConference": _conference_recipe,
    "StartContactCenterSession": _session_recipe,
    "EndContactCenterSession": _session_recipe,
    "createUser": _create_users_recipe,
    "listMyCalls": _state_recipe,
    "listMyDevices": _state_recipe,
    "getMe": _state_recipe,
    "deleteUsers": _delete_users_recipe,
    **{op: _established_recipe for op in ESTABLISHED_OPERATIONS},
    **{op: _device_recipe for op in DEVICE_OPERATIONS | AGENT_STATE_OPERATIONS},
    **{op: _supervised_recipe for op in SUPERVISED_OPERATIONS},
    **{op: _settings_recipe for op in SETTINGS_OPERATIONS},
    **{op: _groups_recipe for op in GROUP_OPERATIONS},
}
