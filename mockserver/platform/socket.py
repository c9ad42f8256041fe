"""The notification WebSocket at a channel's connectUri: ``ws://host{platform_prefix}/channels/{channelId}``.

No credential travels on the socket: the unguessable channel id is the key (platform.asyncapi.yaml). An unknown
or expired channel is refused with HTTP 404 (an ErrorBody) before the upgrade. The client may send
``{"message": "ping"}`` and gets a channel.metadata "pong"; anything else it sends is ignored, as the real
service does. Served by flask-sock like the Connect bus (mockserver/connect/routes.py), including the release
of pywsgi's connection once the socket is over.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Any

from flask import current_app, request
from flask_sock import Sock

from mockserver import jsonsafe
from mockserver.platform.context import ctx
from mockserver.platform.hub import PONG, ChannelSocket
from mockserver.platform.routes import bp

log = logging.getLogger("voicekit.platform")
sock = Sock()
RECEIVE_POLL = 1.0  # seconds between checks that the server side has not closed the socket meanwhile


@sock.route("/channels/<channel_id>", bp=bp, endpoint="socket")
def channel_socket(ws: Any, channel_id: str) -> None:
    context = ctx()
    world = context.world
    connection = ChannelSocket(
        channel_id, ws, lambda: world.settings.heartbeat_seconds, current_app.config["VOICEKIT"].outbox_limit
    )
    context.hub.attach(connection)
    try:
        while connection.open:
            frame = ws.receive(timeout=RECEIVE_POLL)
            if frame is not None and is_ping(frame):
                connection.deliver(PONG)
    finally:
        context.hub.detach(connection)
        _release(ws, request.environ)


def is_ping(frame: str | bytes) -> bool:
    try:
        message = jsonsafe.loads(frame)
    except jsonsafe.JsonRefused:
        return False
    return isinstance(message, dict) and message.get("message") == "ping"


def _release(ws: Any, environ: dict[str, Any]) -> None:
    """Under gevent, end the TCP connection pywsgi still holds once the WebSocket is over (as the Connect bus
    does: simple-websocket works on a dup of the socket, pywsgi would otherwise wait for a next request)."""
    if getattr(ws, "mode", None) != "gevent":
        return
    if getattr(ws, "connected", False):
        with contextlib.suppress(Exception):
            ws.close()
    thread = getattr(ws, "thread", None)
    if thread is not None:
        thread.join(timeout=1.0)
    rfile = environ.get("wsgi.input")
    raw = getattr(getattr(rfile, "rfile", rfile), "raw", None)
    original = getattr(raw, "_sock", None)
    if original is not None:
        with contextlib.suppress(OSError):
            original.shutdown(socket.SHUT_RDWR)
