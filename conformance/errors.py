"""Errors of the kit itself, kept apart from the target's failures (see ``conformance.failures``).

A ``VoicekitError`` means the kit cannot do its job (bad configuration, a broken spec, a mock that does not
start): the certificate reports it as an *error*, never as the target failing a rule.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConfigError", "EventFailed", "LaunchError", "VoicekitError"]


class VoicekitError(Exception):
    """A problem with the kit, its configuration or its input — not the target's fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(VoicekitError):
    """The target configuration is unreadable, incomplete or contradictory."""


class LaunchError(VoicekitError):
    """The embedded mock could not be started."""


class EventFailed(VoicekitError):
    """An event source refused or failed (control API error, driver crash): the kit could not cause the event."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
