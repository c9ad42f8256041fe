"""The filter in front of every control API route (/control/..., also /control/platform and /control/connect).

The control API can reset or replace the world, so a browser page must not be able to drive it: with a
token, ``Authorization: Bearer <token>`` exactly (compared in constant time on UTF-8 bytes, so a non-ASCII
value is a wrong token, not an error); with or without one, a request from a foreign Origin and a body that
is not JSON (what a cross-site form or a no-cors fetch can send without a preflight) are refused."""

from __future__ import annotations

from flask import Response, jsonify, request

from mockserver.config import MockConfig
from mockserver.gws.security import own_origins, same_secret


def refusal(config: MockConfig) -> Response | None:
    if config.control_token:
        scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not same_secret(given.strip(), config.control_token):
            return _reply(401, "control API token required (Authorization: Bearer <token>)")
    origin = request.headers.get("Origin")
    if origin is not None and origin not in own_origins(request.environ):
        return _reply(403, f"Origin {origin} may not use the control API")
    if request.method in ("POST", "PUT", "DELETE", "PATCH") and (request.content_length or request.mimetype):
        mimetype = (request.mimetype or "").lower()
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            return _reply(415, "The control API takes application/json bodies only")
    return None


def _reply(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response
