"""Provisioning resources: users, devices, skills, queues, routing templates, features, services and
the hierarchical disposition groups (003 l.2901-4731, 11115-11527), as plain resource dicts.

The HTTP adapter applies fields/subresources/resolveUris/filtering/sorting/pagination to the dicts
these functions return; the domain decides what exists, who may see it and what a change does.
"""

from __future__ import annotations

from typing import Any

from mockserver.domain.errors import (
    AlreadyExists,
    Forbidden,
    GwsError,
    MissingParameter,
    NoPermission,
    NotFound,
    ValidationFailed,
)
from mockserver.domain.gws.model import ROLE_ADMIN, ROLE_AGENT, ROLE_SUPERVISOR, Device, User, UserState
from mockserver.domain.gws.views import API, device_view
from mockserver.domain.gws.world import DispositionGroup, World

ROLES = {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN}


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise NoPermission("This operation requires the Contact Center Admin role")


def require_supervisor(user: User) -> None:
    if not user.is_supervisor:
        raise NoPermission("This operation requires the supervisor or administrator role")


def require_feature(world: World, feature: str) -> None:
    if not world.feature_enabled(feature):
        raise NotFound(f"Not found: the {feature} feature is not assigned to this contact center")


# ---- representations -----------------------------------------------------------------------------------
def user_resource(world: World, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "roles": list(user.roles),
        "enabled": user.enabled,
        "changePasswordOnFirstLogin": user.change_password_on_first_login,
    }


def user_subresources(world: World, user: User) -> dict[str, Any]:
    """What subresources=* adds to a user (003 l.3264-3307): skills, devices, settings, statistics."""
    devices = [device_view(world, world.devices[d]) for d in user.device_ids if d in world.devices]
    state = devices[0]["userState"] if devices else {"state": "LoggedOut"}
    return {
        "skills": [skill_resource(world, sid, level) for sid, level in user.skills.items() if sid in world.skills],
        "devices": devices,
        "settings": {
            "htcc": {"roles": ", ".join(r.removeprefix("ROLE_").title() for r in user.roles)},
            "provisioning_flags": {"modified_At": user.provisioning_version},
        },  # E130
        "statistics": {
            "channels": {
                "voice": {
                    "state": state.get("state"),
                    "displayName": state.get("displayName"),
                    "workMode": state.get("workMode"),
                    "activity": _activity(world, user),
                }
            }
        },
    }


def _activity(world: World, user: User) -> str:
    for device_id in user.device_ids:
        if world.calls_of(device_id):
            return "OnCall"
    return "Idle"


def skill_resource(world: World, skill_id: str, level: int | None = None) -> dict[str, Any]:
    skill = dict(world.skills[skill_id])
    if level is not None:
        skill["level"] = level
    return skill


def device_resource(world: World, device: Device) -> dict[str, Any]:
    view = device_view(world, device)
    number = next((p for p in world.phone_numbers.values() if p["number"] == device.phone_number), None)
    if number is not None:
        view["phoneNumberUri"] = f"{API}/phone-numbers/{number['id']}"
    if device.vendor:
        view["vendor"] = device.vendor
    return view


def queue_resource(world: World, queue: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in queue.items() if k not in ("phoneNumberId", "routingTemplateId")}
    if queue.get("phoneNumberId"):
        out["phoneNumberUri"] = f"{API}/phone-numbers/{queue['phoneNumberId']}"
    if queue.get("routingTemplateId"):
        out["routingTemplateUri"] = f"{API}/system/routing-templates/{queue['routingTemplateId']}"
    return out


def resolve_uri(world: World, uri: str) -> dict[str, Any] | None:
    """The object a *Uri property points to, for resolveUris (003 l.3391-3508)."""
    path = uri[uri.find(API) :] if API in uri else uri
    parts = path.removeprefix(API + "/").split("/")
    if len(parts) == 2 and parts[0] == "phone-numbers":
        return world.phone_numbers.get(parts[1])
    if len(parts) == 3 and parts[:2] == ["system", "routing-templates"]:
        return next((t for t in world.routing_templates if t["id"] == parts[2]), None)
    if len(parts) == 2 and parts[0] == "devices" and parts[1] in world.devices:
        return device_resource(world, world.devices[parts[1]])
    return None


# ---- users -------------------------------------------------------------------------------------------------
def visible_users(world: World, actor: User) -> list[User]:
    require_supervisor(actor)
    return sorted(world.users.values(), key=lambda u: u.user_name)


def get_user(world: World, actor: User, user_id: str) -> User:
    if actor.id != user_id:
        require_supervisor(actor)
    return world.user(user_id)


def create_user(world: World, actor: User, body: dict[str, Any]) -> User:
    """One transaction: everything is checked before anything is stored."""
    require_admin(actor)
    for field in ("userName", "password", "firstName", "lastName", "roles"):
        if field not in body:
            raise MissingParameter(f"A required parameter is missing: {field}")
    roles = body["roles"]
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
        raise ValidationFailed(f"roles must be a non-empty array of {', '.join(sorted(ROLES))}")
    if world.user_by_name(str(body["userName"])):
        raise GwsError_forbidden_duplicate(str(body["userName"]))
    user = User(
        id=world.new_id().replace("-", ""),
        user_name=str(body["userName"]),
        password=str(body["password"]),
        first_name=str(body["firstName"]),
        last_name=str(body["lastName"]),
        roles=list(roles),
        enabled=bool(body.get("enabled", True)),
    )
    world.users[user.id] = user
    return user


def GwsError_forbidden_duplicate(user_name: str) -> GwsError:
    """E116: a duplicate userName is "Operation forbidden, username already exists" (statusCode 3)."""
    return Forbidden(f"Operation forbidden, username already exists: {user_name}")


def bulk_create_users(
    world: World, actor: User, bodies: list[dict[str, Any]]
) -> tuple[list[User], list[dict[str, Any]]]:
    require_admin(actor)
    created, failed = [], []
    for body in bodies:
        try:
            created.append(create_user(world, actor, body))
        except GwsError as exc:
            failed.append(
                {"statusCode": exc.status_code, "statusMessage": exc.message, "userName": body.get("userName")}
            )
    return created, failed


def delete_user(world: World, actor: User, user_id: str) -> None:
    require_admin(actor)
    user = world.user(user_id)
    if user.id == actor.id:
        raise Forbidden("Operation forbidden: a user cannot delete themselves")
    for device_id in user.device_ids:
        device = world.devices.get(device_id)
        if device is not None:
            device.user_id = None
    del world.users[user.id]


def create_user_device(world: World, actor: User, user_id: str, body: dict[str, Any]) -> Device:
    """Hybrid create-and-assign (003 l.3720-3727); telephonyNetwork (or telephonyNetworkType, the name the voice
    setting uses) defaults from the voice settings."""
    require_admin(actor)
    user = world.user(user_id)
    number = body.get("phoneNumber")
    if not number:
        raise MissingParameter("A required parameter is missing: phoneNumber")
    if not isinstance(number, str) or not number.lstrip("+").isdigit():
        raise ValidationFailed("phoneNumber must be digits")
    if world.device_by_number(number):
        raise AlreadyExists(f"A device with phone number {number} already exists")
    given = {body[k] for k in ("telephonyNetwork", "telephonyNetworkType") if body.get(k)}  # 003 l.2182-2185
    if len(given) > 1:
        raise ValidationFailed("telephonyNetwork and telephonyNetworkType disagree")
    network = next(iter(given), None) or _default_network(world)
    if network not in ("Private", "Public"):
        raise ValidationFailed("telephonyNetwork is Private or Public")
    device = Device(
        id=world.new_id(),
        phone_number=number,
        user_id=user.id,
        telephony_network="Public" if network == "Public" else "Private",
        user_state=UserState("LoggedOut"),
    )
    world.devices[device.id] = device
    user.device_ids.append(device.id)
    user.provisioning_version = world.new_id()
    return device


def _default_network(world: World) -> str:
    voice = world.settings.get("voice")
    for setting in voice.settings if voice else []:
        if setting.get("name") == "defaultTelephonyNetworkType":
            return str(setting.get("value"))
    return "Private"


def assign_skill(world: World, actor: User, user_id: str, skill_id: str, level: int = 1) -> None:
    require_admin(actor)
    user = world.user(user_id)
    if skill_id not in world.skills:
        raise NotFound(f"Skill {skill_id} not found")
    if skill_id in user.skills:
        raise AlreadyExists(f"Skill {skill_id} is already assigned")
    user.skills[skill_id] = level
    user.provisioning_version = world.new_id()


# ---- features --------------------------------------------------------------------------------------------------
def feature_resource(world: World, feature_id: str) -> dict[str, Any]:
    feature = world.features[feature_id]
    return {
        "id": feature.id,
        "displayName": feature.display_name,
        "description": feature.description or feature.display_name,
    }


def delete_feature(world: World, actor: User, feature_id: str) -> None:
    """Cloud Admin only — not the Contact Center Admin (003 l.4539-4550); default features cannot be unassigned
    (l.4567-4568)."""
    feature = world.features.get(feature_id)
    if feature is None or not feature.assigned:
        raise NotFound(f"Feature {feature_id} not found")
    if not actor.is_cloud_admin:
        raise NoPermission("Removing a feature requires the Cloud Admin role")
    if feature.default:
        raise Forbidden("Default features cannot be unassigned")
    feature.assigned = False


# ---- hierarchical dispositions -------------------------------------------------------------------------------------
def disposition_group(world: World, group_id: str) -> DispositionGroup:
    found = world.groups.get(group_id)
    if found is None:
        raise NotFound(f"Group {group_id} not found")
    return found


def group_resource(world: World, found: DispositionGroup, depth: int) -> dict[str, Any]:
    """depth 0: the group; 1: subresources=* (one level); -1: subresources=** (the whole tree)."""
    out: dict[str, Any] = {
        "id": found.id,
        "uri": f"{API}/groups/{found.id}",
        "path": f"/groups/{found.id}",
        "name": found.name,
        "contains": "dispositions",
        "type": "dispositions",
    }
    if found.default:
        out["defaultGroup"] = True
    if found.parent_id:
        out["parentUri"] = f"{API}/groups/{found.parent_id}"
    if depth != 0:
        children = [g for g in world.groups.values() if g.parent_id == found.id]
        out["groups"] = [group_resource(world, g, -1 if depth < 0 else 0) for g in children]
        out["dispositions"] = [dict(d) for d in found.dispositions]
    return out


def create_subgroup(world: World, actor: User, parent_id: str | None, body: dict[str, Any]) -> DispositionGroup:
    """A sub-group of ``parent_id``, or a top-level group when it is None (E323)."""
    require_admin(actor)
    parent_key = disposition_group(world, parent_id).id if parent_id else None
    name = body.get("name")
    if not name:
        raise MissingParameter("A required parameter is missing: name")
    if body.get("contains", "dispositions") != "dispositions":
        raise ValidationFailed("contains must be dispositions")
    if any(g.parent_id == parent_key and g.name == name for g in world.groups.values()):
        raise AlreadyExists(f"Group {name} already exists here")
    group = DispositionGroup(id=world.new_id(), name=str(name), parent_id=parent_key)
    world.groups[group.id] = group
    return group


def delete_group(world: World, actor: User, group_id: str) -> None:
    """Removes the group and all its children (003 l.11437-11464)."""
    require_admin(actor)
    disposition_group(world, group_id)
    doomed = {group_id}
    changed = True
    while changed:
        changed = False
        for g in world.groups.values():
            if g.parent_id in doomed and g.id not in doomed:
                doomed.add(g.id)
                changed = True
    for gid in doomed:
        del world.groups[gid]


def create_disposition(world: World, actor: User, group_id: str, body: dict[str, Any]) -> dict[str, str]:
    require_admin(actor)
    found = disposition_group(world, group_id)
    if not body.get("name") or not body.get("displayName"):
        raise MissingParameter("A required parameter is missing: name and displayName")
    if any(d["name"] == body["name"] for d in found.dispositions):
        raise AlreadyExists(f"Disposition {body['name']} already exists in this group")
    disposition = {"id": world.new_id(), "name": str(body["name"]), "displayName": str(body["displayName"])}
    found.dispositions.append(disposition)
    return disposition


def delete_disposition(world: World, actor: User, group_id: str, disposition_id: str) -> None:
    require_admin(actor)
    found = disposition_group(world, group_id)
    for disposition in found.dispositions:
        if disposition_id in (disposition["id"], disposition["name"]):
            found.dispositions.remove(disposition)
            return
    raise NotFound(f"Disposition {disposition_id} not found")
