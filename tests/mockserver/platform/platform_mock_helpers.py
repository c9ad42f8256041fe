"""Shared helpers of the Platform mock tests (imported by module name; conftest.py only holds fixtures).

Ids are those of the default seed's ``platform:`` section (mockserver/seed/default.yaml).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import yaml

from mockserver.domain.clock import ManualScheduler
from mockserver.domain.events import EventBus, Notification
from mockserver.domain.platform import PlatformWorld, build, oauth
from mockserver.domain.platform.model import Token
from voicekit.contracts import Contracts, shared_contracts
from voicekit.corpus import Corpus

ROOT = Path(__file__).resolve().parents[3]
SEED = yaml.safe_load((ROOT / "mockserver" / "seed" / "default.yaml").read_text(encoding="utf-8"))["platform"]

ALICE = "0f4b1cf4-8e7a-4a3a-9f2c-1d5e6b7c8d9e"  # WebRTC, persistent connection on
BOB = "0f4b1cf4-0000-4000-8000-000000000002"  # WebRTC, persistent connection off
CAROL = "0f4b1cf4-0000-4000-8000-000000000003"  # managed SIP
DAVE = "0f4b1cf4-0000-4000-8000-000000000004"  # generic SIP with Broadsoft
ERIN = "0f4b1cf4-0000-4000-8000-000000000005"  # generic SIP without remote answer (persistent setting on)
FRANK = "0f4b1cf4-0000-4000-8000-000000000006"  # remote phone (persistent setting on)
GRACE = "0f4b1cf4-0000-4000-8000-000000000007"  # Offline, managed
IVAN = "0f4b1cf4-0000-4000-8000-000000000008"  # WebRTC without "placing calls with another app"
HEIDI = "0f4b1cf4-0000-4000-8000-000000000009"  # On Queue, Support queue
SUPPORT = "5e6f7a8b-0000-4000-8000-00000000000a"

CC_CLIENT, CC_SECRET = "3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a01", "data-action-secret"
APP_CLIENT, APP_SECRET = "3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a02", "agent-app-secret"
SSO_CLIENT, SSO_SECRET = "3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a03", "sso-secret"
LIMITED_CLIENT, LIMITED_SECRET = "3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a04", "dashboard-secret"
REDIRECT = "http://localhost:8000/callback"
FORM = "application/x-www-form-urlencoded"
VERIFIER = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk"  # the fixtures' PKCE example
CHALLENGE = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc"  # its S256 (platform.auth.authorization-code-authorize)
USER_CONTEXT = "This request requires a user context. Client credentials cannot be used for requests to this resource."

PHONE_USERS = {
    "webrtc (persistent on)": ALICE,
    "webrtc (persistent off)": BOB,
    "managed": CAROL,
    "generic-sip-broadsoft": DAVE,
    "generic-sip": ERIN,
    "remote": FRANK,
}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def saml_assertion(name_id: str) -> str:
    xml = (
        '<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><saml2:Subject>'
        f'<saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml2:NameID>'
        "</saml2:Subject></saml2:Assertion>"
    )
    return base64.b64encode(xml.encode()).decode()


def location_params(location: str) -> dict[str, str]:
    """Query and fragment parameters of a redirect."""
    parts = urlsplit(location)
    values = {k: v[0] for k, v in parse_qs(parts.query).items()}
    values.update({k: v[0] for k, v in parse_qs(parts.fragment).items()})
    return values


# ---- the pure domain --------------------------------------------------------------------------------------
class Recorder:
    """An EventBus subscriber keeping every Platform notification."""

    def __init__(self) -> None:
        self.messages: list[Notification] = []

    def __call__(self, notification: Notification) -> None:
        if notification.system == "platform":
            self.messages.append(notification)

    def topic(self, topic: str) -> list[dict[str, Any]]:
        return [n.data for n in self.messages if n.channel == topic]

    def clear(self) -> None:
        self.messages.clear()


def make_world(**settings: Any) -> tuple[PlatformWorld, ManualScheduler, Recorder]:
    section = copy.deepcopy(SEED)
    section.setdefault("settings", {}).update(settings)
    scheduler = ManualScheduler()
    bus = EventBus()
    recorder = Recorder()
    bus.subscribe(recorder)
    return build(section, scheduler, bus), scheduler, recorder


def user_token(
    world: PlatformWorld, user_id: str, client_id: str = APP_CLIENT, scopes: frozenset[str] | None = None
) -> Token:
    return oauth.issue(world, world.clients[client_id], user_id, "authorization_code", scopes)


def cc_token(world: PlatformWorld, client_id: str = CC_CLIENT) -> Token:
    return oauth.issue(world, world.clients[client_id], None, "client_credentials")


# ---- contract checks ------------------------------------------------------------------------------------------
__all__ = ["Corpus"]


def contracts() -> Contracts:
    return shared_contracts()


def response_problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """Problems of an answer against the OpenAPI: a declared status's schema, or ErrorBody/OAuthError."""
    c = contracts()
    op = c.find_operation("platform", method, path)
    refs = c.response_schema_refs(op, status) if op else []
    if op is not None and str(status) not in c.declared_statuses(op) and status < 500:
        refs = []
    if not refs:
        if status < 400:
            return [] if body in (None, b"", "") or op is not None else [f"undeclared {status}"]
        name = "OAuthError" if "/oauth/" in path else "ErrorBody"
        refs = [c.uri_of(f"schemas/platform/{name}.json") + "#"]
    found = [c.errors(ref, body) for ref in refs]
    return [] if any(not f for f in found) else found[0]


def error_problems(path: str, body: Any) -> list[str]:
    c = contracts()
    name = "OAuthError" if "/oauth/" in path else "ErrorBody"
    problems = c.errors(c.uri_of(f"schemas/platform/{name}.json") + "#", body)
    if name == "ErrorBody" and isinstance(body, dict):
        missing = [k for k in ("messageWithParams", "messageParams", "contextId", "details", "errors") if k not in body]
        problems += [f"ErrorBody lacks {k}" for k in missing]
    return problems


def message_problems(message: dict[str, Any]) -> list[str]:
    return contracts().validate_message("platform", None, message)


# ---- the real server ---------------------------------------------------------------------------------------------
class LiveServer:
    """``python -m mockserver.serve`` in a subprocess, with small clients for its Platform and control APIs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.host = f"{base}/platform"

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.base}/control{path}", json=body, timeout=10)

    def reset(self) -> None:
        response = self.control("POST", "/reset")
        assert response.status_code == 200, response.text

    def settings(self, **values: Any) -> dict[str, Any]:
        response = self.control("PUT", "/platform/settings", values)
        assert response.status_code == 200, response.text
        return response.json()

    def token(self, user_id: str | None, client_id: str = APP_CLIENT, **extra: Any) -> str:
        body = {"clientId": client_id, "userId": user_id, **extra}
        response = self.control("POST", "/platform/tokens", body)
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(
            method, f"{self.host}{path}", headers=headers, timeout=10, allow_redirects=False, **kwargs
        )

    def inbound(self, user_id: str, caller: str = "+15550001111") -> dict[str, Any]:
        response = self.control("POST", f"/platform/users/{user_id}/calls", {"from": caller})
        assert response.status_code == 201, response.text
        return response.json()

    def user(self, user_id: str) -> dict[str, Any]:
        response = self.control("GET", f"/platform/users/{user_id}")
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def live_server(tmp: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    ready = tmp / "ready"
    log = tmp / "server.log"
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver.serve", "--port", "0", "--ready-file", str(ready)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text().strip()):
            if process.poll() is not None:
                raise RuntimeError(f"mock server exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mock server not ready after 60 s:\n{log.read_text()}")
            time.sleep(0.05)
        yield LiveServer(ready.read_text().strip())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = log.read_text()
    assert "Traceback" not in output, output[-5000:]


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)[:3000]
