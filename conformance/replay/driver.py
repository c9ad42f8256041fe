"""The replay's driver: one agent session (:class:`~conformance.support.gws.GwsAgent`: HTTP client and its own
CometD session) per configured GWS user, the suite's event source for what no client can cause, and the mock's
control API for what only the mock offers.

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

from conformance.config import GwsUser, TargetConfig
from conformance.control import ControlClient
from conformance.errors import VoicekitError
from conformance.events import EventSource
from conformance.support.gws import GwsAgent
from conformance.transport.http import HttpClient

__all__ = ["GwsDriver"]


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
        # The mock's control API (None for other targets: recipes that need it are not run); shared with the
        # event source, so both go through one client.
        self.events = ControlClient.for_target(config) if config.events.control_url else None
        self.event_source = EventSource(config, control=self.events)

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
            raise VoicekitError("only the mock can be reset (events.control_url)")
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
