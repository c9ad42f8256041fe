"""Flask blueprint that serves a :class:`BayeuxServer` over long-polling (POST) and callback-polling (JSONP).

The official CometD client appends ``/handshake``, ``/connect``, ``/disconnect`` or ``/`` to the configured
URL, other clients post to the bare URL: all five paths are the same endpoint.  Transport errors (bad
JSON, wrong media type, oversized body) answer a JSON Bayeux error, never an HTML page or a 500.

A held /meta/connect blocks its request until the engine wakes it.  Under a gevent server with
``threading`` monkey-patched that wait is a greenlet wait; under gevent *without* monkey-patching (e.g.
a test server in a background thread) the wait goes through a gevent async watcher so the hub keeps
serving other requests; under a threaded server it blocks its own thread.
"""

from __future__ import annotations

import json
import re
import select
import socket
import sys
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Request, Response, request

from mockserver.cometd.bayeux import BayeuxServer, Hold, Principal

__all__ = ["MAX_BODY_BYTES", "SOCKET_ENVIRON_KEYS", "make_blueprint"]

MAX_BODY_BYTES = 1024 * 1024
# WSGI environ keys under which servers expose the client socket (gunicorn, werkzeug; the last one is
# for hosts that add it themselves).  When present, a held connect whose client has hung up is
# abandoned instead of answered, so its events stay queued for the client's next connect.
SOCKET_ENVIRON_KEYS = ("gunicorn.socket", "werkzeug.socket", "mockserver.cometd.socket")

_JSONP_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
_JSONP_MAX = 128
_SUFFIXES = ("", "/", "/handshake", "/connect", "/disconnect")
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class _BadRequest(Exception):
    """A transport-level error answered with one JSON Bayeux error message."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def make_blueprint(
    server: BayeuxServer,
    authenticate: Callable[[Request], Principal | None],
    *,
    url_prefix: str = "/api/v2/notifications",
    on_unauthenticated: Callable[[], Response],
    name: str = "cometd",
    max_body_bytes: int = MAX_BODY_BYTES,
    parse_json: Callable[[str], Any] | None = None,
) -> Blueprint:
    """Serve ``server`` at ``url_prefix``; ``authenticate`` maps a request to a principal or None.

    ``parse_json`` replaces the default strict parser (it must raise ValueError on what it refuses), so a
    host can apply its own limits on depth and size."""
    loads = parse_json or _strict_loads
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix.rstrip("/"))

    def endpoint() -> Response:
        principal = authenticate(request)
        if principal is None:
            return on_unauthenticated()
        try:
            if request.method == "GET":
                callback = _jsonp_callback()
                messages = _parse(_query_message(max_body_bytes), loads)
                transport = "callback-polling"
            elif request.method == "POST":
                callback = None
                messages = _parse(_post_body(max_body_bytes), loads)
                transport = "long-polling"
            else:
                raise _BadRequest(405, "405::Method not allowed")
        except _BadRequest as exc:
            return _error_response(exc)
        reply = server.handle(principal, messages, transport=transport)
        if reply.hold is not None:
            _wait(reply.hold, max(0.0, reply.hold.deadline - server.clock()))
            if _client_hung_up(request.environ):
                server.abandon(reply)
                return _json_response([])
        payload = server.complete(reply)
        if callback is not None:
            body = f"/**/{callback}({json.dumps(payload, separators=(',', ':'), allow_nan=False)});"
            return Response(body, 200, mimetype="text/javascript", headers=_NO_STORE)
        return _json_response(payload)

    def websocket_refused() -> Response:
        # GWS 8.5 notifications are long-polling only.  Without these rules the router itself would
        # answer an Upgrade request with an HTML 400; the official client then falls back either way.
        return _error_response(_BadRequest(400, "400::Bad request"))

    for suffix in _SUFFIXES:
        blueprint.add_url_rule(suffix, endpoint="bayeux", view_func=endpoint, methods=_METHODS)
        blueprint.add_url_rule(
            suffix, endpoint="bayeux_websocket", view_func=websocket_refused, methods=["GET"], websocket=True
        )
    return blueprint


# ---------------------------------------------------------------------- request parsing


def _post_body(limit: int) -> str:
    if request.mimetype != "application/json":
        # JSON only: a form-encoded or text/plain POST is a "simple" cross-site request, JSON is not.
        raise _BadRequest(415, "415::Unsupported media type")
    length = request.content_length
    if length is not None and length > limit:
        raise _BadRequest(413, "413::Request entity too large")
    raw = request.stream.read(limit + 1) or request.get_data(cache=True)  # the host may have read it already
    if len(raw) > limit:
        raise _BadRequest(413, "413::Request entity too large")
    charset = request.mimetype_params.get("charset", "utf-8")
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise _BadRequest(400, "400::Bad request") from exc


def _query_message(limit: int) -> str:
    message = request.args.get("message")
    if message is None:
        raise _BadRequest(400, "400::Bad request")
    if len(message) > limit:
        raise _BadRequest(413, "413::Request entity too large")
    return message


def _jsonp_callback() -> str:
    callback = request.args.get("jsonp", "jsonpcallback")
    if len(callback) > _JSONP_MAX or _JSONP_RE.match(callback) is None:
        raise _BadRequest(400, "400::Bad request")
    return callback


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def _parse(text: str, loads: Callable[[str], Any]) -> list[dict[str, Any]]:
    """A JSON array of message objects, or one message object."""
    try:
        value = loads(text)
    except (ValueError, RecursionError) as exc:
        raise _BadRequest(400, "400::Bad request") from exc
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return value
    raise _BadRequest(400, "400::Bad request")


# ---------------------------------------------------------------------- responses


def _json_response(payload: list[dict[str, Any]], status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status, content_type="application/json;charset=UTF-8", headers=_NO_STORE)


def _error_response(exc: _BadRequest) -> Response:
    response = _json_response([{"successful": False, "error": exc.error}], exc.status)
    if exc.status == 405:
        response.headers["Allow"] = "GET, POST"
    return response


# ---------------------------------------------------------------------- waiting


def _cooperative_hub() -> Any | None:
    """The current thread's gevent hub when a plain threading wait would freeze it, else None."""
    gevent = sys.modules.get("gevent")
    if gevent is None:
        return None
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        return None  # threading.Event is already greenlet-aware
    if not isinstance(gevent.getcurrent(), gevent.Greenlet):
        return None
    return gevent.get_hub()


def _wait(hold: Hold, timeout: float) -> None:
    """Wait until the hold is woken or ``timeout`` seconds pass, without stalling other requests."""
    if timeout <= 0:
        return
    hub = _cooperative_hub()
    if hub is None:
        hold.wait(timeout)
        return
    from gevent.event import Event

    woken = Event()
    watcher = hub.loop.async_()
    watcher.start(woken.set)
    send = watcher.send  # thread-safe: publish() may run on another OS thread
    hold.add_wake_callback(send)
    try:
        woken.wait(timeout)
    finally:
        hold.remove_wake_callback(send)
        watcher.stop()
        watcher.close()


def _client_hung_up(environ: dict[str, Any]) -> bool:
    """Best effort: True if the client closed the connection while its connect was held."""
    sock = next((environ[key] for key in SOCKET_ENVIRON_KEYS if key in environ), None)
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        # The request body was read in full and HTTP clients do not pipeline behind a long-poll, so a
        # readable socket here means end-of-stream (or a reset).
        return sock.recv(1, socket.MSG_PEEK) == b""
    except TypeError:
        return False  # not a socket after all: assume the client is there
    except (OSError, ValueError):
        return True  # reset or already closed
