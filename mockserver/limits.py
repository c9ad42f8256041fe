"""The body limit every route passes, enforced while the body is read (max_body_bytes, whose default is
maxBodyBytes of specs/schemas/control/JsonLimits.json).

A declared Content-Length over the limit is refused before anything is read. A chunked body is read here,
at most limit+1 bytes of it, and handed on as a Content-Length body; past the limit it is refused before
any route (or authentication) runs. The refusal is an HTTPException, answered by the app's fallback in the
route's own format (GWS statusCode envelope, Platform ErrorBody, OAuth error, Bayeux failure, control API
JSON); serve.py then closes the connection instead of draining the rest."""

from __future__ import annotations

import io

from flask import Flask, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

PIECE = 64 * 1024
WEBSOCKET_FACTOR = 4


def websocket_message_cap(limit: int) -> int:
    """WebSocket messages up to this size are read whole and, past ``limit``, refused in the socket's own format
    (the bus's MalformedMessage, the socket stays open); a larger one makes simple-websocket close the socket
    (1009) before it is buffered."""
    return WEBSOCKET_FACTOR * limit


def init_app(app: Flask) -> None:
    limit = app.config["VOICEKIT"].max_body_bytes

    def bounded_body() -> None:
        length = request.content_length
        environ = request.environ
        if length is not None and length > limit:
            _forget_body(environ)
            raise RequestEntityTooLarge(f"The request body exceeds {limit} bytes")
        if length is None and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            try:
                body = _read_at_most(environ["wsgi.input"], limit + 1)
            except (OSError, ValueError):  # pywsgi: a chunk size that is not hex, a connection cut short
                raise BadRequest("The chunked request body is malformed") from None
            if len(body) > limit:
                _forget_body(environ)
                raise RequestEntityTooLarge(f"The request body exceeds {limit} bytes")
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ.pop("wsgi.input_terminated", None)
            request.__dict__.pop("stream", None)  # in case anything looked at the stream already

    # First of the app's filters: those registered earlier (the control API's contract check) read the body.
    app.before_request_funcs.setdefault(None, []).insert(0, bounded_body)


def _forget_body(environ: dict) -> None:
    """A refused body is never read, by anyone (the journal records the request after the answer): the
    request's input becomes empty; serve.py then closes the connection instead of draining the rest."""
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["CONTENT_LENGTH"] = "0"
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
    request.__dict__.pop("stream", None)


def _read_at_most(stream: io.RawIOBase, size: int) -> bytes:
    pieces: list[bytes] = []
    total = 0
    while total < size:
        piece = stream.read(min(PIECE, size - total))
        if not piece:
            break
        pieces.append(piece)
        total += len(piece)
    return b"".join(pieces)
