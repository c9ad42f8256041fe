"""What the Platform adapter's views share: the world, the contracts, the config and the socket hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from mockserver.config import MockConfig
from mockserver.domain.platform import PlatformWorld
from mockserver.platform.hub import NotificationHub
from voicekit.contracts import Contracts, Operation


@dataclass
class PlatformContext:
    world: PlatformWorld
    contracts: Contracts
    config: MockConfig
    hub: NotificationHub
    _scopes: dict[str, list[str]] = field(default_factory=dict)

    def required_scopes(self, op: Operation) -> list[str]:
        """The genesysOAuth scopes of an operation (any one suffices), from the contract."""
        if op.operation_id not in self._scopes:
            security: list[dict[str, Any]] = list(self.contracts.operation_object(op).get("security") or [])
            scopes = [s for requirement in security for s in requirement.get("genesysOAuth", [])]
            self._scopes[op.operation_id] = scopes
        return self._scopes[op.operation_id]

    def requires_user(self, op: Operation) -> bool:
        return bool(self.contracts.operation_object(op).get("x-voicekit-requires-user-token"))


def ctx() -> PlatformContext:
    return current_app.extensions["voicekit.platform"]
