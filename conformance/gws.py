"""GWS clients as the fixtures hand them out: an :class:`HttpClient` logged in as one user, which knows its
device (discovered once per session) and a few call helpers every family needs.

Why discovery: a vendor's configuration names users, not device ids; the device id and phone number come
from ``GET /api/v2/me/devices?fields=*`` (003 l.1851-1940), as a real agent desktop does it.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from conformance.config import GwsUser
from conformance.failures import ConformanceFailure
from conformance.transport.http import HttpClient, HttpResponse
from conformance.transport.inbox import matcher

__all__ = ["GwsAgent", "find_call"]


class GwsAgent(HttpClient):
    """An HTTP client logged in (HTTP Basic) as ``user``.

    Args:
        base_url: The GWS root.
        user: The login.
        role: Who it is in the test (``agent A``, ``supervisor``), shown in evidence.
        device_cache: A per-session cache of discovered devices, by user name.
        **kwargs: Passed to :class:`HttpClient` (timeout, verify, csrf…).
    """

    def __init__(
        self,
        base_url: str,
        user: GwsUser,
        *,
        role: str = "",
        device_cache: MutableMapping[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            base_url, auth=(user.username, user.password), name=role or user.username, system="gws", **kwargs
        )
        self.user = user
        self.role = role
        self._devices = device_cache if device_cache is not None else {}

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def device(self) -> dict[str, Any]:
        """The user's device (the one with the configured phone number, else the first)."""
        cached = self._devices.get(self.user.username)
        if cached is None:
            cached = self.discover_device()
            self._devices[self.user.username] = cached
        return cached

    @property
    def device_id(self) -> str:
        return str(self.device["id"])

    @property
    def phone_number(self) -> str:
        return str(self.device.get("phoneNumber") or self.user.phone_number or "")

    def discover_device(self) -> dict[str, Any]:
        """``GET /api/v2/me/devices?fields=*`` and pick the device.

        Raises:
            ConformanceFailure: the request failed or the user has no (matching) device.
        """
        response = self.get("/api/v2/me/devices", params={"fields": "*"})
        body = response.json()
        if response.status != 200 or not isinstance(body, dict):
            raise ConformanceFailure(
                f"{self.role or self.username}: GET /api/v2/me/devices?fields=* answered "
                f"{response.status}: {response.text[:200]!r}",
                title="Device discovery failed",
            )
        devices = [d for d in body.get("devices") or [] if isinstance(d, dict) and d.get("id")]
        if self.user.phone_number:
            matching = [d for d in devices if str(d.get("phoneNumber")) == self.user.phone_number]
            if not matching:
                numbers = ", ".join(str(d.get("phoneNumber")) for d in devices) or "none"
                raise ConformanceFailure(
                    f"{self.username} has no device with phone number {self.user.phone_number} (found: {numbers})",
                    title="Device discovery failed",
                )
            return matching[0]
        if not devices:
            raise ConformanceFailure(
                f"{self.username} has no device (GET /api/v2/me/devices?fields=*)", title="Device discovery failed"
            )
        return devices[0]

    # ---- helpers families share ------------------------------------------------------------------------------
    def calls(self) -> list[dict[str, Any]]:
        """The user's calls (``GET /api/v2/me/calls?fields=*``); empty when the answer is not a call list."""
        body = self.get("/api/v2/me/calls", params={"fields": "*"}).json_or_none()
        calls = body.get("calls") if isinstance(body, dict) else None
        return [c for c in calls or [] if isinstance(c, dict)]

    def dial(self, number: str, **members: Any) -> HttpResponse:
        """``POST /api/v2/me/devices/{id}/calls`` with ``operationName: Dial``."""
        body = {"operationName": "Dial", "destination": {"phoneNumber": number}, **members}
        return self.post(f"/api/v2/me/devices/{self.device_id}/calls", json=body)

    def call_operation(self, call_id: str, operation: str, **members: Any) -> HttpResponse:
        """``POST /api/v2/me/calls/{id}`` with ``operationName: <operation>``."""
        return self.post(f"/api/v2/me/calls/{call_id}", json={"operationName": operation, **members})

    def hang_up_all(self) -> None:
        """Best effort: hang up every call of the user (cleanup)."""
        for call in self.calls():
            if call.get("state") not in ("Released", None):
                self.call_operation(str(call["id"]), "Hangup")

    def wait_for_call(self, predicate: Any = None, timeout: float = 10.0) -> dict[str, Any]:
        """Poll the call list until a call matches (works on any GWS, without CometD).

        Raises:
            ConformanceFailure: none within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            call = find_call(self.calls(), predicate)
            if call is not None:
                return call
            if time.monotonic() >= deadline:
                raise ConformanceFailure(
                    f"{self.role or self.username}: no matching call within {timeout:g} s", title="Call not found"
                )
            time.sleep(0.1)


def find_call(calls: list[dict[str, Any]], predicate: Any = None) -> dict[str, Any] | None:
    """The first call matching ``predicate``: a callable, a mapping of members, or None (any call)."""
    test = matcher(predicate)
    return next((c for c in calls if test(c)), None)
