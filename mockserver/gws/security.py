"""Authentication (HTTP Basic, JSESSIONID), CSRF tokens and the CORS filter of GWS (003 l.3509-3510,
4326-4479). Only /api/v2/diagnostics/version is anonymous."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Request, Response

from mockserver.domain.gws import settings as settings_rules
from mockserver.domain.gws.model import User
from mockserver.domain.gws.world import World
from mockserver.domain.throttle import FailureThrottle

SESSION_COOKIE = "JSESSIONID"
CSRF_HEADER = "X-CSRF-TOKEN"


@dataclass(slots=True)  # one GC-tracked object per session (Basic requests without a cookie each open one)
class HttpSession:
    id: str
    user_id: str
    csrf_token: str
    last_used: float = field(default_factory=lambda: time.monotonic())


class Sessions:
    """HTTP sessions; the CSRF token shares the session's life (003 l.4406-4407)."""

    def __init__(self, throttle: FailureThrottle | None = None, idle_timeout: float = 0, max_sessions: int = 0) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, HttpSession] = {}  # least recently used first
        self.throttle = throttle or FailureThrottle()  # wrong passwords per user name
        self.idle_timeout = idle_timeout  # seconds; 0: sessions end only on logout or reset
        # At most this many sessions (0: no cap): every cookie-less Basic request opens one, so a client that never
        # sends the cookie back would otherwise grow them until the idle timeout; the least recently used goes.
        self.max_sessions = max_sessions

    def get(self, session_id: str | None) -> HttpSession | None:
        with self._lock:
            session = self._by_id.get(session_id or "")
            if session is None:
                return None
            now = time.monotonic()
            if self.idle_timeout and now - session.last_used > self.idle_timeout:
                del self._by_id[session.id]
                return None
            session.last_used = now
            del self._by_id[session.id]  # most recently used last
            self._by_id[session.id] = session
            return session

    def expire_idle(self) -> int:
        """End the sessions unused for ``idle_timeout`` (housekeeping); returns how many."""
        if not self.idle_timeout:
            return 0
        horizon = time.monotonic() - self.idle_timeout
        with self._lock:
            idle = [k for k, s in self._by_id.items() if s.last_used < horizon]
            for key in idle:
                del self._by_id[key]
        return len(idle)

    def create(self, user_id: str) -> HttpSession:
        session = HttpSession(secrets.token_urlsafe(18), user_id, str(_uuid()))
        with self._lock:
            while self.max_sessions and len(self._by_id) >= self.max_sessions:
                del self._by_id[next(iter(self._by_id))]
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


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison on UTF-8 bytes: hmac refuses non-ASCII str, which made a non-ASCII password
    or token a 500 instead of a wrong credential."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


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
        if sessions.throttle.locked(credentials[0]):
            return None, None
        user = world.user_by_name(credentials[0])
        if user is None or not user.enabled or not same_secret(credentials[1], user.password):
            sessions.throttle.failed(credentials[0])
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
    return session is not None and bool(token) and same_secret(token, session.csrf_token)


def set_session_cookie(response: Response, session_id: str) -> None:
    """``Set-Cookie: JSESSIONID=…; HttpOnly; Path=/``, as ``response.set_cookie`` writes it: session ids are
    ``token_urlsafe`` (nothing to quote), and every cookie-less Basic request gets one, so the general cookie
    writer's cost showed on every such request."""
    response.headers.add("Set-Cookie", f"{SESSION_COOKIE}={session_id}; HttpOnly; Path=/")


def add_csrf_headers(response: Response, session: HttpSession) -> None:
    response.headers["X-CSRF-HEADER"] = CSRF_HEADER
    response.headers["X-CSRF-TOKEN"] = session.csrf_token


def own_origins(environ: dict) -> set[str]:
    """The mock's own origins: the address and port the server is bound to, never the Host header (which the
    client writes, so a forged Host would make any Origin "our own")."""
    port = environ.get("SERVER_PORT", "")
    names = {"localhost", "127.0.0.1", environ.get("SERVER_NAME", "")}
    return {f"http://{name}:{port}" for name in names if name} | {
        f"http://{name}" for name in names if name and port == "80"
    }


def origin_allowed(world: World, global_origins: list[str], origin: str, own: set[str]) -> bool:
    """Global allowOrigins merged with access-control allowedOrigins; wildcards within a domain only."""
    if origin in own:
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
