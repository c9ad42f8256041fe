"""Build a GWS world from seed data (the `gws` section of a seed YAML file)."""

from __future__ import annotations

import copy
from typing import Any

from mockserver.domain.clock import Scheduler
from mockserver.domain.events import EventBus
from mockserver.domain.gws.model import AgentStateOperation, Device, User, UserState
from mockserver.domain.gws.settings import default_groups
from mockserver.domain.gws.world import DispositionGroup, World


def build_world(seed: dict[str, Any], scheduler: Scheduler | None = None, bus: EventBus | None = None) -> World:
    world = World(scheduler=scheduler, bus=bus)
    load(world, seed)
    return world


def load(world: World, seed: dict[str, Any]) -> None:
    seed = copy.deepcopy(seed)
    world.settings = default_groups()
    by_number: dict[str, Device] = {}
    for raw in seed.get("devices", []):
        state = raw.get("userState", "NotReady")
        device = Device(
            id=raw["id"],
            phone_number=str(raw["phoneNumber"]),
            telephony_network=raw.get("telephonyNetwork", "Private"),
            user_state=UserState(state),
            vendor=raw.get("vendor"),
        )
        world.devices[device.id] = device
        by_number[device.phone_number] = device
    for raw in seed.get("skills", []):
        world.skills[str(raw["id"])] = {"id": str(raw["id"]), "name": raw["name"]}
    skill_ids = {s["name"]: sid for sid, s in world.skills.items()}
    for raw in seed.get("users", []):
        user = User(
            id=raw["id"],
            user_name=raw["userName"],
            password=str(raw.get("password", "")),
            first_name=raw.get("firstName", ""),
            last_name=raw.get("lastName", ""),
            roles=list(raw.get("roles", ["ROLE_AGENT"])),
        )
        for number in raw.get("devices", []):
            device = by_number[str(number)]
            device.user_id = user.id
            user.device_ids.append(device.id)
        user.skills = {skill_ids[name]: int(level) for name, level in (raw.get("skills") or {}).items()}
        world.users[user.id] = user
    world.places = {name: by_number[str(number)].id for name, number in (seed.get("places") or {}).items()}
    world.phone_numbers = {p["id"]: {"id": p["id"], "number": str(p["number"])} for p in seed.get("phoneNumbers", [])}
    world.routing_templates = list(seed.get("routingTemplates", []))
    world.queues = {
        q["id"]: {k: (str(v) if k == "number" else v) for k, v in q.items()} for q in seed.get("queues", [])
    }
    for raw in seed.get("customAgentStates", []):
        world.agent_states.append(
            AgentStateOperation(
                raw["id"],
                raw["operationName"],
                raw["displayName"],
                raw["state"],
                raw.get("workMode"),
                raw.get("reason"),
            )
        )
    world.settings["dispositions"].settings = [dict(d) for d in seed.get("dispositions", [])]
    world.settings["access-control"].settings = [
        {"name": "allowedOrigins", "value": list(seed.get("allowedOrigins", []))}
    ]
    for raw in seed.get("dispositionGroups", []):
        group = DispositionGroup(
            id=raw["id"], name=raw["name"], parent_id=raw.get("parent"), default=bool(raw.get("default"))
        )
        group.dispositions = [{"id": f"{raw['id']}-{i}", **d} for i, d in enumerate(raw.get("dispositions", []))]
        world.groups[group.id] = group
    for feature_id, assigned in (seed.get("features") or {}).items():
        if feature_id in world.features:
            world.features[feature_id].assigned = bool(assigned)
    for feature in world.features.values():
        if feature.default:
            feature.assigned = True
