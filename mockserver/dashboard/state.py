"""What the dashboard shows, read from the domain worlds under their locks: GWS agents (state, devices, DND,
forwarding, capabilities) and calls (state, participants, userData, capabilities), the voice service, the bus
agents and the Platform conversations. Read-only: building it never changes the world (no counters advance)."""

from __future__ import annotations

from typing import Any

from mockserver.domain.gws.views import call_view, device_view

__all__ = ["build"]


def _gws(context: Any) -> dict[str, Any]:
    world = context.world
    with world.lock:
        agents = []
        for user in world.users.values():
            devices = [device_view(world, world.devices[d]) for d in user.device_ids if d in world.devices]
            agents.append(
                {
                    "id": user.id,
                    "userName": user.user_name,
                    "name": f"{user.first_name} {user.last_name}".strip(),
                    "roles": list(user.roles),
                    "devices": devices,
                }
            )
        calls = []
        for call in world.calls.values():
            for party in call.parties:
                if party.device_id is None or party.state == "Released":
                    continue
                view = call_view(world, call, party)
                view["device"] = party.number
                view["connId"] = call.id  # what the control API's answer/hangup of the far end take
                view["external"] = [p.number for p in call.parties if p.device_id is None and p.state != "Released"]
                calls.append(view)
        return {
            "agents": agents,
            "calls": calls,
            "voiceService": world.voice_service.state,
            "queues": [q.get("number") or q.get("id") for q in world.queues.values() if isinstance(q, dict)],
        }


def _connect(context: Any) -> list[dict[str, Any]]:
    return [dict(view, sockets=context.hub.count(view["id"])) for view in context.center.views()]


def _platform(context: Any) -> list[dict[str, Any]]:
    world = context.world
    with world.lock:
        return [
            {
                "id": conv.id,
                "participants": [
                    {"purpose": p.purpose, "state": p.state, "address": getattr(p, "address", None)}
                    for p in conv.participants
                ],
            }
            for conv in world.conversations.values()
        ]


def build(extensions: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = {"gws": _gws(extensions["voicekit.gws"])}
    if "voicekit.connect" in extensions:
        state["connect"] = _connect(extensions["voicekit.connect"])
    if "voicekit.platform" in extensions:
        state["platform"] = _platform(extensions["voicekit.platform"])
    if "voicekit.scenario" in extensions:
        state["scenario"] = extensions["voicekit.scenario"].status()
    return state
