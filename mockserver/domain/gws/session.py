"""StartContactCenterSession and EndContactCenterSession (003 l.10620-10766) with mobileSession (l.10768-10867)."""

from __future__ import annotations

from typing import Any

from mockserver.domain.errors import NotFound, ValidationFailed
from mockserver.domain.gws import calls
from mockserver.domain.gws.model import User, UserState
from mockserver.domain.gws.world import World

MOBILE_FIELDS = {"mobileDeviceId", "mobilePushType", "filter", "timeout", "debug"}


def validate_mobile_session(world: World, mobile: Any) -> dict[str, Any]:
    if not world.feature_enabled("api-mobile-push-notifications"):
        raise ValidationFailed("Invalid operation: the api-mobile-push-notifications feature is not assigned")
    if not isinstance(mobile, dict):
        raise ValidationFailed("mobileSession must be an object")
    unknown = set(mobile) - MOBILE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown mobileSession properties: {', '.join(sorted(unknown))}")
    if not isinstance(mobile.get("mobileDeviceId"), str) or not mobile["mobileDeviceId"]:
        raise ValidationFailed("mobileSession.mobileDeviceId is required")
    if mobile.get("mobilePushType") not in ("IOS", "Android"):
        raise ValidationFailed("mobileSession.mobilePushType must be IOS or Android (case sensitive)")
    if mobile.get("timeout", "ThirtyMinutes") not in ("ThirtyMinutes", "OneHour"):
        raise ValidationFailed("mobileSession.timeout must be ThirtyMinutes or OneHour")
    if not isinstance(mobile.get("debug", False), bool):
        raise ValidationFailed("mobileSession.debug must be true or false")
    if "filter" in mobile and not isinstance(mobile["filter"], str):
        raise ValidationFailed("mobileSession.filter must be a string")
    return {"timeout": "ThirtyMinutes", "debug": False, **mobile}


def start(world: World, user: User, params: dict[str, Any]) -> None:
    channels = params.get("channels")
    if not isinstance(channels, list) or not channels or any(c != "voice" for c in channels):
        raise ValidationFailed("channels must list the channels of the session; the valid channel is voice")
    mobile = validate_mobile_session(world, params["mobileSession"]) if "mobileSession" in params else None
    place_device = None
    if params.get("place"):
        place_id = world.places.get(str(params["place"]))
        if place_id is None:
            raise NotFound(f"Place {params['place']} not found")
        place_device = world.devices[place_id]
        if place_device.user_id not in (None, user.id):
            raise ValidationFailed(f"Place {params['place']} is in use by another agent")
    world.require_voice()
    session: dict[str, Any] = {"channels": list(channels), "defaultDevices": list(user.device_ids)}
    for key in ("loginCode", "queue", "place"):
        if params.get(key):
            session[key] = params[key]
    if mobile:
        session["mobileSession"] = mobile
        world.push_outbox.setdefault(user.id, [])
    if place_device is not None:
        place_device.user_id = user.id
        user.device_ids = [place_device.id]
    user.session = session
    for device_id in user.device_ids:
        device = world.devices[device_id]
        if params.get("queue") and params["queue"] not in device.queues:
            device.queues.append(str(params["queue"]))
        if device.user_state.state == "LoggedOut":
            # Logging in as part of the session is notified; an agent already logged in is not (l.10696-10700).
            device.user_state = UserState("NotReady")
            calls.notify_device(world, device)


def end(world: World, user: User) -> None:
    """Log the agent out and restore the default devices; no notification (003 l.10764-10766)."""
    session = user.session or {}
    for device_id in user.device_ids:
        device = world.devices.get(device_id)
        if device is None:
            continue
        device.user_state = UserState("LoggedOut")
        if session.get("queue") in device.queues:
            device.queues.remove(session["queue"])
    defaults = session.get("defaultDevices")
    if defaults is not None and defaults != user.device_ids:
        for device_id in user.device_ids:
            if device_id not in defaults and device_id in world.devices:
                world.devices[device_id].user_id = None
        user.device_ids = list(defaults)
    user.session = None
    world.push_outbox.pop(user.id, None)
