"""The replay's driver: one agent session (:class:`~conformance.support.gws.GwsAgent`: HTTP client and its own
CometD session) per configured GWS user, the suite's event
source for what no client can cause, and the mock's control API for what only the mock offers.

Why its own sessions rather than the plugin's per-test fixtures: a replay of ~160 fixtures reuses every
user's CometD session across fixtures (a handshake per fixture would dominate the run time) and works the
same from pytest (``conformance/families/test_replay_gws.py``) and from a script. It uses only the suite's
transports (``conformance.transport``), configuration (``TargetConfig``) and events
(``conformance.events.EventSource``: control API, driver command or a person).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from conformance.config import GwsUser, TargetConfig
from conformance.events import EventSource
from conformance.support.gws import GwsAgent
from conformance.transport.http import HttpClient

__all__ = ["ControlEvents", "GwsDriver"]


class ControlEvents:
    """The voicekit mock's control API (``events.control_url``) for what the suite's :class:`EventSource` does
    not model: T-Server faults, push outboxes, remote hang-ups by call id in cleanup, and resets. Other targets
    have none; recipes that need it are not run."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, f"{self.url}{path}", json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"control API {method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json() if response.content else None

    def reset(self) -> None:
        self._send("POST", "/reset")

    def inbound_call(
        self,
        caller: str,
        *,
        to: str | None = None,
        queue: str | None = None,
        user_data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"from": caller}
        if to:
            body["to"] = to
        if queue:
            body["queue"] = queue
        if user_data:
            body["userData"] = dict(user_data)
        return dict(self._send("POST", "/gws/calls", body))

    def remote(self, call_id: str, action: str) -> None:
        self._send("POST", f"/gws/calls/{call_id}/{action}")

    def voice_service(self, state: str) -> None:
        self._send("PUT", "/gws/services/voice", {"state": state})

    def fault(
        self, *, kind: str = "error", operation: str | None = None, user: str | None = None, message: str | None = None
    ) -> None:
        body = {"kind": kind, "operation": operation, "user": user, "message": message}
        self._send("POST", "/gws/faults", {k: v for k, v in body.items() if v is not None})

    def push_outbox(self, user_id: str) -> list[dict[str, Any]]:
        return list((self._send("GET", f"/gws/push/{user_id}") or {}).get("messages") or [])

    def close(self) -> None:
        self._client.close()


class GwsDriver:
    """Everything the replay talks to: the configured users' sessions, an anonymous client, the events."""

    def __init__(self, config: TargetConfig, *, quiet: float = 0.3, settle: float = 0.05) -> None:
        if not config.gws.url:
            raise ValueError("no GWS URL configured")
        self.config = config
        self.base_url = config.gws.url.rstrip("/")
        self.quiet = quiet
        self.settle = settle
        self._sessions: dict[str, GwsAgent] = {}
        self.anonymous = HttpClient(
            self.base_url,
            csrf="off",
            timeout=config.timeouts.request,
            verify=config.ssl_verify(),
            name="anonymous",
            system="gws",
        )
        self.event_source = EventSource(config)
        self.events = (
            ControlEvents(config.events.control_url, config.events.control_token) if config.events.control_url else None
        )

    # ---- the cast -------------------------------------------------------------------------------------------------
    @property
    def agents(self) -> list[GwsAgent]:
        return [self.session(login, f"agent {i + 1}") for i, login in enumerate(self.config.gws.agents)]

    @property
    def supervisor(self) -> GwsAgent | None:
        login = self.config.gws.supervisor
        return self.session(login, "supervisor") if login else None

    @property
    def admin(self) -> GwsAgent | None:
        login = self.config.gws.admin
        return self.session(login, "admin") if login else None

    def session(self, login: GwsUser, label: str) -> GwsAgent:
        """The agent session of ``login`` (one per user for the whole replay)."""
        if login.username not in self._sessions:
            config = self.config
            self._sessions[login.username] = GwsAgent(
                self.base_url,
                login,
                role=label,
                csrf=config.gws.csrf,
                timeout=config.timeouts.request,
                verify=config.ssl_verify(),
                notification_timeout=config.timeouts.notification,
            )
        return self._sessions[login.username]

    @property
    def sessions(self) -> list[GwsAgent]:
        return list(self._sessions.values())

    # ---- resets -------------------------------------------------------------------------------------------------
    def reopen_notifications(self) -> None:
        """Drop every CometD session (they reopen on first use): after the target was reset its server-side
        sessions are gone, and a message published before a re-handshake would be lost."""
        for session in self._sessions.values():
            session.forget()

    def reset_target(self) -> None:
        """Back to the seed through the mock's control API (the last resort of a cleanup)."""
        if self.events is None:
            raise RuntimeError("only the mock can be reset")
        self.events.reset()
        self.reopen_notifications()

    # ---- helpers ------------------------------------------------------------------------------------------------
    def settle_inboxes(self, sessions: list[GwsAgent], idle: float | None = None, limit: float = 1.0) -> None:
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
