"""Dispatch of operationName requests to the state machines, with the checks every operation shares.

The adapters call these four entry points; each validates the operation name for its resource,
requires the voice service and the features the document lists, applies injected faults, and runs
the operation (immediately, or after an injected latency, as T-Server would).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.domain.errors import MissingParameter, NotFound, ValidationFailed
from mockserver.domain.gws import calls, devices, session
from mockserver.domain.gws.model import Call, Device, Party, User
from mockserver.domain.gws.world import World

CallHandler = Callable[[World, User, Call, Party, dict[str, Any]], None]

CALL_OPERATIONS: dict[str, CallHandler] = {
    "Answer": lambda w, u, c, p, a: calls.answer(w, c, p),
    "Reject": lambda w, u, c, p, a: calls.reject(w, c, p),
    "Hold": lambda w, u, c, p, a: calls.hold(w, c, p),
    "Retrieve": lambda w, u, c, p, a: calls.retrieve(w, c, p),
    "Hangup": lambda w, u, c, p, a: calls.hangup(w, c, p),
    "SendDtmf": lambda w, u, c, p, a: calls.send_dtmf(w, c, p, a),
    "MuteCall": lambda w, u, c, p, a: calls.mute(w, c, p, True),
    "UnmuteCall": lambda w, u, c, p, a: calls.mute(w, c, p, False),
    "SingleStepConference": lambda w, u, c, p, a: calls.single_step_conference(w, c, p, a),
    "InitiateConference": lambda w, u, c, p, a: calls.initiate(w, c, p, a, "conference"),
    "CompleteConference": calls.complete_conference,
    "RemoveParticipantFromConference": lambda w, u, c, p, a: calls.remove_participant(w, c, p, a),
    "SwapCalls": calls.swap_calls,
    "MergeWithOtherCall": calls.merge_with_other_call,
    "SingleStepTransfer": lambda w, u, c, p, a: calls.single_step_transfer(w, c, p, a),
    "InitiateTransfer": lambda w, u, c, p, a: calls.initiate(w, c, p, a, "transfer"),
    "CompleteTransfer": calls.complete_transfer,
    "AttachUserData": lambda w, u, c, p, a: calls.attach_user_data(w, c, p, a),
    "UpdateUserData": lambda w, u, c, p, a: calls.update_user_data(w, c, p, a),
    "DeleteUserData": lambda w, u, c, p, a: calls.delete_user_data(w, c, p),
    "DeleteUserDataPair": lambda w, u, c, p, a: calls.delete_user_data_pair(w, c, p, a),
    "SwitchToBargeIn": lambda w, u, c, p, a: calls.switch_monitoring(w, c, p, "BargeIn"),
    "SwitchToListenIn": lambda w, u, c, p, a: calls.switch_monitoring(w, c, p, "ListenIn"),
    "MuteMonitoredUser": lambda w, u, c, p, a: calls.mute_monitored_user(w, c, p, True),
    "UnmuteMonitoredUser": lambda w, u, c, p, a: calls.mute_monitored_user(w, c, p, False),
}
SUPERVISION = {"SwitchToBargeIn", "SwitchToListenIn", "MuteMonitoredUser", "UnmuteMonitoredUser"}
SESSION = {"StartContactCenterSession", "EndContactCenterSession"}


def _name(params: dict[str, Any]) -> str:
    name = params.get("operationName")
    if not name:
        raise MissingParameter("A required parameter is missing: operationName")
    if not isinstance(name, str):
        raise ValidationFailed("operationName must be a string")
    return name


def _run(
    world: World,
    user: User,
    operation: str,
    action: Callable[[], None],
    *,
    device_id: str | None = None,
    view_id: str | None = None,
) -> None:
    """Run now, or as a T-Server fault injected through the control API says."""
    fault = world.take_fault(user.id, operation)
    if fault is None:
        action()
        return
    if fault.kind == "error":
        device = world.devices.get(device_id or "") or (world.devices[user.device_ids[0]] if user.device_ids else None)
        if device is not None:
            calls.notify_error(world, device, fault.message, view_id)
        return

    def later() -> None:
        with world.lock:
            try:
                action()
            except Exception as exc:  # the request was already accepted: report like T-Server would
                device = world.devices.get(device_id or "")
                if device is not None:
                    calls.notify_error(world, device, getattr(exc, "message", str(exc)), view_id)

    world.scheduler.call_later(fault.delay, later)


def call_operation(world: World, user: User, view_id: str, params: dict[str, Any]) -> None:
    name = _name(params)
    if name == "SetCallDisposition":
        device, named = _disposition_target(world, user, view_id, params)
        world.require_voice()
        _run(world, user, name, lambda: calls.set_call_disposition(world, user, device, named), device_id=device.id)
        return
    handler = CALL_OPERATIONS.get(name)
    if handler is None:
        raise ValidationFailed(f"Unknown call operation: {name}")
    if name in SUPERVISION and not world.feature_enabled("api-supervisor-monitoring"):
        raise ValidationFailed("Invalid operation: the api-supervisor-monitoring feature is not enabled")
    world.require_voice()
    call, party = world.find_view(user, view_id)
    _run(
        world, user, name, lambda: handler(world, user, call, party, params), device_id=party.device_id, view_id=view_id
    )


def _disposition_target(
    world: World, user: User, view_id: str, params: dict[str, Any]
) -> tuple[Device, dict[str, Any]]:
    """SetCallDisposition on /me/calls/{id} (003 l.5688, E200): the path names the call, active or already
    released (l.5685-5686); a callUri or callUuid in the body must name the same call. Returns the device and
    the parameters of the device form, with the call named by the path."""
    found = next(((c, p) for d in user.device_ids for c, p in world.calls_of(d) if p.view_id == view_id), None)
    if found is None:
        found = next(
            ((c, p) for c, p in world.released.values() if p.view_id == view_id and p.device_id in user.device_ids),
            None,
        )
    if found is None:
        raise NotFound(f"Call {view_id} not found")
    call, party = found
    uri, uuid = params.get("callUri"), params.get("callUuid")
    if (uri and str(uri).rstrip("/").rsplit("/", 1)[-1] != view_id) or (uuid and uuid != call.uuid):
        raise ValidationFailed("callUri and callUuid must name the call of the request URL")
    named = {k: v for k, v in params.items() if k != "callUuid"}
    named["callUri"] = f"/api/v2/me/calls/{view_id}"
    return world.devices[party.device_id or ""], named


def dial(world: World, user: User, device_id: str, params: dict[str, Any]) -> None:
    if _name(params) != "Dial":
        raise ValidationFailed(f"Unknown operation for a device's calls: {params['operationName']}")
    device = world.own_device(user, device_id)
    world.require_voice()
    _run(world, user, "Dial", lambda: calls.dial(world, user, device, params), device_id=device.id)


def device_operation(world: World, user: User, device_id: str, params: dict[str, Any]) -> None:
    name = _name(params)
    device = world.own_device(user, device_id)
    _run(world, user, name, lambda: devices.device_operation(world, user, device, params), device_id=device.id)


def agent_state_operation(world: World, user: User, params: dict[str, Any]) -> None:
    name = _name(params)
    if name in SESSION:
        raise ValidationFailed(f"{name} is an operation of /api/v2/me")
    device_id = user.device_ids[0] if user.device_ids else None
    _run(world, user, name, lambda: devices.set_agent_state(world, user, name), device_id=device_id)


def me_operation(world: World, user: User, params: dict[str, Any]) -> str:
    """Returns the operation name, so the adapter can end the HTTP session after EndContactCenterSession."""
    name = _name(params)
    if name == "StartContactCenterSession":
        session.start(world, user, params)
    elif name == "EndContactCenterSession":
        world.require_voice()
        session.end(world, user)
    else:
        agent_state_operation(world, user, params)
    return name
