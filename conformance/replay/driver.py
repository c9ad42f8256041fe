"""The replay's driver: one HTTP client and one CometD session per configured GWS user, the suite's event
source for what no client can cause, and the mock's control API for what only the mock offers.

Why its own sessions rather than the plugin's per-test fixtures: a replay of ~160 fixtures reuses every
user's CometD session across fixtures (a handshake per fixture would dominate the run time) and works the
same from pytest (``conformance/families/test_replay_gws.py``) and from a script. It uses only the suite's
transports (``conformance.transport``), configuration (``TargetConfig``) and events
(``conformance.events.EventSource``: control API, driver command or a person) and the kit's one control-API
client (``conformance.control.ControlClient``) for what only the mock offers: T-Server faults, push outboxes,
remote hang-ups by call id in cleanup, and resets.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

from conformance.config import GwsUser, TargetConfig
from conformance.control import ControlClient
from conformance.errors import VoicekitError
from conformance.events import EventSource
from conformance.transport.cometd import CometdClient
from conformance.transport.http import HttpClient, HttpResponse

__all__ = ["CHANNELS", "GwsDriver", "UserSession"]

#: What every replay session subscribes to: the user's own channels and the service-state channel.
CHANNELS = ("/v2/me/*", "/notifications/services")


class UserSession:
    """One configured user: HTTP client, CometD session (opened on first use), device and number."""

    def __init__(self, driver: GwsDriver, role: str, login: GwsUser, label: str) -> None:
        self.driver = driver
        self.role = role
        self.login = login
        self.label = label
        config = driver.config
        self.http = HttpClient(
            driver.base_url,
            auth=(login.username, login.password),
            csrf=config.gws.csrf,
            timeout=config.timeouts.request,
            verify=config.ssl_verify(),
            name=label,
            system="gws",
        )
        self._cometd: CometdClient | None = None
        self._me: dict[str, Any] | None = None

    # ---- identity -----------------------------------------------------------------------------------------------
    def me(self, refresh: bool = False) -> dict[str, Any]:
        """GET /api/v2/me?subresources=devices (cached): the user's id, userName and devices."""
        if self._me is None or refresh:
            response = self.http.get("/api/v2/me", params={"subresources": "devices"})
            body = response.json_or_none() or {}
            self._me = body.get("user") if isinstance(body, Mapping) and isinstance(body.get("user"), Mapping) else {}
        return self._me or {}

    @property
    def user_id(self) -> str | None:
        value = self.me().get("id")
        return str(value) if value else None

    @property
    def device(self) -> dict[str, Any] | None:
        devices = self.me().get("devices") or []
        return cast(dict[str, Any], devices[0]) if devices and isinstance(devices[0], Mapping) else None

    @property
    def device_id(self) -> str | None:
        device = self.device
        return str(device["id"]) if device and device.get("id") else None

    @property
    def number(self) -> str | None:
        device = self.device
        if device and device.get("phoneNumber"):
            return str(device["phoneNumber"])
        return self.login.phone_number

    # ---- notifications ----------------------------------------------------------------------------------------
    @property
    def cometd(self) -> CometdClient:
        if self._cometd is None or self._cometd.inbox.broken is not None or self._cometd.client_id is None:
            if self._cometd is not None:
                self._cometd.close()
            client = CometdClient(
                f"{self.driver.base_url}/api/v2/notifications",
                http=self.http,
                notification_timeout=self.driver.config.timeouts.notification,
                name=self.label,
            )
            client.open(CHANNELS)
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
        return self._cometd.drain() if self._cometd is not None else []

    # ---- requests -----------------------------------------------------------------------------------------------
    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.http.get(path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> HttpResponse:
        if "json" not in kwargs:
            kwargs["json"] = body
        return self.http.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.http.put(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.http.delete(path, **kwargs)

    def calls(self) -> list[dict[str, Any]]:
        """The user's calls (GET /api/v2/me/calls?fields=*); [] when the target refuses."""
        body = self.http.get("/api/v2/me/calls", params={"fields": "*"}).json_or_none()
        calls = body.get("calls") if isinstance(body, Mapping) else None
        return [cast(dict[str, Any], c) for c in calls or [] if isinstance(c, Mapping)]

    def device_view(self) -> dict[str, Any] | None:
        body = self.http.get("/api/v2/me/devices", params={"fields": "*"}).json_or_none()
        devices = body.get("devices") if isinstance(body, Mapping) else None
        return devices[0] if devices else None

    def close(self) -> None:
        self.close_cometd()
        self.http.close()

    def __repr__(self) -> str:
        return f"<UserSession {self.label} {self.login.username}>"


class GwsDriver:
    """Everything the replay talks to: the configured users' sessions, an anonymous client, the events."""

    def __init__(self, config: TargetConfig, *, quiet: float = 0.3, settle: float = 0.05) -> None:
        if not config.gws.url:
            raise ValueError("no GWS URL configured")
        self.config = config
        self.base_url = config.gws.url.rstrip("/")
        self.quiet = quiet
        self.settle = settle
        self._sessions: dict[str, UserSession] = {}
        self.anonymous = HttpClient(
            self.base_url,
            csrf="off",
            timeout=config.timeouts.request,
            verify=config.ssl_verify(),
            name="anonymous",
            system="gws",
        )
        # The mock's control API (None for other targets: recipes that need it are not run); shared with the
        # event source, so both go through one client.
        self.events = ControlClient.for_target(config) if config.events.control_url else None
        self.event_source = EventSource(config, control=self.events)

    # ---- the cast -------------------------------------------------------------------------------------------------
    @property
    def agents(self) -> list[UserSession]:
        return [self.session("agent", login, f"agent {i + 1}") for i, login in enumerate(self.config.gws.agents)]

    @property
    def supervisor(self) -> UserSession | None:
        login = self.config.gws.supervisor
        return self.session("supervisor", login, "supervisor") if login else None

    @property
    def admin(self) -> UserSession | None:
        login = self.config.gws.admin
        return self.session("admin", login, "admin") if login else None

    def session(self, role: str, login: GwsUser, label: str) -> UserSession:
        if login.username not in self._sessions:
            self._sessions[login.username] = UserSession(self, role, login, label)
        return self._sessions[login.username]

    @property
    def sessions(self) -> list[UserSession]:
        return list(self._sessions.values())

    # ---- resets -------------------------------------------------------------------------------------------------
    def reopen_notifications(self) -> None:
        """Drop every CometD session (they reopen on first use): after the target was reset its server-side
        sessions are gone, and a message published before a re-handshake would be lost."""
        for session in self._sessions.values():
            session.close_cometd()
            session._me = None

    def reset_target(self) -> None:
        """Back to the seed through the mock's control API (the last resort of a cleanup)."""
        if self.events is None:
            raise VoicekitError("only the mock can be reset (events.control_url)")
        self.events.reset()
        self.reopen_notifications()

    # ---- helpers ------------------------------------------------------------------------------------------------
    def settle_inboxes(self, sessions: list[UserSession], idle: float | None = None, limit: float = 1.0) -> None:
        """Wait until no session received anything for ``idle`` seconds (at most ``limit``), then drain."""
        idle = self.settle if idle is None else idle
        deadline = time.monotonic() + limit
        counts = [len(s.cometd.messages) for s in sessions if s.has_cometd]
        while time.monotonic() < deadline:
            time.sleep(idle)
            now = [len(s.cometd.messages) for s in sessions if s.has_cometd]
            if now == counts:
                break
            counts = now
        for session in sessions:
            session.drain()

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()
        self.anonymous.close()
        if self.events is not None:
            self.events.close()
        self.event_source.close()
