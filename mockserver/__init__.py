"""The stateful mock server (GWS, Genesys Cloud Platform, Connect bus)."""

from __future__ import annotations

__all__: list[str] = []
