"""The WebSocket bus and the read-only agent view, under the Connect prefix (default /connect).

``ws://host/connect/agents/<agent_id>/bus`` is one agent's bus (channel ``bus`` of
specs/connect.asyncapi.yaml). The upgrade is served by flask-sock (simple-websocket over wsproto). Under
``mockserver.serve`` simple-websocket runs in its ``gevent`` mode: it takes the client socket out of
pywsgi's environ (``wsgi.input`` is the raw rfile for upgrade requests) and works on a dup of it; the
reader loop, each socket's writer and the ring timers are greenlets.

One gap is closed here: when the app closes its socket, simple-websocket answers the close frame and
closes its dup, but pywsgi still holds the original descriptor and, the handler having returned no
response, waits on it for a next keep-alive request — so the TCP connection stays open and the client
hangs in its closing handshake until its own timeout (10 s in ``websockets``). :func:`_release` shuts the
connection down once the WebSocket is over, so the client sees the server close at once and pywsgi's
next read ends its loop.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_sock import Sock

from mockserver.connect.frames import FrameReader, Request, voicekit_error
from mockserver.connect.hub import BusConnection, BusHub
from mockserver.control.journal import journal_frame
from mockserver.domain.connect import ConnectCenter

log = logging.getLogger("voicekit.connect")

bp = Blueprint("voicekit_connect", __name__)
sock = Sock()


@dataclass
class ConnectContext:
    center: ConnectCenter
    reader: FrameReader
    hub: BusHub = field(default_factory=BusHub)


def ctx() -> ConnectContext:
    return current_app.extensions["voicekit.connect"]


def _json_error(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


@bp.before_request
def admitted() -> Response | None:
    """Before any WebSocket exists: an unknown agent is 404; a foreign Origin 403; a socket without the agent's
    credential 401 (E516)."""
    agent_id = (request.view_args or {}).get("agent_id")
    if agent_id is None:
        return None
    center = ctx().center
    if not center.has_agent(agent_id):
        return _json_error(404, f"no agent {agent_id!r}")
    if not request.path.endswith("/bus") or not current_app.config["VOICEKIT"].bus_auth:
        return None
    origin = request.headers.get("Origin")
    if origin and not _origin_ok(origin):
        return _json_error(403, f"origin {origin} is not allowed to open the bus")
    if not center.credential_ok(agent_id, _credential()):
        return _json_error(401, "the agent's bus credential is required (Authorization: Bearer, or access_token)")
    return None


def _credential() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.args.get("access_token") or None


def _origin_ok(origin: str) -> bool:
    """The allow list GWS CORS uses (003 l.4336-4337), and the mock's own origin."""
    from mockserver.gws import security

    gws = current_app.extensions["voicekit.gws"]
    return security.origin_allowed(gws.world, gws.config.allow_origins, origin, security.own_origins(request.environ))


@sock.route("/agents/<agent_id>/bus", bp=bp)
def bus(ws: Any, agent_id: str) -> None:
    """Serve one app's socket until it closes: every text frame is one request (or a VoicekitError)."""
    context = ctx()
    connection = BusConnection(agent_id, ws, current_app.config["VOICEKIT"].outbox_limit)
    context.hub.attach(connection)
    try:
        while True:
            frame = ws.receive()
            if frame is not None:
                journal_frame(current_app, agent_id, frame, request.path)
                handle_frame(context, connection, frame)
    finally:
        context.hub.detach(connection)
        _release(ws, request.environ)


def _release(ws: Any, environ: dict[str, Any]) -> None:
    """Under gevent, end the TCP connection pywsgi still holds once the WebSocket is over (see above)."""
    if getattr(ws, "mode", None) != "gevent":
        return
    if getattr(ws, "connected", False):  # the loop ended on our side: close the WebSocket properly first
        with contextlib.suppress(Exception):
            ws.close()
    thread = getattr(ws, "thread", None)
    if thread is not None:
        thread.join(timeout=1.0)  # let simple-websocket finish the closing handshake on its dup
    rfile = environ.get("wsgi.input")
    raw = getattr(getattr(rfile, "rfile", rfile), "raw", None)
    original = getattr(raw, "_sock", None)
    if original is not None:
        with contextlib.suppress(OSError):  # already gone
            original.shutdown(socket.SHUT_RDWR)


def handle_frame(context: ConnectContext, connection: BusConnection, frame: str | bytes) -> None:
    """Validate and carry out one frame. Never raises: whatever happens, the socket stays open."""
    try:
        outcome = context.reader.read(frame)
        if isinstance(outcome, Request):
            refusal = context.center.request(connection.agent_id, outcome.topic, outcome.subtopic, outcome.data)
            if refusal is not None:
                log.info(
                    "%s/%s from %s on %s refused: %s",
                    outcome.topic,
                    outcome.subtopic,
                    outcome.source,
                    connection.agent_id,
                    refusal.detail,
                )
        else:
            connection.deliver(outcome)
    except Exception:
        log.exception("bus frame on %s could not be handled", connection.agent_id)
        text = "voicekit could not handle this frame (see the mock's log)."
        connection.deliver(voicekit_error("InvalidMessage", text, with_received=False))


@bp.get("/agents")
def agents() -> Response:
    """Debugging aid: every agent with its state, contact and number of bus sockets."""
    context = ctx()
    return jsonify({"agents": [dict(view, sockets=context.hub.count(view["id"])) for view in context.center.views()]})


@bp.get("/agents/<agent_id>")
def agent(agent_id: str) -> Response:
    """Debugging aid (not part of the bus): the agent's state, availability and current contact."""
    context = ctx()
    view = context.center.view(agent_id)
    view["sockets"] = context.hub.count(agent_id)
    return jsonify(view)
