"""Simulation control of the GWS world, callable from Python (the HTTP routes wrap these)."""

from __future__ import annotations

from typing import Any

from mockserver.domain.errors import InvalidState, MissingParameter, NotFound, ValidationFailed
from mockserver.domain.gws import calls, provisioning
from mockserver.domain.gws.model import User
from mockserver.domain.gws.world import Fault, World


def _device_for(world: World, target: str) -> Any:
    device = world.devices.get(target) or world.device_by_number(target)
    if device is None:
        raise NotFound(f"No device {target}")
    return device


def inbound_call(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """Deliver an external call: to a device (ringing now) or to a queue (a Ready agent rings, or it waits)."""
    ani = str(body.get("from") or body.get("ani") or "")
    if not ani:
        raise MissingParameter("from (the caller's number) is required")
    user_data = body.get("userData") or {}
    if not isinstance(user_data, dict):
        raise ValidationFailed("userData must be an object")
    with world.all_or_nothing():
        world.require_voice()
        target = body.get("to")
        device = _device_for(world, str(target or "")) if target or not body.get("queue") else None
        if body.get("queue"):
            queue = str(body["queue"])
            from mockserver.domain.gws.model import Call

            call = Call(
                id=world.new_conn_id(),
                uuid=world.new_call_uuid(),
                created=world.scheduler.now(),
                user_data=dict(user_data),
                queue=queue,
            )
            world.calls[call.id] = call
            calls.caller_party(world, call, ani, str(body.get("dnis") or queue))
            world.queued_calls.setdefault(queue, []).append(call.id)
            if device is not None:
                world.queued_calls[queue].remove(call.id)
                calls.deliver_inbound(world, device, ani=ani, dnis=queue, queue=queue, call_id=call.id, announce=True)
            else:
                calls.announce_caller(world, call)  # it waits in the queue: nobody else is there yet
                calls.route_queued(world, queue)
            return {"callId": call.id, "callUuid": call.uuid}
        assert device is not None
        call = calls.deliver_inbound(world, device, ani=ani, dnis=body.get("dnis"), user_data=user_data)
        return {"callId": call.id, "callUuid": call.uuid}


def remote(world: World, call_id: str, action: str) -> None:
    with world.lock:
        call = world.calls.get(call_id)
        if call is None:
            raise NotFound(f"Call {call_id} not found")
        if action == "answer":
            calls.remote_answers(world, call)
        elif action == "hangup":
            calls.remote_hangs_up(world, call)
        else:
            raise ValidationFailed("action is answer or hangup")


def set_voice_service(world: World, state: str) -> None:
    """Take T-Server away or bring it back; clients learn it on /notifications/services (003 l.1812-1847)."""
    if state not in ("Active", "Inactive"):
        raise ValidationFailed("state is Active or Inactive")
    with world.lock:
        service = world.voice_service
        if service.state == state:
            return
        service.state = state
        world.publish(
            "/notifications/services",
            {
                "messageType": "ServiceStateChangeMessage",
                "service": {"id": service.id, "name": service.name, "type": service.type, "state": state},
            },
            None,
        )


def inject_fault(world: World, body: dict[str, Any]) -> None:
    kind = body.get("kind", "error")
    if kind not in ("error", "latency"):
        raise ValidationFailed("kind is error or latency")
    delay_ms = body.get("delayMs", 0)
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int | float) or not 0 <= delay_ms <= 600_000:
        raise ValidationFailed("delayMs is a number of milliseconds from 0 to 600000")
    delay = float(delay_ms) / 1000.0
    if kind == "latency" and delay <= 0:
        raise ValidationFailed("latency needs delayMs > 0")
    with world.lock:
        user_id = None
        if body.get("user"):
            user = world.user_by_name(str(body["user"])) or world.users.get(str(body["user"]))
            if user is None:
                raise NotFound(f"No user {body['user']}")
            user_id = user.id
        world.faults.append(
            Fault(
                kind=kind,
                operation=body.get("operation"),
                user_id=user_id,
                message=str(body.get("message") or "Incorrect object state"),
                delay=delay,
            )
        )


def create_agent(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """An agent (or supervisor) with a device, in one step: both or neither."""
    if body.get("userState", "NotReady") not in ("Ready", "NotReady", "LoggedOut"):
        raise ValidationFailed("userState is Ready, NotReady or LoggedOut")
    with world.all_or_nothing():
        admin = next((u for u in world.users.values() if u.is_admin), None) or User(
            "control", "control", "", roles=["ROLE_ADMIN"]
        )
        user = provisioning.create_user(
            world,
            admin,
            {
                "userName": body.get("userName"),
                "password": body.get("password", "password"),
                "firstName": body.get("firstName", ""),
                "lastName": body.get("lastName", ""),
                "roles": body.get("roles", ["ROLE_AGENT"]),
            },
        )
        result: dict[str, Any] = {"userId": user.id}
        if body.get("phoneNumber"):
            device = provisioning.create_user_device(
                world,
                admin,
                user.id,
                {"phoneNumber": str(body["phoneNumber"]), "telephonyNetwork": body.get("telephonyNetwork")},
            )
            if body.get("userState", "NotReady") != "LoggedOut":
                from mockserver.domain.gws.model import UserState

                device.user_state = UserState(body.get("userState", "NotReady"))
            result["deviceId"] = device.id
        return result


def require_call(world: World, call_id: str) -> None:
    if call_id not in world.calls:
        raise InvalidState(f"Call {call_id} is not active")
