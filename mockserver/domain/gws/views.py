"""Resource representations (call, device) with server-relative URIs; transports make them absolute."""

from __future__ import annotations

from typing import Any

from mockserver.domain.gws.capabilities import call_capabilities, device_capabilities
from mockserver.domain.gws.model import Call, Device, Party
from mockserver.domain.gws.numbers import participant_info
from mockserver.domain.gws.world import World

API = "/api/v2"
URI_FIELDS = (
    "deviceUri",
    "uri",
    "parentCallUri",
    "voiceEnvironmentUri",
    "targetDeviceUri",
    "callUri",
    "phoneNumberUri",
    "routingTemplateUri",
)


def call_path(view_id: str) -> str:
    return f"{API}/me/calls/{view_id}"


def device_path(device_id: str) -> str:
    return f"{API}/devices/{device_id}"


def call_view(world: World, call: Call, party: Party) -> dict[str, Any]:
    """The call resource as ``party``'s device sees it (003 l.1175-1226, 002 l.19-30)."""
    device = world.devices.get(party.device_id) if party.device_id else None
    others = [p for c, p in world.calls_of(party.device_id) if p is not party] if party.device_id else []
    if party.state == "Released":
        participants = list(party.final_participants or [])
    else:
        participants = [p.number for p in call.others(party)]
    view: dict[str, Any] = {
        "id": party.view_id,
        "state": party.state,
        "callUuid": call.uuid,
        "deviceUri": device_path(party.device_id) if party.device_id else None,
        "uri": call_path(party.view_id),
        "participants": participants,
        "participantsInfo": [participant_info(n) for n in participants],
        "dnis": party.dnis,
        "callType": party.call_type,
        "capabilities": call_capabilities(
            call, party, device, others, mute_two_party="mute-on-two-party" in world.variants
        ),
    }
    if view["deviceUri"] is None:
        del view["deviceUri"]
    if party.ani:
        view["ani"] = party.ani
    if party.parent_view_id:
        view["parentCallUri"] = call_path(party.parent_view_id)
    if call.user_data:
        view["userData"] = dict(call.user_data)
    filters = _filters(world)
    if party.state in ("Ringing", "Dialing") and filters.get("toast-filter"):
        view["toast"] = _filtered(call.user_data, filters["toast-filter"])
    if party.state == "Established" and filters.get("case-filter"):
        view["case"] = _filtered(call.user_data, filters["case-filter"])
    view["duration"] = str(max(0, int(world.scheduler.now() - party.started)))
    view["mute"] = "On" if party.mute else "Off"
    supervised = any(p.supervisor_mode in ("ListenIn", "Coach") for p in call.active_parties())
    view["supervisorListeningIn"] = bool(supervised and not party.supervisor_mode)
    view["monitoredUserMuted"] = call.monitored_user_muted
    # Present on every call resource, as the toast/case samples show it (003 l.2660, l.2773): true only on the
    # call of a monitoring supervisor.
    view["monitoring"] = party.supervisor_mode is not None
    return view


def _filters(world: World) -> dict[str, list[dict[str, str]]]:
    group = world.settings.get("voice")
    if group is None:
        return {}
    return {
        s["name"]: s.get("value") or []
        for s in group.settings
        if s.get("name") in ("toast-filter", "case-filter") and isinstance(s.get("value"), list)
    }


def _filtered(user_data: dict[str, Any], entries: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "key": e["attachedDataKey"],
            "displayName": e.get("displayName", e["attachedDataKey"]),
            "value": user_data[e["attachedDataKey"]],
        }
        for e in entries
        if isinstance(e, dict) and e.get("attachedDataKey") in user_data
    ]


def user_state_view(world: World, device: Device) -> dict[str, Any]:
    state = device.user_state
    view: dict[str, Any] = {}
    match = world.match_agent_state(state)
    if match:
        view["id"] = match.id
        view["displayName"] = world.display_name(match)
    # offline-logout variant: the definitions' state name (003 l.1329) instead of the device sample's (l.9501)
    view["state"] = "Logout" if state.state == "LoggedOut" and "offline-logout" in world.variants else state.state
    if state.work_mode:
        view["workMode"] = state.work_mode
    if state.reason:
        view["reason"] = state.reason
    return view


def device_view(world: World, device: Device) -> dict[str, Any]:
    """The device resource (003 l.1066-1107, 5853-5893, 9773-9823)."""
    user = world.user_of(device)
    view: dict[str, Any] = {
        "id": device.id,
        "deviceState": device.device_state,
        "userState": user_state_view(world, device),
        "phoneNumber": device.phone_number,
        "e164Number": device.phone_number,
        "telephonyNetwork": device.telephony_network,
        "doNotDisturb": "On" if device.dnd else "Off",
    }
    if device.forward_to:
        view["forwardTo"] = device.forward_to
    view["voiceEnvironmentUri"] = f"{API}/voice-environments/{device.voice_environment_id}"
    view["capabilities"] = device_capabilities(
        device,
        user,
        world.feature_enabled("api-supervisor-monitoring"),
        as_printed="device-capabilities-as-printed" in world.variants,
    )
    if device.monitoring:
        view["supervisorMonitoringState"] = {
            "state": device.monitoring.mode,
            "mode": device.monitoring.repeat,
            "scope": device.monitoring.scope,
            "targetDeviceUri": device_path(device.monitoring.target_device_id),
        }
    return view


def absolutize(data: Any, base: str) -> Any:
    """Prefix server-relative URIs with ``base`` (scheme://host of the client's request, E002)."""
    if isinstance(data, dict):
        return {
            k: (base + v if k in URI_FIELDS and isinstance(v, str) and v.startswith("/") else absolutize(v, base))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [absolutize(v, base) for v in data]
    return data
