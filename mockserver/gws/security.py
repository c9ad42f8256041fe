"""Authentication (HTTP Basic, JSESSIONID), CSRF tokens and the CORS filter of GWS (003 l.3509-3510,
4326-4479). Only /api/v2/diagnostics/version is anonymous."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import threading
from dataclasses import dataclass

from flask import Request, Response

from mockserver.domain.gws import settings as settings_rules
from mockserver.domain.gws.model import User
from mockserver.domain.gws.world import World

SESSION_COOKIE = "JSESSIONID"
CSRF_HEADER = "X-CSRF-TOKEN"


@dataclass
class HttpSession:
    id: str
    user_id: str
    csrf_token: str


class Sessions:
    """HTTP sessions; the CSRF token shares the session's life (003 l.4406-4407)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, HttpSession] = {}

    def get(self, session_id: str | None) -> HttpSession | None:
        with self._lock:
            return self._by_id.get(session_id or "")

    def create(self, user_id: str) -> HttpSession:
        session = HttpSession(secrets.token_urlsafe(18), user_id, str(_uuid()))
        with self._lock:
            self._by_id[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._by_id.pop(session_id, None)

    def end_user(self, user_id: str) -> None:
        with self._lock:
            for key in [k for k, s in self._by_id.items() if s.user_id == user_id]:
                del self._by_id[key]

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authenticate(world: World, sessions: Sessions, request: Request) -> tuple[User | None, HttpSession | None]:
    """Basic credentials win; otherwise the JSESSIONID cookie's session."""
    credentials = basic_credentials(request)
    session = sessions.get(request.cookies.get(SESSION_COOKIE))
    if credentials is not None:
        user = world.user_by_name(credentials[0])
        if user is None or not user.enabled or not hmac.compare_digest(user.password, credentials[1]):
            return None, None
        if session is None or session.user_id != user.id:
            session = sessions.create(user.id)
        return user, session
    if session is not None and session.user_id in world.users:
        return world.users[session.user_id], session
    return None, None


def csrf_ok(request: Request, session: HttpSession | None) -> bool:
    if request.method not in ("POST", "PUT", "DELETE", "PATCH"):
        return True
    token = request.headers.get(CSRF_HEADER, "")
    return session is not None and bool(token) and hmac.compare_digest(token, session.csrf_token)


def add_csrf_headers(response: Response, session: HttpSession) -> None:
    response.headers["X-CSRF-HEADER"] = CSRF_HEADER
    response.headers["X-CSRF-TOKEN"] = session.csrf_token


def origin_allowed(world: World, global_origins: list[str], origin: str, own_origin: str) -> bool:
    """Global allowOrigins merged with access-control allowedOrigins; wildcards within a domain only."""
    if origin == own_origin:
        return True
    for pattern in [*global_origins, *settings_rules.allowed_origins(world)]:
        if pattern == "*":
            continue
        regex = "^" + re.escape(pattern).replace(r"\*\.", r"(?:[A-Za-z0-9-]+\.)+") + "$"
        if re.match(regex, origin):
            return True
    return False


def add_cors_headers(response: Response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = "X-CSRF-HEADER, X-CSRF-TOKEN"
    response.headers["Vary"] = "Origin"
