"""A mutating HTTP proxy for proving that the conformance families catch faults.

It runs in a thread in front of the mock, forwards every request, and rewrites requests, responses and the
CometD (Bayeux) messages of ``/api/v2/notifications`` replies according to one named fault. The suite is
pointed at the proxy with a configuration file, so a family test that fails names the rule the fault breaks.

Faults live in a registry: a :class:`Fault` bundles up to three rewrite functions, registered by name with
:func:`fault`::

    @fault("hold-wrong-state", "Held calls are notified as Established")
    def _hold_wrong_state(ctx, message):          # a ``messages`` hook gets one data message
        ...

Hooks (all optional):

* ``request(ctx, req)`` — change the request before it is forwarded (headers, query, body);
* ``response(ctx, req, resp)`` — change an HTTP answer (``resp.json`` is the parsed body, written back);
* ``message(ctx, message)`` — change one CometD data message; return None to drop it, a list to replace it
  by several (duplicates), the message to keep it;
* ``batch(ctx, messages)`` — change the list of data messages of one Bayeux reply (reordering);
* ``bayeux(ctx, req, messages)`` — change a whole Bayeux reply, ``/meta/*`` replies included (returns the new
  list; runs before ``message``/``batch``). The Bayeux faults are in ``bayeux_faults.py``.

``ctx`` is the :class:`ProxyContext`: the fault's options (e.g. credentials for ``no-basic``) and what the proxy
learned so far (CSRF tokens by session, credentials seen, Public devices). Extending the harness to more faults
is adding one decorated function here and one line in the test's table.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

__all__ = ["FAULTS", "Fault", "FaultyProxy", "ProxyContext", "ProxyRequest", "ProxyResponse", "fault"]

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
}
NOTIFICATIONS = "/api/v2/notifications"
CALLS, DEVICES = "/v2/me/calls", "/v2/me/devices"


# ---- what the hooks see -------------------------------------------------------------------------------------------
@dataclass
class ProxyRequest:
    method: str
    path: str  # without the query
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def user(self) -> str | None:
        """The Basic user of the request, if any."""
        auth = self.headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            return base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        except ValueError:
            return None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()


@dataclass
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    json: Any = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()] + [(name, value)]


@dataclass
class ProxyContext:
    """A fault's options and what the proxy learned while forwarding."""

    upstream: str
    options: dict[str, Any] = field(default_factory=dict)
    csrf_tokens: dict[str, str] = field(default_factory=dict)  # JSESSIONID → token
    credentials: dict[str, str] = field(default_factory=dict)  # user → Authorization header
    public_devices: set[str] = field(default_factory=set)
    memory: dict[str, Any] = field(default_factory=dict)  # what a stateful fault remembers, by key
    released_calls: set[str] = field(default_factory=set)  # call ids hung up through the proxy
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: httpx.Client | None = None


@dataclass
class Fault:
    name: str
    description: str
    request: Callable[[ProxyContext, ProxyRequest], None] | None = None
    response: Callable[[ProxyContext, ProxyRequest, ProxyResponse], None] | None = None
    message: Callable[[ProxyContext, dict[str, Any]], Any] | None = None
    batch: Callable[[ProxyContext, list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    bayeux: Callable[[ProxyContext, ProxyRequest, list[Any]], list[Any]] | None = None


FAULTS: dict[str, Fault] = {}


def fault(name: str, description: str, hook: str = "message") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the ``hook`` of the fault ``name`` (several hooks may share a name)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        entry = FAULTS.setdefault(name, Fault(name, description))
        setattr(entry, hook, func)
        return func

    return register


FAULTS["none"] = Fault("none", "a transparent proxy (the baseline)")


# ---- helpers for rewrites --------------------------------------------------------------------------------------
def calls_in(value: Any) -> list[dict[str, Any]]:
    """Every call resource in a response body or a message's data."""
    if not isinstance(value, dict):
        return []
    found = [value["call"]] if isinstance(value.get("call"), dict) else []
    found += [c for c in value.get("calls") or [] if isinstance(c, dict)]
    return found


def devices_in(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    found = [value["device"]] if isinstance(value.get("device"), dict) else []
    found += [d for d in value.get("devices") or [] if isinstance(d, dict)]
    return found


def both(name: str, description: str) -> Callable[[Callable[[ProxyContext, Any], None]], Callable[..., Any]]:
    """Register one rewrite of a body (``data`` of a message, or an HTTP JSON body) for messages and responses."""

    def register(func: Callable[[ProxyContext, Any], None]) -> Callable[..., Any]:
        def on_message(ctx: ProxyContext, message: dict[str, Any]) -> dict[str, Any]:
            func(ctx, message.get("data"))
            return message

        def on_response(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
            func(ctx, resp.json)

        fault(name, description, "message")(on_message)
        fault(name, description, "response")(on_response)
        return func

    return register


# ---- the faults ----------------------------------------------------------------------------------------------------
@fault("hold-wrong-state", "a held call is notified with state Established")
def _hold_wrong_state(ctx: ProxyContext, message: dict[str, Any]) -> dict[str, Any]:
    for call in calls_in(message.get("data")):
        if call.get("state") == "Held":
            call["state"] = "Established"
    return message


@both("extra-capability", "a ringing call also offers Reject (a direct call must not)")
def _extra_capability(ctx: ProxyContext, body: Any) -> None:
    for call in calls_in(body):
        if call.get("state") == "Ringing" and "Reject" not in call.get("capabilities", []):
            call["capabilities"] = [*call.get("capabilities", []), "Reject"]


@both("missing-capability", "an established call does not offer Hold")
def _missing_capability(ctx: ProxyContext, body: Any) -> None:
    for call in calls_in(body):
        if call.get("state") == "Established":
            call["capabilities"] = [c for c in call.get("capabilities", []) if c != "Hold"]


@fault("wrong-status-code", "an operation invalid for the state is refused with statusCode 10 instead of 2", "response")
def _wrong_status_code(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if isinstance(resp.json, dict) and resp.json.get("statusCode") == 2:
        resp.json["statusCode"] = 10


@fault("ignore-limit", "pagination parameters are ignored on /api/v2/users", "request")
def _ignore_limit(ctx: ProxyContext, req: ProxyRequest) -> None:
    if req.path.rstrip("/") == "/api/v2/users":
        req.query = [(k, v) for k, v in req.query if k not in ("limit", "offset")]


@fault("no-total-count", "paginated reads (offset/limit) answer without totalCount", "response")
def _no_total_count(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "GET" and isinstance(resp.json, dict):
        resp.json.pop("totalCount", None)


@fault("partial-as-0", "a bulk operation that partly fails answers statusCode 0 instead of 7", "response")
def _partial_as_0(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if isinstance(resp.json, dict) and resp.json.get("statusCode") == 7:
        resp.json["statusCode"] = 0


def _me_operation(req: ProxyRequest) -> str | None:
    body = req.json()
    if req.method == "POST" and req.path.rstrip("/") == "/api/v2/me" and isinstance(body, dict):
        return str(body.get("operationName"))
    return None


@fault("start-session-no-login", "StartContactCenterSession answers 0 but leaves the agent logged out", "request")
def _start_session_no_login(ctx: ProxyContext, req: ProxyRequest) -> None:
    if _me_operation(req) == "StartContactCenterSession":
        req.set_json({"operationName": "EndContactCenterSession"})


@fault(
    "end-session-ignored", "EndContactCenterSession answers 0 but neither logs out nor ends the HTTP session", "request"
)
def _end_session_ignored(ctx: ProxyContext, req: ProxyRequest) -> None:
    if _me_operation(req) == "EndContactCenterSession":
        req.set_json({"operationName": "StartContactCenterSession", "channels": ["voice"]})


@fault("services-agent-forbidden", "agents are refused GET /api/v2/services (403)", "response")
def _services_forbidden(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "GET" and req.path.startswith("/api/v2/services"):
        resp.status = 403
        resp.json = {"statusCode": 3, "statusMessage": "Forbidden"}


@fault("no-csrf", "modifying requests without the CSRF token are accepted (the proxy adds the token)", "request")
def _no_csrf_request(ctx: ProxyContext, req: ProxyRequest) -> None:
    if req.method not in ("POST", "PUT", "DELETE", "PATCH") or req.path.startswith(NOTIFICATIONS):
        return
    session = _session(req)
    token = ctx.csrf_tokens.get(session or "")
    if token:
        req.headers["x-csrf-token"] = token


@fault("no-csrf", "modifying requests without the CSRF token are accepted (the proxy adds the token)", "response")
def _no_csrf_learn(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    token = resp.header("X-CSRF-TOKEN")
    session = _cookie(resp.header("Set-Cookie") or "") or _session(req)
    if token and session:
        with ctx.lock:
            ctx.csrf_tokens[session] = token


def _session(req: ProxyRequest) -> str | None:
    return _cookie(req.headers.get("cookie", ""))


def _cookie(text: str) -> str | None:
    for part in text.replace(",", ";").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "JSESSIONID":
            return value
    return None


@fault("no-basic", "requests without credentials are answered as the configured agent (no authentication)", "request")
def _no_basic(ctx: ProxyContext, req: ProxyRequest) -> None:
    if "authorization" not in req.headers and "JSESSIONID" not in req.headers.get("cookie", ""):
        raw = f"{ctx.options['user']}:{ctx.options['password']}".encode()
        req.headers["authorization"] = "Basic " + base64.b64encode(raw).decode()


@fault(
    "leak-other-agent-call",
    "an agent's /me/calls also shows the calls of the other agents the proxy has seen",
    "response",
)
def _leak(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    user = req.user
    if req.method != "GET" or not req.path.startswith("/api/v2/me/calls") or ctx.client is None or user is None:
        return
    others = [auth for name, auth in ctx.credentials.items() if name != user]
    foreign: list[dict[str, Any]] = []
    for auth in others:
        answer = ctx.client.get(
            f"{ctx.upstream}/api/v2/me/calls",
            params={"fields": "*"},
            headers={"Authorization": auth, "Host": req.headers.get("host", "")},
        )
        foreign += [c for c in (answer.json().get("calls") or []) if isinstance(c, dict)]
    if req.path.rstrip("/") == "/api/v2/me/calls" and isinstance(resp.json, dict):
        if "calls" in resp.json:
            resp.json["calls"] += foreign
        else:
            resp.json.setdefault("uris", []).extend(c["uri"] for c in foreign)
            resp.json.setdefault("paths", []).extend(f"/me/calls/{c['id']}" for c in foreign)
        return
    wanted = req.path.rstrip("/").rsplit("/", 1)[-1]
    match = next((c for c in foreign if str(c.get("id")) == wanted), None)
    if resp.status == 404 and match is not None:
        resp.status = 200
        resp.json = {"statusCode": 0, "call": match}


@fault("reorder-notifications", "the call notifications of one reply are delivered in reverse order", "batch")
def _reorder(ctx: ProxyContext, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    calls = [m for m in messages if m.get("channel") == CALLS]
    if len(calls) < 2:
        return messages
    reversed_calls = iter(reversed(calls))
    return [next(reversed_calls) if m.get("channel") == CALLS else m for m in messages]


@fault("drop-notification", "DtmfSent notifications are dropped")
def _drop(ctx: ProxyContext, message: dict[str, Any]) -> dict[str, Any] | None:
    data = message.get("data") or {}
    return None if data.get("notificationType") == "DtmfSent" else message


@fault("duplicate-notification", "every DeviceStateChangeMessage is delivered twice")
def _duplicate(ctx: ProxyContext, message: dict[str, Any]) -> Any:
    if (message.get("data") or {}).get("messageType") == "DeviceStateChangeMessage":
        return [message, json.loads(json.dumps(message))]
    return message


@fault("wrong-notification-type", "AttachedDataChanged is announced as StatusChange")
def _wrong_type(ctx: ProxyContext, message: dict[str, Any]) -> dict[str, Any]:
    data = message.get("data") or {}
    if data.get("notificationType") == "AttachedDataChanged":
        data["notificationType"] = "StatusChange"
    return message


# "offline-logout" (userState.state Logout for a logged-out device) is no fault: the agent-state definitions name
# the state Logout (003 l.1329, 1396, E101), so it is the mock's variant ``offline-logout`` (mockserver/variants.py)
# and tests/conformance/test_variants.py proves the suite accepts it. No reading supports this one:
@both("offline-not-logged-out", "Offline leaves a logged-out device's userState.state NotReady")
def _offline_not_logged_out(ctx: ProxyContext, body: Any) -> None:
    for device in devices_in(body):
        state = device.get("userState") or {}
        if state.get("state") in ("LoggedOut", "Logout"):
            state["state"] = "NotReady"


@both("dnd-stale-capability", "a device in do-not-disturb still offers DoNotDisturbOn")
def _dnd_stale(ctx: ProxyContext, body: Any) -> None:
    for device in devices_in(body):
        if device.get("doNotDisturb") == "On":
            device["capabilities"] = [
                ("DoNotDisturbOn" if c == "DoNotDisturbOff" else c) for c in device.get("capabilities", [])
            ]


@both("mute-not-applied", "MuteCall is accepted but every call keeps reading mute Off")
def _mute_not_applied(ctx: ProxyContext, body: Any) -> None:
    for call in calls_in(body):
        if call.get("mute") == "On":
            call["mute"] = "Off"


@fault("cors-any-origin", "every origin is admitted by CORS", "request")
def _cors_request(ctx: ProxyContext, req: ProxyRequest) -> None:
    origin = req.headers.pop("origin", None)
    if origin:
        req.headers["x-vk-origin"] = origin


@fault("cors-any-origin", "every origin is admitted by CORS", "response")
def _cors_response(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    origin = req.headers.get("x-vk-origin")
    if origin:
        resp.set_header("Access-Control-Allow-Origin", origin)


@fault("public-answer", "a ringing call on a Public-network device offers Answer", "response")
def _public_learn(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    for device in devices_in(resp.json):
        if device.get("telephonyNetwork") == "Public" and device.get("id"):
            ctx.public_devices.add(str(device["id"]))
    _public_rewrite(ctx, resp.json)


@fault("public-answer", "a ringing call on a Public-network device offers Answer")
def _public_message(ctx: ProxyContext, message: dict[str, Any]) -> dict[str, Any]:
    _public_rewrite(ctx, message.get("data"))
    return message


def _public_rewrite(ctx: ProxyContext, body: Any) -> None:
    for call in calls_in(body):
        device = str(call.get("deviceUri", "")).rstrip("/").rsplit("/", 1)[-1]
        if call.get("state") == "Ringing" and device in ctx.public_devices and "Answer" not in call["capabilities"]:
            call["capabilities"] = [*call["capabilities"], "Answer"]


def _last_segment(value: Any) -> str:
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


@fault("released-disposition-refused", "SetCallDisposition of a released call is refused as not found", "response")
def _released_disposition(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    body = req.json() if req.method == "POST" else None
    if not isinstance(body, dict) or not isinstance(resp.json, dict) or resp.json.get("statusCode") != 0:
        return
    if body.get("operationName") == "Hangup":
        with ctx.lock:
            ctx.released_calls.add(_last_segment(req.path))
    elif (
        body.get("operationName") == "SetCallDisposition"
        and {_last_segment(body.get("callUri")), _last_segment(req.path)} & ctx.released_calls
    ):
        resp.status = 404
        resp.json = {"statusCode": 6, "statusMessage": "Call not found"}


@fault(
    "next-call-as-all-calls",
    "supervisorMonitoringMode NextCall is ignored (the supervisor monitors all calls)",
    "request",
)
def _next_call_ignored(ctx: ProxyContext, req: ProxyRequest) -> None:
    body = req.json() if req.method == "POST" else None
    if isinstance(body, dict) and body.get("supervisorMonitoringMode") == "NextCall":
        req.set_json({k: v for k, v in body.items() if k != "supervisorMonitoringMode"})


@fault("admin-removes-feature", "a Contact Center Admin's DELETE /api/v2/features/{id} is accepted", "response")
def _admin_removes_feature(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "DELETE" and req.path.startswith("/api/v2/features/") and resp.status == 403:
        resp.status = 200
        resp.json = {"statusCode": 0}


@fault("skill-level-order-ignored", "order is ignored when users are sorted by skills.level", "request")
def _skill_level_order_ignored(ctx: ProxyContext, req: ProxyRequest) -> None:
    if req.path.rstrip("/") == "/api/v2/users" and ("sortBy", "skills.level") in req.query:
        req.query = [(k, v) for k, v in req.query if k != "order"]


# ---- the proxy -----------------------------------------------------------------------------------------------------
class FaultyProxy:
    """An HTTP proxy on a free local port forwarding to ``upstream`` with one fault applied.

    Args:
        upstream: The mock's base URL.
        fault_name: A key of :data:`FAULTS`.
        options: Options of the fault (``user``/``password`` for ``no-basic``).
    """

    def __init__(self, upstream: str, fault_name: str = "none", options: dict[str, Any] | None = None) -> None:
        if fault_name not in FAULTS:
            raise KeyError(f"unknown fault {fault_name!r} (known: {', '.join(sorted(FAULTS))})")
        self.fault = FAULTS[fault_name]
        self.ctx = ProxyContext(upstream.rstrip("/"), dict(options or {}))
        self.ctx.client = httpx.Client(timeout=httpx.Timeout(90.0), follow_redirects=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"faulty-proxy-{fault_name}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self.ctx.client is not None:
            self.ctx.client.close()

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one exchange
    def forward(self, req: ProxyRequest) -> ProxyResponse:
        ctx, fault_ = self.ctx, self.fault
        if req.user and req.headers.get("authorization"):
            with ctx.lock:
                ctx.credentials[req.user] = req.headers["authorization"]
        if fault_.request:
            fault_.request(ctx, req)
        url = ctx.upstream + req.path + (f"?{urlencode(req.query)}" if req.query else "")
        headers = {k: v for k, v in req.headers.items() if k not in HOP_BY_HOP and k != "x-vk-origin"}
        assert ctx.client is not None
        # Built by hand, so the proxy's own cookie jar (filled by every Set-Cookie) never adds a session cookie
        # of one client to another's request — an anonymous request stays anonymous.
        answer = ctx.client.send(httpx.Request(req.method, url, headers=headers, content=req.body or None))
        resp = ProxyResponse(
            answer.status_code,
            [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP],
            answer.content,
        )
        if "json" not in (answer.headers.get("content-type") or "") or not resp.body:
            return resp
        try:
            resp.json = json.loads(resp.body)
        except ValueError:
            return resp
        if req.path.startswith(NOTIFICATIONS) and isinstance(resp.json, list):
            if fault_.bayeux:
                resp.json = fault_.bayeux(ctx, req, resp.json)
            resp.json = self._messages(resp.json)
        elif fault_.response:
            fault_.response(ctx, req, resp)
        resp.body = json.dumps(resp.json).encode()
        return resp

    def _messages(self, messages: list[Any]) -> list[Any]:
        meta = [
            m
            for m in messages
            if not isinstance(m, dict) or str(m.get("channel", "")).startswith("/meta/") or "data" not in m
        ]
        data = [m for m in messages if m not in meta]
        out: list[dict[str, Any]] = []
        for message in data:
            changed = self.fault.message(self.ctx, message) if self.fault.message else message
            if changed is None:
                continue
            out += changed if isinstance(changed, list) else [changed]
        if self.fault.batch:
            out = self.fault.batch(self.ctx, out)
        return [*meta, *out]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = ProxyRequest(
                    self.command,
                    parts.path,
                    parse_qsl(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                try:
                    resp = proxy.forward(req)
                except httpx.HTTPError as exc:
                    resp = ProxyResponse(502, [("Content-Type", "text/plain")], f"proxy: {exc}".encode())
                self.send_response(resp.status)
                for name, value in resp.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                self.wfile.write(resp.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

        return Handler
