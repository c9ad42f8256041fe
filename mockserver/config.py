"""Configuration of the mock: defaults, then VOICEKIT_* environment variables, then explicit values."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mockserver import jsonsafe

DEFAULT_SEED = Path(__file__).resolve().parent / "seed" / "default.yaml"


@dataclass
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: Path = DEFAULT_SEED
    csrf: bool = False  # GWS CSRF protection (003 l.4401-4419), off unless configured
    allow_origins: list[str] = field(default_factory=list)  # the global CORS allow list (003 l.4336-4337)
    max_body_bytes: int = field(default_factory=lambda: jsonsafe.limits().max_body_bytes)
    cometd_timeout_ms: int = 30_000
    cometd_max_interval_ms: int = 10_000
    platform_prefix: str = "/platform"
    connect_prefix: str = "/connect"
    control_prefix: str = "/control"
    control_token: str | None = None  # when set, the control API requires "Authorization: Bearer <token>"
    token_lifetime: int = 86_400  # Platform OAuth token lifetime, seconds
    rate_limit: int = 0  # Platform requests per minute per token for POST conversations/calls; 0 = none
    bus_auth: bool = True  # the Connect bus needs the agent's credential and an allowed Origin (E516)
    journal_size: int = 1000  # entries kept by the request journal (GET /control/journal); 0 turns it off
    auth_failure_limit: int = 100  # wrong passwords/client secrets per name within the window before a lockout
    auth_failure_window: int = 60  # seconds; see mockserver/domain/throttle.py (limit 0 = no throttle)
    # Bounded state (README "Limits and expiry"); 0 turns a bound off.
    header_timeout: int = 30  # seconds to send a request line and headers (also idle keep-alive connections)
    session_idle_timeout: int = 1800  # seconds before an unused GWS HTTP session (JSESSIONID) ends
    max_sessions: int = 10_000  # GWS HTTP sessions kept; the least recently used ends first (0: no cap)
    max_tokens: int = 10_000  # Platform access and refresh tokens kept; the oldest is revoked first (0: no cap)
    history_limit: int = 1000  # released GWS calls and reporting events kept for dispositions
    outbox_limit: int = 1000  # messages queued for one bus or Platform socket before it is disconnected
    housekeeping_interval: int = 5  # seconds between expiry sweeps (CometD sessions, GWS sessions, tokens)
    variants: list[str] = field(default_factory=list)  # documented alternatives (mockserver/variants.py)

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> MockConfig:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"VOICEKIT_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(raw, f.type)
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        config = cls(**values)
        config.seed = Path(config.seed)
        return config


def _parse(raw: str, kind: Any) -> Any:
    kind = str(kind)
    if "bool" in kind:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind.startswith("int"):
        return int(raw)
    if "list" in kind:
        return json.loads(raw) if raw.strip().startswith("[") else [x for x in raw.split(",") if x]
    return raw
