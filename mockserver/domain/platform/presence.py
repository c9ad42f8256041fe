"""User presence (001 l.185 and l.307-310 "use the Presence API", E406, E420) and the phone settings the
control API changes. Every change of presence is published on v2.users.{id}.presence."""

from __future__ import annotations

from typing import Any

from mockserver.domain.platform import calls, errors, views
from mockserver.domain.platform.model import PHONE_TYPES, User
from mockserver.domain.platform.world import PlatformWorld


def set_presence(
    world: PlatformWorld,
    user_id: str,
    *,
    definition_id: str | None = None,
    system_presence: str | None = None,
    message: str | None = None,
) -> User:
    with world.lock:
        user = world.user(user_id)
        if definition_id is not None:
            if definition_id not in world.presences:
                raise errors.InvalidValue(
                    f"Presence definition {definition_id} not found", field="presenceDefinition.id"
                )
            definition = world.presences[definition_id]
        elif system_presence is not None:
            found = world.presence_by_system(system_presence)
            if found is None:
                raise errors.InvalidValue(
                    f"No presence definition {system_presence!r}", field="presenceDefinition.systemPresence"
                )
            definition = found
        else:
            raise errors.BadRequest("presenceDefinition.id is required", field="presenceDefinition")
        user.presence_id = definition.id
        if message is not None:
            user.presence_message = message
        user.presence_modified = world.wall()
        world.publish(f"v2.users.{user.id}.presence", views.presence_event(world, user), user.id)
        if definition.system_presence == "OnQueue":
            calls.route_waiting(world, user)
        return user


def configure_phone(world: PlatformWorld, user_id: str, changes: dict[str, Any]) -> User:
    """Control API: phone type, "Maintain Persistent Connection", "placing calls with another app"."""
    with world.lock:
        user = world.user(user_id)
        phone = user.phone
        kind = changes.get("type", phone.type)
        if kind not in PHONE_TYPES:
            raise errors.InvalidValue(f"type must be one of {', '.join(PHONE_TYPES)}", field="type")
        for key in ("persistentConnection", "allowPlacingCalls"):
            if key in changes and not isinstance(changes[key], bool):
                raise errors.InvalidValue(f"{key} must be true or false", field=key)
        if kind != phone.type:
            world.persistent.drop(user)  # another phone: the old session is gone
            phone.type = kind
        if "allowPlacingCalls" in changes:
            phone.allow_placing_calls = changes["allowPlacingCalls"]
        if "persistentConnection" in changes:
            phone.persistent_connection = changes["persistentConnection"]
            if not phone.persistent_connection:
                world.persistent.drop(user)
        if "address" in changes:
            address = calls.classify_number(str(changes["address"]))
            if address is None:
                raise errors.InvalidValue(errors.INVALID_PHONE, field="address")
            phone.address = address
        return user


def set_persistent_connection(world: PlatformWorld, user_id: str, active: bool) -> User:
    """Control API (E410): open a persistent connection (idling toward its timeout) or drop it now."""
    with world.lock:
        user = world.user(user_id)
        if active:
            world.persistent.open(user)
        else:
            world.persistent.drop(user)
        return user
