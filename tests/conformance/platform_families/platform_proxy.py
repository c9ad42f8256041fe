"""A mutating HTTP proxy in front of the mock's Platform API, for proving that the Platform families catch faults
(same style as ``tests/conformance/families/faulty_proxy.py``, which does this for GWS and CometD).

It runs in a thread, forwards every request to the mock and rewrites requests and answers according to one named
fault. The suite is pointed at the proxy (``platform.url``) while the control API stays the mock's, so a family test
that fails names the rule the fault breaks. The ``Host`` header is not forwarded: the mock builds a channel's
``connectUri`` from it, so notification WebSockets go straight to the mock (faults here are HTTP faults).

Faults live in a registry; a :class:`Fault` bundles up to two hooks, registered by name with :func:`fault`::

    @fault("no-retry-after", "429 answers lose their Retry-After header")
    def _no_retry_after(ctx, req, resp):          # a ``response`` hook
        ...

* ``request(ctx, req)`` — change (or remember) the request before it is forwarded;
* ``response(ctx, req, resp)`` — change the answer (``resp.json`` is the parsed JSON body, written back; set
  ``resp.json = None`` and ``resp.body`` for a non-JSON answer).

Adding a fault is one decorated function here and one line in the test's table.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

__all__ = ["FAULTS", "Fault", "PlatformProxy", "ProxyContext", "ProxyRequest", "ProxyResponse", "fault"]

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
    "host",
}
USER_CONTEXT = "This request requires a user context"
PARTICIPANT = re.compile(r"/api/v2/conversations(?:/calls)?/([^/]+)/participants/([^/]+)$")
CONVERSATION = re.compile(r"/api/v2/conversations(?:/calls)?/([^/]+)$")
MAKE_CALL = "/api/v2/conversations/calls"


# ---- what the hooks see ---------------------------------------------------------------------------------------------
@dataclass
class ProxyRequest:
    method: str
    path: str  # without the query, with the mock's /platform prefix
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def api_path(self) -> str:
        """The path as the contract writes it (``/api/v2/...``, ``/oauth/...``)."""
        index = self.path.find("/api/v2/")
        if index < 0:
            index = self.path.find("/oauth/")
        return self.path[index:] if index >= 0 else self.path

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    json: Any = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def drop_header(self, name: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]

    def set_json(self, status: int, value: Any) -> None:
        self.status = status
        self.json = value
        self.drop_header("content-type")
        self.headers.append(("Content-Type", "application/json"))

    def set_empty(self, status: int) -> None:
        self.status = status
        self.json = None
        self.body = b""
        self.drop_header("content-type")


@dataclass
class ProxyContext:
    """What the proxy learned while forwarding (answered participants…)."""

    upstream: str
    answered: set[tuple[str, str]] = field(default_factory=set)  # (conversation id, participant id)
    accepted_auth: list[str] = field(default_factory=list)  # Authorization headers the mock accepted
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Fault:
    name: str
    description: str
    request: Callable[[ProxyContext, ProxyRequest], None] | None = None
    response: Callable[[ProxyContext, ProxyRequest, ProxyResponse], None] | None = None


FAULTS: dict[str, Fault] = {}


def fault(name: str, description: str, hook: str = "response") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the ``hook`` of the fault ``name`` (two hooks may share a name)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        entry = FAULTS.setdefault(name, Fault(name, description))
        setattr(entry, hook, func)
        return func

    return register


FAULTS["none"] = Fault("none", "a transparent proxy (the baseline)")


def _error(resp: ProxyResponse, status: int, code: str | None = None) -> bool:
    body = resp.json
    return resp.status == status and isinstance(body, dict) and (code is None or body.get("code") == code)


# ---- the faults -----------------------------------------------------------------------------------------------------
@fault("cc-answer-accepted", "an answer with a client-credentials token is accepted (202) instead of refused (400)")
def _cc_answer_accepted(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if (
        req.method == "PATCH"
        and PARTICIPANT.search(req.api_path)
        and _error(resp, 400)
        and str(resp.json.get("message", "")).startswith(USER_CONTEXT)
    ):
        resp.set_empty(202)


@fault("cc-call-for-user-accepted", "a client-credentials token places a call for a user (200) instead of the 400")
def _cc_call_for_user_accepted(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if (
        req.method == "POST"
        and req.api_path.startswith(f"{MAKE_CALL}/user/")
        and _error(resp, 400)
        and str(resp.json.get("message", "")).startswith(USER_CONTEXT)
    ):
        resp.set_json(
            200,
            {
                "id": "00000000-0000-4000-8000-0000000000cc",
                "selfUri": "/api/v2/conversations/calls/00000000-0000-4000-8000-0000000000cc",
            },
        )


@fault("other-user-answer-accepted", "another user's answer is accepted (202) instead of refused (403)")
def _other_user_answer_accepted(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "PATCH" and PARTICIPANT.search(req.api_path) and _error(resp, 403, "not.authorized"):
        resp.set_empty(202)


@fault(
    "answer-reported-connected",
    "a participant asked to answer reads connected in GET although it still "
    "alerts (a remote phone without persistent connection)",
    "request",
)
def _remember_answer(ctx: ProxyContext, req: ProxyRequest) -> None:
    match = PARTICIPANT.search(req.api_path)
    body = req.json()
    if req.method == "PATCH" and match and isinstance(body, dict) and body.get("state") == "connected":
        with ctx.lock:
            ctx.answered.add((match.group(1), match.group(2)))


@fault("answer-reported-connected", "", "response")
def _report_connected(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    match = CONVERSATION.search(req.api_path)
    if req.method != "GET" or not match or not isinstance(resp.json, dict):
        return
    for participant in resp.json.get("participants") or []:
        if (match.group(1), participant.get("id")) in ctx.answered and participant.get("state") == "alerting":
            participant["state"] = "connected"


@fault("no-retry-after", "429 answers lose their Retry-After header")
def _no_retry_after(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if resp.status == 429:
        resp.drop_header("Retry-After")


@fault("make-call-201-without-id", "Make Call answers 201 with a body without id")
def _make_call_without_id(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "POST" and req.api_path == MAKE_CALL and resp.status == 200 and isinstance(resp.json, dict):
        resp.set_json(201, {k: v for k, v in resp.json.items() if k != "id"})


@fault("scope-ignored", "a token without the conversations scope may make calls (200)")
def _scope_ignored(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "POST" and req.api_path == MAKE_CALL and _error(resp, 403, "missing.permissions"):
        resp.set_json(
            200,
            {
                "id": "00000000-0000-4000-8000-00000000dead",
                "selfUri": "/api/v2/conversations/calls/00000000-0000-4000-8000-00000000dead",
            },
        )


@fault("invalid-number-accepted", "a formatted phone number is accepted (200) instead of refused (400)")
def _invalid_number_accepted(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if req.method == "POST" and req.api_path == MAKE_CALL and _error(resp, 400, "invalid.value"):
        resp.set_json(
            200,
            {
                "id": "00000000-0000-4000-8000-00000000beef",
                "selfUri": "/api/v2/conversations/calls/00000000-0000-4000-8000-00000000beef",
            },
        )


@fault("ghost-conversation", "GET /api/v2/conversations lists a conversation while none is active")
def _ghost_conversation(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if (
        req.method == "GET"
        and req.api_path == "/api/v2/conversations"
        and isinstance(resp.json, dict)
        and not resp.json.get("entities")
    ):
        resp.json["entities"] = [{"id": "00000000-0000-4000-8000-000000000abc", "participants": []}]
        resp.json["total"] = 1


@fault("error-body-without-code", "error answers drop the ErrorBody's code")
def _error_without_code(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    if resp.status >= 400 and isinstance(resp.json, dict) and req.api_path.startswith("/api/"):
        resp.json.pop("code", None)


@fault(
    "reads-without-token",
    "conversation reads without a valid token are served (the proxy adds a token it saw accepted)",
    "request",
)
def _reads_without_token(ctx: ProxyContext, req: ProxyRequest) -> None:
    if (
        req.method == "GET"
        and req.api_path.startswith("/api/v2/conversations")
        and ctx.accepted_auth
        and req.headers.get("authorization") not in ctx.accepted_auth
    ):
        req.headers["authorization"] = ctx.accepted_auth[-1]


@fault("reads-without-token", "", "response")
def _learn_accepted_auth(ctx: ProxyContext, req: ProxyRequest, resp: ProxyResponse) -> None:
    auth = req.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and resp.status < 400 and req.api_path.startswith("/api/"):
        with ctx.lock:
            if auth not in ctx.accepted_auth:
                ctx.accepted_auth.append(auth)


# ---- the proxy ------------------------------------------------------------------------------------------------------
class PlatformProxy:
    """An HTTP proxy on a free local port forwarding to ``upstream`` (the mock's root) with one fault applied."""

    def __init__(self, upstream: str, fault_name: str = "none") -> None:
        if fault_name not in FAULTS:
            raise KeyError(f"unknown fault {fault_name!r} (known: {', '.join(sorted(FAULTS))})")
        self.fault = FAULTS[fault_name]
        self.ctx = ProxyContext(upstream.rstrip("/"))
        self.client = httpx.Client(timeout=httpx.Timeout(30.0), follow_redirects=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"platform-proxy-{fault_name}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PlatformProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.client.close()

    def __enter__(self) -> PlatformProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forward(self, req: ProxyRequest) -> ProxyResponse:
        if self.fault.request:
            self.fault.request(self.ctx, req)
        url = self.ctx.upstream + req.path + (f"?{urlencode(req.query)}" if req.query else "")
        headers = {k: v for k, v in req.headers.items() if k not in HOP_BY_HOP}
        answer = self.client.request(req.method, url, headers=headers, content=req.body or None)
        resp = ProxyResponse(
            answer.status_code,
            [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP],
            answer.content,
        )
        if "json" in (answer.headers.get("content-type") or "") and resp.body:
            try:
                resp.json = json.loads(resp.body)
            except ValueError:
                resp.json = None
        if self.fault.response:
            self.fault.response(self.ctx, req, resp)
        if resp.json is not None:
            resp.body = json.dumps(resp.json).encode()
        return resp

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
