"""The conformance suite: certifies an implementation over HTTP, CometD and WebSocket only."""

from __future__ import annotations

__all__: list[str] = []
