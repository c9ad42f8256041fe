"""Import of a GWS world snapshot (PUT /control/state): checked whole, then applied at once.

The snapshot must be valid against specs/schemas/control/Snapshot.json and consistent (the checks a schema
cannot express); the new world is then built and swapped in under the world's lock. A failure while
building restores the previous state, so an import is all or nothing."""

from __future__ import annotations

import copy
from typing import Any

from mockserver.domain.errors import ValidationFailed
from mockserver.domain.gws.world import World
from voicekit.contracts import Contracts

SCHEMA = "schemas/control/Snapshot.json"


def import_snapshot(world: World, contracts: Contracts, body: Any) -> None:
    problems = contracts.errors(contracts.uri_of(SCHEMA) + "#", body)
    if problems:
        raise ValidationFailed(f"Not a GWS snapshot ({SCHEMA}): {problems[0]}")
    data = copy.deepcopy(body["gws"])
    inconsistent = consistency_problems(data)
    if inconsistent:
        raise ValidationFailed(f"Inconsistent snapshot: {inconsistent[0]}")
    with world.lock:
        previous = world.snapshot()
        try:
            world.restore(data)
        except Exception as exc:  # the schema should make this unreachable; the old world stays either way
            world.restore(previous)
            raise ValidationFailed(f"The snapshot could not be applied: {type(exc).__name__}") from None


def consistency_problems(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for kind in (
        "users",
        "devices",
        "calls",
        "agent_states",
        "settings",
        "features",
        "services",
        "skills",
        "queues",
        "routing_templates",
        "phone_numbers",
        "groups",
    ):
        key = "name" if kind == "settings" else "id"
        seen = [item[key] for item in data[kind]]
        if len(seen) != len(set(seen)):
            problems.append(f"{kind}: duplicate {key}")
    users = {u["id"] for u in data["users"]}
    devices = {d["id"] for d in data["devices"]}
    names = [u["user_name"].lower() for u in data["users"]]
    if len(names) != len(set(names)):
        problems.append("users: duplicate user_name")
    for user in data["users"]:
        problems += [f"user {user['id']}: no device {d}" for d in user["device_ids"] if d not in devices]
    for device in data["devices"]:
        if device["user_id"] is not None and device["user_id"] not in users:
            problems.append(f"device {device['id']}: no user {device['user_id']}")
        monitoring = device["monitoring"]
        if monitoring is not None and monitoring["target_device_id"] not in devices:
            problems.append(f"device {device['id']}: monitors no device {monitoring['target_device_id']}")
    for call in data["calls"]:
        problems += [
            f"call {call['id']}: no device {p['device_id']}"
            for p in call["parties"]
            if p["device_id"] is not None and p["device_id"] not in devices
        ]
    problems += [
        f"place {name}: no device {device}" for name, device in data["places"].items() if device not in devices
    ]
    groups = {g["id"] for g in data["groups"]}
    problems += [
        f"group {g['id']}: no parent {g['parent_id']}"
        for g in data["groups"]
        if g["parent_id"] is not None and g["parent_id"] not in groups
    ]
    return problems
