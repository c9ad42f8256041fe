"""Seed user ids of the default seed and a notification recorder, shared by the domain tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.events import Notification

AGENT_A = "5c0c1b9e4e7a4f61a2a3c1d2e3f40001"  # paveld, 5000
AGENT_B = "8eb52b0724344f67a44389db5aa5f192"  # jsmith, 5001
AGENT_C = "5c0c1b9e4e7a4f61a2a3c1d2e3f40002"  # hzetterberg, 5002
AGENT_PUBLIC = "5c0c1b9e4e7a4f61a2a3c1d2e3f40003"  # nlidstrom, 5003 on a Public network
SUPERVISOR = "5c0c1b9e4e7a4f61a2a3c1d2e3f40004"  # sgarcia, 5005
ADMIN = "5c0c1b9e4e7a4f61a2a3c1d2e3f40005"


@dataclass
class Recorder:
    seen: list[Notification] = field(default_factory=list)

    def __call__(self, notification: Notification) -> None:
        self.seen.append(notification)

    def take(self) -> list[Notification]:
        out, self.seen = self.seen, []
        return out

    def calls_for(self, user_id: str) -> list[dict[str, Any]]:
        return [n.data for n in self.seen if n.audience == user_id and n.channel == "/v2/me/calls"]

    def summary(self, user_id: str | None = None) -> list[tuple[str, str, str]]:
        """(audience, notificationType or messageType, call state) in order."""
        out = []
        for n in self.seen:
            if user_id is not None and n.audience != user_id:
                continue
            call = n.data.get("call") or {}
            out.append(
                (n.audience or "*", n.data.get("notificationType") or n.data["messageType"], call.get("state", ""))
            )
        return out
