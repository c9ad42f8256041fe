"""The GWS agent session: the one client of a GWS user, used by the families, the replay and the event source.

:class:`GwsAgent` is an :class:`HttpClient` logged in (HTTP Basic) as one configured user — so every request it
sends is evidence, under the configured deadlines and TLS settings — which knows its device (discovered once per
run: a vendor's configuration names users, not device ids; the device and its number come from
``GET /api/v2/me/devices?fields=*``, 003 l.1851-1940, as a real agent desktop finds them), sends the call, device
and agent-state operations, and can keep its own CometD session (:attr:`GwsAgent.cometd`: opened on first use,
reopened when broken) for a caller that drives one agent across many scenarios — the replay.

A family test judges the notifications of a session of its own: :class:`conformance.support.gws_line.Line`.
Cleanup of calls is :func:`conformance.support.cleanup.release_calls` (the one routine).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from typing import Any, cast

from conformance.checks import ConformanceFailure
from conformance.config import GwsUser
from conformance.support.cleanup import release_calls
from conformance.support.gws_checks import expect_ok
from conformance.transport.cometd import CometdClient
from conformance.transport.http import HttpClient, HttpResponse
from conformance.transport.inbox import matcher

__all__ = [
    "AGENT_CHANNELS",
    "CALLS",
    "DEVICES",
    "SERVICES",
    "GwsAgent",
    "find_call",
    "find_setting",
    "put_setting",
    "read_group",
]

CALLS = "/v2/me/calls"
DEVICES = "/v2/me/devices"
SERVICES = "/notifications/services"
#: What an agent's own CometD session subscribes to: the user's channels and the service-state channel.
AGENT_CHANNELS = ("/v2/me/*", SERVICES)


class GwsAgent(HttpClient):
    """An HTTP client logged in (HTTP Basic) as ``user``.

    Args:
        base_url: The GWS root.
        user: The login.
        role: Who it is in the test (``agent A``, ``supervisor``), shown in evidence.
        device_cache: A per-run cache of discovered devices, by user name.
        notification_timeout: The default wait of its own CometD session (:attr:`cometd`).
        **kwargs: Passed to :class:`HttpClient` (timeout, verify, csrf…).
    """

    def __init__(
        self,
        base_url: str,
        user: GwsUser,
        *,
        role: str = "",
        device_cache: MutableMapping[str, dict[str, Any]] | None = None,
        notification_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            base_url, auth=(user.username, user.password), name=role or user.username, system="gws", **kwargs
        )
        self.user = user
        self.role = role
        self.notification_timeout = notification_timeout
        self._devices = device_cache if device_cache is not None else {}
        self._me: dict[str, Any] | None = None
        self._no_device: ConformanceFailure | None = None
        self._cometd: CometdClient | None = None

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def label(self) -> str:
        """Who this is in messages: the role, else the user name."""
        return self.role or self.username

    # ---- identity -----------------------------------------------------------------------------------------------
    @property
    def device(self) -> dict[str, Any]:
        """The user's device (the one with the configured phone number, else the first); a failed discovery is
        remembered too (until :meth:`forget`), so asking again costs no request."""
        if self._no_device is not None:
            raise self._no_device
        cached = self._devices.get(self.user.username)
        if cached is None:
            try:
                cached = self.discover_device()
            except ConformanceFailure as failure:
                self._no_device = failure
                raise
            self._devices[self.user.username] = cached
        return cached

    @property
    def device_id(self) -> str:
        return str(self.device["id"])

    @property
    def phone_number(self) -> str:
        return str(self.device.get("phoneNumber") or self.user.phone_number or "")

    @property
    def found_device_id(self) -> str | None:
        """The device id, or None when the user has no (matching) device — an administrator usually has none."""
        try:
            return self.device_id
        except ConformanceFailure:
            return None

    @property
    def number(self) -> str | None:
        """The device's phone number, else the configured one, else None (never raises)."""
        return self.phone_number if self.found_device_id else self.user.phone_number or None

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

    def me(self, refresh: bool = False) -> dict[str, Any]:
        """``GET /api/v2/me`` (cached): the user's id and userName; {} when the target refuses."""
        if self._me is None or refresh:
            body = self.get("/api/v2/me").json_or_none()
            user = body.get("user") if isinstance(body, Mapping) else None
            self._me = dict(user) if isinstance(user, Mapping) else {}
        return self._me

    @property
    def user_id(self) -> str | None:
        value = self.me().get("id")
        return str(value) if value else None

    def forget(self) -> None:
        """Forget what was learned from the target (after it was reset: ids and sessions are new)."""
        self._me = None
        self._no_device = None
        self._devices.pop(self.user.username, None)
        self.close_cometd()

    # ---- requests -----------------------------------------------------------------------------------------------
    def calls(self) -> list[dict[str, Any]]:
        """The user's calls (``GET /api/v2/me/calls?fields=*``); empty when the answer is not a call list."""
        body = self.get("/api/v2/me/calls", params={"fields": "*"}).json_or_none()
        calls = body.get("calls") if isinstance(body, Mapping) else None
        return [cast(dict[str, Any], c) for c in calls or [] if isinstance(c, Mapping)]

    def call(self, call_id: str) -> dict[str, Any]:
        """``GET /api/v2/me/calls/{id}``: the singular ``call`` member (E329)."""
        body = expect_ok(self.get(f"/api/v2/me/calls/{call_id}"))
        call = body.get("call")
        if not isinstance(call, dict):
            raise ConformanceFailure(f"GET /api/v2/me/calls/{call_id}: no call object", title="No call")
        return call

    def dial(self, number: str, **members: Any) -> HttpResponse:
        """``POST /api/v2/me/devices/{id}/calls`` with ``operationName: Dial``."""
        body = {"operationName": "Dial", "destination": {"phoneNumber": number}, **members}
        return self.post(f"/api/v2/me/devices/{self.device_id}/calls", json=body)

    def call_operation(self, call_id: str, operation: str, **members: Any) -> HttpResponse:
        """``POST /api/v2/me/calls/{id}`` with ``operationName: <operation>``."""
        return self.post(f"/api/v2/me/calls/{call_id}", json={"operationName": operation, **members})

    def device_operation(self, operation: str, **members: Any) -> HttpResponse:
        """``POST /api/v2/me/devices/{id}`` with ``operationName: <operation>``."""
        return self.post(f"/api/v2/me/devices/{self.device_id}", json={"operationName": operation, **members})

    def agent_state(self, operation: str) -> HttpResponse:
        """``POST /api/v2/me/channels/voice`` with ``operationName: <operation>``."""
        return self.post("/api/v2/me/channels/voice", json={"operationName": operation})

    def device_view(self) -> dict[str, Any] | None:
        """The user's device as ``GET /api/v2/me/devices?fields=*`` shows it now; None when it shows none."""
        body = self.get("/api/v2/me/devices", params={"fields": "*"}).json_or_none()
        devices = body.get("devices") if isinstance(body, Mapping) else None
        listed = [d for d in devices or [] if isinstance(d, Mapping)]
        mine = [d for d in listed if str(d.get("id")) == self.found_device_id]
        return dict((mine or listed)[0]) if listed else None

    def hang_up_all(self) -> None:
        """Cleanup: no call left on this user (:func:`conformance.support.cleanup.release_calls`)."""
        release_calls([self])

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
                raise ConformanceFailure(f"{self.label}: no matching call within {timeout:g} s", title="Call not found")
            time.sleep(0.1)

    # ---- its own notification session ---------------------------------------------------------------------------
    @property
    def cometd(self) -> CometdClient:
        """The agent's own CometD session on :data:`AGENT_CHANNELS`, opened on first use and reopened when it
        broke or the server forgot it (a long-lived session; a family test opens its own per test, see
        :class:`~conformance.support.gws_line.Line`)."""
        if self._cometd is None or self._cometd.inbox.broken is not None or self._cometd.client_id is None:
            if self._cometd is not None:
                self._cometd.close()
            client = CometdClient(
                f"{self.base_url}/api/v2/notifications",
                http=self,
                notification_timeout=self.notification_timeout,
                name=self.label,
            )
            client.open(AGENT_CHANNELS)
            self._cometd = client
        return self._cometd

    @property
    def has_cometd(self) -> bool:
        return self._cometd is not None and self._cometd.client_id is not None

    def close_cometd(self) -> None:
        if self._cometd is not None:
            self._cometd.close()
            self._cometd = None

    def drain(self) -> list[dict[str, Any]]:
        """What its own session received and nobody awaited (nothing when it has none)."""
        return self._cometd.drain() if self._cometd is not None else []

    def close(self) -> None:
        self.close_cometd()
        super().close()


def find_call(calls: list[dict[str, Any]], predicate: Any = None) -> dict[str, Any] | None:
    """The first call matching ``predicate``: a callable, a mapping of members, or None (any call)."""
    test = matcher(predicate)
    return next((c for c in calls if test(c)), None)


# ---- settings (destructive tests change them and put them back) ---------------------------------------------
def read_group(admin: GwsAgent, group: str) -> dict[str, Any]:
    """``GET /api/v2/settings/{group}`` as the administrator (l.2143-2220)."""
    body: dict[str, Any] = expect_ok(admin.get(f"/api/v2/settings/{group}"))
    return body


def find_setting(admin: GwsAgent, group: str, key_name: str, key_value: str) -> dict[str, Any] | None:
    """The setting of ``group`` whose ``key_name`` is ``key_value``, or None."""
    settings = read_group(admin, group).get("settings")
    for setting in settings if isinstance(settings, list) else []:
        if isinstance(setting, dict) and setting.get(key_name) == key_value:
            return setting
    return None


def put_setting(admin: GwsAgent, group: str, setting: dict[str, Any], key_name: str, vk_cleanup: Any) -> None:
    """Create or update a setting and register the undo: the original back, or the new one deleted."""
    key_value = setting[key_name]
    original = find_setting(admin, group, key_name, key_value)
    if original is None:
        vk_cleanup(
            admin.delete,
            f"/api/v2/settings/{group}",
            json={key_name: key_value},
            description=f"delete the setting {key_value} of {group}",
        )
        expect_ok(admin.post(f"/api/v2/settings/{group}", json=setting))
    else:
        vk_cleanup(
            admin.put,
            f"/api/v2/settings/{group}",
            json=original,
            description=f"restore the setting {key_value} of {group}",
        )
        expect_ok(admin.put(f"/api/v2/settings/{group}", json=setting))
