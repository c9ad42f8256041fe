"""Settings groups (003 l.2122-2522, 2809-2899, 4326-4399, 1331-1350) and their rules.

System groups: general-settings (read-only object), voice (defaults only updatable, E112),
voice-operations (Dial userData defaults), agent-states (system operations immutable, admin to
create), dispositions, access-control (admin; allowedOrigins only; no bare "*"). Custom groups are
created and deleted freely by administrators; their settings are keyed by the group's key.
"""

from __future__ import annotations

import re
from typing import Any

from mockserver.domain.errors import (
    AlreadyExists,
    Forbidden,
    MissingParameter,
    NoPermission,
    NotFound,
    ReadOnly,
    ValidationFailed,
)
from mockserver.domain.gws.model import AgentStateOperation, User
from mockserver.domain.gws.world import SettingsGroup, World

VOICE_DEFAULTS = {"defaultTelephonyNetworkType"}
SYSTEM_GROUPS = {"general-settings", "voice", "voice-operations", "agent-states", "dispositions", "access-control"}
# A domain-wildcard origin: scheme://[*.]labels[:port]; "*" alone is refused (003 l.4366-4369).
ORIGIN = re.compile(r"^https?://(\*\.)?([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(:[0-9]{1,5})?$")


def default_groups() -> dict[str, SettingsGroup]:
    return {
        "general-settings": SettingsGroup(
            "general-settings",
            "General Settings",
            "name",
            system=True,
            read_only=True,
            values={"countryCode": "US", "countryDigits": "1", "countryName": "United States"},
        ),
        "voice": SettingsGroup(
            "voice",
            "Voice",
            "name",
            system=True,
            settings=[{"name": "defaultTelephonyNetworkType", "value": "Private"}],
            feature="api-voice",
        ),
        "voice-operations": SettingsGroup(
            "voice-operations", "Voice Operations", "operationName", system=True, feature="api-voice"
        ),
        "agent-states": SettingsGroup(
            "agent-states", "Agent States", "operationName", system=True, feature="api-voice"
        ),
        "dispositions": SettingsGroup("dispositions", "dispositions", "name", system=True),
        "access-control": SettingsGroup(
            "access-control",
            "Access Control",
            "name",
            system=True,
            admin_only=True,
            settings=[{"name": "allowedOrigins", "value": []}],
        ),
    }


def visible(world: World, group: SettingsGroup) -> bool:
    """A disabled feature hides its settings groups (003 l.4492-4494)."""
    return group.feature is None or world.feature_enabled(group.feature)


def group(world: World, user: User, name: str, *, write: bool = False) -> SettingsGroup:
    found = world.settings.get(name)
    if found is None or not visible(world, found):
        raise NotFound(f"Settings group {name} not found")
    if found.admin_only and not user.is_admin:
        raise NoPermission(f"The {name} settings group requires the administrator role")
    if write and found.read_only:
        raise ReadOnly(f"The {name} settings group is read-only")
    return found


def list_groups(world: World) -> list[dict[str, Any]]:
    return [
        {"name": g.name, "displayName": g.display_name, "key": g.key, "uri": f"/api/v2/settings/{g.name}"}
        for g in world.settings.values()
        if visible(world, g)
    ]


def read(world: World, user: User, name: str) -> dict[str, Any]:
    found = group(world, user, name)
    if found.values is not None:
        return {"settings": dict(found.values)}
    if name == "agent-states":
        return {
            "settings": [{**op.as_setting(), "displayName": world.display_name(op)} for op in world.agent_states],
            "key": found.key,
        }
    return {"settings": [dict(s) for s in found.settings], "key": found.key}


def create_group(world: World, user: User, body: dict[str, Any]) -> None:
    _admin(user)
    name, key = body.get("name"), body.get("key")
    if not name or not key:
        raise MissingParameter("A required parameter is missing: name and key")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValidationFailed("name must be lower-case letters, digits and dashes")
    if name in world.settings:
        raise AlreadyExists(f"Settings group {name} already exists")
    world.settings[name] = SettingsGroup(name, str(body.get("displayName") or name), str(key))


def delete_group(world: World, user: User, name: str) -> None:
    _admin(user)
    found = group(world, user, name)
    if found.system:
        raise Forbidden(f"The system settings group {name} cannot be deleted")
    del world.settings[name]


def _admin(user: User) -> None:
    if not user.is_admin:
        raise NoPermission("This operation requires the administrator role")


def _key_value(found: SettingsGroup, body: dict[str, Any]) -> str:
    value = body.get(found.key)
    if value in (None, ""):
        raise MissingParameter(f"A required parameter is missing: {found.key}")
    if not isinstance(value, str):
        raise ValidationFailed(f"{found.key} must be a string")
    return value


def create(world: World, user: User, name: str, body: dict[str, Any]) -> None:
    found = group(world, user, name, write=True)
    if name == "agent-states":
        _create_agent_state(world, user, body)
        return
    body = _unwrap(name, body)
    key = _key_value(found, body)
    _validate(world, user, found, key, body)
    if any(s.get(found.key) == key for s in found.settings):
        raise AlreadyExists(f"Setting {key} already exists in {name}")
    found.settings.append(dict(body))


def update(world: World, user: User, name: str, body: dict[str, Any]) -> None:
    found = group(world, user, name, write=True)
    if name == "agent-states":
        _update_agent_state(world, user, body)
        return
    body = _unwrap(name, body)
    key = _key_value(found, body)
    _validate(world, user, found, key, body)
    for index, setting in enumerate(found.settings):
        if setting.get(found.key) == key:
            found.settings[index] = dict(body)
            return
    raise NotFound(f"Setting {key} not found in {name}")


def delete(world: World, user: User, name: str, body: dict[str, Any]) -> None:
    found = group(world, user, name, write=True)
    if name == "agent-states":
        _delete_agent_state(world, user, body)
        return
    key = _key_value(found, body)
    if name == "voice" and key in VOICE_DEFAULTS:
        raise Forbidden("Default settings cannot be created or deleted, only updated")
    if name == "access-control":
        _admin(user)
    for index, setting in enumerate(found.settings):
        if setting.get(found.key) == key:
            del found.settings[index]
            return
    raise NotFound(f"Setting {key} not found in {name}")


def _unwrap(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """E113: access-control PUT may wrap the setting as {"settings": {name, value}}."""
    if name == "access-control" and isinstance(body.get("settings"), dict) and "name" not in body:
        return dict(body["settings"])
    return body


def _validate(world: World, user: User, found: SettingsGroup, key: str, body: dict[str, Any]) -> None:
    if found.name == "voice":
        if key in ("toast-filter", "case-filter"):
            _validate_filter(key, body.get("value"))
        if key == "defaultTelephonyNetworkType" and body.get("value") not in ("Private", "Public"):
            raise ValidationFailed("defaultTelephonyNetworkType is Private or Public")
    elif found.name == "voice-operations":
        if key != "Dial":
            raise ValidationFailed("Default user data is only supported for the Dial operation")
        if not isinstance(body.get("userData"), dict):
            raise ValidationFailed("userData must be an object")
    elif found.name == "access-control":
        _admin(user)
        if key != "allowedOrigins":
            raise ValidationFailed("allowedOrigins is the only valid setting of access-control")
        origins = body.get("value")
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise ValidationFailed("allowedOrigins must be an array of origins")
        bad = [o for o in origins if not ORIGIN.match(o)]
        if bad:
            raise ValidationFailed(f'Invalid origins ("*" alone is not permitted): {", ".join(bad)}')
    elif found.name == "dispositions":
        if not isinstance(body.get("displayName"), str) or not body["displayName"]:
            raise MissingParameter("A required parameter is missing: displayName")
    elif found.system is False and found.name != "dispositions" and found.key not in body:
        raise MissingParameter(f"A required parameter is missing: {found.key}")


def _validate_filter(key: str, value: Any) -> None:
    if not isinstance(value, list) or not all(
        isinstance(e, dict) and isinstance(e.get("attachedDataKey"), str) and e["attachedDataKey"] for e in value
    ):
        raise ValidationFailed(f"{key} must be an array of {{attachedDataKey, displayName}}")


def allowed_origins(world: World) -> list[str]:
    found = world.settings.get("access-control")
    if found is None:
        return []
    for setting in found.settings:
        if setting.get("name") == "allowedOrigins" and isinstance(setting.get("value"), list):
            return list(setting["value"])
    return []


# ---- agent-state operations (provisioning API, administrator role: 003 l.1331-1350) ---------------------
def _agent_state_fields(body: dict[str, Any]) -> AgentStateOperation:
    name = body.get("operationName")
    if not name:
        raise MissingParameter("A required parameter is missing: operationName")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", name):
        raise ValidationFailed("operationName must start with a letter and hold letters, digits, _ or -")
    if body.get("state") not in ("Ready", "NotReady", "Logout"):
        raise ValidationFailed("state must be Ready, NotReady or Logout")
    for field in ("displayName", "workMode", "reason"):
        if field in body and not isinstance(body[field], str):
            raise ValidationFailed(f"{field} must be a string")
    return AgentStateOperation(
        "", name, str(body.get("displayName") or name), body["state"], body.get("workMode"), body.get("reason")
    )


def _create_agent_state(world: World, user: User, body: dict[str, Any]) -> None:
    _admin(user)
    op = _agent_state_fields(body)
    if world.agent_state_op(op.operation_name):
        raise AlreadyExists(f"Agent state operation {op.operation_name} already exists")
    op.id = world.new_id()
    world.agent_states.append(op)


def _update_agent_state(world: World, user: User, body: dict[str, Any]) -> None:
    _admin(user)
    op = _agent_state_fields(body)
    existing = world.agent_state_op(op.operation_name)
    if existing is None:
        raise NotFound(f"Agent state operation {op.operation_name} not found")
    if existing.system:
        raise Forbidden("System agent state operations cannot be modified or deleted")
    op.id = existing.id
    world.agent_states[world.agent_states.index(existing)] = op


def _delete_agent_state(world: World, user: User, body: dict[str, Any]) -> None:
    _admin(user)
    name = body.get("operationName")
    if not name:
        raise MissingParameter("A required parameter is missing: operationName")
    existing = world.agent_state_op(str(name))
    if existing is None:
        raise NotFound(f"Agent state operation {name} not found")
    if existing.system:
        raise Forbidden("System agent state operations cannot be modified or deleted")
    world.agent_states.remove(existing)
