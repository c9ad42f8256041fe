"""Device operations (003 l.5809-5971, 9146-10172) and agent-state operations (l.1298-1492).

Agent-state operations are not governed by capabilities and duplicates are ignored silently
(l.1165-1169); device operations are refused unless the device's capabilities list them.
"""

from __future__ import annotations

from typing import Any

from mockserver.domain.errors import InvalidState, MissingParameter, NoPermission, NotFound, ValidationFailed
from mockserver.domain.gws import calls
from mockserver.domain.gws.capabilities import device_capabilities
from mockserver.domain.gws.model import Device, Monitoring, User, UserState
from mockserver.domain.gws.world import World

SUPERVISOR_OPERATIONS = {"ListenIn", "Coach", "BargeIn", "CancelSupervisorMonitoring"}


def set_agent_state(world: World, user: User, operation_name: str) -> None:
    """Apply a system or custom agent-state operation to every device of the user."""
    op = world.agent_state_op(operation_name)
    if op is None:
        raise ValidationFailed(f"Unknown agent state operation: {operation_name}")
    world.require_voice()
    new = UserState(state="LoggedOut" if op.state == "Logout" else op.state, work_mode=op.work_mode, reason=op.reason)
    for device_id in user.device_ids:
        device = world.devices.get(device_id)
        if device is None or device.user_state == new:
            continue  # duplicates are ignored: no notification
        device.user_state = UserState(new.state, new.work_mode, new.reason)
        calls.notify_device(world, device)
        if new.state == "Ready":
            for queue in list(world.queued_calls):
                calls.route_queued(world, queue)


def _require(world: World, device: Device, operation: str) -> None:
    user = world.user_of(device)
    if operation in SUPERVISOR_OPERATIONS:
        if not world.feature_enabled("api-supervisor-monitoring"):
            raise ValidationFailed("Invalid operation: the api-supervisor-monitoring feature is not enabled")
        if user is None or not user.is_supervisor:
            raise NoPermission(f"{operation} requires the supervisor role")
    caps = device_capabilities(device, user, world.feature_enabled("api-supervisor-monitoring"))
    if operation not in caps:
        raise InvalidState(f"{operation} is not valid for the device in its current state")


def device_operation(world: World, user: User, device: Device, params: dict[str, Any]) -> None:
    name = params.get("operationName")
    if name == "SetCallDisposition":
        world.require_voice()
        calls.set_call_disposition(world, user, device, params)
        return
    handlers = {
        "DoNotDisturbOn": lambda: _dnd(world, device, True),
        "DoNotDisturbOff": lambda: _dnd(world, device, False),
        "ForwardCallsOn": lambda: _forward(world, device, params.get("destination")),
        "ForwardCallsOff": lambda: _forward(world, device, None),
        "ListenIn": lambda: _monitor(world, device, "ListenIn", params),
        "Coach": lambda: _monitor(world, device, "Coach", params),
        "BargeIn": lambda: _monitor(world, device, "BargeIn", params),
        "CancelSupervisorMonitoring": lambda: _cancel(world, device),
    }
    if name not in handlers:
        raise ValidationFailed(f"Unknown device operation: {name}")
    world.require_voice()
    _require(world, device, str(name))
    handlers[str(name)]()


def _dnd(world: World, device: Device, on: bool) -> None:
    device.dnd = on
    calls.notify_device(world, device)


def _forward(world: World, device: Device, destination: Any) -> None:
    if destination is not None or device.forward_to is None:
        if not destination:
            raise MissingParameter("A required parameter is missing: destination")
        if not isinstance(destination, str) or not destination.lstrip("+").isdigit():
            raise ValidationFailed("destination must be a phone number")
        if destination == device.phone_number:
            raise ValidationFailed("A device cannot forward calls to itself")
    device.forward_to = destination
    calls.notify_device(world, device)


def _monitor(world: World, device: Device, mode: str, params: dict[str, Any]) -> None:
    uri = params.get("targetDeviceUri")
    if not uri:
        raise MissingParameter("A required parameter is missing: targetDeviceUri")
    target_id = str(uri).rstrip("/").rsplit("/", 1)[-1]
    target = world.devices.get(target_id)
    if target is None:
        raise NotFound(f"Device {target_id} not found")
    if target.id == device.id:
        raise ValidationFailed("A supervisor cannot monitor their own device")
    scope = params.get("supervisorMonitoringScope", "Call")
    repeat = params.get("supervisorMonitoringMode", "AllCalls")
    if scope not in ("Agent", "Call") or repeat not in ("NextCall", "AllCalls"):
        raise ValidationFailed(
            "supervisorMonitoringScope is Agent or Call; supervisorMonitoringMode NextCall or AllCalls"
        )
    device.monitoring = Monitoring(mode=mode, target_device_id=target.id, scope=scope, repeat=repeat)  # type: ignore[arg-type]
    calls.notify_device(world, device)
    if mode == "BargeIn":
        # BargeIn joins a call the agent is on right now (003 l.9962-9967).
        for call, party in world.calls_of(target.id):
            if party.state == "Established" and not party.supervisor_mode:
                calls.join_supervisors(world, call, target.id)


def _cancel(world: World, device: Device) -> None:
    device.monitoring = None
    calls.notify_device(world, device)
    for call, party in world.calls_of(device.id):
        if party.supervisor_mode:
            calls.leave(world, call, party)
