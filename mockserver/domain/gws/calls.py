"""Call operations of the Voice API (003 l.4817-9144, 10174-10617) as a state machine.

Every function runs under ``world.lock`` (the caller holds it), checks its preconditions, mutates the
world and publishes CallStateChangeMessages in the order the documents show: the requesting party's
own changes first, then the other parties'. A refused operation raises before changing anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mockserver.domain.errors import (
    InvalidState,
    MissingParameter,
    NotFound,
    ValidationFailed,
)
from mockserver.domain.gws.capabilities import call_capabilities
from mockserver.domain.gws.model import Call, Device, Party, User, UserState
from mockserver.domain.gws.views import call_view, device_path, device_view
from mockserver.domain.gws.world import World

CALLS = "/v2/me/calls"
DEVICES = "/v2/me/devices"


# ---- notifications ---------------------------------------------------------------------------------
def notify_call(world: World, call: Call, party: Party, notification_type: str) -> None:
    if party.device_id is None:
        return
    device = world.devices[party.device_id]
    if device.user_id is None:
        return
    data = {
        "messageType": "CallStateChangeMessage",
        "notificationType": notification_type,
        "call": call_view(world, call, party),
        "phoneNumber": device.phone_number,
    }
    world.publish(CALLS, data, device.user_id)


def notify_device(world: World, device: Device) -> None:
    if device.user_id is None:
        return
    world.publish(
        DEVICES, {"messageType": "DeviceStateChangeMessage", "devices": [device_view(world, device)]}, device.user_id
    )


def notify_error(world: World, device: Device, message: str, view_id: str | None = None) -> None:
    """A T-Server refusal, delivered asynchronously (003 l.1723-1779, 1876-1882)."""
    if device.user_id is None:
        return
    data: dict[str, Any] = {"messageType": "ErrorMessage", "deviceUri": device_path(device.id)}
    if view_id:
        data["callUri"] = f"/api/v2/me/calls/{view_id}"  # E106
    data["errorMessage"] = message
    world.publish(CALLS if view_id else DEVICES, data, device.user_id)


def notify_others(world: World, call: Call, first: Party, notification_type: str) -> None:
    """``first`` is told first, then every other internal party still on the call."""
    notify_call(world, call, first, notification_type)
    for party in call.active_parties():
        if party is not first:
            notify_call(world, call, party, notification_type)


# ---- helpers ------------------------------------------------------------------------------------------
def capabilities(world: World, call: Call, party: Party) -> list[str]:
    device = world.devices.get(party.device_id) if party.device_id else None
    others = [p for _, p in world.calls_of(party.device_id) if p is not party] if party.device_id else []
    return call_capabilities(call, party, device, others, mute_two_party="mute-on-two-party" in world.variants)


def require_capability(world: World, call: Call, party: Party, operation: str) -> None:
    if operation not in capabilities(world, call, party):
        raise InvalidState(f"{operation} is not valid for a call in state {party.state}")


def is_internal_number(number: str) -> bool:
    """Short digit strings are DNs of this switch; anything with + or more digits is external."""
    return number.isdigit() and len(number) <= 6


def route_target(world: World, number: str) -> Device | None:
    """The device a dialed number rings, following call forwarding once."""
    device = world.device_by_number(number)
    if device is not None and device.forward_to:
        forwarded = world.device_by_number(device.forward_to)
        return forwarded or device
    return device


def new_party(
    world: World,
    call: Call,
    *,
    device: Device | None,
    number: str,
    state: str,
    call_type: str,
    dnis: str,
    view_id: str | None = None,
    **extra: Any,
) -> Party:
    party = Party(
        key=device.id if device else f"ext:{number}:{len(call.parties)}",
        number=number,
        device_id=device.id if device else None,
        view_id=view_id or call.id,
        state=state,  # type: ignore[arg-type]
        call_type=call_type,  # type: ignore[arg-type]
        dnis=dnis,
        started=world.scheduler.now(),
        **extra,
    )
    call.parties.append(party)
    world.joined(call, party)
    return party


def release(world: World, call: Call, party: Party) -> None:
    """Mark one party released and remember what it saw, for its Released notification."""
    party.final_participants = (
        [p.number for p in call.others(party)]
        or party.final_participants
        or [p.number for p in call.parties if p is not party and not p.silent][:1]
    )
    party.state = "Released"
    world.released[f"{party.key}:{party.view_id}"] = (call, party)
    if party.device_id:
        _end_monitoring_after(world, party)
        if party.supervisor_mode is None:
            _start_wrap_up(world, world.devices[party.device_id])
            route_waiting_later(world)


def route_waiting_later(world: World) -> None:
    """Once the current operation is over (its notifications sent), offer calls waiting in queues to agents that
    became free — an agent who ends a call while Ready takes the next waiting call, as an ACD does."""
    if not any(world.queued_calls.values()):
        return

    def route() -> None:
        with world.lock:
            for queue in [q for q, waiting in world.queued_calls.items() if waiting]:
                route_queued(world, queue)

    world.scheduler.call_later(0, route)


def wrap_up_seconds(world: World) -> float:
    """The voice setting defaultWrapupTime, in seconds (003 l.2189-2192); 0 when not configured."""
    group = world.settings.get("voice")
    for setting in group.settings if group else []:
        if setting.get("name") == "defaultWrapupTime":
            try:
                return max(0.0, float(setting.get("value")))  # type: ignore[arg-type]  # refused: caught below
            except (TypeError, ValueError):
                return 0.0
    return 0.0


def _start_wrap_up(world: World, device: Device) -> None:
    """A Ready agent whose call ends gets after-call work, then is made Ready when the time is up."""
    seconds = wrap_up_seconds(world)
    if seconds <= 0 or device.user_state.state != "Ready":
        return
    acw = world.agent_state_op("AfterCallWork")
    device.user_state = UserState("NotReady", acw.work_mode if acw else "AfterCallWork", acw.reason if acw else None)
    notify_device(world, device)
    expected = device.user_state

    def back_to_ready() -> None:
        with world.lock:
            if device.user_state is expected and device.id in world.devices:
                device.user_state = UserState("Ready")
                notify_device(world, device)
                route_waiting_later(world)

    world.scheduler.call_later(seconds, back_to_ready)


def _end_monitoring_after(world: World, party: Party) -> None:
    """NextCall monitoring stops once the monitored call is over (003 l.9743-9752)."""
    for device in world.devices.values():
        monitoring = device.monitoring
        if (
            monitoring
            and monitoring.repeat == "NextCall"
            and monitoring.target_device_id == party.device_id
            and party.supervisor_mode is None
        ):
            device.monitoring = None
            notify_device(world, device)


def drop_if_finished(world: World, call: Call, order: Iterable[Party] = ()) -> None:
    """A call with fewer than two audible parties is over: release the rest and forget it."""
    audible = [p for p in call.active_parties() if not p.silent]
    if len(audible) < 2:
        remaining = list(order) + [p for p in call.active_parties() if p not in order]
        for party in remaining:
            if party.active:
                release(world, call, party)
                notify_call(world, call, party, "StatusChange")
    if not call.active_parties():
        world.calls.pop(call.id, None)
        for waiting in world.queued_calls.values():
            if call.id in waiting:
                waiting.remove(call.id)


def establish(world: World, call: Call, party: Party) -> None:
    """``party`` connects; callers then bring in supervisors with :func:`join_supervisors`."""
    party.state = "Established"


def join_supervisors(world: World, call: Call, agent_device_id: str) -> None:
    """Supervisors monitoring the agent's device are brought into its established call (003 l.9684-10094)."""
    agent = call.party(agent_device_id)
    if agent is None or agent.state != "Established":
        return
    for device in world.devices.values():
        monitoring = device.monitoring
        if not monitoring or monitoring.target_device_id != agent_device_id or call.party(device.id):
            continue
        supervisor = new_party(
            world,
            call,
            device=device,
            number=device.phone_number,
            state="Established",
            call_type=agent.call_type,
            dnis=agent.dnis,
            supervisor_mode=monitoring.mode,
            supervised_device_id=agent_device_id,
            monitoring_scope=monitoring.scope,
            mute=monitoring.mode == "ListenIn",
        )
        notify_call(world, call, supervisor, "StatusChange")
        if monitoring.mode == "BargeIn":
            for other in call.active_parties():
                if other is not supervisor:
                    notify_call(world, call, other, "ParticipantsUpdated")


def merged_user_data(world: World, requested: dict[str, Any] | None) -> dict[str, Any]:
    """voice-operations Dial defaults plus the request's userData; the request wins (003 l.2271-2277)."""
    data: dict[str, Any] = {}
    group = world.settings.get("voice-operations")
    if group:
        for setting in group.settings:
            if setting.get("operationName") == "Dial" and isinstance(setting.get("userData"), dict):
                data.update(setting["userData"])
    data.update(requested or {})
    return data


def _destination(params: dict[str, Any]) -> str:
    destination = params.get("destination")
    if not isinstance(destination, dict) or not destination.get("phoneNumber"):
        raise MissingParameter("A required parameter is missing: destination.phoneNumber")
    return str(destination["phoneNumber"])


def _other_call(world: World, user: User, party: Party, uri: Any) -> tuple[Call, Party]:
    if not isinstance(uri, str) or not uri:
        raise MissingParameter("A required parameter is missing: otherCallUri")
    other_id = uri.rstrip("/").rsplit("/", 1)[-1]
    call, other = world.find_view(user, other_id)
    if other is party or other.device_id != party.device_id:
        raise ValidationFailed("otherCallUri must name another call of the same device")
    return call, other


# ---- dialing and delivery -------------------------------------------------------------------------------
def dial(world: World, user: User, device: Device, params: dict[str, Any]) -> None:
    number = _destination(params)
    user_data = merged_user_data(world, params.get("userData"))
    place_call(world, device, number, user_data)


def place_call(
    world: World,
    device: Device,
    number: str,
    user_data: dict[str, Any],
    *,
    call_type: str | None = None,
    parent: Party | None = None,
    consult: str | None = None,
) -> Call | None:
    """Create a call from ``device`` to ``number``; T-Server refuses unknown DNs asynchronously."""
    target = route_target(world, number)
    if target is None and is_internal_number(number):
        notify_error(world, device, "Invalid Called Dn")
        return None
    if target is not None and target.id == device.id:
        notify_error(world, device, "Invalid Called Dn")
        return None
    call = Call(
        id=world.new_conn_id(), uuid=world.new_call_uuid(), created=world.scheduler.now(), user_data=dict(user_data)
    )
    world.calls[call.id] = call
    kind = call_type or ("Internal" if target is not None else "Outbound")
    caller = new_party(
        world,
        call,
        device=device,
        number=device.phone_number,
        state="Dialing",
        call_type=kind,
        dnis=number,
        parent_view_id=parent.view_id if parent else None,
        consult=consult,
    )
    if target is not None and target.dnd:
        # A device in do-not-disturb takes no calls: T-Server refuses the dial (voicekit decision, ERRATA).
        world.calls.pop(call.id, None)
        notify_error(world, device, "Destination is in do-not-disturb")
        return None
    if target is None:
        new_party(world, call, device=None, number=number, state="Ringing", call_type="Inbound", dnis=number)
        notify_call(world, call, caller, "StatusChange")
        return call
    callee = new_party(
        world,
        call,
        device=target,
        number=target.phone_number,
        state="Ringing",
        call_type=kind if kind == "Consult" else "Internal",
        dnis=target.phone_number,
    )
    notify_call(world, call, caller, "StatusChange")
    notify_call(world, call, callee, "StatusChange")
    return call


def caller_party(world: World, call: Call, ani: str, dnis: str) -> Party:
    """The party placing a call the control API delivers. A DN of this switch calls as itself: its device is
    the caller (and sees its Dialing call), so the delivered call stays Internal (E213); anything else is an
    external caller."""
    device = world.device_by_number(ani) if is_internal_number(ani) else None
    if device is None:
        return new_party(world, call, device=None, number=ani, state="Dialing", call_type="Outbound", dnis=dnis)
    return new_party(
        world, call, device=device, number=device.phone_number, state="Dialing", call_type="Internal", dnis=dnis
    )


def announce_caller(world: World, call: Call) -> None:
    """Tell a caller of this switch about its Dialing call. Called once whoever it reaches is on the call (as
    Dial does), so its first notification names the callee in participants/participantsInfo — or at once
    when the call waits in a queue, where nobody is there yet."""
    for party in call.active_parties():
        if party.internal and party.state == "Dialing":
            notify_call(world, call, party, "StatusChange")


def deliver_inbound(
    world: World,
    device: Device,
    *,
    ani: str,
    dnis: str | None = None,
    user_data: dict[str, Any] | None = None,
    queue: str | None = None,
    call_id: str | None = None,
    announce: bool = False,
) -> Call:
    """A caller reaches ``device`` (control API): the device rings — callType Inbound from an external caller,
    Internal from a DN of this switch (E213: also when the call comes through a queue). A new call, or one
    with ``announce``, also tells a caller of this switch about its Dialing call (``announce_caller``)."""
    call = world.calls.get(call_id) if call_id else None
    announce = announce or call is None
    if call is None:
        call = Call(
            id=world.new_conn_id(),
            uuid=world.new_call_uuid(),
            created=world.scheduler.now(),
            user_data=dict(user_data or {}),
            queue=queue,
        )
        world.calls[call.id] = call
        caller_party(world, call, ani, dnis or device.phone_number)
    internal = any(p.internal and p.state == "Dialing" for p in call.active_parties())
    callee = new_party(
        world,
        call,
        device=device,
        number=device.phone_number,
        state="Ringing",
        call_type="Internal" if internal else "Inbound",
        dnis=dnis or queue or device.phone_number,
        ani=None if internal else ani,
        via_queue=queue,
    )
    if announce:
        announce_caller(world, call)
    notify_call(world, call, callee, "StatusChange")
    return call


def remote_answers(world: World, call: Call) -> None:
    """An external party answers (control API): the dialing side becomes Established."""
    remote = next((p for p in call.active_parties() if not p.internal and p.state == "Ringing"), None)
    if remote is None:
        raise InvalidState("No external party is ringing on this call")
    establish(world, call, remote)
    for party in call.active_parties():
        if party.internal and party.state == "Dialing":
            establish(world, call, party)
            notify_call(world, call, party, "StatusChange")
            join_supervisors(world, call, party.device_id or "")


def remote_hangs_up(world: World, call: Call) -> None:
    """Every external party leaves (control API)."""
    externals = [p for p in call.active_parties() if not p.internal]
    if not externals:
        raise InvalidState("No external party is on this call")
    for party in externals:
        release(world, call, party)
    rest = [p for p in call.active_parties()]
    if len([p for p in rest if not p.silent]) >= 2:
        for party in rest:
            notify_call(world, call, party, "ParticipantsUpdated")
    drop_if_finished(world, call)


# ---- the operations of /me/calls/{id} -------------------------------------------------------------------
def answer(world: World, call: Call, party: Party) -> None:
    require_capability(world, call, party, "Answer")
    establish(world, call, party)
    if call.queue and call.id in world.queued_calls.get(call.queue, []):
        world.queued_calls[call.queue].remove(call.id)
    notify_call(world, call, party, "StatusChange")
    for other in call.active_parties():
        if other is not party and other.state == "Dialing":
            establish(world, call, other)
            notify_call(world, call, other, "StatusChange")
    for agent in [p for p in call.active_parties() if p.internal and not p.supervisor_mode]:
        join_supervisors(world, call, agent.device_id or "")


def reject(world: World, call: Call, party: Party) -> None:
    """Only calls delivered via a queue; the call goes back to that queue (003 l.5152-5234)."""
    require_capability(world, call, party, "Reject")
    queue = party.via_queue
    release(world, call, party)
    notify_call(world, call, party, "StatusChange")
    call.parties.remove(party)
    if queue:
        world.queued_calls.setdefault(queue, []).append(call.id)
        route_queued(world, queue, exclude={party.device_id or ""})


def route_queued(world: World, queue: str, exclude: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Offer waiting calls of ``queue`` to a Ready agent logged in to it (or any Ready agent)."""
    waiting = world.queued_calls.get(queue, [])
    for call_id in list(waiting):
        call = world.calls.get(call_id)
        if call is None:
            waiting.remove(call_id)
            continue
        # The caller is the Dialing party (a DN of this switch is internal too); anyone else already rings.
        if any(p.state != "Dialing" for p in call.active_parties()):
            continue
        device = pick_agent(world, queue, exclude)
        if device is None:
            return
        caller = next((p for p in call.active_parties() if p.state == "Dialing"), None)
        waiting.remove(call_id)
        deliver_inbound(world, device, ani=caller.number if caller else "", dnis=queue, queue=queue, call_id=call.id)


def pick_agent(world: World, queue: str, exclude: set[str]) -> Device | None:
    ready = [
        d
        for d in world.devices.values()
        if d.user_state.state == "Ready"
        and d.user_id
        and d.id not in exclude
        and not world.calls_of(d.id)
        and not d.dnd
    ]
    in_queue = [d for d in ready if queue in d.queues]
    chosen = in_queue or ready
    return chosen[0] if chosen else None


def hold(world: World, call: Call, party: Party) -> None:
    require_capability(world, call, party, "Hold")
    party.state = "Held"
    notify_call(world, call, party, "StatusChange")


def retrieve(world: World, call: Call, party: Party) -> None:
    require_capability(world, call, party, "Retrieve")
    party.state = "Established"
    notify_call(world, call, party, "StatusChange")


def hangup(world: World, call: Call, party: Party) -> None:
    require_capability(world, call, party, "Hangup")
    leave(world, call, party)


def leave(world: World, call: Call, party: Party) -> None:
    """``party`` leaves; a two-party call ends for everyone, a conference goes on without it."""
    release(world, call, party)
    notify_call(world, call, party, "StatusChange")
    audible = [p for p in call.active_parties() if not p.silent]
    if len(audible) >= 2:
        for other in call.active_parties():
            notify_call(world, call, other, "ParticipantsUpdated")
    drop_if_finished(world, call)


def send_dtmf(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    digits = params.get("digits")
    if not digits:
        raise MissingParameter("A required parameter is missing: digits")
    if not isinstance(digits, str) or not all(ch.isdigit() or ch in "*#" for ch in digits):
        raise ValidationFailed("digits must be a string of 0-9, * and #")
    require_capability(world, call, party, "SendDtmf")
    notify_call(world, call, party, "DtmfSent")


def mute(world: World, call: Call, party: Party, on: bool) -> None:
    require_capability(world, call, party, "MuteCall" if on else "UnmuteCall")
    party.mute = on
    if "mute-silent" not in world.variants:  # the variant: no notification, as the samples print none (E210)
        notify_call(world, call, party, "StatusChange")


# ---- conferences and transfers ----------------------------------------------------------------------------
def single_step_conference(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    number = _destination(params)
    require_capability(world, call, party, "SingleStepConference")
    target = route_target(world, number)
    if target is None and is_internal_number(number):
        notify_error(world, world.devices[party.device_id or ""], "Invalid Called Dn", party.view_id)
        return
    if isinstance(params.get("userData"), dict):
        call.user_data.update(params["userData"])
    call.user_data.setdefault("FirstConferencePartyDN", party.number)
    call.conference_owner = call.conference_owner or party.device_id
    if target is not None:
        joined = new_party(
            world,
            call,
            device=target,
            number=target.phone_number,
            state="Ringing",
            call_type="Internal",
            dnis=target.phone_number,
        )
    else:
        joined = new_party(
            world, call, device=None, number=number, state="Established", call_type="Inbound", dnis=number
        )
    notify_call(world, call, party, "ParticipantsUpdated")
    for other in call.active_parties():
        if other is party:
            continue
        notify_call(world, call, other, "StatusChange" if other is joined else "ParticipantsUpdated")


def initiate(world: World, call: Call, party: Party, params: dict[str, Any], kind: str) -> None:
    """InitiateConference / InitiateTransfer: hold this call, dial a consult call (003 l.6226-6407)."""
    number = _destination(params)
    operation = "InitiateConference" if kind == "conference" else "InitiateTransfer"
    require_capability(world, call, party, operation)
    device = world.devices[party.device_id or ""]
    party.state = "Held"
    notify_call(world, call, party, "StatusChange")
    user_data = dict(call.user_data)
    if isinstance(params.get("userData"), dict):
        user_data.update(params["userData"])
    consult = place_call(world, device, number, user_data, call_type="Consult", parent=party, consult=kind)
    if consult is None:
        party.state = "Established"
        notify_call(world, call, party, "StatusChange")


def _pair(
    world: World, user: User, call: Call, party: Party, params: dict[str, Any], key: str
) -> tuple[Call, Party, Call, Party]:
    """(held call, its party, active call, its party) for the two-step completions."""
    if params.get(key):
        other_call, other = _other_call(world, user, party, params[key])
    else:
        candidates = [(c, p) for c, p in world.calls_of(party.device_id or "") if p is not party]
        linked = [
            (c, p) for c, p in candidates if p.view_id == party.parent_view_id or p.parent_view_id == party.view_id
        ]
        chosen = linked or candidates
        if len(chosen) != 1:
            raise InvalidState("There is no related call to complete with")
        other_call, other = chosen[0]
    if party.state == "Held":
        return call, party, other_call, other
    return other_call, other, call, party


def complete_transfer(world: World, user: User, call: Call, party: Party, params: dict[str, Any]) -> None:
    require_capability(world, call, party, "CompleteTransfer")
    held_call, held, active_call, active = _pair(world, user, call, party, params, "consultCallUri")
    if held.state != "Held" or active.state not in ("Dialing", "Established"):
        raise InvalidState("CompleteTransfer needs one held call and one dialing or established call")
    moved = [p for p in active_call.active_parties() if p is not active]
    release(world, held_call, held)
    notify_call(world, held_call, held, "StatusChange")
    release(world, active_call, active)
    notify_call(world, active_call, active, "StatusChange")
    _move_parties(world, active_call, held_call, moved)
    _release_agent_scoped_supervisors(world, held_call, held.device_id)
    survivors = held_call.active_parties()
    if len([p for p in survivors if not p.silent]) >= 2:
        for other in survivors:
            notify_call(world, held_call, other, "ParticipantsUpdated")
    drop_if_finished(world, held_call)


def complete_conference(world: World, user: User, call: Call, party: Party, params: dict[str, Any]) -> None:
    require_capability(world, call, party, "CompleteConference")
    held_call, held, active_call, active = _pair(world, user, call, party, params, "consultCallUri")
    _merge(world, keep=(held_call, held), fold=(active_call, active))


def merge_with_other_call(world: World, user: User, call: Call, party: Party, params: dict[str, Any]) -> None:
    """Merge this call with otherCallUri into one conference (003 l.8569-8605): as E314 decides, the call in
    the URL is released first and the otherCallUri call survives with every party."""
    other_call, other = _other_call(world, user, party, params.get("otherCallUri"))
    states = {party.state, other.state}
    if states != {"Established", "Held"}:
        raise InvalidState("MergeWithOtherCall needs one established and one held call")
    _merge(world, keep=(other_call, other), fold=(call, party), silent="merge-as-printed" in world.variants)


def _merge(world: World, keep: tuple[Call, Party], fold: tuple[Call, Party], *, silent: bool = False) -> None:
    """The folded call's other parties join the kept call; its own leg is released first. ``silent``: the
    ``merge-as-printed`` variant — the merging agent is not notified (003 l.8594-8604 print nothing)."""
    keep_call, keep_party = keep
    fold_call, fold_party = fold
    if fold_party.state not in ("Established", "Held", "Dialing") or keep_party.state not in ("Established", "Held"):
        raise InvalidState("Both calls must be connected to complete a conference")
    moved = [p for p in fold_call.active_parties() if p is not fold_party]
    release(world, fold_call, fold_party)
    if not silent:
        notify_call(world, fold_call, fold_party, "StatusChange")
    _move_parties(world, fold_call, keep_call, moved)
    keep_party.state = "Established"
    keep_call.conference_owner = keep_call.conference_owner or keep_party.device_id
    for other in [keep_party, *[p for p in keep_call.active_parties() if p is not keep_party]]:
        if not (silent and other is keep_party):
            notify_call(world, keep_call, other, "ParticipantsUpdated")


def _move_parties(world: World, source: Call, target: Call, parties: list[Party]) -> None:
    for party in parties:
        source.parties.remove(party)
        party.parent_view_id = None
        party.consult = None
        target.parties.append(party)
        world.joined(target, party)
    for key, value in source.user_data.items():
        target.user_data.setdefault(key, value)
    if not source.active_parties():
        world.calls.pop(source.id, None)


def _release_agent_scoped_supervisors(world: World, call: Call, agent_device_id: str | None) -> None:
    """Scope Agent: the supervisor leaves with the agent; scope Call: stays (003 l.9726-9741)."""
    for party in list(call.active_parties()):
        if (
            party.supervisor_mode
            and party.supervised_device_id == agent_device_id
            and party.monitoring_scope == "Agent"
        ):
            release(world, call, party)
            notify_call(world, call, party, "StatusChange")


def single_step_transfer(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    number = _destination(params)
    require_capability(world, call, party, "SingleStepTransfer")
    target = route_target(world, number)
    if (target is None and is_internal_number(number)) or (target is not None and target.id == party.device_id):
        notify_error(world, world.devices[party.device_id or ""], "Invalid Called Dn", party.view_id)
        return
    if isinstance(params.get("userData"), dict):
        call.user_data.update(params["userData"])
    release(world, call, party)
    notify_call(world, call, party, "StatusChange")
    _release_agent_scoped_supervisors(world, call, party.device_id)
    if target is not None:
        joined = new_party(
            world,
            call,
            device=target,
            number=target.phone_number,
            state="Ringing",
            call_type="Internal",
            dnis=target.phone_number,
        )
        notify_call(world, call, joined, "StatusChange")
    else:
        new_party(world, call, device=None, number=number, state="Ringing", call_type="Inbound", dnis=number)
    for other in call.active_parties():
        if other.internal and other.state != "Ringing":
            notify_call(world, call, other, "ParticipantsUpdated")
    drop_if_finished(world, call)


def swap_calls(world: World, user: User, call: Call, party: Party, params: dict[str, Any]) -> None:
    """Hold the active call, retrieve the held one; the held-side notification comes first (ERRATA)."""
    require_capability(world, call, party, "SwapCalls")
    other_call, other = _other_call(world, user, party, params.get("otherCallUri"))
    if party.state == "Held" and other.state in ("Established", "Dialing"):
        call, party, other_call, other = other_call, other, call, party
    if other.state != "Held" or party.state not in ("Established", "Dialing"):
        raise InvalidState("SwapCalls needs one active and one held call")
    # Both legs change in one T-Server step; each notification shows the pair as it is after the swap, so the
    # held call offers the pair's capabilities (E311) although it is announced first (E310).
    party.state = "Held"
    other.state = "Established"
    order = [(call, party), (other_call, other)]
    if "swap-retrieved-first" in world.variants:  # as the stand-alone sample prints them (l.7986-8105)
        order.reverse()
    for changed_call, changed in order:
        notify_call(world, changed_call, changed, "StatusChange")


def remove_participant(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    """Only the conference's owner or a monitoring supervisor may remove a party (003 l.7837-7935)."""
    number = params.get("participant")
    if not number:
        raise MissingParameter("A required parameter is missing: participant")
    require_capability(world, call, party, "RemoveParticipantFromConference")
    if party.supervisor_mode is None and call.conference_owner not in (None, party.device_id):
        # E315: refused as invalid for the current state (statusCode 2), like an operation not offered.
        raise InvalidState("Only the owner of the conference or a monitoring supervisor can remove a participant")
    victim = next((p for p in call.active_parties() if p.number == str(number) and p is not party), None)
    if victim is None:
        raise NotFound(f"Participant {number} is not on the call")
    release(world, call, victim)
    notify_call(world, call, victim, "StatusChange")
    if len([p for p in call.active_parties() if not p.silent]) >= 2:
        notify_others(world, call, party, "ParticipantsUpdated")
    drop_if_finished(world, call)


# ---- call data ------------------------------------------------------------------------------------------------
def _user_data_param(params: dict[str, Any]) -> dict[str, Any]:
    data = params.get("userData")
    if data is None:
        raise MissingParameter("A required parameter is missing: userData")
    if not isinstance(data, dict) or not data:
        raise ValidationFailed("userData must be a non-empty object")
    return data


def attach_user_data(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    data = _user_data_param(params)
    require_capability(world, call, party, "AttachUserData")
    call.user_data.update(data)
    notify_others(world, call, party, "AttachedDataChanged")


def update_user_data(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    data = _user_data_param(params)
    require_capability(world, call, party, "UpdateUserData")
    call.user_data.update(data)
    notify_others(world, call, party, "AttachedDataChanged")


def delete_user_data(world: World, call: Call, party: Party) -> None:
    require_capability(world, call, party, "DeleteUserData")
    call.user_data.clear()
    notify_others(world, call, party, "AttachedDataChanged")


def delete_user_data_pair(world: World, call: Call, party: Party, params: dict[str, Any]) -> None:
    key = params.get("key")
    if not key:
        raise MissingParameter("A required parameter is missing: key")
    require_capability(world, call, party, "DeleteUserDataPair")
    if key not in call.user_data:
        raise ValidationFailed(f"The call data has no key {key}")
    del call.user_data[key]
    notify_others(world, call, party, "AttachedDataChanged")


# ---- supervisor operations on the supervisor's call -----------------------------------------------------------
def switch_monitoring(world: World, call: Call, party: Party, mode: str) -> None:
    operation = "SwitchToBargeIn" if mode == "BargeIn" else "SwitchToListenIn"
    require_capability(world, call, party, operation)
    was_silent = party.silent
    party.supervisor_mode = mode  # type: ignore[assignment]
    party.mute = mode == "ListenIn"
    notify_call(world, call, party, "StatusChange")
    if was_silent != party.silent:
        for other in call.active_parties():
            if other is not party:
                notify_call(world, call, other, "ParticipantsUpdated")


def mute_monitored_user(world: World, call: Call, party: Party, on: bool) -> None:
    if party.supervisor_mode is None or party.state != "Established":
        raise InvalidState("Only a supervisor monitoring this call can mute the monitored agent")
    if not world.feature_enabled("api-supervisor-monitoring"):
        raise ValidationFailed("Invalid operation: the api-supervisor-monitoring feature is not enabled")
    call.monitored_user_muted = on
    notify_call(world, call, party, "MonitoredUserMutedStateChange")
    agent = call.party(party.supervised_device_id or "")
    if agent is not None and agent.active:
        notify_call(world, call, agent, "MonitoredUserMutedStateChange")


def set_call_disposition(world: World, user: User, device: Device, params: dict[str, Any]) -> None:
    """003 l.5675-5807: active call → userData key and AttachedDataChanged; released → EventUserEvent."""
    disposition = params.get("disposition")
    if not disposition:
        raise MissingParameter("A required parameter is missing: disposition")
    key = str(params.get("dispositionKey") or world.settings_defaults["disposition-key"])
    view_id = str(params["callUri"]).rstrip("/").rsplit("/", 1)[-1] if params.get("callUri") else None
    uuid = params.get("callUuid")
    if not view_id and not uuid:
        raise MissingParameter("A required parameter is missing: callUri or callUuid")
    for call, party in world.calls_of(device.id):
        if (view_id and party.view_id == view_id) or (uuid and call.uuid == uuid and not view_id):
            call.user_data[key] = disposition
            notify_others(world, call, party, "AttachedDataChanged")
            return
    for call, party in world.released.values():
        if party.device_id == device.id and ((view_id and party.view_id == view_id) or (uuid and call.uuid == uuid)):
            world.reporting_events.append(
                {
                    "event": "EventUserEvent",
                    "callUuid": call.uuid,
                    "key": key,
                    "disposition": disposition,
                    "deviceId": device.id,
                }
            )
            return
    raise NotFound("The call to disposition was not found")
